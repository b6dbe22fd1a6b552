import Foundation
/// The tables in ClickHouse, from `schemas/clickhouse/` (legacy.sql for servers before 21.1, which
/// lack DateTime64 functions, codecs, TTL or data-skipping indexes without settings; modern.sql
/// from 21.1 on), and `tracectl clickhouse init`, which creates them on every node.
public enum ClickHouseSchema {
    public enum Form: String, Sendable {
        case legacy, modern
    }

    /// The first version given modern.sql.
    public static let modernSince = ClickHouseVersion([21, 1])

    public static func form(for v: ClickHouseVersion) -> Form { v >= modernSince ? .modern : .legacy }

    /// One statement of a schema file, filled in.
    public struct Statement: Sendable, Equatable {
        public var sql: String
        /// `database llmtrace`, `table llmtrace.spans_local`: what it creates.
        public var object: String
        public var isDatabase: Bool
    }

    /// The statements of `form` for `endpoint` (its database and cluster). `retentionDays` adds a
    /// TTL to the modern tables; the legacy ones have none (ClickHouse 18.16 has no TTL).
    public static func statements(_ form: Form, endpoint: ClickHouseEndpoint, retentionDays: Int? = nil) -> [Statement] {
        let text = form == .legacy ? ClickHouseSchemaFiles.legacy : ClickHouseSchemaFiles.modern
        var out: [Statement] = []
        var current: [Substring] = []
        var clusterOnly = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") {
                if trimmed == "-- cluster only" { clusterOnly = true }
                continue
            }
            if trimmed.isEmpty && current.isEmpty { continue }
            current.append(line)
            guard trimmed.hasSuffix(";") else { continue }
            var sql = current.joined(separator: "\n")
            sql.removeLast()  // the semicolon
            current = []
            defer { clusterOnly = false }
            if clusterOnly && endpoint.cluster == nil { continue }
            let ttl: (String) -> String = { column in
                retentionDays.map { "TTL toDateTime(intDiv(\(column), 1000000000)) + INTERVAL \($0) DAY" } ?? ""
            }
            sql = sql.replacingOccurrences(of: "{database}", with: endpoint.database)
                .replacingOccurrences(of: "{cluster}", with: endpoint.cluster ?? "")
                .replacingOccurrences(of: "{sharding}", with: "cityHash64(trace_id)")
                .replacingOccurrences(of: "{ttl_spans}", with: ttl("start_ns"))
                .replacingOccurrences(of: "{ttl_scores}", with: ttl("time_ns"))
            let words = sql.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "(" })
            let isDatabase = words.count > 1 && words[1] == "DATABASE"
            let name = words.count > 5 ? String(words[5]) : endpoint.database
            out.append(Statement(sql: sql, object: (isDatabase ? "database " : "table ") + name, isDatabase: isDatabase))
        }
        return out
    }

    /// What `init` did on one node.
    public struct NodeReport: Sendable {
        public var node: String
        public var version: ClickHouseVersion
        public var form: Form
        public var created: [String] = []
        public var existing: [String] = []
        /// Columns a table that already existed lacks (an older schema): named, not altered.
        public var missingColumns: [String] = []
    }

    /// Creates the database and tables on every node of the endpoint (each node in turn: plain
    /// `CREATE … IF NOT EXISTS`, no `ON CLUSTER`, which needs ZooKeeper). With a cluster, checks
    /// that it exists and that every host in it was given, so none is left without tables.
    public static func initialize(_ client: ClickHouseClient, retentionDays: Int? = nil) throws(ClickHouseError) -> [NodeReport] {
        let e = client.endpoint
        if let cluster = e.cluster {
            let hosts = try client.rows("SELECT host_name, host_address, port FROM system.clusters WHERE cluster = '\(cluster)'", node: 0)
            guard !hosts.isEmpty else {
                let known = (try? client.rows("SELECT DISTINCT cluster FROM system.clusters", node: 0))?.compactMap { $0["cluster"]?.string } ?? []
                throw ClickHouseError("no cluster '\(cluster)' in \(e.nodes[0])'s remote_servers" +
                                      (known.isEmpty ? "" : " (it has: \(known.joined(separator: ", ")))"), node: e.nodes[0])
            }
            if hosts.count > e.nodes.count {
                let names = hosts.map { "\($0["host_name"]?.string ?? "?"):\($0["port"]?.int ?? 0)" }
                throw ClickHouseError("cluster '\(cluster)' has \(hosts.count) hosts (\(names.joined(separator: ", "))) but \(e.nodes.count) node URL(s) were given: " +
                                      "list every node's HTTP URL, comma-separated, so that each gets its tables")
            }
        }
        var reports: [NodeReport] = []
        for i in e.nodes.indices {
            let v = try client.version(node: i)
            let form = form(for: v)
            var r = NodeReport(node: e.nodes[i], version: v, form: form)
            let tables = Set(try client.rows("SELECT name FROM system.tables WHERE database = '\(e.database)'", node: i).compactMap { $0["name"]?.string })
            let dbExists = !(try client.rows("SELECT name FROM system.databases WHERE name = '\(e.database)'", node: i)).isEmpty
            for st in statements(form, endpoint: e, retentionDays: retentionDays) {
                let exists = st.isDatabase ? dbExists : tables.contains(String(st.object.split(separator: ".").last ?? ""))
                try client.execute(st.sql, node: i)
                if exists { r.existing.append(st.object) } else { r.created.append(st.object) }
            }
            for (table, want) in expectedColumns(form, endpoint: e) where r.existing.contains("table \(e.database).\(table)") {
                let have = Set(try client.rows("SELECT name FROM system.columns WHERE database = '\(e.database)' AND table = '\(table)'", node: i).compactMap { $0["name"]?.string })
                for c in want where !have.contains(c) { r.missingColumns.append("\(table).\(c)") }
            }
            reports.append(r)
        }
        return reports
    }

    /// Each local table's column names, read from the schema file's CREATE TABLE.
    static func expectedColumns(_ form: Form, endpoint: ClickHouseEndpoint) -> [(String, [String])] {
        statements(form, endpoint: endpoint).compactMap { st in
            guard !st.isDatabase, st.object.hasSuffix("_local"), let open = st.sql.firstIndex(of: "("), let close = st.sql.range(of: ") ENGINE", options: .backwards) else { return nil }
            let cols = st.sql[st.sql.index(after: open)..<close.lowerBound].split(separator: "\n").compactMap { line -> String? in
                let w = line.trimmingCharacters(in: .whitespaces).split(separator: " ")
                guard let first = w.first, first != "INDEX", w.count >= 2 else { return nil }
                return String(first)
            }
            return (String(st.object.split(separator: ".").last!), cols)
        }
    }
}
