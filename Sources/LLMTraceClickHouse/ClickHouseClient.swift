import Foundation
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceSupport

/// Statements to ClickHouse's HTTP interface (POST, one connection per statement), over the
/// endpoint's nodes: a node that cannot be reached is left for the next one, and the one that last
/// answered is asked first.
public final class ClickHouseClient: @unchecked Sendable {
    public let endpoint: ClickHouseEndpoint
    public var timeoutSeconds = 30
    private let lock = Condition()
    private var preferred = 0

    public init(_ endpoint: ClickHouseEndpoint) {
        self.endpoint = endpoint
    }

    /// Runs `sql`. With `data`, the statement goes in the URL and `data` is the body (an INSERT's
    /// rows, gzip-compressed when the endpoint says so); otherwise the statement is the body.
    /// `node` picks one node (`tracectl clickhouse init` runs its DDL on each); nil tries each in turn.
    @discardableResult
    public func execute(_ sql: String, data: [UInt8]? = nil, settings: [(String, String)] = [], node: Int? = nil) throws(ClickHouseError) -> [UInt8] {
        var params = settings
        var body: [UInt8]
        var headers: [(String, String)] = []
        if let data {
            params.insert(("query", sql), at: 0)
            if endpoint.gzip {
                body = BodyDecoding.gzip(data, level: 1)
                headers.append(("Content-Encoding", "gzip"))
            } else {
                body = data
            }
        } else {
            body = Array(sql.utf8)
        }
        if let u = endpoint.user { headers.append(("X-ClickHouse-User", u)) }
        if let p = endpoint.password { headers.append(("X-ClickHouse-Key", p)) }
        let path = "/" + (params.isEmpty ? "" : "?" + HTTPClient.queryString(params))
        let order: [Int]
        if let node {
            order = [node]
        } else {
            let first = lock.withLock { preferred }
            order = (0..<endpoint.nodes.count).map { (first + $0) % endpoint.nodes.count }
        }
        var last = ClickHouseError("no ClickHouse node", unreachable: true)
        for i in order {
            let url = endpoint.nodes[i]
            let response: HTTPClient.Response
            do {
                var c = try HTTPClient(endpoint: url)
                c.timeoutSeconds = timeoutSeconds
                response = try c.request("POST", path, body: body, headers: headers)
            } catch {
                // HTTPClient's hint names llmtraced; here the peer is ClickHouse.
                var text = "\(error)"
                if let r = text.range(of: " (is llmtraced running") { text = String(text[..<r.lowerBound]) }
                last = ClickHouseError(text, node: url, unreachable: true)
                continue
            }
            lock.withLock { preferred = i }
            guard response.status == 200 else { throw ClickHouseError.parse(response.body, httpStatus: response.status, node: url) }
            return response.body
        }
        throw last
    }

    /// The rows of a `SELECT … FORMAT JSONEachRow`, each parsed.
    public func rows(_ sql: String, node: Int? = nil) throws(ClickHouseError) -> [JSONValue] {
        let body = try execute(sql + " FORMAT JSONEachRow", node: node)
        var out: [JSONValue] = []
        for line in body.split(separator: 0x0A) where !line.isEmpty {
            do { out.append(try JSONValue.parse(Array(line))) } catch {
                throw ClickHouseError("unreadable answer row: \(error)")
            }
        }
        return out
    }

    /// `SELECT version()`, e.g. `18.16.1` or `24.8.4.13`.
    public func version(node: Int? = nil) throws(ClickHouseError) -> ClickHouseVersion {
        let text = String(decoding: try execute("SELECT version()", node: node), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let v = ClickHouseVersion(text) else { throw ClickHouseError("unexpected version '\(text.prefix(40))'") }
        return v
    }
}

/// A ClickHouse server version, compared by its numbers.
public struct ClickHouseVersion: Sendable, Comparable, CustomStringConvertible {
    public var parts: [Int]
    public init?(_ s: String) {
        let p = s.split(separator: ".").map { Int($0) }
        guard p.count >= 2, p.allSatisfy({ $0 != nil }) else { return nil }
        parts = p.map { $0! }
    }
    public init(_ parts: [Int]) { self.parts = parts }
    public static func < (a: ClickHouseVersion, b: ClickHouseVersion) -> Bool { a.parts.lexicographicallyPrecedes(b.parts) }
    public var description: String { parts.map(String.init).joined(separator: ".") }
}
