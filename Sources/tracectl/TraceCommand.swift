import LLMTraceCLI
import LLMTraceClient
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceStore

/// `tracectl trace <trace-id>`
enum TraceCommand {
    static let usage = """
    tracectl trace: show one trace.

    USAGE
      tracectl trace <trace-id> [--data DIR | --endpoint URL [--api-key KEY] | --clickhouse URL] [--full] [--json]

    Prints the trace as an indented tree: per span its kind, duration, a time bar across the whole
    trace, model, tokens in→out, cost, time to first token, finish reason when not "stop", status
    and scores; under LLM and retrieval spans the prompt messages, tool calls and their answers,
    retrieved documents and completion, shortened unless --full. The trace's own scores (feedback,
    evaluations) are listed under its header.

    The id is 32 hex digits, or its first 8 or more when they name one trace (as `tracectl tail`
    and logs show them); a prefix that names several lists them.

    OPTIONS
      --data DIR        Data directory (default: $LLMTRACE_DATA or ./llmtrace-data)
      --endpoint URL    Ask a running collector instead (default: $LLMTRACE_ENDPOINT)
      --clickhouse URL  Ask the ClickHouse cluster collectors forward to (README "Scaling out")
      --api-key KEY     Read key for --endpoint (default: $LLMTRACE_API_KEY)
      --full            Print prompts, documents and completions whole
      --json            The whole trace as JSON: {"trace_id", "span_count", "spans": [native spans…], "scores": […]}
      --no-color        No colour (also when NO_COLOR is set or output is not a terminal)

    Reads a data directory that llmtraced is using, too: nothing is written.

    EXIT CODES
      0 shown · 1 not found, or the prefix is ambiguous · 2 bad usage · 4 cannot reach the collector

    EXAMPLES
      tracectl trace 4bf92f3577b34da6a3ce929d0e0e4736
      tracectl trace 4bf92f35
      tracectl trace 4bf92f3577b34da6a3ce929d0e0e4736 --full | less -R
      tracectl trace 4bf92f35 --endpoint http://127.0.0.1:4318 --json | jq '.spans[] | .name'
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["data", "endpoint", "clickhouse", "api-key", "timeout"], flags: ["full", "json", "help", "no-color"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.count == 1 else {
            throw UsageError(a.positionals.isEmpty ? "trace needs a trace id (32 hex digits, or a unique prefix of 8 or more); see tracectl trace --help"
                                                   : "trace takes one trace id, got \(a.positionals.count)")
        }
        let raw = a.positionals[0]
        guard let prefix = TraceIDPrefix(raw) else {
            throw UsageError("'\(Terminal.visible(String(raw.prefix(64))))' is not a trace id: expected 32 hex digits like 4bf92f3577b34da6a3ce929d0e0e4736, or its first 8 or more")
        }
        let doc: TraceDocument
        let reader = try Tracectl.reader(a, timeoutSeconds: try a.int("timeout", default: 30))
        do {
            doc = try reader.trace(prefix)
        } catch {
            return Tracectl.failed(error)
        }
        if a.has("json") {
            var w = JSONWriter(capacity: 4096, indent: 2)
            doc.encodeJSON(into: &w)
            Terminal.print(w.string)
        } else {
            let renderer = TraceRenderer(color: Terminal.useColor && !a.has("no-color"), full: a.has("full"), width: Terminal.columns)
            Terminal.write(renderer.render(doc.spans, scores: doc.scores))
        }
        return 0
    }
}
