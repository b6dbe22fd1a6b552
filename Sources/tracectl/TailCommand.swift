#if canImport(Glibc)
import Glibc
#endif
import LLMTraceCLI
import LLMTraceClient
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceQuery
import LLMTraceSupport

/// `tracectl tail`: new spans as they are stored, from a running collector or a data directory.
enum TailCommand {
    static let usage = """
    tracectl tail: print spans as they are stored.

    USAGE
      tracectl tail [--endpoint URL [--api-key KEY] | --data DIR] [--service S] [--model M] [--kind K]
                    [--status error] [--min-duration MS] [--json] [--count N] [--seconds S]

    One line per span: time, trace id, service, span name, kind, model, duration, tokens in→out, cost
    and status (failures in red on a terminal). Long-polls GET /api/tail, so it works through proxies
    and needs no open stream; if spans arrive faster than it reads, it says how many it missed.
    With --data it follows a data directory llmtraced is writing, reading its newest (unsealed) spans
    four times a second: on this machine, without the collector's address or a key.

    OPTIONS
      --endpoint URL       Collector URL (default: $LLMTRACE_ENDPOINT, else http://127.0.0.1:4318)
      --data DIR           Follow a data directory instead
      --api-key KEY        Read key (default: $LLMTRACE_API_KEY); confines the tail to its project
      --service, --model, --kind, --status, --min-duration MS   Only matching spans
      --json               One native JSON span per line (without messages, documents, attributes)
      --count N            Stop after N spans
      --seconds S          Stop after S seconds

    EXIT CODES
      0 stopped by --count, --seconds or Ctrl-C · 2 bad usage · 4 cannot reach the collector

    EXAMPLES
      tracectl tail
      tracectl tail --status error --service chat
      tracectl tail --kind llm --json | jq -c '{model: .response_model, ms: ((.end_ns - .start_ns) / 1e6)}'
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["endpoint", "api-key", "service", "model", "kind", "status", "min-duration", "count", "seconds", "data"],
                                         flags: ["json", "help", "no-color"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("tail takes options only; see tracectl tail --help") }
        let maxCount = try a.int("count", default: 0)
        let seconds = try a.int("seconds", default: 0)
        guard maxCount >= 0, seconds >= 0 else { throw UsageError("--count and --seconds must not be negative") }
        var filter = TailFilter(service: a.value("service"), model: a.value("model"), kind: a.value("kind"), status: a.value("status"))
        if let v = a.value("min-duration") {
            guard let d = Double(v), d >= 0 else { throw UsageError("--min-duration takes milliseconds, got '\(v)'") }
            filter.minDurationMs = d
        }
        // A collector (default 127.0.0.1:4318) unless --data names a directory.
        var args = a
        if a.value("data") == nil && Remote.endpoint(a) == nil { args.options["endpoint"] = "http://127.0.0.1:4318" }
        let reader = try Tracectl.reader(args, timeoutSeconds: 40, maxAgeNanos: 200_000_000)
        let color = Terminal.useColor && !a.has("no-color")
        // Ctrl-C is how a tail is meant to end: exit 0 (every line is already written, unbuffered).
        signal(SIGINT) { _ in _exit(0) }
        let deadline = seconds > 0 ? monotonicNanos() + Int64(seconds) * 1_000_000_000 : Int64.max
        var after: Int64? = nil
        var printed = 0
        while monotonicNanos() < deadline {
            let wait = after == nil ? 0 : min(5000, max(0, (deadline - monotonicNanos()) / 1_000_000))
            let doc: JSONValue
            do { doc = try reader.tail(after: after, filter: filter, waitMillis: Int(wait)) } catch { return Tracectl.failed(error) }
            guard let next = doc["next"]?.int else {
                Terminal.error("tracectl: \(reader.source) answered a tail without a position")
                return 1
            }
            after = next
            if let missed = doc["missed"]?.int, missed > 0 {
                Terminal.error(Terminal.style("… \(missed) spans went by faster than this tail read them", .yellow, color: color && Terminal.isTTY(2)))
            }
            for s in doc["spans"]?.array ?? [] {
                Terminal.print(a.has("json") ? Terminal.visible(s.jsonString) : line(s, color: color))
                printed += 1
                if maxCount > 0 && printed >= maxCount { return 0 }
            }
        }
        return 0
    }

    static func line(_ s: JSONValue, color: Bool) -> String {
        let start = s["start_ns"]?.int ?? 0, end = s["end_ns"]?.int ?? start
        let ms = Double(end - start) / 1e6
        let dur = ms >= 1000 ? String(format: "%7.2fs", ms / 1000) : String(format: "%6.0fms", ms)
        // Every field a span sent is printed visibly escaped (Terminal.visible).
        func text(_ key: String) -> String { Terminal.visible(s[key]?.string ?? "") }
        let trace = text("trace_id")
        let model = Terminal.visible(s["response_model"]?.string ?? s["request_model"]?.string ?? "")
        var parts = [QueryValue.formatTime(start), trace, pad(text("service"), 16), pad(text("name"), 24),
                     pad(text("kind"), 9), pad(model, 22), dur]
        if let i = s["input_tokens"]?.int, let o = s["output_tokens"]?.int { parts.append("\(i)→\(o) tok") }
        if let c = s["cost_usd"]?.double { parts.append(TraceRenderer.usd(c)) }
        if s["status"]?.string == "error" {
            parts.append(Terminal.style("ERROR " + text("status_message"), .red, color: color))
        }
        return parts.joined(separator: "  ")
    }

    static func pad(_ s: String, _ n: Int) -> String {
        let c = s.unicodeScalars.count
        if c > n { return String(String.UnicodeScalarView(s.unicodeScalars.prefix(n - 1))) + "…" }
        return s + String(repeating: " ", count: n - c)
    }
}
