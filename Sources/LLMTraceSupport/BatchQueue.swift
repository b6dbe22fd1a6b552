/// Batches handed from threads that must never wait to one consumer thread: at most `capacity`
/// elements queued (a batch counts as the elements it holds, `count`); a batch that does not fit is
/// dropped and counted, never waited for. What the ingest fan-out's subscribers (the span queue, the
/// detectors' digests) are built on.
public final class BatchQueue<Batch>: @unchecked Sendable {
    private let cond = Condition()
    private var batches: [(batch: Batch, count: Int)] = []
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

    /// Queues `batch` of `count` elements, or drops and counts it when it does not fit; false when
    /// not queued.
    @discardableResult
    public func offer(_ batch: Batch, count: Int) -> Bool {
        cond.withLock {
            if closed { return false }
            if queued + count > capacity {
                dropped += count
                return false
            }
            batches.append((batch, count))
            queued += count
            cond.broadcast()
            return true
        }
    }

    /// The next batch, waiting at most `timeoutNanos`; nil on timeout or once closed and empty.
    public func next(timeoutNanos: Int64) -> Batch? {
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
            return b.batch
        }
    }

    /// Refuses further batches and wakes the consumer.
    public func close() { cond.withLock { closed = true; cond.broadcast() } }
}

extension BatchQueue {
    /// Queues an array batch, counted as its elements.
    @discardableResult
    public func offer<Element>(_ batch: Batch) -> Bool where Batch == [Element] { offer(batch, count: batch.count) }
}
