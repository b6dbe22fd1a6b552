import LLMTraceCLI
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore
import LLMTraceSupport
import LLMTraceSynthetic

/// `llmtrace-bench gen`: writes the synthetic workload as native JSON lines (for demos and imports).
/// The first trace starts at `--start` (RFC 3339, nanoseconds, or a duration ago such as 1h, the
/// default), so `tracectl stats` and `search --since 1h` show a fresh import.
enum GenCommand {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["spans", "seed", "project", "start"], flags: ["time-only"])
        let total = try a.int("spans", default: 1000)
        let startText = a.value("start") ?? "1h"
        guard let start = QueryValue.parseTimeArgument(startText, now: wallNanos()) else {
            throw UsageError("--start takes an RFC 3339 time (2026-12-01T09:00:00Z), nanoseconds since 1970, or a duration ago (90m, 1h, 2d), got '\(startText)'")
        }
        var gen = SyntheticWorkload(seed: UInt64(try a.int("seed", default: 1)), startNanos: start)
        let project = a.value("project") ?? "default"
        var produced = 0
        if a.has("time-only") {
            // Measures the generator alone (the store benchmark runs it in-process, on the same cores).
            let t0 = monotonicNanos()
            while produced < total { produced += gen.nextTrace(project: project).count }
            let s = Double(monotonicNanos() - t0) / 1e9
            Terminal.print("{\"spans\": \(produced), \"seconds\": \(s), \"spans_per_s\": \(Int(Double(produced) / s))}")
            return
        }
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        while produced < total {
            // Whole traces only, so every generated trace is complete.
            for s in gen.nextTrace(project: project) {
                out.append(contentsOf: s.jsonBytes())
                out.append(0x0A)
                produced += 1
            }
            if out.count > 1 << 20 {
                Terminal.write(String(decoding: out, as: UTF8.self))
                out.removeAll(keepingCapacity: true)
            }
        }
        Terminal.write(String(decoding: out, as: UTF8.self))
    }
}
