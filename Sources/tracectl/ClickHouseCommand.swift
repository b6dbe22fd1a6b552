import Foundation
import LLMTraceCLI
import LLMTraceClickHouse
import LLMTraceModel

/// `tracectl clickhouse init|status|schema`: create LLMTrace's tables in ClickHouse, see what is
/// there, or print the statements init would run.
enum ClickHouseCommand {
    static let usage = """
    tracectl clickhouse: set up and inspect ClickHouse as the store behind many collectors.

    USAGE
      tracectl clickhouse init   --clickhouse URL [--retention 30d]
      tracectl clickhouse status --clickhouse URL
      tracectl clickhouse schema [--form modern|legacy] [--clickhouse URL] [--retention 30d]

    init creates the database and the tables on every node named in URL (safe to run again: what exists
    is left alone and reported). It reads SELECT version() on each node and uses schemas/clickhouse/
    legacy.sql before ClickHouse 21.1 (Debian 12 ships 18.16) and modern.sql from 21.1 on (DateTime64,
    LowCardinality, ZSTD codecs, bloom-filter indexes on ids, TTL from --retention). With
    ?cluster=NAME, every host of that cluster (the servers' remote_servers) must be listed, and the
    collectors write to the Distributed tables spans and scores, sharded by trace id so that a trace
    lives on one shard; without a cluster, to spans_local and scores_local.

    status prints each node's version and rows, and the rows the Distributed tables see.

    schema prints the statements init runs for a form (default modern), filled in with the URL's
    database and cluster (without a URL: database llmtrace, no cluster), for review or for a
    deployment that runs its DDL itself (with ON CLUSTER, say). Nothing is sent.

    OPTIONS
      --clickhouse URL   http://HOST:8123[,http://HOST2:8123][?cluster=NAME&database=llmtrace&user=U&password=P]
                         (default: $LLMTRACE_CLICKHOUSE, as llmtraced)
      --retention D      modern servers only: drop rows older than D days (30d); legacy servers keep all
      --form F           schema: modern (ClickHouse 21.1 and later) or legacy (before)

    EXIT CODES
      0 success · 1 ClickHouse refused a statement · 2 bad usage · 4 cannot reach ClickHouse

    EXAMPLES
      tracectl clickhouse init --clickhouse 'http://127.0.0.1:8123,http://127.0.0.1:8124?cluster=llmtrace'
      tracectl clickhouse status --clickhouse 'http://127.0.0.1:8123,http://127.0.0.1:8124?cluster=llmtrace'
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["clickhouse", "retention", "form"], flags: ["help"])
        if a.has("help") || a.positionals.isEmpty { Terminal.print(usage); return a.has("help") ? 0 : 2 }
        guard a.positionals.count == 1 else { throw UsageError("clickhouse takes one subcommand, init, status or schema; see tracectl clickhouse --help") }
        var days: Int? = nil
        if let r = a.value("retention") {
            guard r.hasSuffix("d"), let n = Int(r.dropLast()), n > 0 else { throw UsageError("--retention expects whole days, like 30d (got '\(r)')") }
            days = n
        }
        if a.positionals[0] == "schema" {
            guard let form = ClickHouseSchema.Form(rawValue: a.value("form") ?? "modern") else {
                throw UsageError("--form expects modern or legacy, got '\(a.value("form") ?? "")'")
            }
            let url = a.value("clickhouse") ?? ProcessInfo.processInfo.environment["LLMTRACE_CLICKHOUSE"] ?? "http://127.0.0.1:8123"
            let endpoint: ClickHouseEndpoint
            do { endpoint = try ClickHouseEndpoint(parsing: url) } catch { throw UsageError("\(error)") }
            for st in ClickHouseSchema.statements(form, endpoint: endpoint, retentionDays: form == .modern ? days : nil) {
                Terminal.print(st.sql + ";\n")
            }
            return 0
        }
        guard let url = a.value("clickhouse") ?? ProcessInfo.processInfo.environment["LLMTRACE_CLICKHOUSE"] else {
            throw UsageError("clickhouse \(a.positionals[0]) needs --clickhouse http://HOST:8123 (or $LLMTRACE_CLICKHOUSE)")
        }
        let endpoint: ClickHouseEndpoint
        do { endpoint = try ClickHouseEndpoint(parsing: url) } catch { throw UsageError("\(error)") }
        let client = ClickHouseClient(endpoint)
        do {
            switch a.positionals[0] {
            case "init":
                return try initialize(client, retentionDays: days)
            case "status":
                return try status(client)
            case let s:
                throw UsageError("unknown clickhouse subcommand '\(s)' (init, status, schema)")
            }
        } catch let e as ClickHouseError {
            Terminal.error("tracectl: ClickHouse: \(e)")
            return e.unreachable ? 4 : 1
        }
    }

    static func initialize(_ client: ClickHouseClient, retentionDays: Int?) throws -> Int32 {
        let reports = try ClickHouseSchema.initialize(client, retentionDays: retentionDays)
        for r in reports {
            Terminal.print("\(r.node): ClickHouse \(r.version), \(r.form).sql" + (r.form == .legacy && retentionDays != nil ? " (no TTL before 21.1: --retention ignored)" : ""))
            for c in r.created { Terminal.print("  created \(c)") }
            for e in r.existing { Terminal.print("  exists  \(e)") }
            for m in r.missingColumns { Terminal.print("  warning: \(m) is missing (the table predates this schema; the sink's inserts will fail until it is added)") }
        }
        let e = client.endpoint
        Terminal.print("collectors write to \(e.spansTable) and \(e.scoresTable): llmtraced --clickhouse '\(e.redacted)'")
        return reports.contains { !$0.missingColumns.isEmpty } ? 1 : 0
    }

    static func status(_ client: ClickHouseClient) throws -> Int32 {
        let e = client.endpoint
        for i in e.nodes.indices {
            let v = try client.version(node: i)
            let spans = try client.rows("SELECT count() AS n FROM \(e.database).spans_local", node: i).first?["n"]
            let scores = try client.rows("SELECT count() AS n FROM \(e.database).scores_local", node: i).first?["n"]
            Terminal.print("\(e.nodes[i]): ClickHouse \(v), spans_local \(count(spans)) rows, scores_local \(count(scores)) rows")
        }
        // FINAL collapses re-sent copies that no merge has collapsed yet.
        let total = try client.rows("SELECT count() AS rows, uniqExact(project, trace_id, span_id) AS spans FROM \(e.spansTable)").first
        Terminal.print("\(e.spansTable): \(count(total?["rows"])) rows, \(count(total?["spans"])) distinct spans")
        return 0
    }

    /// ClickHouse writes 64-bit counts as JSON strings.
    static func count(_ v: JSONValue?) -> String { v?.string ?? v?.int.map(String.init) ?? "?" }
}
