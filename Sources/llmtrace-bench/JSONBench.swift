import Foundation
import LLMTraceCLI
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic

/// `llmtrace-bench json`: native span JSON decoding, LLMTrace's byte-level reader against Foundation.
///
/// The same synthetic spans are written as JSON lines, then decoded line by line: by `Span.decodeJSON`
/// (to validated `Span` values) and by `JSONSerialization` (to `[String: Any]` only, so Foundation does
/// strictly less work). Five rounds each; the median is reported.
enum JSONBench {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["spans", "rounds"], flags: [])
        let n = try a.int("spans", default: 100_000)
        let rounds = max(1, try a.int("rounds", default: 5))
        var gen = SyntheticWorkload(seed: 3)
        var lines: [[UInt8]] = []
        var total = 0
        while lines.count < n {
            for s in gen.nextTrace() {
                let b = s.jsonBytes()
                total += b.count
                lines.append(b)
            }
        }
        let mb = Double(total) / 1e6
        Terminal.error("decoding \(lines.count) spans, \(String(format: "%.1f", mb)) MB of JSON, \(rounds) rounds each…")

        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        var ours: [Double] = [], foundation: [Double] = [], writer: [Double] = []
        var check = 0
        for _ in 0..<rounds {
            var t = monotonicNanos()
            for l in lines { check &+= try Span.decodeJSON(l).name.utf8.count }
            ours.append(Double(monotonicNanos() - t) / 1e9)

            t = monotonicNanos()
            for l in lines {
                let obj = try JSONSerialization.jsonObject(with: Data(l)) as? [String: Any]
                check &+= obj?.count ?? 0
            }
            foundation.append(Double(monotonicNanos() - t) / 1e9)

            let spans = try lines.prefix(20_000).map { try Span.decodeJSON($0) }
            t = monotonicNanos()
            var bytes = 0
            for s in spans { bytes += s.jsonBytes().count }
            writer.append(Double(bytes) / 1e6 / (Double(monotonicNanos() - t) / 1e9))
        }
        let oursMBs = mb / median(ours), fMBs = mb / median(foundation)
        Terminal.error("checksum \(check)")
        Terminal.print(String(format: "{\"spans\": %d, \"json_mb\": %.1f, \"llmtrace_decode_mb_per_s\": %.1f, \"llmtrace_decode_spans_per_s\": %.0f, \"jsonserialization_mb_per_s\": %.1f, \"speedup\": %.2f, \"llmtrace_encode_mb_per_s\": %.1f}",
                              lines.count, mb, oursMBs, Double(lines.count) / median(ours), fMBs, oursMBs / fMBs, median(writer)))
    }
}
