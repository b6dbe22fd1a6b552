import Foundation
import LLMTraceCLI
import LLMTraceCollector
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic

/// `llmtrace-bench metrics`: what the span metrics cost. Records synthetic batches into the
/// collector's metrics (ns per span), grows the label sets until a scrape holds `--series` time
/// series (sample lines, as Prometheus counts them), then times rendering that scrape.
enum MetricsBench {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["series", "runs", "spans"], flags: ["help"])
        if a.has("help") { Terminal.print(BenchMain.usage); return }
        let target = try a.int("series", default: 10_000)
        let runs = max(3, try a.int("runs", default: 20))
        let spanCount = try a.int("spans", default: 200_000)
        let m = CollectorMetrics(maxSeries: 1_000_000)

        // Recording: realistic batches of 512 spans (a few services and models per batch).
        var gen = SyntheticWorkload(seed: 7)
        var batches: [[Span]] = []
        var n = 0
        while n < spanCount { let b = gen.nextBatch(count: 512); batches.append(b); n += b.count }
        let t0 = monotonicNanos()
        for b in batches { m.record(b) }
        let recordNs = Double(monotonicNanos() - t0) / Double(n)

        // More label sets until the scrape reaches the target: distinct services.
        func seriesCount() -> Int {
            m.registry.render().split(separator: UInt8(ascii: "\n")).filter { $0.first != UInt8(ascii: "#") }.count
        }
        var k = 0
        var current = seriesCount()
        while current < target {
            var batch = gen.nextBatch(count: 4)
            for i in batch.indices { batch[i].service = "svc-\(k)" }
            m.record(batch)
            k += 1
            if k % 4 == 0 { current = seriesCount() }
        }
        current = seriesCount()
        var times: [Double] = []
        var bytes = 0
        for _ in 0..<runs {
            let t = monotonicNanos()
            bytes = m.registry.render().count
            times.append(Double(monotonicNanos() - t) / 1e6)
        }
        times.sort()
        let p50 = times[times.count / 2], p99 = times[min(times.count - 1, Int(Double(times.count) * 0.99))]
        Terminal.error("recording: \(String(format: "%.0f", recordNs)) ns per span over \(n) spans; scrape of \(current) series (\(bytes) bytes): p50 \(String(format: "%.2f", p50)) ms, p99 \(String(format: "%.2f", p99)) ms")
        Terminal.print("{\"record_ns_per_span\": \(String(format: "%.1f", recordNs)), \"series\": \(current), \"scrape_bytes\": \(bytes), \"render_p50_ms\": \(String(format: "%.3f", p50)), \"render_p99_ms\": \(String(format: "%.3f", p99))}")
    }
}
