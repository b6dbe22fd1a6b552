import Foundation

/// Finished spans queued for export by one background thread, as OpenTelemetry's batch processor:
/// a batch leaves every `scheduleDelaySeconds`, or as soon as `maxExportBatchSize` spans wait. The
/// queue holds at most `maxQueueSize`; when full, the oldest span is dropped and counted, so the
/// caller never waits on export and memory stays bounded whatever the collector does.
public final class BatchSpanProcessor: @unchecked Sendable {
    public struct Stats: Sendable, Equatable {
        public var exported = 0
        /// Spans whose export failed for good (the batch was given up after `exportTimeoutSeconds`).
        public var failed = 0
        /// Spans dropped from a full queue.
        public var dropped = 0
        public init() {}
    }

    private let exporter: any SpanExporter
    private let maxQueueSize: Int
    private let batchSize: Int
    private let delay: Double
    private let cond = NSCondition()
    private var queue: [SpanRecord] = []
    private var head = 0
    private var inFlight = 0
    private var flushRequests = 0
    private var stopping = false
    private var finished = false
    private var _stats = Stats()

    public init(exporter: any SpanExporter, configuration: LLMTrace.Configuration) {
        self.exporter = exporter
        maxQueueSize = max(1, configuration.maxQueueSize)
        batchSize = max(1, min(configuration.maxExportBatchSize, configuration.maxQueueSize))
        delay = configuration.scheduleDelaySeconds
        let t = Thread { [self] in run() }
        t.name = "llmtrace-export"
        t.start()
    }

    public var stats: Stats {
        cond.lock(); defer { cond.unlock() }
        return _stats
    }

    private var queued: Int { queue.count - head }

    /// Queues a finished span; never blocks beyond a short lock.
    public func onEnd(_ span: SpanRecord) {
        cond.lock()
        defer { cond.unlock() }
        if stopping { _stats.dropped += 1; return }
        if queued >= maxQueueSize {
            head += 1
            _stats.dropped += 1
        }
        queue.append(span)
        if head > 4096 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        if queued >= batchSize { cond.broadcast() }
    }

    private func run() {
        cond.lock()
        while true {
            let deadline = Date(timeIntervalSinceNow: delay)
            // Wait for a full batch, the delay, a flush with something to flush, or the stop; the
            // lock is released while waiting (a flush of an empty queue must not spin holding it).
            while queued < batchSize && (flushRequests == 0 || queued == 0) && !stopping {
                if !cond.wait(until: deadline) { break }
            }
            if queued == 0 {
                if stopping { break }
                continue
            }
            let n = min(batchSize, queued)
            let batch = Array(queue[head..<(head + n)])
            head += n
            if head == queue.count { queue.removeAll(keepingCapacity: true); head = 0 }
            inFlight += n
            cond.unlock()
            let ok = exporter.export(batch)
            cond.lock()
            inFlight -= n
            if ok { _stats.exported += n } else { _stats.failed += n }
            cond.broadcast()
        }
        finished = true
        cond.broadcast()
        cond.unlock()
        exporter.shutdown()
    }

    /// Exports everything queued so far; false when `timeoutSeconds` passed first.
    public func forceFlush(timeoutSeconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        cond.lock()
        defer { cond.unlock() }
        flushRequests += 1
        defer { flushRequests -= 1 }
        cond.broadcast()
        while queued > 0 || inFlight > 0 {
            if finished { return queued == 0 }
            if !cond.wait(until: deadline) { return false }
        }
        return true
    }

    /// Flushes, then stops the thread; spans ended later are dropped. False on timeout.
    @discardableResult
    public func shutdown(timeoutSeconds: Double) -> Bool {
        let flushed = forceFlush(timeoutSeconds: timeoutSeconds)
        cond.lock()
        stopping = true
        cond.broadcast()
        let deadline = Date(timeIntervalSinceNow: max(0.1, timeoutSeconds))
        while !finished { if !cond.wait(until: deadline) { break } }
        cond.unlock()
        return flushed
    }
}

/// Where finished spans go. `export` runs on the processor's thread, one batch at a time, and
/// returns whether the batch was delivered (retries are the exporter's business).
public protocol SpanExporter: Sendable {
    func export(_ spans: [SpanRecord]) -> Bool
    func shutdown()
}

extension SpanExporter {
    public func shutdown() {}
}

/// Keeps exported spans in memory: for users' own tests.
public final class InMemoryExporter: SpanExporter, @unchecked Sendable {
    private let lock = NSLock()
    private var _spans: [SpanRecord] = []
    public init() {}
    public func export(_ spans: [SpanRecord]) -> Bool {
        lock.lock(); defer { lock.unlock() }
        _spans += spans
        return true
    }
    public var spans: [SpanRecord] { lock.lock(); defer { lock.unlock() }; return _spans }
    public func reset() { lock.lock(); _spans = []; lock.unlock() }
}
