import LLMTraceCLI
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceStore

/// `tracectl trace <trace-id>`
enum TraceCommand {
    static let usage = """
    tracectl trace: show one trace.

    USAGE
      tracectl trace <trace-id> [--data DIR | --endpoint URL [--api-key KEY]] [--full] [--json]

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
        let a = try ArgumentParser.parse(argv, options: ["data", "endpoint", "api-key", "timeout"], flags: ["full", "json", "help", "no-color"])
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
        if let endpoint = Remote.endpoint(a), a.value("data") == nil {
            switch try remote(prefix, endpoint: endpoint, a) {
            case .success(let d): doc = d
            case .failure(let code): return code.rawValue
            }
        } else {
            var opts = StoreOptions(directory: Tracectl.dataDirectory(a))
            opts.readOnly = true
            opts.log = { _, _ in }
            let store = try Store.open(opts)
            switch try store.lookUpTrace(prefix) {
            case .notFound:
                Terminal.error("tracectl: trace \(prefix) not found in \(opts.directory)")
                return 1
            case .ambiguous(let ids):
                Terminal.error("tracectl: trace id prefix \(prefix) is ambiguous: it matches \(ids.prefix(3).map(\.hex).joined(separator: ", "))\(ids.count > 3 ? ", …" : ""); give more digits")
                return 1
            case .found(let d):
                doc = d
            }
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

    enum Exit: Int32, Error { case failed = 1, usage = 2, unreachable = 4 }

    static func remote(_ prefix: TraceIDPrefix, endpoint: String, _ a: ParsedArguments) throws -> Result<TraceDocument, Exit> {
        var client = try HTTPClient(endpoint: endpoint)
        client.timeoutSeconds = try a.int("timeout", default: 30)
        let response: HTTPClient.Response
        do {
            response = try client.request("GET", "/api/traces/" + prefix.digits, headers: Remote.authorization(a))
        } catch let e as HTTPClient.Failure {
            Terminal.error("tracectl: \(e)")
            return .failure(.unreachable)
        }
        guard response.status == 200 else {
            Terminal.error("tracectl: \(Terminal.visible(Remote.errorMessage(response.body)))")
            return .failure(response.status == 401 || response.status == 403 || response.status == 400 ? .usage : .failed)
        }
        do { return .success(try TraceDocument.decodeJSON(response.body)) } catch {
            Terminal.error("tracectl: \(endpoint) answered a trace that does not decode: \(error)")
            return .failure(.failed)
        }
    }
}
