import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LLMTrace

/// `llmtrace-demo`: a small support bot built with the Swift SDK — retrieval, a chat model that
/// calls a tool, streamed answers, the occasional provider error, user feedback as scores — talking
/// to the mock OpenAI-compatible server it ships with (or a real one). Its traces go wherever the
/// OpenTelemetry variables say (by default a collector on 127.0.0.1:4318).
@main
struct DemoMain {
    static let usage = """
    llmtrace-demo: a support bot instrumented with LLMTrace's Swift SDK, to see real traces in minutes.

    USAGE
      llmtrace-demo [run] [--questions N] [--concurrency C] [--interval-ms MS] [--openai URL] [--model M]
      llmtrace-demo mock [--listen 127.0.0.1:8089]

    COMMANDS
      run    (the default) Answers N customer questions (default 12), each one trace: the request
             (agent), an embedding of the question, a knowledge-base search (retrieval, with scores),
             a chat completion that may call the lookup_order tool, the tool, and a streamed answer
             (time to first token). One question in twelve meets a provider error (HTTP 500). Each
             answer gets a user-feedback score. Prints each trace id, then what was exported.
      mock   Runs only the mock OpenAI-compatible server (chat completions whole or streamed, with
             tool calls; responses; embeddings), for trying the SDK's instrumentation in your own code.

    OPTIONS
      --questions N      How many questions to answer (default 12).
      --concurrency C    Questions in flight at once (default 2).
      --interval-ms MS   Pause between questions on each worker (default 0).
      --openai URL       An OpenAI-compatible base URL instead of the built-in mock (OPENAI_API_KEY is
                         sent as the bearer token), e.g. http://127.0.0.1:11434/v1 for Ollama.
      --model M          Chat model (default gpt-4o-mini); embeddings use text-embedding-3-small.

    WHERE TRACES GO (the OpenTelemetry variables, as for any OTel SDK)
      OTEL_EXPORTER_OTLP_ENDPOINT   default http://127.0.0.1:4318 (llmtraced's default)
      OTEL_EXPORTER_OTLP_HEADERS    e.g. authorization=Bearer%20lt_ingest_…  when the collector has keys
      OTEL_SERVICE_NAME             default helpdesk
      OTEL_EXPORTER_OTLP_COMPRESSION=gzip, OTEL_BSP_SCHEDULE_DELAY (ms), LLMTRACE_EXPORT_FORMAT=native

    EXAMPLES
      llmtraced &                                   # a collector with its default data directory
      llmtrace-demo                                 # twelve traces
      tracectl search --service helpdesk --since 10m
      tracectl trace <a trace id it printed>
    """

    static func main() async {
        var args = Array(CommandLine.arguments.dropFirst())
        if args.contains("-h") || args.contains("--help") || args.first == "help" {
            print(usage)
            return
        }
        let command = args.first.map { $0.hasPrefix("-") ? "run" : $0 } ?? "run"
        if args.first == command { args.removeFirst() }
        do {
            var options: [String: String] = [:]
            var i = 0
            let known: Set = ["--questions", "--concurrency", "--interval-ms", "--openai", "--model", "--listen"]
            while i < args.count {
                let a = args[i]
                guard known.contains(a) else { throw DemoError("unknown option '\(a)' (see llmtrace-demo --help)") }
                guard i + 1 < args.count else { throw DemoError("\(a) needs a value") }
                options[a] = args[i + 1]
                i += 2
            }
            switch command {
            case "mock": try runMock(listen: options["--listen"] ?? "127.0.0.1:8089")
            case "run": try await SupportBot.run(options)
            default: throw DemoError("unknown command '\(command)' (run or mock; see llmtrace-demo --help)")
            }
        } catch {
            FileHandle.standardError.write(Data("llmtrace-demo: \(error)\n".utf8))
            exit(2)
        }
    }

    static func runMock(listen: String) throws {
        let parts = listen.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port) else { throw DemoError("--listen takes HOST:PORT, got '\(listen)'") }
        let mock = try MockOpenAI(host: String(parts[0]), port: port)
        print("mock OpenAI-compatible server on http://\(parts[0]):\(mock.port)/v1 (chat/completions, responses, embeddings); Ctrl-C stops it")
        while true { sleep(3600) }
    }
}

struct DemoError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
