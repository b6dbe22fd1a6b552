import LLMTraceModel
import LLMTraceSupport

/// Something that wants every batch of spans as it is stored: span metrics, the live tail, the
/// detectors. A module implements it without importing the collector. `stored` is called on the
/// ingest path, after the batch is durable and before it is acknowledged, in order, once per
/// batch; it must return quickly and never block (queue what takes time, as `SpanQueue` does).
public protocol SpanSubscriber: AnyObject, Sendable {
    func stored(_ batch: [Span])
}

/// Hands every stored batch to the in-process subscribers.
public final class SpanFanout: @unchecked Sendable {
    private let lock = Condition()
    private var subscribers: [SpanSubscriber] = []

    public init() {}

    public func add(_ s: SpanSubscriber) { lock.withLock { subscribers.append(s) } }

    public func remove(_ s: SpanSubscriber) { lock.withLock { subscribers.removeAll { $0 === s } } }

    /// A new bounded queue of stored batches for a consumer on its own thread.
    public func subscribe(capacity: Int = 100_000) -> SpanQueue {
        let q = SpanQueue(capacity: capacity, fanout: self)
        add(q)
        return q
    }

    public func publish(_ batch: [Span]) {
        guard !batch.isEmpty else { return }
        let subs = lock.withLock { subscribers }
        for s in subs { s.stored(batch) }
    }
}

/// A subscriber that queues batches for a consumer thread without ever blocking ingest: it holds
/// at most `capacity` spans not yet taken, and a batch that does not fit is dropped and counted.
public final class SpanQueue: SpanSubscriber, @unchecked Sendable {
    private let queue: BatchQueue<[Span]>
    private weak var fanout: SpanFanout?

    init(capacity: Int, fanout: SpanFanout) {
        queue = BatchQueue(capacity: capacity)
        self.fanout = fanout
    }

    public var droppedSpans: Int { queue.droppedCount }

    public func stored(_ batch: [Span]) { queue.offer(batch) }

    /// The next batch, waiting at most `timeoutNanos`; nil on timeout or after `cancel`.
    public func next(timeoutNanos: Int64) -> [Span]? { queue.next(timeoutNanos: timeoutNanos) }

    /// Stops the queue and takes it off the fan-out.
    public func cancel() {
        queue.close()
        fanout?.remove(self)
    }
}
