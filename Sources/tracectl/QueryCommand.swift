#if canImport(Glibc)
import Glibc
#endif
import LLMTraceCLI
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore

/// `tracectl query 'SQL'`
enum QueryCommand {
    static let usage = """
    tracectl query: run a query over spans, traces or scores (a SQL subset; see the README's "Query language").

    USAGE
      tracectl query '<SQL>' [--data DIR | --endpoint URL [--api-key KEY] | --clickhouse URL] [--json | --csv] [--project P]
                             [--max-rows N] [--timeout SECONDS] [--memory SIZE]
      tracectl query - ...          read the query from stdin

    Runs against a data directory (read-only, also while llmtraced uses it) or, with --endpoint (or
    $LLMTRACE_ENDPOINT), against a running collector's POST /api/query with a read key from
    --api-key or $LLMTRACE_API_KEY: the key confines the query to its project.

    THE TABLES
      spans: trace_id span_id parent_span_id project service name kind status status_message provider
      model request_model response_model environment prompt_name prompt_version session_id user_id
      start end duration_ms input_tokens output_tokens cached_tokens reasoning_tokens total_tokens
      cost_usd ttft_ms temperature max_tokens top_p error is_root
      (model is the response model when the provider reported one, else the requested model),
      and attr['key'] for any attribute a span carried (a number, boolean or text as its use asks)
      traces, a row per trace: trace_id project name service (of the root span) start end duration_ms
      spans llm_calls errors error has_root input_tokens output_tokens total_tokens cost_usd
      session_id user_id
      scores, feedback and evaluations: time project trace_id span_id name value category source comment

    OUTPUT
      An aligned table on stdout, and the rows scanned and time taken on stderr; --json prints the
      API's answer ({"columns", "rows", "stats"}), --csv RFC 4180 with a header row. Times print
      as RFC 3339 UTC. Colour only on a terminal, never with NO_COLOR.

    OPTIONS
      --data DIR        Data directory (default: $LLMTRACE_DATA or ./llmtrace-data)
      --endpoint URL    Collector URL, e.g. http://127.0.0.1:4318 (default: $LLMTRACE_ENDPOINT)
      --api-key KEY     Read key for --endpoint (default: $LLMTRACE_API_KEY)
      --clickhouse URL  Ask the ClickHouse cluster many collectors forward to (README "Scaling out"):
                        the same answers as a collector gives
      --project P       Only this project's spans (with --data or --clickhouse; with --endpoint the key decides)
      --max-rows N      Rows returned at most (default 10000; stats say when more matched)
      --timeout S       Stop a query after S seconds (default 30)
      --memory SIZE     What the query may hold (match sets, trace rows, groups, result rows) before it
                        stops with an error (default 512M; with --endpoint the collector's --query-memory)
      --json, --csv     Machine-readable output

    EXIT CODES
      0 success · 1 the query failed (syntax, type, time or memory limit, store) · 2 bad usage · 4 cannot reach the collector

    EXAMPLES
      tracectl query "SELECT model, count(), p95(duration_ms), sum(cost_usd) FROM spans
                      WHERE kind = 'llm' AND start > now() - 1h GROUP BY model ORDER BY 3 DESC"
      tracectl query "SELECT bucket(start, 5m) AS t, sum(cost_usd) FROM spans GROUP BY t ORDER BY t" --csv
      tracectl query "SELECT trace_id, name, duration_ms FROM spans WHERE error ORDER BY start DESC LIMIT 20"
      tracectl query "SELECT prompt_version, avg(cost_usd) FROM spans GROUP BY 1" --endpoint http://127.0.0.1:4318 --json
      tracectl query "SELECT trace_id, name, spans, cost_usd FROM traces WHERE start > now() - 1d ORDER BY cost_usd DESC LIMIT 10"
      tracectl query "SELECT attr['llm.request.type'], count() FROM spans GROUP BY 1"
      tracectl query "SELECT name, avg(value), count() FROM scores WHERE source = 'user' GROUP BY name"
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["data", "endpoint", "clickhouse", "api-key", "project", "max-rows", "timeout", "memory"],
                                         flags: ["json", "csv", "help", "no-color"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.count == 1 else {
            throw UsageError(a.positionals.isEmpty ? "query needs the SQL as one argument (quote it); see tracectl query --help"
                                                   : "query takes one argument, got \(a.positionals.count): quote the whole query")
        }
        var sql = a.positionals[0]
        if sql == "-" {
            var data: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(0, &buf, buf.count)
                if n <= 0 { break }
                data.append(contentsOf: buf[0..<n])
            }
            sql = String(decoding: data, as: UTF8.self)
        }
        guard !(a.has("json") && a.has("csv")) else { throw UsageError("choose one of --json and --csv") }
        let maxRows = try a.int("max-rows", default: 10_000)
        let timeout = try a.int("timeout", default: 30)
        guard maxRows > 0, timeout > 0 else { throw UsageError("--max-rows and --timeout must be positive") }
        let color = Terminal.useColor && !a.has("no-color")
        var limits = QueryEngine.Limits()
        limits.maxRows = maxRows
        limits.timeoutNanos = Int64(timeout) * 1_000_000_000
        limits.maxMemoryBytes = try a.bytes("memory", default: limits.maxMemoryBytes)
        let reader = try Tracectl.reader(a, timeoutSeconds: timeout + 5)
        let result: QueryResult
        do {
            result = try reader.query(sql, limits: limits)
        } catch {
            // A query that does not run is 1 (a key the collector refused is 2, no answer 4).
            if let p = error.position {
                Terminal.error("tracectl: " + QueryError(Terminal.visible(error.description), at: p).pointing(into: sql))
            } else {
                Terminal.error("tracectl: " + Terminal.visible(error.description))
            }
            return error.status == 401 || error.status == 403 ? 2 : error.unreachable ? 4 : 1
        }
        if a.has("json") {
            Terminal.write(Terminal.visible(String(decoding: result.json(storeFigures: result.stats.storeFigures), as: UTF8.self), keepNewlines: true) + "\n")
            truncationNotice(result.stats.truncated, rows: result.rows.count)
            return 0
        }
        let table = ResultTable(columns: result.columns, numeric: result.types.map { $0 == .int || $0 == .double },
                                rows: result.rows.map { $0.map { $0.isNull ? nil : $0.text } })
        if a.has("csv") {
            Terminal.write(table.csv())
            truncationNotice(result.stats.truncated, rows: result.rows.count)
            return 0
        }
        Terminal.write(table.aligned(color: color))
        let s = result.stats
        footer(rows: result.rows.count, scanned: s.storeFigures ? s.rowsScanned : nil, read: s.segmentsRead, pruned: s.segmentsPruned, ms: s.elapsedMs,
               truncated: s.truncated, color: color)
        return 0
    }

    /// A result cut at --max-rows says so on stderr in every format (the table says it in its footer).
    static func truncationNotice(_ truncated: Bool, rows: Int) {
        if truncated { Terminal.error("tracectl: result cut at \(rows) rows (--max-rows); more rows matched: add LIMIT or raise --max-rows") }
    }

    /// `scanned` nil: the collector did not say (a read key's answer leaves store-wide figures out).
    static func footer(rows: Int, scanned: Int?, read: Int, pruned: Int, ms: Double, truncated: Bool, color: Bool) {
        var text = "\(rows) row\(rows == 1 ? "" : "s")"
        if let scanned {
            text += " · scanned \(scanned) span\(scanned == 1 ? "" : "s") in \(read) segment\(read == 1 ? "" : "s")"
            if pruned > 0 { text += " (\(pruned) pruned)" }
        }
        text += " · " + (ms < 10 ? String(format: "%.2f", ms) : String(format: "%.0f", ms)) + " ms"
        if truncated { text += " · more rows matched: add LIMIT or raise --max-rows" }
        Terminal.error(Terminal.style(text, .dim, color: color && Terminal.isTTY(2)))
    }
}
