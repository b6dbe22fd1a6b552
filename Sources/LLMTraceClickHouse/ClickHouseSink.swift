import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel
import LLMTraceStore
import LLMTraceSupport
import CLinux

/// Forwards every acknowledged span (and score) of a store to ClickHouse, from the store's outbox
/// (`Store+Outbox`): read a batch after the confirmed position, insert it, confirm, repeat. Ingest
/// never waits for it: while ClickHouse is down the sink retries with backoff and jitter, the
/// outbox grows in the WAL and segments (retention keeps them, up to a budget), and the sink
/// catches up when ClickHouse answers again. An insert whose answer was lost is sent again, and a
/// restart resends from the confirmed position; the tables collapse those copies.
///
/// With a cluster, inserts go to the Distributed table with `insert_distributed_sync=1`: an insert
/// is confirmed once every shard it touched has written its rows, so a shard that is down holds
/// the outbox back instead of leaving rows queued on another node's disk.
public final class ClickHouseSink: @unchecked Sendable {
    public struct Settings: Sendable {
        /// Most spans per insert (fewer when fewer are waiting).
        public var batchSpans = 20_000
        /// An insert's rows end at the first span past this many bytes (16 MiB: about 5,000
        /// spans with prompts and documents; the sink keeps three such buffers).
        public var batchBytes = 16 << 20
        public var batchScores = 5_000
        /// How long the sink waits when it has sent everything.
        public var idleNanos: Int64 = 100_000_000
        public var firstBackoffNanos: Int64 = 250_000_000
        public var maxBackoffNanos: Int64 = 30_000_000_000
        /// Ingest first: while `ingestBusy` says accepting spans needs every core, forwarding
        /// waits, until the oldest span ClickHouse lacks is this old (then the sink forwards at
        /// its share again, holding the lag about here) or the outbox holds `maxDeferBytes`.
        /// 0: never wait. On a machine ClickHouse shares, each span forwarded during a burst
        /// costs it more CPU than the collector spent accepting it (README "Scaling out").
        public var maxDeferNanos: Int64 = 60_000_000_000
        public var maxDeferBytes = Int.max
        /// How often a deferring sink looks again.
        public var deferStepNanos: Int64 = 25_000_000
        public init() {}
    }

    public struct Stats: Sendable {
        public var sentSpans: UInt64 = 0
        public var sentScores: UInt64 = 0
        public var inserts: UInt64 = 0
        public var failedInserts: UInt64 = 0
        /// Spans acknowledged and not yet confirmed by ClickHouse.
        public var lagSpans = 0
        /// How long ago the oldest span ClickHouse lacks was acknowledged (0 when nothing waits).
        public var lagSeconds = 0.0
        public var heldBytes = 0
        public var lostSpans = 0
        public var insertSeconds = 0.0
        public var insertedBytes: UInt64 = 0
        /// Time forwarding waited for ingest (`maxDeferNanos`).
        public var deferredSeconds = 0.0
        /// Times a wait ended at `maxDeferNanos` or `maxDeferBytes` with ingest still saturated.
        public var deferLimits: UInt64 = 0
    }

    public let client: ClickHouseClient
    let store: Store
    let settings: Settings
    let clock: @Sendable () -> Int64
    let log: @Sendable (String) -> Void
    let ingestBusy: (@Sendable () -> Bool)?
    private let lock = Condition()
    private var stopping = false
    private var finished = false
    private var stats = Stats()
    private var thread: Thread?

    public init(store: Store, endpoint: ClickHouseEndpoint, settings: Settings = Settings(),
                clock: @escaping @Sendable () -> Int64 = { monotonicNanos() }, ingestBusy: (@Sendable () -> Bool)? = nil,
                log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.ingestBusy = ingestBusy
        self.client = ClickHouseClient(endpoint)
        self.settings = settings
        self.clock = clock
        self.log = log
    }

    public func start() {
        let t = Thread { [self] in
            clinux_set_thread_name("llmtrace-clickhouse")
            run()
            lock.withLock { finished = true; lock.broadcast() }
        }
        t.name = "llmtrace-clickhouse"
        thread = t
        t.start()
    }

