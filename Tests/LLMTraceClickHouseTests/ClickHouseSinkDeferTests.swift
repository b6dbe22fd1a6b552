import Testing
import Foundation
import LLMTraceClickHouse
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceStore
import LLMTraceSupport
import LLMTraceSynthetic

/// Ingest first: a sink told that ingest is saturated waits, within its lag allowance, and
/// catches up after. The peer here only counts the rows of each INSERT it is sent (the sink's
/// inserts into a real ClickHouse are checked by Tests/integration/clickhouse_test.py).
@Suite(.serialized) struct ClickHouseSinkDeferTests {
    final class Flag: @unchecked Sendable {
        private let c = Condition()
        private var value: Bool
        init(_ v: Bool) { value = v }
        var get: Bool { c.withLock { value } }
        func set(_ v: Bool) { c.withLock { value = v } }
    }

    /// Counts the JSONEachRow rows each INSERT carries.
    final class RowCounter: @unchecked Sendable {
        private let c = Condition()
        private var n = 0
        var rows: Int { c.withLock { n } }
        func add(_ k: Int) { c.withLock { n += k } }
        func wait(for k: Int, seconds: Double) -> Bool {
            let end = monotonicNanos() + Int64(seconds * 1e9)
            while monotonicNanos() < end {
                if rows >= k { return true }
                usleep(10_000)
            }
            return rows >= k
        }
    }

    struct Rig {
        let dir: String
        let store: Store
        let server: HTTPServer
        let counter: RowCounter
        /// Spans stored (the workload's batches end on whole traces).
        let spans: Int
        func cleanup() {
            server.shutdown()
            try? store.close(seal: false)
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    func rig(spans: Int) throws -> Rig {
        let dir = NSTemporaryDirectory() + "llmtrace-sink-defer-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var o = StoreOptions(directory: dir)
        o.backgroundSealing = false
        o.log = { _, _ in }
        o.outbox = OutboxOptions(name: "test", budgetBytes: 1 << 30)
        let store = try Store.open(o)
        var gen = SyntheticWorkload(seed: 5)
        let batch = gen.nextBatch(count: spans)
        try store.append(batch)
        let counter = RowCounter()
        var c = HTTPServer.Configuration()
        c.port = 0
        c.eventLoops = 1
        c.workers = 1
        let server = HTTPServer(configuration: c, handler: { req in
            if req.target.contains("INSERT") { counter.add(req.body.split(separator: 0x0A).count) }
            return HTTPResponse(status: 200)
        }, errorLog: { _ in })
        try server.start()
        return Rig(dir: dir, store: store, server: server, counter: counter, spans: batch.count)
    }

    func sink(_ r: Rig, busy: Flag, maxDefer: Int64) throws -> ClickHouseSink {
        var s = ClickHouseSink.Settings()
        s.idleNanos = 10_000_000
        s.deferStepNanos = 5_000_000
        s.maxDeferNanos = maxDefer
        let endpoint = try ClickHouseEndpoint(parsing: "http://127.0.0.1:\(r.server.boundPort)")
        return ClickHouseSink(store: r.store, endpoint: endpoint, settings: s, ingestBusy: { busy.get }, log: { _ in })
    }

    @Test func whileIngestIsSaturatedForwardingWaitsThenCatchesUp() throws {
        let r = try rig(spans: 300)
        defer { r.cleanup() }
        let busy = Flag(true)
        let s = try sink(r, busy: busy, maxDefer: 60_000_000_000)
        s.start()
        defer { s.stop() }
        usleep(400_000)
        #expect(r.counter.rows == 0)
        #expect(s.currentStats.sentSpans == 0)
        #expect(s.currentStats.lagSpans == r.spans)
        #expect(s.currentStats.deferredSeconds > 0.3)
        busy.set(false)
        #expect(r.counter.wait(for: r.spans, seconds: 10))
        #expect(r.counter.rows == r.spans)
        #expect(s.currentStats.deferLimits == 0)
    }

    @Test func pastItsAllowanceTheSinkForwardsWhileIngestStaysSaturated() throws {
        let r = try rig(spans: 300)
        defer { r.cleanup() }
        let t0 = monotonicNanos()
        let s = try sink(r, busy: Flag(true), maxDefer: 300_000_000)
        s.start()
        defer { s.stop() }
        #expect(r.counter.wait(for: r.spans, seconds: 10))
        // Not before the oldest span was 300 ms old (it was acknowledged just before t0).
        #expect(monotonicNanos() - t0 > 250_000_000)
        #expect(s.currentStats.deferLimits >= 1)
        #expect(s.currentStats.deferredSeconds > 0.2)
    }

    @Test func aZeroAllowanceNeverWaits() throws {
        let r = try rig(spans: 300)
        defer { r.cleanup() }
        let s = try sink(r, busy: Flag(true), maxDefer: 0)
        s.start()
        defer { s.stop() }
        #expect(r.counter.wait(for: r.spans, seconds: 10))
        #expect(s.currentStats.deferredSeconds == 0)
    }
}
