import LLMTraceCLI
import LLMTraceModel
import LLMTraceStore

/// `tracectl trace <trace-id>`
enum TraceCommand {
    static let usage = """
    tracectl trace: show one trace.

    USAGE
      tracectl trace <trace-id> [--data DIR] [--full] [--json]

    Prints the trace as an indented tree: per span its kind, duration, a time bar across the whole
    trace, model, tokens in→out, cost and status; under LLM and retrieval spans the prompt messages,
    retrieved documents and completion, shortened unless --full.

    OPTIONS
      --data DIR   Data directory (default: $LLMTRACE_DATA or ./llmtrace-data)
      --full       Print prompts, documents and completions whole
      --json       The whole trace as JSON: {"trace_id": …, "spans": [native spans…]}
      --no-color   No colour (also when NO_COLOR is set or output is not a terminal)

    Reads a data directory that llmtraced is using, too: nothing is written.

    EXAMPLES
      tracectl trace 4bf92f3577b34da6a3ce929d0e0e4736
      tracectl trace 4bf92f3577b34da6a3ce929d0e0e4736 --full | less -R
      tracectl trace 4bf92f3577b34da6a3ce929d0e0e4736 --json | jq '.spans[] | .name'
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["data"], flags: ["full", "json", "help", "no-color"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.count == 1 else {
            throw UsageError(a.positionals.isEmpty ? "trace needs a trace id (32 hex digits); see tracectl trace --help"
                                                   : "trace takes one trace id, got \(a.positionals.count)")
        }
        let raw = a.positionals[0].lowercased()
        guard let id = TraceID(hex: raw) else {
            throw UsageError("'\(a.positionals[0])' is not a trace id: expected 32 hex digits like 4bf92f3577b34da6a3ce929d0e0e4736")
        }
        var opts = StoreOptions(directory: Tracectl.dataDirectory(a))
        opts.readOnly = true
        opts.log = { _, _ in }
        let store = try Store.open(opts)
        let spans = try store.trace(id)
        guard !spans.isEmpty else {
            Terminal.error("tracectl: trace \(id.hex) not found in \(opts.directory)")
            return 1
        }
        if a.has("json") {
            var w = JSONWriter(capacity: 4096, indent: 2)
            w.beginObject()
            w.key("trace_id"); w.string(id.hex)
            w.key("span_count"); w.int(Int64(spans.count))
            w.key("spans")
            w.beginArray()
            for s in spans { s.encodeJSON(into: &w) }
            w.endArray()
            w.endObject()
            Terminal.print(w.string)
        } else {
            let renderer = TraceRenderer(color: Terminal.useColor && !a.has("no-color"), full: a.has("full"), width: Terminal.columns)
            Terminal.write(renderer.render(spans))
        }
        return 0
    }
}