    /// Stops after the insert in flight (whose confirmation is kept, or which is sent again on
    /// the next start).
    public func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
            while thread != nil && !finished { lock.wait() }
        }
    }

    public var currentStats: Stats {
        var s = lock.withLock { stats }
        if let lag = store.outboxLag() {
            s.lagSpans = lag.spans
            s.heldBytes = lag.heldBytes
            s.lostSpans = lag.lostSpans
            s.lagSeconds = lag.spans == 0 ? 0 : lag.oldestNanos.map { Double(max(0, wallNanos() - $0)) / 1e9 } ?? 0
        }
        return s
    }

    /// Sleeps up to `nanos`, or until `stop`. Returns false when stopping.
    private func pause(_ nanos: Int64) -> Bool {
        lock.withLock {
            if !stopping { lock.wait(nanos: nanos) }
            return !stopping
        }
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    /// A batch read and encoded, waiting for its insert.
    struct Pending {
        var spans: [UInt8]
        var scores: [UInt8]
        var spanCount: Int
        var scoreCount: Int
        /// Where the outbox continues after this batch, and the last score row in it.
        var next: OutboxPosition
        var scoreRow: Int64?
        var caughtUp: Bool
        var encodeNanos: Int64
    }

    /// Reads and encodes the batch after `position` (nil when nothing waits).
    /// `buffer`: a delivered batch's storage to write into.
    func encode(after position: OutboxPosition, scoreRow: Int64, buffer: consuming [UInt8] = []) throws -> (Pending?, OutboxPosition) {
        let readAt = clock()
        // Read a few thousand spans at a time (the store hands the head over in chunks) and encode
        // each chunk at once: the batch ends at `batchSpans` spans or `batchBytes` of rows.
        var spans = JSONWriter(reusing: consume buffer, capacity: settings.batchBytes + settings.batchBytes / 4)
        var count = 0
        var next = position
        var caughtUp = false
        while count < settings.batchSpans && spans.bytes.count < settings.batchBytes {
            let chunk = try store.outboxRead(from: next, limit: min(settings.batchSpans - count, 4_096))
            next = chunk.next
            caughtUp = chunk.caughtUp
            ClickHouseRows.spans(chunk.spans, into: &spans)
            count += chunk.spans.count
            if chunk.caughtUp || chunk.spans.isEmpty { break }
        }
        let scores = try store.outboxScores(after: scoreRow, limit: settings.batchScores)
        guard count > 0 || !scores.isEmpty else { return (nil, next) }
        var rows = JSONWriter(capacity: scores.count * 200)
        ClickHouseRows.scores(scores.map(\.score), into: &rows)
        let p = Pending(spans: spans.bytes, scores: rows.bytes, spanCount: count, scoreCount: scores.count, next: next,
                        scoreRow: scores.last?.row, caughtUp: caughtUp && scores.count < settings.batchScores,
                        encodeNanos: clock() - readAt)
        return (p, next)
    }

    /// Inserts a batch and confirms it in the outbox.
    func deliver(_ p: Pending) throws {
        let t0 = clock()
        if p.spanCount > 0 { try insert(client.endpoint.spansTable, p.spans) }
        if p.scoreCount > 0 { try insert(client.endpoint.scoresTable, p.scores) }
        try store.outboxConfirm(p.next, spans: p.spanCount, scoreRow: p.scoreRow)
        lock.withLock {
            stats.sentSpans &+= UInt64(p.spanCount)
            stats.sentScores &+= UInt64(p.scoreCount)
            stats.inserts &+= 1
            stats.insertedBytes &+= UInt64(p.spans.count + p.scores.count)
            stats.insertSeconds += Double(clock() - t0 + p.encodeNanos) / 1e9
        }
    }

    private func insert(_ table: String, _ rows: [UInt8]) throws {
        var settings: [(String, String)] = []
        if client.endpoint.cluster != nil { settings.append(("insert_distributed_sync", "1")) }
        try client.execute("INSERT INTO \(table) FORMAT JSONEachRow", data: rows, settings: settings)
    }

    /// Two threads: this one inserts and confirms batches in order; a reader reads and encodes the
    /// next batch meanwhile (one waits at most), so encoding and ClickHouse's work overlap.
    private func run() {
        let queue = PendingQueue()
        let reader = Thread { [self] in
            clinux_set_thread_name("llmtrace-ch-read")
            readLoop(queue)
        }
        reader.name = "llmtrace-ch-read"
        reader.start()
        var backoff = settings.firstBackoffNanos
        var failing: String?
        while let p = queue.take(stopping: { self.isStopping }) {
            while true {
                do {
                    try deliver(p)
                    if let f = failing {
                        log("ClickHouse inserts succeed again (after: \(f))")
                        failing = nil
                    }
                    backoff = settings.firstBackoffNanos
                    break
                } catch {
                    let text = "\(error)"
                    lock.withLock { stats.failedInserts &+= 1 }
                    if failing != text {
                        log("ClickHouse insert failed, retrying with backoff (ingest goes on; spans wait in the outbox): \(text)")
                        failing = text
                    }
                    // Full jitter: concurrent collectors do not retry in step after an outage.
                    let wait = Int64(Double.random(in: 0.5...1.0) * Double(backoff))
                    backoff = min(settings.maxBackoffNanos, backoff * 2)
                    if !pause(wait) { break }
                }
            }
            queue.done(recycling: p.spans)
        }
        queue.close()
        lock.withLock { while !readerDone { lock.wait() } }
    }

    private var readerDone = false

    /// Waits while ingest is saturated and the outbox is within `maxDeferNanos` and
    /// `maxDeferBytes`. False when stopping.
    private func yieldToIngest() -> Bool {
        guard let busy = ingestBusy, settings.maxDeferNanos > 0 else { return true }
        while busy() {
            guard let lag = store.outboxLag(), lag.spans > 0 else { return true }
            let age = lag.oldestNanos.map { wallNanos() - $0 } ?? 0
            if age >= settings.maxDeferNanos || lag.heldBytes >= settings.maxDeferBytes {
                lock.withLock { stats.deferLimits &+= 1 }
                return true
            }
            let t0 = clock()
            let going = pause(settings.deferStepNanos)
            lock.withLock { stats.deferredSeconds += Double(clock() - t0) / 1e9 }
            if !going { return false }
        }
        return true
    }

    private func readLoop(_ queue: PendingQueue) {
        defer { lock.withLock { readerDone = true; lock.broadcast() } }
        guard let start = store.outboxConfirmed else { return }
        var position = start.position
        var scoreRow = start.scoreRow
        while !isStopping {
            guard yieldToIngest() else { return }
            do {
                let (p, next) = try encode(after: position, scoreRow: scoreRow, buffer: queue.spare())
                position = next
                guard let p else {
                    // Everything read; once the inserts before have landed, ClickHouse has it all.
                    if queue.idle(), store.outboxConfirmed?.position != next {
                        try store.outboxConfirm(next, spans: 0)
                    }
                    if !pause(settings.idleNanos) { return }
                    continue
                }
                scoreRow = p.scoreRow ?? scoreRow
                let more = !p.caughtUp
                guard queue.put(p, stopping: { self.isStopping }) else { return }
                if !more && !pause(settings.idleNanos) { return }
            } catch {
                log("reading the outbox failed, retrying: \(error)")
                if !pause(1_000_000_000) { return }
            }
        }
    }

}

