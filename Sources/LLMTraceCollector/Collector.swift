import LLMTraceClickHouse
import LLMTraceDetect
import LLMTraceIngest
import LLMTraceOTLP
import LLMTraceHTTP
import LLMTraceMetrics
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore

/// The collector's HTTP API: ingest (native spans, OTLP/HTTP protobuf and JSON), health, and the
/// key checks in front of them. Runs on the server's worker threads; `inline` answers the cheap
/// routes on the event loop so health checks work while ingest is saturated.
public final class Collector: @unchecked Sendable {
    public struct Options: Sendable {
        /// Request bodies after gzip/deflate decoding (413 beyond).
        public var maxDecodedBodyBytes = 64 * 1024 * 1024
        /// Decoded bytes of compressed bodies held by requests in flight, all together: past it a
        /// request is a 503 with Retry-After (32 parallel gzip bombs cannot take gigabytes).
        public var maxDecodedInFlightBytes = 256 * 1024 * 1024
        public var limits = IngestLimits()
        /// Rejection reasons quoted in a reply (the count is always exact).
        public var maxReportedErrors = 20
        public var retryAfterSeconds = 1
        /// A query running longer is stopped (503).
        public var queryTimeoutNanos: Int64 = 30_000_000_000
        /// Rows a query returns at most (`stats.truncated` says when more matched).
        public var queryMaxRows = 10_000
        /// What one query may hold (`QueryEngine.Limits.maxMemoryBytes`).
        public var queryMemoryBytes = 512 << 20
        /// Label sets each metric family keeps before folding new ones into its overflow series.
        public var metricsMaxSeries = 10_000
        /// Off: no span metrics are kept and `/metrics` answers 404 (to measure what they cost).
        public var metricsEnabled = true
        /// The ClickHouse cluster the collector forwards to, for reads that go there (`readEngine`).
        public var clickhouse: ClickHouseQueryEngine? = nil
        /// Which engine answers reads when a request does not say (`engine=`).
        public var readEngine = ReadEngine.local
        public init() {}
    }

    public let store: Store
    public let keys: KeyRing
    /// Validation and enrichment every ingest route shares (conventions, prices, limits).
    public let ingest: Ingest
    public var conventions: Conventions { ingest.conventions }
    public var pricing: Pricing { ingest.pricing }
    public let fanout: SpanFanout
    public let options: Options
    let log: LogSink
    let queryEngine: QueryEngine
    /// Recent spans for `GET /api/tail`.
    public let live = LiveSpans()
    /// What `GET /metrics` exports.
    public let metrics: CollectorMetrics
    /// Decoded bytes of compressed bodies in flight (`Options.maxDecodedInFlightBytes`).
    public let decodeBudget: DecodeBudget
    /// Ingest requests in flight over time (the ClickHouse sink yields while it is saturated).
    public let ingestLoad = IngestLoad()
    /// The detectors and evaluators, fed by `fanout` (nil: off; their routes answer 404).
    public let detectors: DetectorService?
    private let counters = Condition()
    private var accepted = 0
    private var rejected = 0

    public init(store: Store, keys: KeyRing, conventions: Conventions, pricing: Pricing, fanout: SpanFanout = SpanFanout(),
                options: Options = Options(), log: LogSink = LogSink(), detectors: DetectorService? = nil) {
        self.store = store
        self.keys = keys
        self.ingest = Ingest(conventions: conventions, pricing: pricing, limits: options.limits)
        self.fanout = fanout
        self.options = options
        self.log = log
        self.queryEngine = QueryEngine(store: store)
        self.decodeBudget = DecodeBudget(limit: options.maxDecodedInFlightBytes)
        self.metrics = CollectorMetrics(maxSeries: options.metricsMaxSeries, enabled: options.metricsEnabled)
        self.detectors = detectors
        fanout.add(live)
        fanout.add(metrics)
        if let detectors { metrics.watch(detectors: detectors) }
    }

