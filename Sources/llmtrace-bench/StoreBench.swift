import Foundation
import LLMTraceCLI
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic

/// `llmtrace-bench store`: WAL append throughput with fsync=always, disk footprint, trace lookups.
enum StoreBench {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["spans", "batch", "seal-spans", "compression", "dir", "lookups", "writers"], flags: ["keep", "help"])
        if a.has("help") { Terminal.print(BenchMain.usage); return }
        let total = try a.int("spans", default: 1_000_000)
        let batchSize = try a.int("batch", default: 512)
        let sealSpans = try a.int("seal-spans", default: 100_000)
        guard let compression = SegmentCompression(parsing: a.value("compression") ?? "lz4") else {
            throw UsageError("--compression expects lz4, zlib, zlib:1...zlib:9 or none")
        }
        let lookups = try a.int("lookups", default: 1000)
        // Concurrent appenders, as a collector's event loops are: one batch's encoding overlaps
        // another's fsync, and group commit lets one fsync cover both.
        let writers = max(1, try a.int("writers", default: 4))
        guard total > 0, batchSize > 0 else { throw UsageError("--spans and --batch must be positive") }
        let dir = a.value("dir") ?? (NSTemporaryDirectory() + "llmtrace-bench-\(getpid())")
        try? FileManager.default.removeItem(atPath: dir)

        // Each writer thread generates its own share of the load: spans are allocated and freed on
        // one thread (handing them from a generator thread to the writers made glibc's cross-thread
        // frees cost ~3x the generation itself, CPU the store then lacked).
        let shares = (0..<writers).map { w in total / writers + (w < total % writers ? 1 : 0) }

        // Pass 1 (untimed): the raw JSON size of the exact spans pass 2 appends, and a sample of trace ids.
        Terminal.error("measuring raw JSON size of \(total) spans…")
        var jsonBytes = 0
        var sample: [TraceID] = []
        var rng = SplitMix64(seed: 99)
        var traces = 0
        for w in 0..<writers {
            var load = WriterLoad(writer: w, spans: shares[w], batchSize: batchSize)
            var lastTrace: TraceID?
            while let batch = load.next() {
                for s in batch {
                    jsonBytes += s.jsonBytes().count + 1  // +1: the newline of JSON lines
                    guard s.traceID != lastTrace else { continue }
                    lastTrace = s.traceID
                    traces += 1
                    // Reservoir sample of trace ids for the lookups.
                    if sample.count < lookups { sample.append(s.traceID) } else {
                        let j = Int(rng.next() % UInt64(traces))
                        if j < lookups { sample[j] = s.traceID }
                    }
                }
            }
        }

        // Pass 2 (timed): the writer threads generate and append their batches.
        var opts = StoreOptions(directory: dir)
        opts.sealSpanCount = sealSpans
        opts.compression = compression
        opts.fsync = .always
        let store = try Store.open(opts)
        let generatorNanos = AppendCounters()
        // CPU the writer threads spend generating spans (not storing them): subtracted from the
        // process's CPU to give the store's own CPU per span, a figure far steadier than the
        // throughput on a shared 2-core machine, where the generator competes with the store.
        let generatorCPU = AppendCounters()
        let cpu0 = threadCPU()
        let proc0 = processCPUSeconds()
        Terminal.error("appending \(total) spans in batches of \(batchSize) from \(writers) writer thread(s) (fsync=always)…")
        // The generators' text pools are built before the clock starts (~0.1 s of CPU each).
        let loads = LoadHandoff((0..<writers).map { WriterLoad(writer: $0, spans: shares[$0], batchSize: batchSize) })
        let t0 = monotonicNanos()
        let counters = AppendCounters()
        for w in 0..<writers {
            Thread {
                setCurrentThreadName("writer")
                var load = loads.take(w)
                while true {
                    let g0 = monotonicNanos()
                    let c0 = threadCPUNanos()
                    guard let batch = load.next() else { break }
                    generatorCPU.add(0, threadCPUNanos() - c0)
                    let s = monotonicNanos()
                    generatorNanos.add(0, s - g0)
                    do { try store.append(batch) } catch { counters.fail("\(error)") }
                    counters.add(batch.count, monotonicNanos() - s)
                }
                counters.writerDone()
            }.start()
        }
        counters.waitForWriters(writers)
        if let e = counters.error { throw StoreError("append failed: \(e)") }
        let appended = counters.spans
        let inAppend = counters.nanos
        let tAppended = monotonicNanos()
        let cpu1 = threadCPU()
        var perThread: [String: Double] = [:]
        for (tid, v) in cpu1 { perThread[v.name, default: 0] += v.seconds - (cpu0[tid]?.seconds ?? 0) }
        let procCPU = processCPUSeconds() - proc0
        Terminal.error("CPU seconds during the append phase (\(String(format: "%.1f", Double(tAppended - t0) / 1e9)) s wall): process \(String(format: "%.2f", procCPU)); still-running threads: "
                       + perThread.sorted { $0.value > $1.value }.map { "\($0.key) \(String(format: "%.2f", $0.value))" }.joined(separator: ", "))
        try store.sealNow()
        let tSealed = monotonicNanos()
        // Full-text indexing runs behind ingest on its own thread; wait for it to catch up.
        try store.indexPendingTexts()
        let tText = monotonicNanos()
        let appendSeconds = Double(tAppended - t0) / 1e9
        let sealedSeconds = Double(tSealed - t0) / 1e9

        // Lookups of random traces, all of which are now in segments.
        var lat: [Double] = []
        var found = 0
        for id in sample {
            let s = monotonicNanos()
            let spans = try store.trace(id)
            lat.append(Double(monotonicNanos() - s) / 1e6)
            if !spans.isEmpty { found += 1 }
        }
        lat.sort()
        func pct(_ p: Double) -> Double { lat.isEmpty ? 0 : lat[min(lat.count - 1, Int(Double(lat.count) * p))] }
        store.index.checkpoint()
        let du = store.diskUsage()
        let disk = du.segments + du.wal + du.index
        let walBytes = store.walBytesWritten
        let fsyncs = store.walFsyncs
        let fsyncSeconds = Double(store.walFsyncNanos) / 1e9
        let backpressure = store.appendBackpressureNanos
        try store.close()
        if !a.has("keep") { try? FileManager.default.removeItem(atPath: dir) }

        let result: [(String, String)] = [
            ("spans", "\(appended)"),
            ("writers", "\(writers)"), ("batch", "\(batchSize)"),
            ("append_spans_per_s", String(format: "%.0f", Double(appended) / appendSeconds)),
            ("append_and_seal_spans_per_s", String(format: "%.0f", Double(appended) / sealedSeconds)),
            ("text_index_caught_up_s", String(format: "%.2f", Double(tText - t0) / 1e9)),
            ("raw_json_bytes_per_span", String(format: "%.1f", Double(jsonBytes) / Double(total))),
            ("disk_bytes_per_span", String(format: "%.1f", Double(disk) / Double(appended))),
            ("disk_ratio", String(format: "%.4f", Double(disk) / Double(jsonBytes))),
            ("segment_bytes", "\(du.segments)"), ("index_bytes", "\(du.index)"), ("wal_bytes_left", "\(du.wal)"),
            ("wal_bytes_written", "\(walBytes)"), ("wal_fsyncs", "\(fsyncs)"),
            ("wal_write_fsync_s", String(format: "%.2f", fsyncSeconds)),
            ("append_backpressure_s", String(format: "%.2f", Double(backpressure) / 1e9)),
            ("generator_s", String(format: "%.2f", Double(generatorNanos.nanos) / 1e9)),
            ("append_cpu_s", String(format: "%.2f", procCPU)),
            ("generator_cpu_s", String(format: "%.2f", Double(generatorCPU.nanos) / 1e9)),
            ("store_cpu_us_per_span", String(format: "%.2f", (procCPU - Double(generatorCPU.nanos) / 1e9) * 1e6 / Double(appended))),
            ("time_in_append_s", String(format: "%.2f", Double(inAppend) / 1e9)),
            ("lookups", "\(lat.count)"), ("lookups_found", "\(found)"),
            ("lookup_p50_ms", String(format: "%.3f", pct(0.5))), ("lookup_p99_ms", String(format: "%.3f", pct(0.99))),
            ("lookup_max_ms", String(format: "%.3f", lat.last ?? 0)),
            ("peak_rss_mb", String(format: "%.1f", Terminal.peakRSSMiB())),
            ("rss_anon_mb_at_end", String(format: "%.1f", Terminal.procStatusMiB("RssAnon:"))),
            ("rss_file_mb_at_end", String(format: "%.1f", Terminal.procStatusMiB("RssFile:"))),
        ]
        Terminal.error("append: \(String(format: "%.2f", appendSeconds)) s, with final seal: \(String(format: "%.2f", sealedSeconds)) s")
        Terminal.print("{" + result.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}

