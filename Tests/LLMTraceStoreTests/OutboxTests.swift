import Testing
import Foundation
import LLMTraceModel
import LLMTraceSynthetic
@testable import LLMTraceStore

/// The outbox a forwarding consumer (the ClickHouse sink) reads: every acknowledged span handed
/// over, none skipped across seals, restarts and crashes; re-sent only where documented; retention
/// holding back what is unconfirmed.
@Suite struct OutboxTests {
    struct Key: Hashable { var trace: TraceID; var span: SpanID }
    static func key(_ s: Span) -> Key { Key(trace: s.traceID, span: s.spanID) }

    func outboxOptions(_ dir: String, budget: Int = 1 << 40) -> StoreOptions {
        var o = testOptions(dir)
        o.outbox = OutboxOptions(name: "test", budgetBytes: budget)
        return o
    }

    /// Reads and confirms until caught up, `limit` spans at a time; returns what was handed over.
    @discardableResult
    func drain(_ store: Store, limit: Int = 1000, into delivered: inout [Key]) throws -> Int {
        var n = 0
        while true {
            let pos = try #require(store.outboxConfirmed).position
            let b = try store.outboxRead(from: pos, limit: limit)
            delivered += b.spans.map(Self.key)
            n += b.spans.count
            try store.outboxConfirm(b.next, spans: b.spans.count)
            if b.spans.isEmpty { return n }
        }
    }

    func stored(_ store: Store) throws -> Set<Key> { Set(try allSpans(store).map(Self.key)) }