    /// Spans stored and spans rejected since start.
    public var totals: (accepted: Int, rejected: Int) { counters.withLock { (accepted, rejected) } }

    // MARK: Routing

    /// Event-loop routes: must not block.
    public func inline(_ req: HTTPRequest) -> HTTPResponse? {
        switch (req.method, req.path) {
        case ("GET", "/healthz"), ("HEAD", "/healthz"):
            return .json(200, Array("{\"status\":\"ok\"}\n".utf8))
        case ("GET", "/readyz"), ("HEAD", "/readyz"):
            if let why = store.notWritableReason { return .error(503, "not ready: \(why)") }
            return .json(200, Array("{\"status\":\"ready\"}\n".utf8))
        default:
            return nil
        }
    }

    /// Worker routes.
    public func handle(_ req: HTTPRequest) -> HTTPResponse {
        let path = req.path
        switch path {
        case "/v1/traces":
            guard req.method == "POST" else { return Self.methodNotAllowed("POST") }
            return ingestOTLP(req)
        case "/v1/spans":
            guard req.method == "POST" else { return Self.methodNotAllowed("POST") }
            return ingestNative(req)
        case "/v1/scores":
            guard req.method == "POST" else { return Self.methodNotAllowed("POST") }
            return ingestScores(req)
        case "/healthz", "/readyz":
            return inline(req) ?? Self.methodNotAllowed("GET, HEAD")
        case "/api/query":
            guard req.method == "POST" else { return Self.methodNotAllowed("POST") }
            return query(req)
        case "/metrics":
            guard req.method == "GET" || req.method == "HEAD" else { return Self.methodNotAllowed("GET, HEAD") }
            return scrape(req)
        default:
            if path == "/api/traces" { return searchTraces(req) }
            if let r = detectRoute(req, path) { return r }
            if path == "/api/tail" { return tail(req) }
            if path.hasPrefix("/api/sessions/") {
                let id = path.dropFirst("/api/sessions/".count)
                if !id.isEmpty && !id.contains("/") { return session(req, id) }
            }
            if path.hasPrefix("/api/traces/") {
                let id = path.dropFirst("/api/traces/".count)
                if !id.isEmpty && !id.contains("/") { return traceByID(req, id) }
            }
            return .error(404, "no route for \(req.method) \(path); see the README's API section")
        }
    }

    static func methodNotAllowed(_ allow: String) -> HTTPResponse {
        .error(405, "method not allowed; use \(allow)", headers: [("allow", allow)])
    }

    // MARK: Auth

    /// The grant for an ingest request, or the 401/403 to answer. With no keys configured every
    /// request may ingest, into the project its spans name.
    func authorize(_ req: HTTPRequest, _ scope: KeyRing.Scope) -> Result<KeyRing.Grant?, Refusal> {
        if keys.isOpen { return .success(nil) }
        var presented = req.header("x-api-key")
        if presented == nil, let auth = req.header("authorization") {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { presented = String(parts[1]).trimmingASCIISpaces() }
        }
        guard let key = presented, !key.isEmpty else {
            return .failure(Refusal(.error(401, "missing API key: send 'Authorization: Bearer KEY' or 'x-api-key: KEY'",
                                   headers: [("www-authenticate", "Bearer")])))
        }
        guard let g = keys.grant(for: key) else {
            return .failure(Refusal(.error(401, "invalid API key", headers: [("www-authenticate", "Bearer")])))
        }
        switch scope {
        case .ingest where !g.canIngest: return .failure(Refusal(.error(403, "this key may read project '\(g.project)' but not ingest")))
        case .read where !g.canRead: return .failure(Refusal(.error(403, "this key may ingest into project '\(g.project)' but not read")))
        default: return .success(g)
        }
    }