/// Batches between the sink's reader and its inserter: one waiting at most.
final class PendingQueue: @unchecked Sendable {
    private let c = Condition()
    private var item: ClickHouseSink.Pending?
    private var inFlight = false
    private var closed = false

    /// Waits for room; false when stopping.
    func put(_ p: ClickHouseSink.Pending, stopping: () -> Bool) -> Bool {
        c.withLock {
            while item != nil && !closed && !stopping() { c.wait(nanos: 100_000_000) }
            guard !closed && !stopping() else { return false }
            item = p
            c.broadcast()
            return true
        }
    }

    /// The next batch; nil when stopping.
    func take(stopping: () -> Bool) -> ClickHouseSink.Pending? {
        c.withLock {
            while item == nil && !stopping() { c.wait(nanos: 100_000_000) }
            guard !stopping(), let p = item else { return nil }
            item = nil
            inFlight = true
            c.broadcast()
            return p
        }
    }

    /// A delivered batch's rows buffer, kept for the next batch to write into (one at most).
    private var spareBuffer: [UInt8] = []

    func done(recycling buffer: consuming [UInt8]) {
        c.withLock {
            inFlight = false
            if buffer.capacity > spareBuffer.capacity { spareBuffer = buffer }
            c.broadcast()
        }
    }

    /// The kept buffer, if any (handed over: the caller owns it).
    func spare() -> [UInt8] { c.withLock { defer { spareBuffer = [] }; return spareBuffer } }

    func close() { c.withLock { closed = true; c.broadcast() } }
    /// Nothing queued and nothing being inserted.
    func idle() -> Bool { c.withLock { item == nil && !inFlight } }
}
