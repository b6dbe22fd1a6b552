import Foundation
import LLMTraceCLI
import LLMTraceDetect
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic

/// `llmtrace-bench detect`: what the detectors cost per span, by part (the per-series minutes, the
/// online evaluators), over the synthetic workload, in-process and single-threaded; with
/// `--drift-spans N`, also a drift report over a store of N spans (half the baseline window, half
/// the current one).
enum DetectBench {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["spans", "rounds", "drift-spans", "dir"], flags: ["help", "keep"])
        if a.has("help") { Terminal.print(BenchMain.usage); return }
        let spanCount = try a.int("spans", default: 200_000)
        let rounds = max(1, try a.int("rounds", default: 5))
        var gen = SyntheticWorkload(seed: 11)
        var batches: [[Span]] = []
        var n = 0, textBytes = 0
        while n < spanCount {
            let b = gen.nextBatch(count: 512)
            for s in b {
                textBytes += s.inputMessages.reduce(0) { $0 + $1.content.utf8.count } + s.outputMessages.reduce(0) { $0 + $1.content.utf8.count }
                    + s.documents.reduce(0) { $0 + $1.content.utf8.count }
            }
            batches.append(b)
            n += b.count
        }
        func median(_ x: [Double]) -> Double { let s = x.sorted(); return s[s.count / 2] }
        var monitorNs: [Double] = [], evalNs: [Double] = [], digestNs: [Double] = []
        var seriesPerBatch = 0.0, digestShare = 0.0
        var flagged = 0
        // As in the server: digests made on the ingest thread, 3% of traces kept whole (about what
        // the evaluators' CPU budget affords at full ingest), then the monitor's thread adds them.
        let keepThreshold = UInt64(0.03 * Double(UInt64.max >> 11)) << 11
        for _ in 0..<rounds {
            let monitor = SeriesMonitor()
            let last = batches.last!.map(\.startNanos).max()!
            var t = monotonicNanos()
            let digests = batches.map { DigestBatch($0, keep: { SpanDigest.sampled($0, threshold: keepThreshold) }) }
            digestNs.append(Double(monotonicNanos() - t) / Double(n))
            seriesPerBatch = Double(digests.reduce(0) { $0 + $1.keys.count }) / Double(digests.count)
            digestShare = Double(digests.reduce(0) { $0 + $1.digests.count }) / Double(n)
            t = monotonicNanos()
            for d in digests { monitor.add(d) }
            _ = monitor.advance(to: last + 120_000_000_000)
            monitorNs.append(Double(monotonicNanos() - t) / Double(n))
            let e = OnlineEvaluators()
            flagged = 0
            t = monotonicNanos()
            for b in batches { for s in b { if e.evaluate(s, now: 0).failed { flagged += 1 } } }
            evalNs.append(Double(monotonicNanos() - t) / Double(n))
        }
        Terminal.error("\(n) spans, \(textBytes / n) text bytes per span; per span: digest \(String(format: "%.0f", median(digestNs))) ns, series minutes \(String(format: "%.0f", median(monitorNs))) ns, evaluators \(String(format: "%.0f", median(evalNs))) ns (medians of \(rounds)); \(flagged) spans flagged; \(String(format: "%.1f", seriesPerBatch)) series named per batch of 512, \(String(format: "%.0f", digestShare * 100))% of spans digested")
        var json = "{\"spans\": \(n), \"text_bytes_per_span\": \(textBytes / n), \"digest_ns_per_span\": \(String(format: "%.1f", median(digestNs))), \"monitor_ns_per_span\": \(String(format: "%.1f", median(monitorNs))), \"evaluators_ns_per_span\": \(String(format: "%.1f", median(evalNs))), \"evaluator_mb_per_s\": \(String(format: "%.0f", Double(textBytes / n) / median(evalNs) * 1e3)), \"flagged\": \(flagged)"
        if let driftSpans = try a.value("drift-spans").map({ _ in try a.int("drift-spans", default: 1_000_000) }) {
            let (ms, findings) = try drift(spans: driftSpans, dir: a.value("dir"), keep: a.has("keep"))
            json += ", \"drift_spans\": \(driftSpans), \"drift_report_ms\": \(String(format: "%.0f", ms)), \"drift_findings\": \(findings)"
        }
        Terminal.print(json + "}")
    }

    /// Loads `spans` synthetic spans over two hours (sealed) and times the report comparing the
    /// first hour with the second; returns (median ms of 3, findings).
    static func drift(spans: Int, dir: String?, keep: Bool) throws -> (Double, Int) {
        let path = dir ?? NSTemporaryDirectory() + "llmtrace-drift-bench-\(getpid())"
        if !keep { try? FileManager.default.removeItem(atPath: path) }
        var o = StoreOptions(directory: path)
        o.fsync = FsyncPolicy(parsing: "interval=100ms")!
        o.log = { _, _ in }
        let store = try Store.open(o)
        defer {
            try? store.close(seal: true)
            if !keep { try? FileManager.default.removeItem(atPath: path) }
        }
        let start: Int64 = 1_767_225_600_000_000_000
        if store.segmentReaders.isEmpty {
            var gen = SyntheticWorkload(seed: 5, startNanos: start)
            var n = 0
            let t = monotonicNanos()
            while n < spans {
                var b = gen.nextBatch(count: 2_048)
                // Spread evenly over two hours whatever the generator's own clock does.
                for i in b.indices {
                    let d = b[i].durationNanos
                    b[i].startNanos = start + Int64(n + i) * (7_200_000_000_000 / Int64(spans))
                    b[i].endNanos = b[i].startNanos + d
                }
                try store.append(b)
                n += b.count
            }
            _ = try store.sealNow()
            Terminal.error("loaded \(n) spans in \(String(format: "%.1f", Double(monotonicNanos() - t) / 1e9)) s")
        }
        let request = try DriftRequest(baseline: "\(start)..\(start + 3_600_000_000_000)", current: "\(start + 3_600_000_000_000)..\(start + 7_200_000_000_000)",
                                       by: nil, now: start + 7_200_000_000_000)
        var times: [Double] = []
        var findings = 0
        for _ in 0..<3 {
            let t = monotonicNanos()
            let r = try request.run(store, project: nil)
            times.append(Double(monotonicNanos() - t) / 1e6)
            findings = r.findings.count
            // Where the time goes: the windows read (one after the other here), then the statistics.
            let t1 = monotonicNanos()
            let reader = DriftReader()
            let b = try reader.collect(store, project: nil, window: request.baseline, by: request.by)
            let c = try reader.collect(store, project: nil, window: request.current, by: request.by)
            let t2 = monotonicNanos()
            _ = DriftReport(baseline: b, current: c)
            let t3 = monotonicNanos()
            Terminal.error("drift report: \(r.baselineSpans) + \(r.currentSpans) spans, \(r.findings.count) findings (\(r.findings.filter(\.drifted).count) drifted) in \(String(format: "%.0f", times.last!)) ms"
                           + " (alone: reading both windows \(String(format: "%.0f", Double(t2 - t1) / 1e6)) ms, statistics \(String(format: "%.0f", Double(t3 - t2) / 1e6)) ms)")
        }
        times.sort()
        return (times[1], findings)
    }
}
