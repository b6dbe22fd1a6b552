import LLMTraceClickHouse
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore

/// Read routes: `POST /api/query` (the SQL subset) and `GET /api/traces/{id}`. A read key confines
/// every answer to its project; with no keys configured everything is visible. With a ClickHouse
/// cluster configured, `engine=local|clickhouse|auto` (or the collector's `--query-engine`) picks
/// what answers (`Collector+ReadEngine`); the `llmtrace-engine` header says which did.
extension Collector {
    /// A GET (or HEAD) read route's grant: nil when no keys are configured.
    func readGrant(_ req: HTTPRequest) -> Result<KeyRing.Grant?, Refusal> {
        guard req.method == "GET" || req.method == "HEAD" else { return .failure(Refusal(Self.methodNotAllowed("GET, HEAD"))) }
        return authorize(req, .read)
    }

    /// `POST /api/query` with `{"query": "SELECT …"}` (or the SQL itself as text/plain). Answers
    /// `{"columns": [...], "rows": [[...]], "stats": {...}}`; a query error is a 400 with the
    /// message and, when it points at one, the 1-based `position` in the query.
    func query(_ req: HTTPRequest) -> HTTPResponse {
        let grant: KeyRing.Grant?
        switch authorize(req, .read) {
        case .failure(let r): return r.response
        case .success(let g): grant = g
        }
        let payload: [UInt8], hold: DecodeBudget.Hold
        switch body(req) {
        case .failure(let r): return r.response
        case .success(let b): (payload, hold) = b
        }
        defer { withExtendedLifetime(hold) {} }
        var sql: String
        var project = grant?.project
        var requestedEngine = req.queryItems["engine"]
        switch req.mediaType {
        case "text/plain", "application/sql":
            sql = String(decoding: payload, as: UTF8.self)
        // curl -d sends application/x-www-form-urlencoded unless told otherwise: read it as JSON.
        case nil, "application/json", "application/x-www-form-urlencoded":
            let doc: JSONValue
            do { doc = try JSONValue.parse(payload) } catch { return .error(400, "invalid JSON: \(error); send {\"query\": \"SELECT …\"}") }
            guard let q = doc["query"]?.string else { return .error(400, "missing \"query\": send {\"query\": \"SELECT count() FROM spans\"}") }
            sql = q
            if let e = doc["engine"]?.string { requestedEngine = e }
            // Without keys (an open collector) a request may narrow itself to one project.
            if grant == nil, let p = doc["project"]?.string { project = p }
        case let other?:
            return .error(415, "unsupported Content-Type '\(other)': /api/query takes application/json or text/plain")
        }
        guard sql.utf8.count <= 64 * 1024 else { return .error(413, "query longer than 64 KiB") }
        var limits = QueryEngine.Limits()
        limits.timeoutNanos = options.queryTimeoutNanos
        limits.maxRows = options.queryMaxRows
        limits.maxMemoryBytes = options.queryMemoryBytes
        let engine: ReadEngine
        switch readEngine(requestedEngine) {
        case .failure(let r): return r.response
        case .success(let e): engine = e
        }
        do {
            let now = wallNanos()
            var cluster = engine == .clickhouse
            if engine == .auto { cluster = !storeCovers(since: try QueryEngine.earliestStart(sql, now: now), now: now) }
            // What a local query mapped leaves this process's RSS when it is done (`releaseMappedPages`).
            defer { if !cluster { store.releaseMappedPages() } }
            let result = cluster ? try options.clickhouse!.run(sql, project: project, limits: limits, now: now)
                                 : try queryEngine.run(sql, project: project, limits: limits, now: now)
            var out = result.json(storeFigures: grant == nil)
            out.append(0x0A)
            return .json(200, out, headers: [(Self.engineHeader, cluster ? "clickhouse" : "local")])
        } catch let e as ClickHouseError {
            return clickhouseFailure(e, "the query")
        } catch let e as QueryError {
            var w = JSONWriter()
            w.beginObject()
            w.key("error"); w.string(e.message)
            if let p = e.position { w.key("position"); w.int(Int64(p)) }
            w.endObject()
            let out = w.lineBytes
            return .json(e.httpStatus, out, headers: e.kind == .timeLimit ? [("retry-after", "\(options.retryAfterSeconds)")] : [])
        } catch {
            // The reason (it may name a file of the data directory) goes to the log, not the client.
            log.error("query failed", [("error", "\(error)")])
            return .error(500, "query failed: an internal error (logged by the server)")
        }
    }