    @Test func aConsumerThatKeepsUpGetsEachSpanOnceInArrivalOrder() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(outboxOptions(dir.path))
        var gen = SyntheticWorkload(seed: 11)
        var sent: [Key] = []
        var delivered: [Key] = []
        for round in 0..<6 {
            let batch = gen.nextBatch(count: 37)
            try store.append(batch)
            sent += batch.map(Self.key)
            try drain(store, limit: 10, into: &delivered)
            if round % 2 == 1 { try store.sealNow() }  // sealed after the consumer read the whole head
        }
        #expect(delivered == sent)
        let lag = try #require(store.outboxLag())
        #expect(lag.spans == 0)
        #expect(lag.sentTotal == UInt64(sent.count))
        try store.close()
    }

    @Test func theLagSaysHowLongTheOldestUnsentSpanHasWaited() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(outboxOptions(dir.path))
        var gen = SyntheticWorkload(seed: 16)
        #expect(try #require(store.outboxLag()).oldestNanos == nil)
        let before = wallNanos()
        let batch1 = gen.nextBatch(count: 5)
        try store.append(batch1)
        usleep(30_000)
        try store.append(gen.nextBatch(count: 5))
        let lag1 = try #require(store.outboxLag())
        let first = try #require(lag1.oldestNanos)
        #expect(first >= before && first < before + 30_000_000, "the first batch's acknowledgement")
        var d: [Key] = []
        let b = try store.outboxRead(from: try #require(store.outboxConfirmed).position, limit: batch1.count)
        try store.outboxConfirm(b.next, spans: b.spans.count)
        d += b.spans.map(Self.key)
        let lag2 = try #require(store.outboxLag())
        let second = try #require(lag2.oldestNanos)
        #expect(second >= first + 30_000_000, "after the first batch is confirmed: the second's")
        try store.sealNow()
        #expect(try #require(store.outboxLag()).oldestNanos == first, "a sealed head keeps its first acknowledgement")
        try drain(store, into: &d)
        #expect(try #require(store.outboxLag()).oldestNanos == nil)
        try store.close()
    }

    @Test func aHeadSealedBeforeTheConsumerFinishedGoesOnWhereItWasNothingSkippedOrResent() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(outboxOptions(dir.path))
        var gen = SyntheticWorkload(seed: 12)
        let batch = gen.nextBatch(count: 30)
        try store.append(batch)
        let first = try store.outboxRead(from: try #require(store.outboxConfirmed).position, limit: 10)
        #expect(first.spans.map(Self.key) == Array(batch.prefix(10)).map(Self.key))
        #expect(!first.caughtUp)
        try store.outboxConfirm(first.next, spans: 10)
        try store.sealNow()
        #expect(try #require(store.outboxLag()).spans == batch.count - 10)
        var rest: [Key] = []
        try drain(store, limit: 7, into: &rest)
        #expect(Set(rest) == Set(batch.dropFirst(10).map(Self.key)), "the rows not yet delivered, from the segment")
        #expect(rest.count == batch.count - 10)
        try store.close()
    }

    @Test func theCursorSurvivesAStopAndAFullyReadHeadIsNotSentAgain() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var gen = SyntheticWorkload(seed: 13)
        let a = gen.nextBatch(count: 25), b = gen.nextBatch(count: 25)
        do {
            let store = try Store.open(outboxOptions(dir.path))
            try store.append(a)
            var d: [Key] = []
            try drain(store, into: &d)
            try store.close(seal: true)  // the read head becomes a segment
        }
        let store = try Store.open(outboxOptions(dir.path))
        #expect(try #require(store.outboxLag()).spans == 0)
        #expect(try #require(store.outboxLag()).sentTotal == UInt64(a.count))
        try store.append(b)
        var d: [Key] = []
        try drain(store, into: &d)
        #expect(d == b.map(Self.key), "only the new spans")
        try store.close()
    }

    /// A copy of the directory taken while the store runs is what kill -9 leaves behind.
    func crashImage(of dir: String) throws -> TempDir {
        let img = TempDir("image")
        try FileManager.default.removeItem(atPath: img.path)
        try FileManager.default.copyItem(atPath: dir, toPath: img.path)
        return img
    }

    @Test func afterACrashMidHeadTheRecoveredSegmentIsSentAgainAndNothingIsSkipped() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(outboxOptions(dir.path))
        var gen = SyntheticWorkload(seed: 14)
        let sealed = gen.nextBatch(count: 40)
        try store.append(sealed)
        try store.sealNow()
        let head = gen.nextBatch(count: 40)
        try store.append(head)
        var before: [Key] = []
        // The consumer has the segment and 15 of the head's spans.
        while before.count < sealed.count + 15 {
            let pos = try #require(store.outboxConfirmed).position
            let b = try store.outboxRead(from: pos, limit: before.count < sealed.count ? sealed.count : 15)
            before += b.spans.map(Self.key)
            try store.outboxConfirm(b.next, spans: b.spans.count)
        }
        #expect(before.count == sealed.count + 15)
        let late = gen.nextBatch(count: 40)
        try store.append(late)
        let img = try crashImage(of: dir.path)
        defer { img.cleanup() }
        try store.close()

        let recovered = try Store.open(outboxOptions(img.path))
        let all = try stored(recovered)
        #expect(all.count == sealed.count + head.count + late.count)
        let pos = try #require(recovered.outboxConfirmed).position
        #expect(pos.segmentOrder && pos.row == 0, "a head-order cursor into a recovered segment starts it again: \(pos)")
        #expect(recovered.segmentReaders.map(\.id) == [1, pos.segment] && pos.segment >= 2, "the WAL's spans sealed at or above the cursor")
        var after: [Key] = []
        try drain(recovered, limit: 9, into: &after)
        #expect(Set(before).union(after) == all, "every stored span handed over")
        #expect(Set(after).isDisjoint(with: sealed.map(Self.key)), "the confirmed segment is not sent again")
        #expect(after.count == head.count + late.count)
        try recovered.close()
    }

    @Test func recoveredSpansNeverGetASegmentIdBelowTheCursor() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var gen = SyntheticWorkload(seed: 15)
        let store = try Store.open(testOptions(dir.path))
        try store.append(gen.nextBatch(count: 10))
        try store.sealNow()  // segment 1
        let unsealed = gen.nextBatch(count: 12)
        try store.append(unsealed)
        let img = try crashImage(of: dir.path)
        defer { img.cleanup() }
        try store.close()
        // A cursor further on than the directory's segments (the consumer had confirmed segments
        // that retention has since removed): the WAL's spans must be sealed above it.
        try FileIO.replaceFile(img.path + "/outbox-test.cursor", with: Array("llmtrace-outbox 1\nsegment 5\nrow 3\norder head\nsent 99\nscores 0\n".utf8))
        let recovered = try Store.open(outboxOptions(img.path))
        #expect(recovered.segmentReaders.map(\.id).max()! >= 5)
        var got: [Key] = []
        try drain(recovered, into: &got)
        #expect(Set(got) == Set(unsealed.map(Self.key)))
        try recovered.close()
    }

    @Test func anUnreadableCursorIsAnErrorNotASilentRestart() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        try FileIO.replaceFile(dir.path + "/outbox-test.cursor", with: Array("garbage".utf8))
        #expect(throws: StoreError.self) { _ = try Store.open(outboxOptions(dir.path)) }
    }

    @Test func retentionKeepsUnconfirmedSegmentsUpToTheBudget() throws {
        let hour: Int64 = 3_600_000_000_000
        let now: Int64 = 1_800_000_000_000_000_000
        func run(budget: Int) throws -> (dropped: [UInt64], lag: OutboxLag, logs: [String]) {
            let dir = TempDir()
            defer { dir.cleanup() }
            let logs = LogBox()
            var opts = outboxOptions(dir.path, budget: budget)
            opts.retentionNanos = 24 * hour
            opts.log = { _, l in logs.add(l) }
            let store = try Store.open(opts)
            for (i, age) in [72, 48, 30, 1].enumerated() {
                var s = fullSpan(UInt64(i + 1))
                s.startNanos = now - Int64(age) * hour
                s.endNanos = s.startNanos + 1000
                try store.append([s])
                try store.sealNow()
            }
            // The consumer has confirmed the first segment only.
            let b = try store.outboxRead(from: try #require(store.outboxConfirmed).position, limit: 1)
            try store.outboxConfirm(b.next, spans: 1)
            let dropped = try store.applyRetention(now: now)
            let lag = try #require(store.outboxLag())
            try store.close()
            return (dropped, lag, logs.lines)
        }
        let roomy = try run(budget: 1 << 30)
        #expect(roomy.dropped == [1], "only the confirmed expired segment goes")
        #expect(roomy.lag.spans == 3)
        #expect(roomy.lag.heldBytes > 0)
        #expect(roomy.lag.lostSpans == 0)

        let tight = try run(budget: 1)
        #expect(tight.dropped == [1, 2, 3], "past the budget the expired ones go anyway")
        #expect(tight.lag.lostSpans == 2)
        #expect(tight.logs.contains { $0.contains("before the test outbox confirmed it") })
    }

    @Test func scoresAreReadAfterTheConfirmedRow() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(outboxOptions(dir.path))
        let t = TraceID(hi: 1, lo: 2)
        let rows = try store.index.addScores((0..<5).map { Score(traceID: t, name: "s\($0)", value: .number(Double($0)), timeNanos: Int64($0)) })
        let first = try store.outboxScores(after: 0, limit: 3)
        #expect(first.map(\.score.name) == ["s0", "s1", "s2"])
        try store.outboxConfirm(try #require(store.outboxConfirmed).position, spans: 0, scoreRow: first.last!.row)
        try store.close()
        let again = try Store.open(outboxOptions(dir.path))
        let row = try #require(again.outboxConfirmed).scoreRow
        #expect(row == rows[2])
        #expect(try again.outboxScores(after: row, limit: 10).map(\.score.name) == ["s3", "s4"])
        try again.close()
    }
}
