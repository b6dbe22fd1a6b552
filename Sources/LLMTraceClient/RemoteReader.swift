import LLMTraceHTTP
import LLMTraceModel
import LLMTraceQuery

/// Reads through a running collector's HTTP API, with a read key when it has keys. `project` is
/// sent where the API takes one (a read key's project wins over it).
public final class RemoteReader: TraceReader {
    public let endpoint: String
    public let project: String?
    private var client: HTTPClient
    private let headers: [(String, String)]

    public init(endpoint: String, apiKey: String?, project: String? = nil, timeoutSeconds: Int = 30) throws(ReaderError) {
        self.endpoint = endpoint
        self.project = project
        do { client = try HTTPClient(endpoint: endpoint) } catch { throw ReaderError("\(error)", exitCode: 2) }
        client.timeoutSeconds = timeoutSeconds
        headers = apiKey.map { [("Authorization", "Bearer " + $0)] } ?? []
    }

    public var source: String { "collector \(client.host):\(client.port)" }

    /// The answer's body, or why there is none: 4 when the collector did not answer, 2 when it
    /// refused (400, 401, 403), 1 otherwise.
    func call(_ method: String, _ path: String, body: [UInt8] = [], timeoutSeconds: Int? = nil) throws(ReaderError) -> [UInt8] {
        let response: HTTPClient.Response
        let saved = client.timeoutSeconds
        if let t = timeoutSeconds { client.timeoutSeconds = t }
        defer { client.timeoutSeconds = saved }
        do {
            response = try client.request(method, path, body: body, headers: headers + (body.isEmpty ? [] : [("Content-Type", "application/json")]))
        } catch {
            throw ReaderError("cannot reach the collector at \(endpoint): \(error)", exitCode: 4)
        }
        guard response.status == 200 else {
            let doc = try? JSONValue.parse(response.body)
            let message = doc?["error"]?.string ?? String(decoding: response.body.prefix(300), as: UTF8.self)
            // A query's mistake is said as a data directory's reader says it (with its place).
            let position = doc?["position"]?.int.map { Int($0) }
            throw ReaderError(position != nil ? message : "\(endpoint) answered \(response.status): \(message)",
                              exitCode: [400, 401, 403].contains(response.status) ? 2 : 1, position: position, status: response.status)
        }
        return response.body
    }

