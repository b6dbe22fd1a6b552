import LLMTraceModel
import LLMTraceStore
import LLMTraceSupport

/// Finds traces by the spans in them: "failing chat traces over 2 s since the deploy". Traces come
/// newest first, ordered by the start of their latest matching span, a page at a time with an opaque
/// cursor that resumes exactly where the page ended (keyset pagination: nothing repeats or is skipped
/// while new spans arrive).
public struct TraceSearch: Sendable {
    public var service: String?
    public var model: String?
    public var kind: String?
    public var status: String?
    public var minDurationMs: Double?
    /// Inclusive bounds on span start, nanoseconds since the epoch.
    public var since: Int64?
    public var until: Int64?
    public var sessionID: String?
    public var userID: String?
    /// Full-text terms (FTS5 syntax): a span of the trace has a message or document paragraph with all of them.
    public var text: String?
    public var limit = 20
    /// From a previous page's `nextCursor`.
    public var cursor: String?

    public init() {}

    /// One trace as a search result.
    public struct Summary: Sendable {
        public var traceID: TraceID
        /// The root span's name and service (the earliest span's when the root has not arrived).
        public var name: String
        public var service: String
        public var start: Int64
        public var durationNanos: Int64
        public var spanCount: Int
        public var inputTokens: Int64
        public var outputTokens: Int64
        public var costUSD: Double
        public var errors: Int
        public var models: [String]
        public var sessionID: String?
        public var userID: String?
        /// Start of the latest span that matched the search (what the order is by).
        public var matchedAt: Int64

        /// `{"trace_id", "name", "service", "start", "start_ns", "matched_at", "matched_at_ns", "duration_ms", "span_count",
        /// "input_tokens", "output_tokens", "cost_usd", "errors", "models", "session_id", "user_id"}`
        public func encodeJSON(into w: inout JSONWriter) {
            w.beginObject()
            w.key("trace_id"); w.string(traceID.hex)
            w.key("name"); w.string(name)
            w.key("service"); w.string(service)
            w.key("start"); w.string(QueryValue.formatTime(start))
            w.key("start_ns"); w.int(start)
            w.key("matched_at"); w.string(QueryValue.formatTime(matchedAt))
            w.key("matched_at_ns"); w.int(matchedAt)
            w.key("duration_ms"); w.double(Double(durationNanos) / 1e6)
            w.key("span_count"); w.int(Int64(spanCount))
            w.key("input_tokens"); w.int(inputTokens)
            w.key("output_tokens"); w.int(outputTokens)
            w.key("cost_usd"); w.double(costUSD)
            w.key("errors"); w.int(Int64(errors))
            w.key("models"); w.beginArray(); for m in models { w.string(m) }; w.endArray()
            w.key("session_id"); if let v = sessionID { w.string(v) } else { w.null() }
            w.key("user_id"); if let v = userID { w.string(v) } else { w.null() }
            w.endObject()
        }

        init(_ id: TraceID, _ spans: [Span], matchedAt: Int64) {
            traceID = id
            let root = spans.first { $0.parentSpanID.isZero } ?? spans.min { $0.startNanos < $1.startNanos }!
            name = root.name
            service = root.service
            start = spans.map(\.startNanos).min()!
            durationNanos = spans.map(\.endNanos).max()! - start
            spanCount = spans.count
            inputTokens = spans.reduce(0) { $0 + ($1.inputTokens ?? 0) }
            outputTokens = spans.reduce(0) { $0 + ($1.outputTokens ?? 0) }
            costUSD = spans.reduce(0) { $0 + ($1.costUSD ?? 0) }
            errors = spans.filter { $0.status == .error }.count
            var seen = Set<String>()
            models = spans.compactMap { $0.responseModel ?? $0.requestModel }.filter { seen.insert($0).inserted }
            sessionID = root.sessionID ?? spans.lazy.compactMap(\.sessionID).first
            userID = root.userID ?? spans.lazy.compactMap(\.userID).first
            self.matchedAt = matchedAt
        }
    }

