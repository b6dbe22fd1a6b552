import Foundation
import LLMTraceModel

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
        /// Spans the redaction hook chose not to export.
        public var redacted = 0
        /// Scores delivered, and given up (or not taken by the exporter).
        public var scoresExported = 0
        public var scoresFailed = 0
        public init() {}
    }

    private let exporter: any SpanExporter
    private let maxQueueSize: Int
    private let batchSize: Int
    private let delay: Double
    private let cond = NSCondition()
    /// Ended spans; their records are taken on the export thread (the caller copies nothing).
    private var queue: [Span] = []
    private var head = 0
    private var scores: [Score] = []
    private let redact: (@Sendable (inout SpanRecord) -> Bool)?
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
        redact = configuration.redact
        let t = Thread { [self] in run() }
        t.name = "llmtrace-export"
        t.start()
    }

    public var stats: Stats {
        cond.lock(); defer { cond.unlock() }
        return _stats
    }

    private var queued: Int { queue.count - head }
    /// Spans and scores waiting.
    private var pending: Int { queue.count - head + scores.count }

    /// Queues a score for export with the spans (the oldest is dropped when `maxQueueSize` wait).
    public func onScore(_ score: Score) {
        cond.lock()
        defer { cond.unlock() }
        if stopping { _stats.scoresFailed += 1; return }
        if scores.count >= maxQueueSize { scores.removeFirst(); _stats.scoresFailed += 1 }
        scores.append(score)
    }

    /// Queues an ended span; never blocks beyond a short lock.
    func onEnd(_ span: Span) {
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
            while queued < batchSize && (flushRequests == 0 || pending == 0) && !stopping {
                if !cond.wait(until: deadline) { break }
            }
            if pending == 0 {
                if stopping { break }
                continue
            }
            let n = min(batchSize, queued)
            let ended = Array(queue[head..<(head + n)])
            head += n
            if head == queue.count { queue.removeAll(keepingCapacity: true); head = 0 }
            let scoreBatch = scores
            scores.removeAll()
            inFlight += n + scoreBatch.count
            cond.unlock()
            var batch = ended.map(\.exportRecord)
            var kept = n
            if let redact {
                var out: [SpanRecord] = []
                out.reserveCapacity(n)
                for var s in batch { if redact(&s) { out.append(s) } }
                batch = out
                kept = batch.count
            }
            let ok = batch.isEmpty || exporter.export(batch)
            let scoresOK = scoreBatch.isEmpty || exporter.export(scores: scoreBatch)
            cond.lock()
            inFlight -= n + scoreBatch.count
            _stats.redacted += n - kept
            if ok { _stats.exported += kept } else { _stats.failed += kept }
            if scoresOK { _stats.scoresExported += scoreBatch.count } else { _stats.scoresFailed += scoreBatch.count }
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
        while pending > 0 || inFlight > 0 {
            if finished { return pending == 0 }
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
    /// Scores (`LLMTrace.score`); an exporter that has nowhere to send them returns false, and
    /// they are counted as failed.
    func export(scores: [Score]) -> Bool
    func shutdown()
}

extension SpanExporter {
    public func export(scores: [Score]) -> Bool { false }
    public func shutdown() {}
}

/// Keeps exported spans in memory: for users' own tests.
public final class InMemoryExporter: SpanExporter, @unchecked Sendable {
    private let lock = NSLock()
    private var _spans: [SpanRecord] = []
    private var _scores: [Score] = []
    public init() {}
    public func export(scores: [Score]) -> Bool {
        lock.lock(); defer { lock.unlock() }
        _scores += scores
        return true
    }
    public var scores: [Score] { lock.lock(); defer { lock.unlock() }; return _scores }
    public func export(_ spans: [SpanRecord]) -> Bool {
        lock.lock(); defer { lock.unlock() }
        _spans += spans
        return true
    }
    public var spans: [SpanRecord] { lock.lock(); defer { lock.unlock() }; return _spans }
    public func reset() { lock.lock(); _spans = []; _scores = []; lock.unlock() }
}
