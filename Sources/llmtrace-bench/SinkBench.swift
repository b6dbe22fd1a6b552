import Foundation
import LLMTraceCLI
import LLMTraceClickHouse
import LLMTraceModel
import LLMTraceStore
import LLMTraceSupport
import LLMTraceSynthetic

/// `llmtrace-bench sink`: what the ClickHouse sink costs the collector a span, without ClickHouse:
/// reading the outbox (spans decoded from the live head, then from the sealed segment) and encoding
/// the JSONEachRow rows, each timed on its own over the same spans, several rounds.
enum SinkBench {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["spans", "rounds", "dir"], flags: ["help"])
        if a.has("help") { Terminal.print(BenchMain.usage); return }
        let total = try a.int("spans", default: 200_000)
        let rounds = max(1, try a.int("rounds", default: 5))
        guard total > 0 else { throw UsageError("--spans must be positive") }
        let dir = a.value("dir") ?? (NSTemporaryDirectory() + "llmtrace-sink-bench-\(getpid())")
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        var opts = StoreOptions(directory: dir)
        opts.sealSpanCount = total + 1  // everything in the head until sealed below
        // One writer: an interval policy would hold each batch up to the interval for company.
        opts.fsync = .always
        opts.backgroundSealing = false
        opts.outbox = OutboxOptions(name: "bench")
        let store = try Store.open(opts)
        var load = SyntheticWorkload(seed: 17)
        var appended = 0
        while appended < total {
            let batch = load.nextBatch(count: min(512, total - appended))
            _ = try store.append(batch)
            appended += batch.count
        }

        var figures: [String: Double] = [:]
        var bytesPerSpan = 0.0
        for phase in ["head", "segment"] {
            if phase == "segment" { _ = try store.sealNow() }
            var readNs: [Double] = [], encodeNs: [Double] = []
            var buffer: [UInt8] = []
            for _ in 0..<rounds {
                var position = OutboxPosition.start
                var read: Int64 = 0, encode: Int64 = 0, spans = 0, bytes = 0
                while true {
                    let t0 = monotonicNanos()
                    let chunk = try store.outboxRead(from: position, limit: 4_096)
                    let t1 = monotonicNanos()
                    var w = JSONWriter(reusing: consume buffer, capacity: 16 << 20)
                    ClickHouseRows.spans(chunk.spans, into: &w)
                    let t2 = monotonicNanos()
                    read += t1 - t0
                    encode += t2 - t1
                    spans += chunk.spans.count
                    bytes += w.bytes.count
                    buffer = w.bytes
                    position = chunk.next
                    if chunk.caughtUp || chunk.spans.isEmpty { break }
                }
                guard spans == appended else { throw UsageError("the outbox gave \(spans) spans of \(appended)") }
                readNs.append(Double(read) / Double(spans))
                encodeNs.append(Double(encode) / Double(spans))
                bytesPerSpan = Double(bytes) / Double(spans)
            }
            let r = median(readNs) / 1000, e = median(encodeNs) / 1000
            Terminal.error("\(phase): read \(TraceRenderer.fixed(r, 2)) µs a span, encode \(TraceRenderer.fixed(e, 2)) µs a span (medians of \(rounds) rounds over \(appended) spans)")
            figures["\(phase)_read_us_per_span"] = r
            figures["\(phase)_encode_us_per_span"] = e
        }
        try store.close(seal: false)
        var w = JSONWriter()
        w.beginObject()
        w.key("spans"); w.int(Int64(appended))
        for k in figures.keys.sorted() { w.key(k); w.double((figures[k]! * 100).rounded() / 100) }
        w.key("row_bytes_per_span"); w.int(Int64(bytesPerSpan.rounded()))
        w.endObject()
        Terminal.print(w.string)
    }

    static func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
}
