import LLMTraceModel
import LLMTraceStore

/// Hands every stored batch to in-process subscribers (metrics, live tail, detectors) without ever
/// blocking ingest: each subscriber has a bounded queue, and a batch that does not fit is dropped
/// for that subscriber and counted.
public final class SpanFanout: @unchecked Sendable {
    public final class Subscription: @unchecked Sendable {
        fileprivate let cond = Condition()
        fileprivate var queue: [[Span]] = []
        fileprivate var queuedSpans = 0
        fileprivate let capacity: Int
        fileprivate var closed = false
        public private(set) var droppedSpans = 0

        fileprivate init(capacity: Int) { self.capacity = capacity }

        fileprivate func offer(_ batch: [Span]) {
            cond.withLock {
                if closed { return }
                if queuedSpans + batch.count > capacity {
                    droppedSpans += batch.count
                    return
                }
                queue.append(batch)
                queuedSpans += batch.count
                cond.broadcast()
            }
        }

        /// The next batch, waiting at most `timeoutNanos`; nil on timeout or after `cancel`.
        public func next(timeoutNanos: Int64) -> [Span]? {
            cond.withLock {
                let deadline = monotonicNanos() + timeoutNanos
                while queue.isEmpty && !closed {
                    let left = deadline - monotonicNanos()
                    if left <= 0 { return nil }
                    cond.wait(nanos: left)
                }
                if queue.isEmpty { return nil }
                let b = queue.removeFirst()
                queuedSpans -= b.count
                return b
            }
        }

        public func cancel() { cond.withLock { closed = true; cond.broadcast() } }
        var isClosed: Bool { cond.withLock { closed } }
    }

    private let lock = Condition()
    private var subscribers: [Subscription] = []

    public init() {}

    /// A new subscription holding at most `capacity` spans not yet taken.
    public func subscribe(capacity: Int = 100_000) -> Subscription {
        let s = Subscription(capacity: capacity)
        lock.withLock { subscribers.append(s) }
        return s
    }

    public func publish(_ batch: [Span]) {
        guard !batch.isEmpty else { return }
        let subs = lock.withLock { () -> [Subscription] in
            subscribers.removeAll { $0.isClosed }
            return subscribers
        }
        for s in subs { s.offer(batch) }
    }
}
