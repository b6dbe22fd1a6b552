import LLMTraceHTTP
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore

/// Read routes: `POST /api/query` (the SQL subset) and `GET /api/traces/{id}`. A read key confines
/// every answer to its project; with no keys configured everything is visible.
extension Collector {
    /// `POST /api/query` with `{"query": "SELECT …"}` (or the SQL itself as text/plain). Answers
    /// `{"columns": [...], "rows": [[...]], "stats": {...}}`; a query error is a 400 with the
    /// message and, when it points at one, the 1-based `position` in the query.
    func query(_ req: HTTPRequest) -> HTTPResponse {
        let grant: KeyRing.Grant?
        switch authorize(req, .read) {
        case .failure(let r): return r.response
        case .success(let g): grant = g
        }
        let payload: [UInt8]
        switch body(req) {
        case .failure(let r): return r.response
        case .success(let b): payload = b
        }
        var sql: String
        var project = grant?.project
        switch req.mediaType {
        case "text/plain", "application/sql":
            sql = String(decoding: payload, as: UTF8.self)
        case nil, "application/json":
            let doc: JSONValue
            do { doc = try JSONValue.parse(payload) } catch { return .error(400, "invalid JSON: \(error); send {\"query\": \"SELECT …\"}") }
            guard let q = doc["query"]?.string else { return .error(400, "missing \"query\": send {\"query\": \"SELECT count() FROM spans\"}") }
            sql = q
            // Without keys (an open collector) a request may narrow itself to one project.
            if grant == nil, let p = doc["project"]?.string { project = p }
        case let other?:
            return .error(415, "unsupported Content-Type '\(other)': /api/query takes application/json or text/plain")
        }
        guard sql.utf8.count <= 64 * 1024 else { return .error(413, "query longer than 64 KiB") }
        var limits = QueryEngine.Limits()
        limits.timeoutNanos = options.queryTimeoutNanos
        limits.maxRows = options.queryMaxRows
        do {
            let result = try queryEngine.run(sql, project: project, limits: limits)
            var out = result.json()
            out.append(0x0A)
            return .json(200, out)
        } catch let e as QueryError {
            var w = JSONWriter()
            w.beginObject()
            w.key("error"); w.string(e.message)
            if let p = e.position { w.key("position"); w.int(Int64(p)) }
            w.endObject()
            var out = w.bytes
            out.append(0x0A)
            return .json(e.message.contains("time limit") ? 503 : 400, out)
        } catch {
            log.error("query failed", [("error", "\(error)")])
            return .error(500, "query failed: \(error)")
        }
    }

    /// `GET /api/traces/{id}`: every span of the trace as native JSON, in start order.
    func traceByID(_ req: HTTPRequest, _ hex: Substring) -> HTTPResponse {
        guard req.method == "GET" || req.method == "HEAD" else { return Self.methodNotAllowed("GET, HEAD") }
        let grant: KeyRing.Grant?
        switch authorize(req, .read) {
        case .failure(let r): return r.response
        case .success(let g): grant = g
        }
        guard let id = TraceID(hex: hex.lowercased()), !id.isZero else {
            return .error(400, "'\(hex)' is not a trace id: expected 32 hex digits")
        }
        var spans: [Span]
        do { spans = try store.trace(id) } catch {
            log.error("trace lookup failed", [("error", "\(error)")])
            return .error(500, "trace lookup failed: \(error)")
        }
        if let g = grant { spans.removeAll { $0.project != g.project } }
        guard !spans.isEmpty else { return .error(404, "trace \(id.hex) not found") }
        spans.sort { ($0.startNanos, $0.spanID.value) < ($1.startNanos, $1.spanID.value) }
        var w = JSONWriter(capacity: 4096)
        w.beginObject()
        w.key("trace_id"); w.string(id.hex)
        w.key("span_count"); w.int(Int64(spans.count))
        w.key("spans")
        w.beginArray()
        for s in spans { s.encodeJSON(into: &w) }
        w.endArray()
        w.endObject()
        var out = w.bytes
        out.append(0x0A)
        return .json(200, out)
    }
}