    /// The condition a matching span meets, as query text (values quoted).
    func condition() -> String {
        func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
        var c: [String] = []
        if let service { c.append("service = \(q(service))") }
        if let model { c.append("model = \(q(model))") }
        if let kind { c.append("kind = \(q(kind))") }
        if let status { c.append("status = \(q(status))") }
        if let minDurationMs { c.append("duration_ms >= \(minDurationMs)") }
        if let since { c.append("start >= \(since)") }
        if let until { c.append("start <= \(until)") }
        if let sessionID { c.append("session_id = \(q(sessionID))") }
        if let userID { c.append("user_id = \(q(userID))") }
        if let text { c.append("text MATCH \(q(text))") }
        return c.isEmpty ? "TRUE" : c.joined(separator: " AND ")
    }

    static func parseCursor(_ s: String) throws -> (Int64, TraceID) {
        let parts = s.split(separator: "-")
        guard parts.count == 2, let t = Int64(parts[0]), let id = TraceID(hex: parts[1]) else {
            throw QueryError("invalid cursor '\(s)': pass the nextCursor of the previous page unchanged")
        }
        return (t, id)
    }
}

extension QueryEngine {
    /// A page of traces matching `search`, and the cursor of the next page (nil on the last one).
    /// `lookup` reads a whole trace (the store's trace-by-id index); `project` confines both steps.
    public func searchTraces(_ search: TraceSearch, project: String?, now: Int64 = wallNanos(),
                             lookup: (TraceID) throws -> [Span]) throws -> (traces: [TraceSearch.Summary], nextCursor: String?) {
        try search.validate()
        // The same condition, evaluated span by span on the traces found, decides each trace's latest
        // matching span (its place in the order).
        let plan = try QueryPlanner.plan(QueryParser.parse("SELECT trace_id FROM spans WHERE " + search.condition()), now: now, project: project)
        var matchSets: [TextMatch] = []
        for q in plan.matchQueries {
            guard let textMatcher else { throw QueryError("text search needs a store's text index") }
            do { matchSets.append(try textMatcher(q)) } catch { throw QueryError("text search '\(q)': \(error)") }
        }
        func matches(_ s: Span, _ k: Int) -> QueryValue { .bool((try? matchSets[k].matches(s)) ?? false) }
        return try search.run(
            rows: { sql, limits in try run(sql, project: project, limits: limits, now: now).rows },
            traces: { ids in
                var out: [TraceID: [Span]] = [:]
                for id in ids { out[id] = try lookup(id).filter { project == nil || $0.project == project } }
                return out
            },
            latestMatches: { ids, traces in
                var out: [TraceID: Int64] = [:]
                for id in ids {
                    var latest: Int64?
                    for s in traces[id] ?? [] where try plan.filter.map({ f throws(QueryError) in Ops.truth(try f.eval({ $0.value(of: s) }, match: { matches(s, $0) })) == 1 }) ?? true {
                        latest = max(latest ?? s.startNanos, s.startNanos)
                    }
                    out[id] = latest
                }
                return out
            })
    }
}

extension TraceSearch {
    func validate() throws(QueryError) {
        guard (1...1000).contains(limit) else { throw QueryError("limit must be between 1 and 1000") }
        if let s = status, !["ok", "error", "unset"].contains(s) {
            throw QueryError("status must be ok, error or unset, not '\(s)'")
        }
    }

