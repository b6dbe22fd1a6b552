import LLMTraceCLI
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic

/// `llmtrace-bench codec`: the WAL's span encoding on its own (no I/O): every string interned,
/// long contents split into paragraphs, as `WAL.append` does for each acknowledged span. The same
/// synthetic spans as `store`, held in memory; a fresh text table every 100,000 spans (a WAL file
/// or segment starts one). Median of --rounds.
enum CodecBench {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["spans", "rounds"], flags: ["help"])
        if a.has("help") { Terminal.print(BenchMain.usage); return }
        let n = try a.int("spans", default: 200_000)
        let rounds = max(1, try a.int("rounds", default: 7))
        guard n > 0 else { throw UsageError("--spans must be positive") }
        var gen = SyntheticWorkload(seed: 7)
        var spans: [Span] = []
        spans.reserveCapacity(n + 64)
        while spans.count < n { spans += gen.nextTrace() }
        Terminal.error("encoding \(spans.count) spans, \(rounds) rounds…")
        var perSpan: [Double] = []
        var bytes = 0
        for _ in 0..<rounds {
            var texts = TextInterner()
            var w = ByteWriter(capacity: 1 << 20)
            bytes = 0
            let t0 = monotonicNanos()
            spans.withUnsafeBufferPointer { spans in
                for i in spans.indices {
                    if i % 100_000 == 0 { texts = TextInterner() }
                    SpanBinaryCodec.encode(spanAt: spans.baseAddress! + i, into: &w, texts: &texts)
                    if w.count > 1 << 20 { bytes += w.count; w.bytes.removeAll(keepingCapacity: true) }
                }
            }
            perSpan.append(Double(monotonicNanos() - t0) / Double(spans.count))
            bytes += w.count + texts.totalBytes
        }
        perSpan.sort()

        // The texts a segment stores, in 16 KiB blocks as the sealer cuts them, through the LZ4
        // compressor (what a seal spends most on).
        var texts = TextInterner()
        spans.withUnsafeBufferPointer { spans in
            var w = ByteWriter(capacity: 1 << 20)
            for i in spans.indices.prefix(100_000) {
                SpanBinaryCodec.encode(spanAt: spans.baseAddress! + i, into: &w, texts: &texts)
                w.bytes.removeAll(keepingCapacity: true)
            }
        }
        var blocks: [[UInt8]] = []
        var cur: [UInt8] = []
        for s in texts.strings {
            if !cur.isEmpty && cur.count + s.utf8.count > SegmentFormat.textBlockTarget { blocks.append(cur); cur.removeAll(keepingCapacity: true) }
            cur.append(contentsOf: s.utf8)
        }
        blocks.append(cur)
        let raw = blocks.reduce(0) { $0 + $1.count }
        let lz4 = LZ4Compressor()
        var lz4Seconds: [Double] = []
        var stored = 0
        for _ in 0..<rounds {
            stored = 0
            let t0 = monotonicNanos()
            for b in blocks { stored += lz4.compress(b).count }
            lz4Seconds.append(Double(monotonicNanos() - t0) / 1e9)
        }
        lz4Seconds.sort()
        Terminal.print(String(format: "{\"spans\": %d, \"encode_ns_per_span_median\": %.0f, \"encode_ns_per_span_min\": %.0f, \"encoded_bytes_per_span\": %.1f, \"text_mb\": %.1f, \"lz4_mb_per_s_median\": %.0f, \"lz4_ratio\": %.3f}",
                              spans.count, perSpan[perSpan.count / 2], perSpan[0], Double(bytes) / Double(spans.count),
                              Double(raw) / 1e6, Double(raw) / 1e6 / lz4Seconds[lz4Seconds.count / 2], Double(stored) / Double(raw)))
    }
}