    /// `GET /api/traces/{id}`: every span of the trace as native JSON, in start order, and its
    /// scores (`TraceDocument`). The id may be a unique prefix of 8 to 31 hex digits; one that
    /// names several traces (of the key's project) is a 409 listing a few.
    func traceByID(_ req: HTTPRequest, _ hex: Substring) -> HTTPResponse {
        let grant: KeyRing.Grant?
        switch readGrant(req) {
        case .failure(let r): return r.response
        case .success(let g): grant = g
        }
        guard let prefix = TraceIDPrefix(hex), prefix.low != prefix.high || !prefix.low.isZero else {
            return .error(400, "'\(hex.prefix(64))' is not a trace id: expected 32 hex digits, or a unique prefix of at least \(TraceIDPrefix.minimumDigits)")
        }
        let engine: ReadEngine
        switch readEngine(req.queryItems["engine"]) {
        case .failure(let r): return r.response
        case .success(let e): engine = e
        }
        func ambiguous(_ ids: [TraceID]) -> HTTPResponse {
            .error(409, "trace id prefix \(prefix) is ambiguous: it matches \(ids.prefix(3).map(\.hex).joined(separator: ", "))\(ids.count > 3 ? ", …" : ""); give more digits")
        }
        func found(_ doc: TraceDocument, _ engine: String) -> HTTPResponse {
            var w = JSONWriter(capacity: 4096)
            doc.encodeJSON(into: &w)
            return .json(200, w.lineBytes, headers: [(Self.engineHeader, engine)])
        }
        do {
            if engine != .clickhouse {
                switch try store.lookUpTrace(prefix, project: grant?.project) {
                case .ambiguous(let ids): return ambiguous(ids)
                case .found(let doc): return found(doc, "local")
                case .notFound: if engine == .local { return .error(404, "trace \(prefix) not found") }
                }
            }
            // clickhouse, or auto for a trace this collector does not hold.
            switch try options.clickhouse!.lookUpTrace(prefix, project: grant?.project) {
            case .ambiguous(let ids): return ambiguous(ids)
            case .found(let doc): return found(doc, "clickhouse")
            case .notFound: return .error(404, "trace \(prefix) not found")
            }
        } catch let e as ClickHouseError {
            return clickhouseFailure(e, "the trace lookup")
        } catch {
            log.error("trace lookup failed", [("error", "\(error)")])
            return .error(500, "trace lookup failed")
        }
    }
}

extension Collector {
    /// `GET /api/traces?service=&model=&kind=&status=&min_duration_ms=&since=&until=&session_id=&user_id=&limit=&cursor=`:
    /// traces with a span matching every given filter, newest first, a page at a time.
    func searchTraces(_ req: HTTPRequest) -> HTTPResponse {
        let grant: KeyRing.Grant?
        switch readGrant(req) {
        case .failure(let r): return r.response
        case .success(let g): grant = g
        }
        let q = req.queryItems
        let known = Set(TraceSearch.parameterNames + ["project", "engine"])
        if let unknown = q.keys.sorted().first(where: { !known.contains($0) }) {
            return .error(400, "unknown parameter '\(unknown)'; parameters: \(known.sorted().joined(separator: ", "))")
        }
        let now = wallNanos()
        let s: TraceSearch
        do { s = try TraceSearch(parameters: q, now: now) } catch { return .error(400, error.message) }
        let project = grant?.project ?? q["project"]
        let engine: ReadEngine
        switch readEngine(q["engine"]) {
        case .failure(let r): return r.response
        case .success(let e): engine = e
        }
        let cluster = engine == .clickhouse || (engine == .auto && !storeCovers(since: s.since, now: now))
        do {
            var limits = QueryEngine.Limits()
            limits.timeoutNanos = options.queryTimeoutNanos
            limits.maxMemoryBytes = options.queryMemoryBytes
            let (traces, next) = cluster ? try options.clickhouse!.searchTraces(s, project: project, limits: limits, now: now)
                                         : try queryEngine.searchTraces(s, project: project, now: now) { try store.trace($0) }
            return .json(200, TraceSearch.json(traces, next: next), headers: [(Self.engineHeader, cluster ? "clickhouse" : "local")])
        } catch let e as ClickHouseError {
            return clickhouseFailure(e, "the trace search")
        } catch let e as QueryError {
            return .error(400, e.message)
        } catch {
            log.error("trace search failed", [("error", "\(error)")])
            return .error(500, "trace search failed: an internal error (logged by the server)")
        }
    }

