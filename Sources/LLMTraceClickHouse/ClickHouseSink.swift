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
        public var batchScores = 5_000
        /// How long the sink waits when it has sent everything.
        public var idleNanos: Int64 = 100_000_000
        public var firstBackoffNanos: Int64 = 250_000_000
        public var maxBackoffNanos: Int64 = 30_000_000_000
        public init() {}
    }

    public struct Stats: Sendable {
        public var sentSpans: UInt64 = 0
        public var sentScores: UInt64 = 0
        public var inserts: UInt64 = 0
        public var failedInserts: UInt64 = 0
        public var lastError: String?
        /// Spans acknowledged and not yet confirmed by ClickHouse.
        public var lagSpans = 0
        /// How long ago the sink last had everything acknowledged before that moment confirmed (0
        /// when nothing waits): the age bound of the oldest span ClickHouse lacks.
        public var lagSeconds = 0.0
        public var heldBytes = 0
        public var lostSpans = 0
        public var insertSeconds = 0.0
        public var insertedBytes: UInt64 = 0
    }

    public let client: ClickHouseClient
    let store: Store
    let settings: Settings
    let clock: @Sendable () -> Int64
    let log: @Sendable (String) -> Void
    private let lock = Condition()
    private var stopping = false
    private var finished = false
    private var stats = Stats()
    /// When the sink last had confirmed everything acknowledged up to then (clock time).
    private var caughtUpAt: Int64
    private var thread: Thread?

    public init(store: Store, endpoint: ClickHouseEndpoint, settings: Settings = Settings(),
                clock: @escaping @Sendable () -> Int64 = { monotonicNanos() }, log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.client = ClickHouseClient(endpoint)
        self.settings = settings
        self.clock = clock
        self.log = log
        caughtUpAt = clock()
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
            s.lagSeconds = lag.spans == 0 ? 0 : Double(max(0, clock() - lock.withLock { caughtUpAt })) / 1e9
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

    /// One pass: a batch of spans and one of scores, inserted and confirmed. Returns whether
    /// anything was waiting (false: the sink has everything). Public for tests, which drive the
    /// sink without its thread.
    @discardableResult
    public func step() throws -> Bool {
        guard let confirmed = store.outboxConfirmed else { return false }
        let readAt = clock()
        let batch = try store.outboxRead(from: confirmed.position, limit: settings.batchSpans)
        let scores = try store.outboxScores(after: confirmed.scoreRow, limit: settings.batchScores)
        if batch.spans.isEmpty && scores.isEmpty {
            if batch.next != confirmed.position { try store.outboxConfirm(batch.next, spans: 0) }
            lock.withLock { caughtUpAt = readAt }
            return false
        }
        let t0 = clock()
        var bytes = 0
        if !batch.spans.isEmpty {
            var w = JSONWriter(capacity: batch.spans.count * 1024)
            ClickHouseRows.spans(batch.spans, into: &w)
            bytes += w.bytes.count
            try insert(client.endpoint.spansTable, w.bytes)
        }
        if !scores.isEmpty {
            var w = JSONWriter(capacity: scores.count * 200)
            ClickHouseRows.scores(scores.map(\.score), into: &w)
            bytes += w.bytes.count
            try insert(client.endpoint.scoresTable, w.bytes)
        }
        try store.outboxConfirm(batch.next, spans: batch.spans.count, scoreRow: scores.last?.row)
        let caughtUp = batch.caughtUp && scores.count < settings.batchScores
        lock.withLock {
            stats.sentSpans &+= UInt64(batch.spans.count)
            stats.sentScores &+= UInt64(scores.count)
            stats.inserts &+= 1
            stats.insertedBytes &+= UInt64(bytes)
            stats.insertSeconds += Double(clock() - t0) / 1e9
            if caughtUp { caughtUpAt = readAt }
        }
        return !caughtUp
    }

    private func insert(_ table: String, _ rows: [UInt8]) throws {
        var settings: [(String, String)] = []
        if client.endpoint.cluster != nil { settings.append(("insert_distributed_sync", "1")) }
        try client.execute("INSERT INTO \(table) FORMAT JSONEachRow", data: rows, settings: settings)
    }

    private func run() {
        var backoff = settings.firstBackoffNanos
        var failing: String?
        while !isStopping {
            do {
                let more = try step()
                if let f = failing {
                    log("ClickHouse inserts succeed again (after: \(f))")
                    failing = nil
                }
                backoff = settings.firstBackoffNanos
                if !more && !pause(settings.idleNanos) { break }
            } catch {
                let text = "\(error)"
                lock.withLock {
                    stats.failedInserts &+= 1
                    stats.lastError = text
                }
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
    }
}
