import LLMTraceModel
import LLMTraceCLI
import LLMTraceQuery
#if canImport(Glibc)
import Glibc
#endif

/// `tracectl`: look up traces and manage an LLMTrace data directory. The root only dispatches; each
/// command lives in its own file.
@main
struct Tracectl {
    static let usage = """
    tracectl: look up LLM traces and manage an LLMTrace data directory.

    USAGE
      tracectl <command> [options]

    COMMANDS
      trace <trace-id>   Show a trace as a tree with timings, models, tokens, cost, prompts and completions
      query '<SQL>'      Filter, group and aggregate spans: p95 latency by model, cost per prompt version…
      stats              Calls, error rate, p50/p95 latency, tokens and cost per service and model
      search             Find traces by their spans: --service, --status error, --min-duration, --since…
      tail               Print spans live as a running collector stores them
      alerts             The detectors' alerts and silences; add or remove a silence
      anomalies          The latest anomalies: which metric of which model or prompt version, how unusual
      drift              What changed between a baseline window and the current one, ranked
      dash               A live dashboard in the terminal: spans/s, errors, latency, TTFT, cost, alerts
      clickhouse init    Create LLMTrace's tables in ClickHouse for many collectors (README "Scaling out")
      import <file>      Import native JSON spans, one per line ("-" reads stdin)
      verify             Check every WAL record, segment checksum and index entry

    COMMON OPTIONS
      --data DIR         Data directory (default: $LLMTRACE_DATA or ./llmtrace-data, as llmtraced)
      -h, --help         Help for tracectl or for one command (tracectl trace --help)

    EXIT CODES
      0 success · 1 error (not found, corruption, I/O, query error) · 2 bad usage · 3 partial import (some lines
      rejected) · 4 cannot reach the collector (--endpoint)

    EXAMPLES
      tracectl import spans.jsonl
      tracectl trace 4bf92f3577b34da6a3ce929d0e0e4736
      tracectl trace 4bf92f3577b34da6a3ce929d0e0e4736 --json > trace.json
      tracectl search --status error --since 1h
      tracectl query "SELECT model, count(), p95(duration_ms), sum(cost_usd) FROM spans GROUP BY model"
      tracectl verify --data /var/lib/llmtrace
    """

    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        guard let cmd = args.first else {
            Terminal.error(usage)
            exit(2)
        }
        if ["-h", "--help", "help"].contains(cmd) {
            Terminal.print(usage)
            exit(0)
        }
        if cmd == "--version" || cmd == "version" {
            Terminal.print("tracectl \(LLMTraceVersion.string)")
            exit(0)
        }
        args.removeFirst()
        // A short-lived reader: keep scan-sized blocks in malloc's arenas (see the engine's note).
        QueryEngine.tuneAllocatorForScans()
        let code: Int32
        do {
            switch cmd {
            case "trace": code = try TraceCommand.run(args)
            case "import": code = try ImportCommand.run(args)
            case "verify": code = try VerifyCommand.run(args)
            case "query": code = try QueryCommand.run(args)
            case "stats": code = try StatsCommand.run(args)
            case "search": code = try SearchCommand.run(args)
            case "tail": code = try TailCommand.run(args)
            case "alerts": code = try AlertsCommand.run(args)
            case "anomalies": code = try AnomaliesCommand.run(args)
            case "drift": code = try DriftCommand.run(args)
            case "dash": code = try DashCommand.run(args)
            case "clickhouse": code = try ClickHouseCommand.run(args)
            default: throw UsageError("unknown command '\(cmd)'; commands are trace, search, query, stats, tail, alerts, anomalies, drift, dash, clickhouse, import, verify (see tracectl --help)")
            }
        } catch let e as UsageError {
            Terminal.error("tracectl: \(e)")
            code = 2
        } catch {
            Terminal.error("tracectl: \(error)")
            code = 1
        }
        exit(code)
    }

    /// `--data`, else $LLMTRACE_DATA, else the server's default.
    static func dataDirectory(_ a: ParsedArguments) -> String {
        if let d = a.value("data") { return d }
        if let e = getenv("LLMTRACE_DATA") { return String(cString: e) }
        return DataDirectory.defaultPath
    }
}
