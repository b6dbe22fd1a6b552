import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LLMTrace
import LLMTraceCLI
import LLMTraceHTTP

/// `llmtrace-bench sdk`: what the Swift SDK costs the service that uses it.
///
/// 1. The caller's cost of a span with 10 attributes (start, 10 `setAttribute`, `end`, which
///    queues it), each span timed alone (the clock's own ~20–40 ns included), after a warm-up;
///    exported by a counting exporter so that the phase measures the caller only.
/// 2. Export at `--rate` spans/s for `--seconds` to a real llmtraced: this process's CPU minus the
///    generating thread's own, over the wall time, is the share of one core export costs (encoding,
///    HTTP, the batch thread). The collector's count must equal what was made.
/// 3. A collector restart: stopped at a third of `--restart-seconds`, started again at two thirds,
///    the queue sized for the outage (`--queue`); every span must arrive.
/// 4. The collector down for `--down-seconds` at the same rate with the default queue (2,048): the
///    peak resident memory over that time (VmHWM, reset first), and what was dropped.
enum SDKBench {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["rate", "seconds", "spans", "restart-seconds", "down-seconds", "queue", "only"], flags: ["help"])
        if a.has("help") { Terminal.print(BenchMain.usage); return }
        let rate = max(1, try a.double("rate", default: 10_000))
        let seconds = try a.double("seconds", default: 20)
        let spans = max(10_000, try a.int("spans", default: 1_000_000))
        let restartSeconds = try a.double("restart-seconds", default: 15)
        let downSeconds = try a.double("down-seconds", default: 60)
        let queue = max(2048, try a.int("queue", default: 131_072))
        let load0 = IngestBench.loadAverage()
        // `--only caller` or `--only export` runs that phase alone (for a profiler).
        let only = a.value("only")
        let callerOnly = only == "caller"

        var p50: Int64 = 0, p99: Int64 = 0, meanNs = 0.0
        if only != "export" {
        // 1. The caller's cost, in rounds of 4,000 spans that the export thread sleeps through (its
        // batch is 4,096; it exports between rounds, untimed), so the figure is the caller's alone,
        // not its share of a core it fights the exporter for.
        let counter = CountingExporter()
        var c = LLMTrace.Configuration(serviceName: "sdk-bench")
        c.maxQueueSize = 8192
        c.maxExportBatchSize = 4096
        c.scheduleDelaySeconds = 3600
        LLMTrace.bootstrap(c, exporter: counter)
        let round = 4000
        for _ in 0..<10 {
            for _ in 0..<round { makeSpan() }
            LLMTrace.forceFlush(timeoutSeconds: 10)
        }
        var times = [Int64](repeating: 0, count: spans)
        var i = 0
        while i < spans {
            for _ in 0..<min(round, spans - i) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                makeSpan()
                times[i] = Int64(DispatchTime.now().uptimeNanoseconds &- t0)
                i += 1
            }
            LLMTrace.forceFlush(timeoutSeconds: 10)
        }
        var untimed: Int64 = 0
        i = 0
        while i < spans {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<min(round, spans - i) { makeSpan() }
            untimed += Int64(DispatchTime.now().uptimeNanoseconds &- t0)
            i += round
            LLMTrace.forceFlush(timeoutSeconds: 10)
        }
        meanNs = Double(untimed) / Double(spans)
        LLMTrace.shutdown(timeoutSeconds: 10)
        times.sort()
        p50 = times[spans / 2]
        p99 = times[spans * 99 / 100]
        Terminal.error("span with 10 attributes: p50 \(p50) ns, p99 \(p99) ns, mean \(Int(meanNs)) ns untimed (\(counter.count) exported)")
        if callerOnly {
            Terminal.print("{\"span_ns_p50\": \(p50), \"span_ns_p99\": \(p99), \"span_ns_mean_untimed\": \(String(format: "%.0f", meanNs))}")
            return
        }
        }

        // 2. Export at the rate to a real collector.
        let server = try SpawnedCollector()
        try server.start()
        defer { server.finish() }
        var e = LLMTrace.Configuration(serviceName: "sdk-bench")
        e.endpoint = server.endpoint
        LLMTrace.bootstrap(e)
        let cpu0 = processCPUSeconds()
        let (made, generatorCPU, wall) = generate(rate: rate, seconds: seconds)
        LLMTrace.forceFlush(timeoutSeconds: 30)
        let exportCPU = processCPUSeconds() - cpu0 - generatorCPU
        let exportStats = LLMTrace.stats
        LLMTrace.shutdown(timeoutSeconds: 10)
        let share = exportCPU / wall
        let stored = Int(server.counter("llmtrace_spans_accepted_total") ?? -1)
        if only == "export" { return }
        Terminal.error("export at \(Int(rate)) spans/s for \(seconds) s: \(String(format: "%.2f", exportCPU)) CPU-s besides the generator (\(String(format: "%.2f%%", share * 100)) of a core); made \(made), exported \(exportStats.exported), dropped \(exportStats.dropped), stored \(stored)")

        // 3. A restart in the middle.
        var r = e
        r.maxQueueSize = queue
        LLMTrace.bootstrap(r)
        let before = server.counter("llmtrace_spans_accepted_total") ?? 0
        var acceptedBeforeStop = 0.0
        let restartMade = generate(rate: rate, seconds: restartSeconds, at: [
            (restartSeconds / 3, { acceptedBeforeStop = (server.counter("llmtrace_spans_accepted_total") ?? 0) - before; server.stop() }),
            (restartSeconds * 2 / 3, { try? server.start() }),
        ]).made
        let flushed = LLMTrace.forceFlush(timeoutSeconds: 60)
        let restartStats = LLMTrace.stats
        LLMTrace.shutdown(timeoutSeconds: 10)
        let restartStored = Int(acceptedBeforeStop + (server.counter("llmtrace_spans_accepted_total") ?? 0))
        let lost = restartMade - restartStored
        Terminal.error("restart: made \(restartMade), stored \(restartStored) (\(Int(acceptedBeforeStop)) before the stop), flushed \(flushed), dropped \(restartStats.dropped), failed \(restartStats.failed)")

        // 4. The collector down.
        let deadPort = try FreePort.loopback()
        var d = e
        d.endpoint = "http://127.0.0.1:\(deadPort)"
        LLMTrace.bootstrap(d)
        let rssBefore = Terminal.procStatusMiB("VmRSS:")
        let reset = (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil
        let downMade = generate(rate: rate, seconds: downSeconds).made
        let peak = Terminal.peakRSSMiB()
        let downStats = LLMTrace.stats
        LLMTrace.shutdown(timeoutSeconds: 1)
        Terminal.error("collector down \(downSeconds) s: made \(downMade), dropped \(downStats.dropped), gave up \(downStats.failed); RSS \(String(format: "%.1f", rssBefore)) MiB before, peak \(String(format: "%.1f", peak)) MiB\(reset ? "" : " (peak since start: clear_refs refused)")")

        let fields: [(String, String)] = [
            ("span_ns_p50", "\(p50)"), ("span_ns_p99", "\(p99)"), ("span_ns_mean_untimed", String(format: "%.0f", meanNs)),
            ("rate", String(format: "%.0f", rate)), ("export_core_share", String(format: "%.4f", share)),
            ("made", "\(made)"), ("exported", "\(exportStats.exported)"), ("stored", "\(stored)"), ("dropped", "\(exportStats.dropped)"),
            ("restart_made", "\(restartMade)"), ("restart_stored", "\(restartStored)"), ("lost_across_restart", "\(lost)"),
            ("down_seconds", String(format: "%.0f", downSeconds)), ("peak_rss_mb_collector_down", String(format: "%.1f", peak)),
            ("rss_mb_before_down", String(format: "%.1f", rssBefore)), ("dropped_collector_down", "\(downStats.dropped)"),
            ("load_avg_start", String(format: "%.2f", load0)), ("load_avg_end", String(format: "%.2f", IngestBench.loadAverage())),
        ]
        Terminal.print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }

    /// Ten attributes of the kinds a service sets (strings, integers, doubles, a flag).
    @inline(never)
    static func makeSpan() {
        let span = LLMTrace.startSpan("chat", ofKind: .llm)
        span.setAttribute("http.route", "/v1/answer")
        span.setAttribute("app.tenant", "acme")
        span.setAttribute("app.feature", "support-bot")
        span.setAttribute("gen_ai.request.model", "gpt-4o-mini")
        span.setAttribute("gen_ai.usage.input_tokens", 1200)
        span.setAttribute("gen_ai.usage.output_tokens", 80)
        span.setAttribute("app.retries", 0)
        span.setAttribute("gen_ai.request.temperature", 0.2)
        span.setAttribute("app.score", 0.93)
        span.setAttribute("app.cached", true)
        span.end()
    }

    /// Makes spans at `rate` per second for `seconds` on this thread (10 per tick of 1/rate×10 s),
    /// running each action once its time has come. Returns the count, this thread's CPU seconds
    /// and the wall seconds.
    static func generate(rate: Double, seconds: Double, at actions: [(Double, () -> Void)] = []) -> (made: Int, cpu: Double, wall: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let cpu0 = threadCPUSeconds()
        let perTick = 10
        let tickNs = UInt64(Double(perTick) / rate * 1e9)
        let total = Int(rate * seconds)
        var made = 0
        var pending = actions.sorted { $0.0 < $1.0 }
        while made < total {
            let due = start + UInt64(made / perTick) * tickNs
            let now = DispatchTime.now().uptimeNanoseconds
            if due > now { usleep(UInt32(min(100_000, (due - now) / 1000))); continue }
            if let (t, f) = pending.first, Double(now - start) / 1e9 >= t { pending.removeFirst(); f(); continue }
            for _ in 0..<min(perTick, total - made) { makeSpan() }
            made += min(perTick, total - made)
        }
        for (_, f) in pending { f() }
        return (made, threadCPUSeconds() - cpu0, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Counts what it is given; keeps nothing.
    final class CountingExporter: SpanExporter, @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        var count: Int { lock.lock(); defer { lock.unlock() }; return n }
        func export(_ spans: [SpanRecord]) -> Bool { lock.lock(); n += spans.count; lock.unlock(); return true }
    }
}
