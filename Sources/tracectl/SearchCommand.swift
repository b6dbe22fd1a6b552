#if canImport(Glibc)
import Glibc
#endif
import LLMTraceCLI
import LLMTraceClient
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore

/// `tracectl search`: traces by their spans, newest first.
enum SearchCommand {
    static let usage = """
    tracectl search: find traces by the spans in them, newest first.

    USAGE
      tracectl search [--service S] [--model M] [--kind K] [--status ok|error|unset] [--min-duration MS]
                      [--since T] [--until T] [--session ID] [--user ID] [--text 'refund policy'] [--limit 20] [--cursor C]
                      [--data DIR | --endpoint URL [--api-key KEY] | --clickhouse URL [--project P]] [--json]

    A trace matches when one of its spans meets every filter given. Traces are ordered by their
    latest matching span. Each line: that span's start, trace id, root span name, service, duration, spans,
    tokens in→out, cost, errors. When more traces match, the last line says how to get the next page
    (--cursor). Follow up with tracectl trace <id>.

    OPTIONS
      --service, --model, --kind, --status   Exact values (model: response model, else requested)
      --min-duration MS   Spans of at least MS milliseconds
      --since, --until T  RFC 3339 (2026-11-25T06:00:00Z), nanoseconds, or a duration ago (15m, 2h, 7d)
      --session, --user   Session or user id
      --text TERMS        A message or document paragraph with all these words (FTS5 syntax: "exact phrase",
                          refund OR return, pass*); searchable within seconds of arriving
      --limit N           Traces per page (default 20, at most 1000)
      --cursor C          The cursor printed by the previous page
      --data DIR          Data directory (default: $LLMTRACE_DATA or ./llmtrace-data)
      --endpoint URL      Collector URL (default: $LLMTRACE_ENDPOINT); --api-key KEY or $LLMTRACE_API_KEY
      --clickhouse URL    Search the ClickHouse cluster collectors forward to (README "Scaling out"); --text
                          takes terms, prefix* and OR there, not "phrases"
      --project P         Only this project's traces (with --data or --clickhouse; with --endpoint the key decides)
      --json              {"traces": [...], "next_cursor": ...} as GET /api/traces answers

    EXIT CODES
      0 success (also when nothing matched) · 1 error · 2 bad usage · 4 cannot reach the collector

    EXAMPLES
      tracectl search --status error --since 1h
      tracectl search --service chat --min-duration 5000 --limit 50
      tracectl search --status error --text 'refund policy'
      tracectl search --session sess-21780235 --json | jq -r '.traces[].trace_id'
    """

    static let options: Set<String> = ["service", "model", "kind", "status", "min-duration", "since", "until", "session", "user", "limit", "cursor",
                          "data", "endpoint", "clickhouse", "api-key", "project", "text"]

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: options, flags: ["json", "help", "no-color"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("search takes options only, not '\(a.positionals[0])'; see tracectl search --help") }
        let limit = try a.int("limit", default: 20)
        guard (1...1000).contains(limit) else { throw UsageError("--limit must be between 1 and 1000") }
        let color = Terminal.useColor && !a.has("no-color")
        var params: [String: String] = ["limit": String(limit)]
        for (opt, param) in [("service", "service"), ("model", "model"), ("kind", "kind"), ("status", "status"), ("min-duration", "min_duration_ms"),
                             ("since", "since"), ("until", "until"), ("session", "session_id"), ("user", "user_id"), ("cursor", "cursor"), ("text", "text")] {
            if let v = a.value(opt) { params[param] = v }
        }
        let search: TraceSearch
        do { search = try TraceSearch(parameters: params, now: wallNanos()) } catch {
            // The API's names for the options: --min-duration, not min_duration_ms.
            throw UsageError(error.message.replacingOccurrences(of: "min_duration_ms", with: "--min-duration").replacingOccurrences(of: "since must", with: "--since must")
                .replacingOccurrences(of: "until must", with: "--until must"))
        }
        let doc: JSONValue
        let reader = try Tracectl.reader(a, timeoutSeconds: 60)
        do { doc = try reader.search(search) } catch { return Tracectl.failed(error) }
        if a.has("json") {
            Terminal.write(Terminal.visible(doc.jsonString, keepNewlines: true) + "\n")
            return 0
        }
        let rows = (doc["traces"]?.array ?? []).map { t in
            Row(start: t["matched_at_ns"]?.int ?? 0, id: t["trace_id"]?.string ?? "", name: t["name"]?.string ?? "", service: t["service"]?.string ?? "",
                durationMs: t["duration_ms"]?.double ?? 0, spans: Int(t["span_count"]?.int ?? 0), tokensIn: t["input_tokens"]?.int ?? 0,
                tokensOut: t["output_tokens"]?.int ?? 0, cost: t["cost_usd"]?.double ?? 0, errors: Int(t["errors"]?.int ?? 0))
        }
        print(rows, next: doc["next_cursor"]?.string, color: color)
        return 0
    }

    struct Row {
        var start: Int64, id: String, name: String, service: String, durationMs: Double
        var spans: Int, tokensIn: Int64, tokensOut: Int64, cost: Double, errors: Int
    }

    static func print(_ rows: [Row], next: String?, color: Bool) {
        if rows.isEmpty { Terminal.error("no traces matched"); return }
        func dur(_ ms: Double) -> String { ms >= 1000 ? String(format: "%.2fs", ms / 1000) : String(format: "%.0fms", ms) }
        let table = ResultTable(
            columns: ["matched", "trace_id", "name", "service", "duration", "spans", "tokens", "cost", "errors"],
            numeric: [false, false, false, false, true, true, true, true, true],
            rows: rows.map { r in
                [QueryValue.formatTime(r.start), r.id, r.name, r.service, dur(r.durationMs), String(r.spans), "\(r.tokensIn)→\(r.tokensOut)",
                 String(format: "$%.5f", r.cost), r.errors > 0 ? Terminal.style(String(r.errors), .red, color: color) : "0"]
            })
        Terminal.write(table.aligned(color: color))
        if let next { Terminal.error(Terminal.style("more traces match: add --cursor \(next)", .dim, color: color && Terminal.isTTY(2))) }
    }
}