    /// The request body, decoded. A compressed body's decoded bytes count against
    /// `maxDecodedInFlightBytes` until the returned hold is released (the handler keeps it alive
    /// while it works on the body).
    func body(_ req: HTTPRequest) -> Result<(bytes: [UInt8], hold: DecodeBudget.Hold), Refusal> {
        let hold = decodeBudget.hold()
        do {
            let b = try BodyDecoding.decodedBody(req, limit: options.maxDecodedBodyBytes, reserve: hold.reserve)
            if b.isEmpty { return .failure(Refusal(.error(400, "empty request body"))) }
            return .success((b, hold))
        } catch {
            let retry = error.status == 503 ? [("retry-after", "\(options.retryAfterSeconds)")] : []
            return .failure(Refusal(.error(error.status, error.message, headers: retry)))
        }
    }

    /// Stores a request's accepted spans and counts its outcome (`rejected` by reason): the
    /// number that were re-sends (already stored, so not stored or counted again), or the 503 to
    /// answer (nothing was stored or counted). Subscribers (metrics, live tail) see only what was
    /// stored.
    func store(_ spans: [Span], route: String, rejected: [String: Int]) -> Result<Int, Refusal> {
        let r: Store.AppendResult
        do {
            r = try store.append(spans)  // an empty batch stores nothing
        } catch {
            // Not logged per request: the store logs a write or seal failure once when it starts
            // and once when it clears, and the access log has every 503.
            return .failure(Refusal(.error(503, "spans not stored: \(StoreError.publicDescription(of: error))", headers: [("retry-after", "\(options.retryAfterSeconds)")])))
        }
        fanout.publish(r.spans)
        let refused = rejected.values.reduce(0, +)
        counters.withLock {
            accepted += r.stored
            self.rejected += refused
        }
        metrics.ingested(route: route, accepted: r.stored, duplicates: r.duplicates.count, rejected: rejected)
        return .success(r.duplicates.count)
    }

    /// `GET /metrics`: the Prometheus text format, or OpenMetrics when the Accept header prefers it. With keys configured a read key is needed, and
    /// span and score series are confined to its project (collector-wide health is shown to all).
    func scrape(_ req: HTTPRequest) -> HTTPResponse {
        guard metrics.enabled else { return .error(404, "metrics are off (--metrics off)") }
        var only: (label: String, value: String)? = nil
        if !keys.isOpen {
            switch authorize(req, .read) {
            case .failure(let r): return r.response
            case .success(let g): if let g { only = ("project", g.project) }
            }
        }
        let om = MetricsRegistry.prefersOpenMetrics(accept: req.header("accept"))
        return HTTPResponse(status: 200, headers: [("content-type", om ? MetricsRegistry.openMetricsContentType : MetricsRegistry.contentType)],
                            body: metrics.registry.render(only: only, openMetrics: om))
    }

    // MARK: OTLP

    func ingestOTLP(_ req: HTTPRequest) -> HTTPResponse {
        ingestLoad.enter()
        defer { ingestLoad.leave() }
        let grant: KeyRing.Grant?
        switch authorize(req, .ingest) {
        case .failure(let r): return r.response
        case .success(let g): grant = g
        }
        let json: Bool
        switch req.mediaType {
        case "application/x-protobuf", "application/protobuf": json = false
        case "application/json": json = true
        case let other:
            return .error(415, "unsupported Content-Type '\(other ?? "none")': OTLP/HTTP takes application/x-protobuf or application/json")
        }
        let payload: [UInt8], hold: DecodeBudget.Hold
        switch body(req) {
        case .failure(let r): return r.response
        case .success(let b): (payload, hold) = b
        }
        defer { withExtendedLifetime(hold) {} }
        var traces: OTLPTraces
        do {
            traces = json ? try OTLPJSON.decode(payload) : try OTLPProtobuf.decode(payload)
        } catch {
            return otlpError(400, "cannot decode ExportTraceServiceRequest: \(error)", json: json)
        }
        var spans: [Span] = []
        spans.reserveCapacity(traces.spanCount)
        var reasons: [String] = []
        var rejectedCount = 0
        var reasonCounts: [String: Int] = [:]
        ingest.otlp(&traces, project: grant?.project) { result, index in
            switch result {
            case .success(let s):
                spans.append(s)
            case .failure(let why):
                rejectedCount += 1
                reasonCounts[why.kind.rawValue, default: 0] += 1
                if reasons.count < options.maxReportedErrors { reasons.append("span \(index): \(why.reason)") }
            }
        }
        if case .failure(let r) = store(spans, route: "/v1/traces", rejected: reasonCounts) { return r.response }
        var message = reasons.joined(separator: "; ")
        if rejectedCount > reasons.count { message += "; and \(rejectedCount - reasons.count) more" }
        if spans.isEmpty && rejectedCount > 0 {
            return otlpError(400, "all \(rejectedCount) span(s) rejected: \(message)", json: json)
        }
        let bytes = json ? OTLPJSON.response(rejected: rejectedCount, message: message) : OTLPProtobuf.response(rejected: rejectedCount, message: message)
        return HTTPResponse(status: 200, headers: [("content-type", json ? "application/json" : "application/x-protobuf")], body: bytes)
    }