    /// The search over any engine of the SQL subset (the store's, or ClickHouse through its
    /// translation): `rows` answers a query of the subset, `traces` reads whole traces (confined to
    /// the project), `latestMatches` gives each trace's latest span that meets the condition.
    /// Candidates come newest first from the spans that match, a batch at a time.
    public func run(rows: (String, QueryEngine.Limits) throws -> [[QueryValue]],
                    traces: ([TraceID]) throws -> [TraceID: [Span]],
                    latestMatches: ([TraceID], [TraceID: [Span]]) throws -> [TraceID: Int64]) throws -> (traces: [Summary], nextCursor: String?) {
        try validate()
        let pageCursor = try cursor.map(TraceSearch.parseCursor)
        let condition = condition()
        var out: [Summary] = []
        var considered = Set<TraceID>()
        let batch = limit * 8 + 64
        var limits = QueryEngine.Limits()
        limits.maxRows = batch
        var scanFrom = pageCursor?.0
        for _ in 0..<8 {
            var sql = "SELECT trace_id, start FROM spans WHERE " + condition
            if let t = scanFrom { sql += " AND start <= \(t)" }
            sql += " ORDER BY start DESC LIMIT \(batch)"
            let found = try rows(sql, limits)
            var ids: [TraceID] = []
            for row in found {
                guard case .string(let hex) = row[0], let id = TraceID(hex: hex), considered.insert(id).inserted else { continue }
                ids.append(id)
            }
            let spans = try traces(ids)
            let latest = try latestMatches(ids, spans)
            for id in ids {
                guard let s = spans[id], !s.isEmpty, let at = latest[id] else { continue }
                // Already on an earlier page: its latest match sorts at or before the cursor.
                if let (t, cid) = pageCursor, at > t || (at == t && id >= cid) { continue }
                out.append(Summary(id, s, matchedAt: at))
            }
            if out.count >= limit || found.count < batch { break }
            // Not enough distinct traces in this batch: read further back.
            guard case .time(let last) = found.last![1] else { break }
            scanFrom = last
        }
        out.sort { ($0.matchedAt, $0.traceID) > ($1.matchedAt, $1.traceID) }
        let page = Array(out.prefix(limit))
        let more = out.count > limit || page.count == limit
        let next = more ? page.last.map { "\($0.matchedAt)-\($0.traceID.hex)" } : nil
        return (page, next)
    }

    /// The query of the subset that gives each of `ids`' latest span meeting the search's
    /// condition (`trace_id`, `latest`), for an engine that answers it in one pass.
    public func latestMatchQuery(_ ids: [TraceID]) -> String {
        "SELECT trace_id, max(start) AS latest FROM spans WHERE (\(condition())) AND trace_id IN (\(ids.map { "'\($0.hex)'" }.joined(separator: ", "))) GROUP BY trace_id"
    }
}

extension TraceSearch {
    /// The parameters `GET /api/traces` takes (besides `project`), in the order they are written.
    public static let parameterNames = ["service", "model", "kind", "status", "min_duration_ms", "since", "until", "session_id", "user_id",
                                        "limit", "cursor", "text"]

    /// A search from the API's parameters (`since=1h`, `min_duration_ms=500`, …), as the collector's
    /// route and a data directory's reader read them alike.
    public init(parameters q: [String: String], now: Int64) throws(QueryError) {
        self.init()
        service = q["service"]; model = q["model"]; kind = q["kind"]; status = q["status"]
        sessionID = q["session_id"]; userID = q["user_id"]; cursor = q["cursor"]; text = q["text"]
        if let v = q["min_duration_ms"] {
            guard let d = Double(v), d >= 0 else { throw QueryError("min_duration_ms must be a number of milliseconds, got '\(v)'") }
            minDurationMs = d
        }
        for name in ["since", "until"] {
            guard let v = q[name] else { continue }
            guard let t = QueryValue.parseTimeArgument(v, now: now) else {
                throw QueryError("\(name) must be an RFC 3339 time (2026-11-25T06:00:00Z), nanoseconds since 1970, or a duration ago (15m, 1h, 7d); got '\(v)'")
            }
            if name == "since" { since = t } else { until = t }
        }
        if let v = q["limit"] {
            guard let n = Int(v), (1...1000).contains(n) else { throw QueryError("limit must be between 1 and 1000, got '\(v)'") }
            limit = n
        }
    }

    /// `{"traces": [...], "next_cursor": …}`: the answer of `GET /api/traces`.
    public static func json(_ traces: [Summary], next: String?) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + traces.count * 300)
        w.beginObject()
        w.key("traces")
        w.beginArray()
        for t in traces { t.encodeJSON(into: &w) }
        w.endArray()
        w.key("next_cursor")
        if let next { w.string(next) } else { w.null() }
        w.endObject()
        return w.lineBytes
    }
}
