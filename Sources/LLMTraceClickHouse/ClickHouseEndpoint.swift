import Foundation
import LLMTraceHTTP

/// Where a ClickHouse is and how to use it, from one string (`--clickhouse`, the config file's
/// `"clickhouse"`):
///
///     http://127.0.0.1:8123
///     http://ch1:8123,http://ch2:8123?cluster=llmtrace&database=llmtrace&user=ingest&password=...
///
/// Several nodes, comma-separated, are tried in turn when one does not answer (any node of a
/// cluster takes inserts into the Distributed table and answers queries over it). The options:
/// `database` (default `llmtrace`), `cluster` (a cluster named in the servers' `remote_servers`:
/// the tables are then `spans_local` on every node and `spans`, a Distributed table over them),
/// `user` and `password` (sent as X-ClickHouse-User/-Key headers, never in the URL),
/// `compress` (`gzip`, `none`, or `auto`, the default: gzip unless every node is on loopback, where
/// compressing costs more than it saves — at 20,000 spans/s on one 2-core machine gzip took the
/// collector from 29 to 46 CPU seconds in 30 s and left ClickHouse 24 s behind instead of 7).
public struct ClickHouseEndpoint: Sendable, Equatable {
    public var nodes: [String]
    public var database = "llmtrace"
    public var cluster: String?
    public var user: String?
    public var password: String?
    /// Request bodies gzip-compressed (`compress=auto` decides by the nodes' hosts).
    public var gzip: Bool

    public init(nodes: [String], database: String = "llmtrace", cluster: String? = nil) {
        self.nodes = nodes
        self.database = database
        self.cluster = cluster
        gzip = !Self.allLoopback(nodes)
    }

    static func allLoopback(_ nodes: [String]) -> Bool {
        nodes.allSatisfy { n in (try? HTTPClient(endpoint: n)).map { HTTPClient.isLoopback($0.host) } ?? false }
    }

    public init(parsing s: String) throws(ClickHouseError) {
        var text = Substring(s.trimmingCharacters(in: .whitespaces))
        var options: [(String, String)] = []
        if let q = text.firstIndex(of: "?") {
            for pair in text[text.index(after: q)...].split(separator: "&") where !pair.isEmpty {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                options.append((String(kv[0]), kv.count == 2 ? Self.percentDecoded(kv[1]) : ""))
            }
            text = text[..<q]
        }
        nodes = []
        gzip = true
        for n in text.split(separator: ",") {
            var node = String(n).trimmingCharacters(in: .whitespaces)
            while node.hasSuffix("/") { node.removeLast() }
            do { _ = try HTTPClient(endpoint: node) } catch {
                throw ClickHouseError("--clickhouse: \(error) (expected http://HOST:PORT of ClickHouse's HTTP interface, several separated by commas)")
            }
            nodes.append(node)
        }
        guard !nodes.isEmpty else { throw ClickHouseError("--clickhouse: no node given (expected http://HOST:PORT, e.g. http://127.0.0.1:8123)") }
        gzip = !Self.allLoopback(nodes)
        for (k, v) in options {
            switch k {
            case "database":
                guard Self.isIdentifier(v) else { throw ClickHouseError("--clickhouse: database must be letters, digits and _ (got '\(v)')") }
                database = v
            case "cluster":
                guard Self.isIdentifier(v) else { throw ClickHouseError("--clickhouse: cluster must be letters, digits and _ (got '\(v)')") }
                cluster = v
            case "user": user = v
            case "password": password = v
            case "compress":
                switch v {
                case "gzip": gzip = true
                case "none": gzip = false
                case "auto": gzip = !Self.allLoopback(nodes)
                default: throw ClickHouseError("--clickhouse: compress is auto, gzip or none (got '\(v)')")
                }
            default:
                throw ClickHouseError("--clickhouse: unknown option '\(k)' (database, cluster, user, password, compress)")
            }
        }
    }

    /// The table spans are inserted into and read from: the Distributed one on a cluster.
    public var spansTable: String { "\(database).\(cluster == nil ? "spans_local" : "spans")" }
    public var scoresTable: String { "\(database).\(cluster == nil ? "scores_local" : "scores")" }

    /// The endpoint as logs and `tracectl` print it: no password.
    public var redacted: String {
        var opts: [String] = []
        if database != "llmtrace" { opts.append("database=\(database)") }
        if let cluster { opts.append("cluster=\(cluster)") }
        if let user { opts.append("user=\(user)") }
        if password != nil { opts.append("password=***") }
        if gzip == Self.allLoopback(nodes) { opts.append("compress=\(gzip ? "gzip" : "none")") }
        return nodes.joined(separator: ",") + (opts.isEmpty ? "" : "?" + opts.joined(separator: "&"))
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let f = s.utf8.first, !(f >= 0x30 && f <= 0x39) else { return false }
        return s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
    }

    static func percentDecoded(_ s: Substring) -> String {
        var out: [UInt8] = []
        var u = Array(s.utf8)[...]
        while let b = u.popFirst() {
            if b == UInt8(ascii: "%"), u.count >= 2, let v = UInt8(String(decoding: u.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                u = u.dropFirst(2)
            } else {
                out.append(b == UInt8(ascii: "+") ? 0x20 : b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