/// User+system CPU seconds of the whole process (threads that exited included).
func processCPUSeconds() -> Double {
    var ru = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &ru)
    return Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) / 1e6 + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) / 1e6
}

/// User+system CPU seconds of each thread of this process, from /proc/self/task/*/stat.
func threadCPU() -> [String: (name: String, seconds: Double)] {
    var out: [String: (String, Double)] = [:]
    for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
        if let t = procStatCPU("/proc/self/task/\(tid)/stat") { out[tid] = t }
    }
    return out
}

/// The command name and user+system CPU seconds in a /proc/.../stat file (a process or a thread).
func procStatCPU(_ path: String) -> (name: String, seconds: Double)? {
    guard let stat = try? String(contentsOfFile: path, encoding: .utf8),
          let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
    let name = String(stat[stat.index(after: open)..<close])
    let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
    guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
    return (name, (u + s) / Double(sysconf(Int32(_SC_CLK_TCK))))
}

/// Totals from the writer threads.
final class AppendCounters: @unchecked Sendable {
    private let lock = Condition()
    private(set) var spans = 0
    private(set) var nanos: Int64 = 0
    private(set) var error: String?
    func add(_ n: Int, _ t: Int64) { lock.withLock { spans += n; nanos += t } }
    func fail(_ e: String) { lock.withLock { if error == nil { error = e } } }
    private var finished = 0
    func writerDone() { lock.withLock { finished += 1; lock.broadcast() } }
    func waitForWriters(_ n: Int) { lock.withLock { while finished < n { lock.wait() } } }
}

/// One writer's share of the synthetic load, as batches of whole traces of at least `batchSize`
/// spans (the last one cut to fit).
struct WriterLoad {
    private var gen: SyntheticWorkload
    private var left: Int
    private let batchSize: Int

    init(writer: Int, spans: Int, batchSize: Int) {
        gen = SyntheticWorkload(seed: 7 &+ UInt64(writer) &* 1_000_003)
        left = spans
        self.batchSize = batchSize
    }

    mutating func next() -> [Span]? {
        guard left > 0 else { return nil }
        var batch = gen.nextBatch(count: min(batchSize, left))
        if batch.count > left { batch.removeLast(batch.count - left) }
        left -= batch.count
        return batch
    }
}

/// CPU time of the calling thread.
func threadCPUNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// Hands each writer thread its prepared load.
final class LoadHandoff: @unchecked Sendable {
    private let lock = Condition()
    private var loads: [WriterLoad?]
    init(_ loads: [WriterLoad]) { self.loads = loads }
    func take(_ i: Int) -> WriterLoad { lock.withLock { defer { loads[i] = nil }; return loads[i]! } }
}