    /// OTLP error replies carry a `google.rpc.Status` (code 3 = INVALID_ARGUMENT) in the request's encoding.
    func otlpError(_ status: Int, _ message: String, json: Bool) -> HTTPResponse {
        if json {
            var w = JSONWriter()
            w.beginObject()
            w.key("code"); w.int(3)
            w.key("message"); w.string(message)
            w.endObject()
            return .json(status, w.bytes)
        }
        return HTTPResponse(status: status, headers: [("content-type", "application/x-protobuf")], body: OTLPProtobuf.status(code: 3, message: message))
    }

    // MARK: Native spans

    /// `POST /v1/spans`: a JSON array of spans or JSON lines. Each span is validated on its own;
    /// the good ones are stored and the reply lists the bad ones by index (and line).
    func ingestNative(_ req: HTTPRequest) -> HTTPResponse {
        ingestLoad.enter()
        defer { ingestLoad.leave() }
        let grant: KeyRing.Grant?
        switch authorize(req, .ingest) {
        case .failure(let r): return r.response
        case .success(let g): grant = g
        }
        if let mt = req.mediaType, mt != "application/json", mt != "application/x-ndjson", mt != "application/jsonl", mt != "application/json-lines", mt != "text/plain" {
            return .error(415, "unsupported Content-Type '\(mt)': /v1/spans takes application/json (an array or JSON lines)")
        }
        let payload: [UInt8], hold: DecodeBudget.Hold
        switch body(req) {
        case .failure(let r): return r.response
        case .success(let b): (payload, hold) = b
        }
        defer { withExtendedLifetime(hold) {} }
        var spans: [Span] = []
        var errors: [(index: Int, line: Int?, reason: String)] = []
        var rejectedCount = 0
        var reasonCounts: [String: Int] = [:]
        func take(_ json: [UInt8], _ i: Int, _ line: Int?) {
            switch ingest.native(json, project: grant?.project) {
            case .success(let s):
                spans.append(s)
            case .failure(let why):
                rejectedCount += 1
                reasonCounts[why.kind.rawValue, default: 0] += 1
                if errors.count < options.maxReportedErrors { errors.append((i, line, why.reason)) }
            }
        }
        let firstByte = payload.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        if firstByte == UInt8(ascii: "[") {
            // Find each element's bytes (a syntax error anywhere refuses the request), then decode
            // them one by one so one bad span does not cost the others.
            var ranges: [Range<Int>] = []
            do {
                try payload.withUnsafeBufferPointer { b throws(JSONError) in
                    var r = JSONReader(b)
                    try r.beginArray()
                    var first = true
                    while try r.nextElement(first: &first) {
                        _ = r.peek()
                        let start = r.pos
                        try r.skipValue()
                        ranges.append(start..<r.pos)
                    }
                    try r.expectEnd()
                }
            } catch {
                return .error(400, "invalid JSON: \(error)")
            }
            for (i, range) in ranges.enumerated() { take(Array(payload[range]), i, nil) }
        } else {
            var i = 0
            var lineNo = 0
            var start = 0
            while start < payload.count {
                lineNo += 1
                let end = payload[start...].firstIndex(of: 0x0A) ?? payload.count
                let line = payload[start..<end]
                start = end + 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                take(Array(line), i, lineNo)
                i += 1
            }
        }
        let duplicates: Int
        switch store(spans, route: "/v1/spans", rejected: reasonCounts) {
        case .failure(let r): return r.response
        case .success(let d): duplicates = d
        }
        var w = JSONWriter()
        w.beginObject()
        w.key("accepted"); w.int(Int64(spans.count))
        w.key("rejected"); w.int(Int64(rejectedCount))
        if duplicates > 0 { w.key("duplicates"); w.int(Int64(duplicates)) }
        if !errors.isEmpty {
            w.key("errors")
            w.beginArray()
            for e in errors {
                w.beginObject()
                w.key("index"); w.int(Int64(e.index))
                if let l = e.line { w.key("line"); w.int(Int64(l)) }
                w.key("reason"); w.string(e.reason)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        let out = w.lineBytes
        if spans.isEmpty && rejectedCount == 0 { return .error(400, "no spans in the request body") }
        return .json(spans.isEmpty ? 400 : 200, out)
    }
}

/// A response that ends a request early (auth, body), carried as an error.
struct Refusal: Error {
    var response: HTTPResponse
    init(_ r: HTTPResponse) { response = r }
}

extension Collector {
    /// `POST /v1/scores`: one score object or an array of them (see `Score.decodeJSON`). Valid
    /// scores are stored, invalid ones listed by index.
    func ingestScores(_ req: HTTPRequest) -> HTTPResponse {
        ingestLoad.enter()
        defer { ingestLoad.leave() }
        let grant: KeyRing.Grant?
        switch authorize(req, .ingest) {
        case .failure(let r): return r.response
        case .success(let g): grant = g
        }
        if let mt = req.mediaType, mt != "application/json" {
            return .error(415, "unsupported Content-Type '\(mt)': /v1/scores takes application/json")
        }
        let payload: [UInt8], hold: DecodeBudget.Hold
        switch body(req) {
        case .failure(let r): return r.response
        case .success(let b): (payload, hold) = b
        }
        defer { withExtendedLifetime(hold) {} }
        let doc: JSONValue
        do { doc = try JSONValue.parse(payload) } catch { return .error(400, "invalid JSON: \(error)") }
        let items = doc.array ?? [doc]
        var scores: [Score] = []
        var errors: [(Int, String)] = []
        let now = wallNanos()
        for (i, item) in items.enumerated() {
            do {
                var sc = try Score.decodeJSON(item, now: now)
                if let g = grant { sc.project = g.project }
                scores.append(sc)
            } catch {
                errors.append((i, "\(error)"))
            }
        }
        var ids: [Int64] = []
        if !scores.isEmpty {
            do { ids = try store.index.addScores(scores) } catch {
                log.error("storing scores failed", [("error", "\(error)")])
                return .error(503, "scores not stored: \(StoreError.publicDescription(of: error))", headers: [("retry-after", "\(options.retryAfterSeconds)")])
            }
            metrics.record(scores)
        }
        var w = JSONWriter()
        w.beginObject()
        w.key("accepted"); w.int(Int64(scores.count))
        w.key("rejected"); w.int(Int64(errors.count))
        w.key("ids"); w.beginArray(); for id in ids { w.int(id) }; w.endArray()
        if !errors.isEmpty {
            w.key("errors"); w.beginArray()
            for (i, e) in errors.prefix(options.maxReportedErrors) {
                w.beginObject(); w.key("index"); w.int(Int64(i)); w.key("reason"); w.string(e); w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        let out = w.lineBytes
        return .json(scores.isEmpty ? 400 : 200, out)
    }
}
