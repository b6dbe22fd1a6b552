/// Batches handed from threads that must never wait to one consumer thread: at most `capacity`
/// elements queued; a batch that does not fit is dropped and counted, never waited for. What the
/// ingest fan-out's subscribers (the span queue, the detectors' digests) are built on.
public final class BatchQueue<Element>: @unchecked Sendable {
    private let cond = Condition()
    private var batches: [[Element]] = []
    private var queued = 0
    private var closed = false
    private var dropped = 0
    public let capacity: Int

    public init(capacity: Int) { self.capacity = capacity }

    /// Elements dropped because their batch did not fit.
    public var droppedCount: Int { cond.withLock { dropped } }

    /// Whether a batch of `count` would fit now (a hint: another producer may fill it first).
    public func hasRoom(for count: Int) -> Bool { cond.withLock { !closed && queued + count <= capacity } }

    /// Counts a batch of `count` elements as dropped without offering it (a producer that saw
    /// there was no room before building it).
    public func countDropped(_ count: Int) { cond.withLock { if !closed { dropped += count } } }

    /// Queues `batch`, or drops and counts it when it does not fit; false when not queued.
    @discardableResult
    public func offer(_ batch: [Element]) -> Bool {
        cond.withLock {
            if closed { return false }
            if queued + batch.count > capacity {
                dropped += batch.count
                return false
            }
            batches.append(batch)
            queued += batch.count
            cond.broadcast()
            return true
        }
    }

    /// The next batch, waiting at most `timeoutNanos`; nil on timeout or once closed and empty.
    public func next(timeoutNanos: Int64) -> [Element]? {
        cond.withLock {
            let deadline = monotonicNanos() + timeoutNanos
            while batches.isEmpty && !closed {
                let left = deadline - monotonicNanos()
                if left <= 0 { return nil }
                cond.wait(nanos: left)
            }
            if batches.isEmpty { return nil }
            let b = batches.removeFirst()
            queued -= b.count
            return b
        }
    }

    /// Refuses further batches and wakes the consumer.
    public func close() { cond.withLock { closed = true; cond.broadcast() } }
}
