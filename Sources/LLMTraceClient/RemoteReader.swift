import LLMTraceHTTP
import LLMTraceModel
import LLMTraceQuery

/// Reads through a running collector's HTTP API, with a read key when it has keys.
public final class RemoteReader: TraceReader {
    public let endpoint: String
    private var client: HTTPClient
    private let headers: [(String, String)]

    public init(endpoint: String, apiKey: String?, timeoutSeconds: Int = 30) throws(ReaderError) {
        self.endpoint = endpoint
        do { client = try HTTPClient(endpoint: endpoint) } catch { throw ReaderError("\(error)") }
        client.timeoutSeconds = timeoutSeconds
        headers = apiKey.map { [("Authorization", "Bearer " + $0)] } ?? []
    }

    public var source: String { "collector \(client.host):\(client.port)" }

    func call(_ method: String, _ path: String, body: [UInt8] = []) throws(ReaderError) -> JSONValue {
        let response: HTTPClient.Response
        do {
            response = try client.request(method, path, body: body, headers: headers + (body.isEmpty ? [] : [("Content-Type", "application/json")]))
        } catch {
            throw ReaderError("cannot reach the collector at \(endpoint): \(error)", unreachable: true)
        }
        let doc = try? JSONValue.parse(response.body)
        guard response.status == 200, let doc else {
            let message = doc?["error"]?.string ?? String(decoding: response.body.prefix(200), as: UTF8.self)
            throw ReaderError("\(endpoint) answered \(response.status): \(message)")
        }
        return doc
    }

    public func query(_ sql: String) throws(ReaderError) -> QueryResult {
        var w = JSONWriter()
        w.beginObject()
        w.key("query"); w.string(sql)
        w.endObject()
        let doc = try call("POST", "/api/query", body: w.bytes)
        return Self.result(doc)
    }

    public func trace(_ id: TraceIDPrefix) throws(ReaderError) -> TraceDocument {
        let response: HTTPClient.Response
        do {
            response = try client.request("GET", "/api/traces/" + id.digits, headers: headers)
        } catch {
            throw ReaderError("cannot reach the collector at \(endpoint): \(error)", unreachable: true)
        }
        guard response.status == 200 else {
            let message = (try? JSONValue.parse(response.body))?["error"]?.string ?? String(decoding: response.body.prefix(200), as: UTF8.self)
            throw ReaderError("\(endpoint) answered \(response.status): \(message)")
        }
        do { return try TraceDocument.decodeJSON(response.body) } catch { throw ReaderError("\(endpoint) answered a trace that does not decode: \(error)") }
    }

    public func alerts() throws(ReaderError) -> [JSONValue] {
        try call("GET", "/api/alerts")["alerts"]?.array ?? []
    }

    /// The API's answer as a result: columns with their types, rows with times kept as the
    /// RFC 3339 text the API writes.
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
        return QueryResult(columns: cols.map { $0["name"]?.string ?? "" }, types: types, rows: rows)
    }
}
