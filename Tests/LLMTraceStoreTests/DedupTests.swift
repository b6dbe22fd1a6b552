import Foundation
import Testing
import LLMTraceSynthetic
import LLMTraceModel
@testable import LLMTraceStore

/// A span is (project, trace id, span id); sent again within the dedup window it is stored once,
/// whether the copy arrives before a seal, after it, or after a restart; the first one wins.
@Suite struct DedupTests {
    static func batch(project: String = "default", tag: String = "first") -> [Span] {
        (1...6).map { i in
            var s = minimalSpan(trace: 7, span: UInt64(i), start: 1_000 + Int64(i))
            s.project = project
            s.statusMessage = tag
            s.inputTokens = 100
            return s
        }
    }

    func count(_ store: Store) throws -> (spans: Int, tokens: Int64, tags: Set<String>) {
        let all = try allSpans(store)
        return (all.count, all.reduce(0) { $0 + ($1.inputTokens ?? 0) }, Set(all.compactMap(\.statusMessage)))
    }

    @Test func theSameBatchBeforeASealAfterItAndAfterARestartIsStoredOnce() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var store = try Store.open(testOptions(dir.path))
        #expect(try store.append(Self.batch()).stored == 6)
        let again = try store.append(Self.batch(tag: "second"))
        #expect(again.stored == 0 && again.duplicates == Array(0..<6))
        try store.sealNow()
        #expect(try store.append(Self.batch(tag: "third")).stored == 0)
        try store.close()
        store = try Store.open(testOptions(dir.path))
        #expect(try store.append(Self.batch(tag: "fourth")).stored == 0)
        let c = try count(store)
        #expect(c.spans == 6 && c.tokens == 600)
        #expect(c.tags == ["first"], "the first one wins")
        // After a crash (no close, the batch only in the WAL) too.
        #expect(try store.append([minimalSpan(trace: 8, span: 1)]).stored == 1)
        store = try Store.open(testOptions(dir.path + "-unused"))  // drops the old store without closing
        try? FileManager.default.removeItem(atPath: dir.path + "-unused")
        let reopened = try Store.open(testOptions(dir.path))
        defer { try? reopened.close() }
        #expect(try reopened.append([minimalSpan(trace: 8, span: 1)] + Self.batch()).stored == 0)
        #expect(try count(reopened).spans == 7)
    }

    @Test func theSameIDsInAnotherProjectOrTraceAreOtherSpans() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        #expect(try store.append(Self.batch()).stored == 6)
        #expect(try store.append(Self.batch(project: "other")).stored == 6)
        let otherTrace = Self.batch().map { s -> Span in var s = s; s.traceID = TraceID(hi: 0, lo: 9); return s }
        #expect(try store.append(otherTrace).stored == 6)
        // Within one batch, the second copy is the duplicate.
        let twice = [minimalSpan(trace: 10, span: 1), minimalSpan(trace: 10, span: 1)]
        #expect(try store.append(twice).duplicates == [1])
    }

    /// Two exporters retrying the same batch at the same moment: one copy is stored.
    @Test func concurrentCopiesAreStoredOnce() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        let batches = (0..<50).map { b in (1...20).map { i in minimalSpan(trace: UInt64(b + 100), span: UInt64(i)) } }
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for b in batches { _ = try? store.append(b) }
        }
        #expect(try allSpans(store).count == 50 * 20)
    }

    /// A batch whose WAL write failed was not stored, so its retry must be.
    @Test func aFailedWriteDoesNotMakeTheRetryADuplicate() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        let token = FileFaults.install { op, path in op == .write && path.hasPrefix(dir.path) ? ENOSPC : nil }
        #expect(throws: StoreError.self) { try store.append(Self.batch()) }
        FileFaults.remove(token)
        #expect(try store.append(Self.batch()).stored == 6)
    }

    /// Past the window a span is new again; the window's generations expire whole.
    @Test func keysExpireAfterTheWindowAndTheCapShortensIt() {
        var keys = RecentSpanKeys(windowNanos: 4_000, maxKeys: 1_000_000)
        keys.insert(42, at: 10_000)
        #expect(keys.contains(42))
        keys.expire(now: 10_000 + 4_000)
        #expect(keys.contains(42), "kept for at least the window")
        keys.expire(now: 10_000 + 6_000)
        #expect(!keys.contains(42), "dropped within a window and a quarter")
        var capped = RecentSpanKeys(windowNanos: 4_000, maxKeys: 1024)
        for k in 1...1024 { capped.insert(UInt64(k), at: 0) }
        for k in 2000..<3000 { capped.insert(UInt64(k), at: 2_000) }
        #expect(!capped.contains(1) && capped.contains(2999))
        #expect(capped.shortenedTo != nil)
    }

    /// The open-addressing set against Swift's Set, with removals (backward shift) in between.
    @Test func keySetAgreesWithSet() {
        var ks = KeySet()
        var ref = Set<UInt64>()
        var rng = SystemRandomNumberGenerator()
        for step in 0..<200_000 {
            // Small keys collide in the low bits: long probe runs, the hard case for removal.
            let k = UInt64.random(in: 1...5000, using: &rng) << (step % 2 == 0 ? 0 : 20)
            if Bool.random(using: &rng) { ks.insert(k); ref.insert(k) } else { ks.remove(k); ref.remove(k) }
            if step % 997 == 0 {
                #expect(ks.count == ref.count)
                for q in ref.prefix(50) { #expect(ks.contains(q)) }
            }
        }
        for q in 1...5000 { #expect(ks.contains(UInt64(q)) == ref.contains(UInt64(q))) }
    }

    /// Past the first table's capacity the set grows by adding tables, never rehashing: keys in
    /// old tables are still found, re-inserts refused, removals work in any table.
    @Test func keySetSpansSeveralTables() {
        var ks = KeySet()
        var rng = SplitMix64(seed: 9)
        var keys: [UInt64] = []
        for _ in 0..<400_000 {
            let k = rng.next() | 1
            keys.append(k)
            let fresh = ks.insertIfNew(k)
            #expect(fresh || keys.dropLast().contains(k))
        }
        #expect(ks.count == Set(keys).count)
        for k in keys.prefix(1000) {
            let again = ks.insertIfNew(k)
            #expect(!again, "a key of the first table is a re-send")
        }
        for k in keys.suffix(1000) { #expect(ks.contains(k)) }
        for k in keys.prefix(500) { ks.remove(k) }
        #expect(ks.count == Set(keys).count - 500)
        for k in keys.prefix(500) {
            #expect(!ks.contains(k))
            let back = ks.insertIfNew(k)
            #expect(back)
        }
        #expect(!ks.contains(2))
    }

    /// Packed keys give back exactly what went in, whatever the spread: clustered values (one
    /// bucket), values at the edges of the 56 bits, and random ones across bucket sizes.
    @Test func packedKeysRoundTripAndAnswerLookups() {
        var rng = SplitMix64(seed: 4)
        let sets: [[UInt64]] = [
            [0, 1, 2, 3, PackedKeys.valueMask - 1, PackedKeys.valueMask],
            (0..<5000).map { UInt64($0) * 3 },  // all in bucket 0
            (0..<100_000).map { _ in rng.next() & PackedKeys.valueMask },
            [1 << 55],
        ]
        for values in sets {
            let held = Set(values)
            let sorted = held.sorted()
            let p = PackedKeys(sorted: sorted)
            #expect(p.count == sorted.count)
            #expect(p.values() == sorted)
            for v in sorted.prefix(2000) { #expect(p.contains(v)) }
            for v in sorted.prefix(2000) where !held.contains(v + 1) && v + 1 <= PackedKeys.valueMask {
                #expect(!p.contains(v + 1))
            }
        }
        var p = PackedKeys(sorted: [5, 9, 1 << 50])
        p.merge(sorted: [6, 1 << 51])
        #expect(p.values() == [5, 6, 9, 1 << 50, 1 << 51])
        let removed = p.remove(9), removedAgain = p.remove(9)
        #expect(removed && !removedAgain && !p.contains(9) && p.count == 4)
        #expect(!PackedKeys().contains(0))
    }

    /// Merges that keep the bucket count copy the old keys between the new ones' places; merges
    /// that change it pack again. Both against a sorted reference, with new keys before, between
    /// and after the old ones, several in one bucket, and in buckets left empty before.
    @Test func packedKeysMergeAgreesWithSortedValues() {
        var rng = SplitMix64(seed: 77)
        for round in 0..<40 {
            var held = Set<UInt64>()
            let start = [0, 1, 300, 5000, 40_000][round % 5]
            while held.count < start { held.insert(rng.next() & PackedKeys.valueMask) }
            var heldList = Array(held)
            var p = PackedKeys(sorted: held.sorted())
            for _ in 0..<6 {
                var new = Set<UInt64>()
                let n = [1, 7, 100, 2500][Int(rng.next() % 4)]
                while new.count < n {
                    var v = rng.next() & PackedKeys.valueMask
                    // Some next to a held key: the same bucket, just below or above it.
                    if rng.next() % 3 == 0, !heldList.isEmpty {
                        let h = heldList[Int(rng.next() % UInt64(heldList.count))]
                        v = rng.next() % 2 == 0 ? h &+ 1 : h &- 1
                    }
                    if v <= PackedKeys.valueMask && !held.contains(v) { new.insert(v) }
                }
                if rng.next() % 5 == 0 { new.insert(0); new.insert(PackedKeys.valueMask); new.subtract(held) }
                p.merge(sorted: new.sorted())
                held.formUnion(new)
                heldList.append(contentsOf: new)
                #expect(p.count == held.count)
                #expect(p.values() == held.sorted(), "round \(round): \(held.count) keys after adding \(new.count)")
                for v in new.prefix(200) { #expect(p.contains(v)) }
                for v in new.prefix(200) where !held.contains(v ^ 1 << 20) { #expect(!p.contains(v ^ 1 << 20)) }
            }
        }
    }

    /// A million keys through the set: every one found, none twice, others not found, and
    /// fewer than 7.5 bytes held a key (the tables-only set held 10-12.5).
    @Test func keySetPacksItsKeys() {
        var ks = KeySet()
        var rng = SplitMix64(seed: 21)
        var keys: [UInt64] = []
        keys.reserveCapacity(1_000_000)
        var refused = 0
        for _ in 0..<1_000_000 {
            let k = rng.next() | 1
            keys.append(k)
            if !ks.insertIfNew(k) { refused += 1 }
        }
        #expect(refused == 0)
        #expect(ks.count == keys.count)
        var missing = 0, again = 0
        for k in keys where !ks.contains(k) { missing += 1 }
        for k in keys.suffix(20_000) where ks.insertIfNew(k) { again += 1 }
        #expect(missing == 0 && again == 0)
        var strangers = 0
        for _ in 0..<100_000 where ks.contains(rng.next() & ~1) { strangers += 1 }
        #expect(strangers == 0)
        let perKey = Double(ks.bytes) / Double(ks.count)
        #expect(perKey < 7.5, "\(perKey) bytes a key")
        ks.packAll()
        #expect(Double(ks.bytes) / Double(ks.count) < 7.0)
        for k in keys.prefix(1000) { ks.remove(k) }
        #expect(ks.count == keys.count - 1000)
        for k in keys.prefix(1000) { #expect(!ks.contains(k)) }
        for k in keys.dropFirst(1000).prefix(1000) { #expect(ks.contains(k)) }
    }
}
