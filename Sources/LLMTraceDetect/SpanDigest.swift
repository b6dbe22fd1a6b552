import LLMTraceIngest
import LLMTraceModel
import LLMTraceSupport

/// What the detectors keep of a stored span: the names of its series and the numbers of its
/// minute, and — for the spans of the evaluators' sample only — the whole span. Made on the ingest
/// thread as the batch is stored (a few hundred nanoseconds a span), so the detectors never hold
/// the batch itself: the spans' memory is freed where it was allocated, instead of by the
/// detectors' thread a moment later, cache-cold (measured: holding whole batches cost ingest 13%).
public struct SpanDigest: Sendable {
    public var project: String
    public var service: String
    public var name: String
    public var model: String?
    public var promptName: String?
    public var promptVersion: String?
    public var kind: SpanKind
    public var status: SpanStatus
    public var startNanos: Int64
    public var durationNanos: Int64
    public var ttftNanos: Int64?
    public var inputTokens: Int64?
    public var outputTokens: Int64?
    public var costUSD: Double?
    public var docScoreSum: Double
    public var docScores: Int
    /// The whole span when the evaluators' sample takes its trace. Boxed: a span inline would make
    /// every digest five times its size (most digests carry none).
    private let box: SpanBox?
    public var full: Span? { box?.span }

    public init(_ s: Span, keep: Bool) {
        project = s.project
        service = s.service
        name = s.name
        model = s.responseModel ?? s.requestModel
        promptName = s.promptName
        promptVersion = s.promptVersion
        kind = s.kind
        status = s.status
        startNanos = s.startNanos
        durationNanos = s.durationNanos
        ttftNanos = s.timeToFirstTokenNanos
        inputTokens = s.inputTokens
        outputTokens = s.outputTokens
        costUSD = s.costUSD
        var sum = 0.0, n = 0
        for d in s.documents { if let sc = d.score, sc.isFinite { sum += sc; n += 1 } }
        docScoreSum = sum
        docScores = n
        box = keep ? SpanBox(s) : nil
    }

    /// Whether the trace is in a sample of `threshold / 2^64` of all traces (the same answer for
    /// every span of a trace).
    @inline(__always) public static func sampled(_ t: TraceID, threshold: UInt64) -> Bool {
        threshold == .max || (t.hi ^ t.lo) &* 0x9E37_79B9_7F4A_7C15 <= threshold
    }
}

final class SpanBox: Sendable {
    let span: Span
    init(_ s: Span) { span = s }
}

/// The detectors' subscriber on the ingest fan-out: digests each stored batch on the ingest thread
/// and queues the digests for the detectors' thread without ever blocking ingest (at most
/// `capacity` spans waiting; a batch that does not fit is dropped and counted).
public final class DigestQueue: SpanSubscriber, @unchecked Sendable {
    private let queue: BatchQueue<SpanDigest>
    private let lock = Condition()
    /// Traces whose hash is at most this keep their whole spans (the evaluators' sample).
    private var threshold = UInt64.max
    private weak var fanout: SpanFanout?

    public init(fanout: SpanFanout, capacity: Int) {
        queue = BatchQueue(capacity: capacity)
        self.fanout = fanout
        fanout.add(self)
    }

    public var droppedSpans: Int { queue.droppedCount }

    /// The share of traces whose spans are kept whole, from the next batch on.
    public func setSampleRatio(_ r: Double) {
        let t: UInt64 = r >= 1 ? .max : UInt64(max(0, r) * Double(UInt64.max >> 11)) << 11
        lock.withLock { threshold = t }
    }

    public func stored(_ batch: [Span]) {
        // No digests are made for a batch that would be dropped anyway.
        guard queue.hasRoom(for: batch.count) else { queue.countDropped(batch.count); return }
        let t = lock.withLock { threshold }
        var digests: [SpanDigest] = []
        digests.reserveCapacity(batch.count)
        for s in batch { digests.append(SpanDigest(s, keep: SpanDigest.sampled(s.traceID, threshold: t))) }
        queue.offer(digests)
    }

    /// The next batch of digests, waiting at most `timeoutNanos`; nil on timeout or after `cancel`.
    public func next(timeoutNanos: Int64) -> [SpanDigest]? { queue.next(timeoutNanos: timeoutNanos) }

    public func cancel() {
        queue.close()
        fanout?.remove(self)
    }
}