    func document(_ path: String, _ params: [(String, String)] = [], timeoutSeconds: Int? = nil) throws(ReaderError) -> JSONValue {
        var all = params
        if let p = project, !all.contains(where: { $0.0 == "project" }) { all.append(("project", p)) }
        let body = try call("GET", path + (all.isEmpty ? "" : "?" + Self.queryString(all)), timeoutSeconds: timeoutSeconds)
        do { return try JSONValue.parse(body) } catch {
            throw ReaderError("\(endpoint) answered something that is not JSON: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
    }

    public func query(_ sql: String, limits: QueryEngine.Limits) throws(ReaderError) -> QueryResult {
        var w = JSONWriter()
        w.beginObject()
        w.key("query"); w.string(sql)
        if let p = project { w.key("project"); w.string(p) }
        w.endObject()
        let body = try call("POST", "/api/query", body: w.bytes, timeoutSeconds: Int(limits.timeoutNanos / 1_000_000_000) + 5)
        guard let doc = try? JSONValue.parse(body) else { throw ReaderError("\(endpoint) answered a query with something that is not JSON") }
        var r = Self.result(doc)
        // The collector answers up to its own row limit: the reader's limit cuts further.
        if r.rows.count > limits.maxRows {
            r.rows.removeLast(r.rows.count - limits.maxRows)
            r.stats.truncated = true
        }
        return r
    }

    public func trace(_ id: TraceIDPrefix) throws(ReaderError) -> TraceDocument {
        let body = try call("GET", "/api/traces/" + id.digits)
        do { return try TraceDocument.decodeJSON(body) } catch { throw ReaderError("\(endpoint) answered a trace that does not decode: \(error)") }
    }

    public func search(_ s: TraceSearch) throws(ReaderError) -> JSONValue {
        var params: [(String, String)] = [("limit", String(s.limit))]
        for (k, v) in [("service", s.service), ("model", s.model), ("kind", s.kind), ("status", s.status),
                       ("min_duration_ms", s.minDurationMs.map { QueryValue.double($0).text }), ("since", s.since.map(String.init)),
                       ("until", s.until.map(String.init)), ("session_id", s.sessionID), ("user_id", s.userID), ("cursor", s.cursor), ("text", s.text)] {
            if let v { params.append((k, v)) }
        }
        return try document("/api/traces", params, timeoutSeconds: 60)
    }

    public func alerts(state: String?) throws(ReaderError) -> JSONValue {
        try document("/api/alerts", state.map { [("state", $0)] } ?? [])
    }

    public func anomalies(since: String?, service: String?, metric: String?, limit: Int?) throws(ReaderError) -> JSONValue {
        try document("/api/anomalies", [("since", since), ("service", service), ("metric", metric), ("limit", limit.map(String.init))].compactMap { k, v in v.map { (k, $0) } })
    }

    public func drift(baseline: String?, current: String?, by: String?, limit: Int?) throws(ReaderError) -> JSONValue {
        try document("/api/drift", [("baseline", baseline), ("current", current), ("by", by), ("limit", limit.map(String.init))].compactMap { k, v in v.map { (k, $0) } },
                     timeoutSeconds: 120)
    }

    public func tail(after: Int64?, filter: TailFilter, waitMillis: Int) throws(ReaderError) -> JSONValue {
        var params: [(String, String)] = [("wait_ms", String(max(0, min(30_000, waitMillis))))]
        if let after { params.append(("after", String(after))) }
        return try document("/api/tail", params + filter.parameters, timeoutSeconds: waitMillis / 1000 + 30)
    }

    /// The API's answer as a result: columns with their types, rows with times kept as the
    /// RFC 3339 text the API writes, and the figures it gave (a read key's answer leaves the
    /// store-wide ones out: `stats.storeFigures` false).
    static func result(_ doc: JSONValue) -> QueryResult {
        let cols = doc["columns"]?.array ?? []
        let types = cols.map { QueryType(rawValue: $0["type"]?.string ?? "") ?? .string }
        let rows: [[QueryValue]] = (doc["rows"]?.array ?? []).map { row in
            (row.array ?? []).enumerated().map { i, v in
                switch v {
                case .null: return .null
                case .bool(let b): return .bool(b)
                case .string(let s):
                    if i < types.count, types[i] == .time, let t = QueryValue.parseTime(s) { return .time(t) }
                    return .string(s)
                case .number:
                    if i < types.count, types[i] == .int, let n = v.int { return .int(n) }
                    return v.double.map { .double($0) } ?? .null
                default: return .string(v.jsonString)
                }
            }
        }
        var r = QueryResult(columns: cols.map { $0["name"]?.string ?? "" }, types: types, rows: rows)
        let s = doc["stats"]
        r.stats.storeFigures = s?["rows_scanned"] != nil
        r.stats.rowsScanned = Int(s?["rows_scanned"]?.int ?? 0)
        r.stats.segmentsRead = Int(s?["segments_read"]?.int ?? 0)
        r.stats.segmentsPruned = Int(s?["segments_pruned"]?.int ?? 0)
        r.stats.memoryBytes = Int(s?["memory_bytes"]?.int ?? 0)
        r.stats.headRows = Int(s?["head_rows"]?.int ?? 0)
        r.stats.elapsedNanos = Int64((s?["elapsed_ms"]?.double ?? 0) * 1e6)
        r.stats.truncated = s?["truncated"]?.bool ?? false
        return r
    }

    /// `name=value&…` with values percent-encoded (RFC 3986 unreserved characters kept).
    public static func queryString(_ params: [(String, String)]) -> String { HTTPClient.queryString(params) }
}