    /// `GET /api/sessions/{id}`: every trace of a session (up to 1,000), oldest first.
    func session(_ req: HTTPRequest, _ id: Substring) -> HTTPResponse {
        let grant: KeyRing.Grant?
        switch readGrant(req) {
        case .failure(let r): return r.response
        case .success(let g): grant = g
        }
        guard let sessionID = String(id).removingPercentEncodingASCII(), !sessionID.isEmpty else { return .error(400, "bad session id") }
        var s = TraceSearch()
        s.sessionID = sessionID
        s.limit = 1000
        do {
            var (traces, _) = try queryEngine.searchTraces(s, project: grant?.project) { try store.trace($0) }
            guard !traces.isEmpty else { return .error(404, "session '\(sessionID)' not found") }
            traces.sort { ($0.start, $0.traceID) < ($1.start, $1.traceID) }
            var w = JSONWriter(capacity: 256 + traces.count * 300)
            w.beginObject()
            w.key("session_id"); w.string(sessionID)
            w.key("trace_count"); w.int(Int64(traces.count))
            w.key("span_count"); w.int(Int64(traces.reduce(0) { $0 + $1.spanCount }))
            w.key("cost_usd"); w.double(traces.reduce(0) { $0 + $1.costUSD })
            w.key("traces")
            Self.write(traces, &w)
            w.endObject()
            let out = w.lineBytes
            return .json(200, out)
        } catch {
            log.error("session lookup failed", [("error", "\(error)")])
            return .error(500, "session lookup failed: an internal error (logged by the server)")
        }
    }

    static func write(_ traces: [TraceSearch.Summary], _ w: inout JSONWriter) {
        w.beginArray()
        for t in traces { t.encodeJSON(into: &w) }
        w.endArray()
    }

}

extension String {
    /// Decodes %XX escapes of a path segment; nil when an escape is malformed.
    func removingPercentEncodingASCII() -> String? {
        var bytes: [UInt8] = []
        var it = Array(utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(bytes: bytes, encoding: .utf8)
    }
}

extension Collector {
    /// `GET /api/tail?after=N&wait_ms=&limit=&service=&model=&kind=&status=&min_duration_ms=`: spans
    /// stored after number N (without `after`: none yet, and the number to start from), waiting up to
    /// `wait_ms` (default 5000, at most 30000) for the first. Answers `{"spans": [...], "next": N,
    /// "missed": M}`; spans are native JSON without messages, documents or attributes.
    func tail(_ req: HTTPRequest) -> HTTPResponse {
        let grant: KeyRing.Grant?
        switch readGrant(req) {
        case .failure(let r): return r.response
        case .success(let g): grant = g
        }
        let q = req.queryItems
        let known: Set<String> = ["after", "wait_ms", "limit", "service", "model", "kind", "status", "min_duration_ms", "project"]
        if let unknown = q.keys.sorted().first(where: { !known.contains($0) }) {
            return .error(400, "unknown parameter '\(unknown)'; parameters: \(known.sorted().joined(separator: ", "))")
        }
        func number(_ name: String, _ d: Int64, _ range: ClosedRange<Int64>) -> Result<Int64, Refusal> {
            guard let v = q[name] else { return .success(d) }
            guard let n = Int64(v), range.contains(n) else { return .failure(Refusal(.error(400, "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(v)'"))) }
            return .success(n)
        }
        let wait: Int64, limit: Int64
        switch (number("wait_ms", 5000, 0...30_000), number("limit", 500, 1...5000)) {
        case (.success(let w), .success(let l)): wait = w; limit = l
        case (.failure(let r), _), (_, .failure(let r)): return r.response
        }
        var minDurationNanos: Int64 = 0
        if let v = q["min_duration_ms"] {
            guard let d = Double(v), d >= 0, d < 1e12 else { return .error(400, "min_duration_ms must be a number of milliseconds, got '\(v)'") }
            minDurationNanos = Int64(d * 1e6)
        }
        let project = grant?.project ?? q["project"]
        let service = q["service"], model = q["model"], kind = q["kind"], status = q["status"]
        // A read key's positions count its project's spans only (nothing about other projects'
        // traffic); without keys, positions are collector-wide.
        guard let afterText = q["after"] else {
            let latest = grant.map { live.latest(project: $0.project) } ?? live.latest
            return .json(200, Array("{\"spans\":[],\"next\":\(latest),\"missed\":0}\n".utf8))
        }
        guard let after = Int64(afterText), after >= 0 else { return .error(400, "after must be the next value of the previous answer, got '\(afterText)'") }
        let keep: (Span) -> Bool = { s in
            (project == nil || s.project == project) && (service == nil || s.service == service)
                && (model == nil || (s.responseModel ?? s.requestModel) == model) && (kind == nil || s.kind.rawValue == kind)
                && (status == nil || s.status.rawValue == status) && s.durationNanos >= minDurationNanos
        }
        let (spans, next, missed) = grant.map { live.read(project: $0.project, after: after, limit: Int(limit), waitNanos: wait * 1_000_000, keep: keep) }
            ?? live.read(after: after, limit: Int(limit), waitNanos: wait * 1_000_000, keep: keep)
        var w = JSONWriter(capacity: 256 + spans.count * 400)
        w.beginObject()
        w.key("spans"); w.beginArray(); for s in spans { s.encodeJSON(into: &w) }; w.endArray()
        w.key("next"); w.int(next)
        w.key("missed"); w.int(missed)
        w.endObject()
        let out = w.lineBytes
        return .json(200, out)
    }
}
