import Foundation
import Testing
import LLMTraceModel
@testable import LLMTraceStore

/// A disk that fills up or fails, simulated with `FileFaults` at every step of append, seal, index
/// and rotation. Whatever fails, every span `append` acknowledged must come back after a restart,
/// exactly once; what failed is refused with an error, and the store goes back to accepting once
/// the disk does. (A real full file system: Tests/integration/disk_full_test.py.)
@Suite struct DiskFullTests {
    /// Fails the operations of one test directory while armed: every matching call, or only the
    /// `nth` one counted from arming.
    final class Disk: @unchecked Sendable {
        let dir: String
        private let lock = NSLock()
        private var armed: Set<FileFaults.Operation> = []
        private var onlyNth: Int? = nil
        private var calls = 0
        private(set) var failures = 0
        var errno: Int32 = ENOSPC
        private var token = 0

        init(_ dir: String) {
            self.dir = dir
            token = FileFaults.install { [weak self] op, path in self?.decide(op, path) }
        }

        func remove() { FileFaults.remove(token) }

        private func decide(_ op: FileFaults.Operation, _ path: String) -> Int32? {
            guard path.hasPrefix(dir) else { return nil }
            lock.lock(); defer { lock.unlock() }
            guard armed.contains(op) else { return nil }
            calls += 1
            if let n = onlyNth, calls != n { return nil }
            failures += 1
            return errno
        }

        /// Fails `ops` from now on (or only their `nth` call).
        func fail(_ ops: Set<FileFaults.Operation>, nth: Int? = nil) {
            lock.lock(); armed = ops; onlyNth = nth; calls = 0; lock.unlock()
        }

        func heal() { lock.lock(); armed = []; lock.unlock() }
    }

    /// Batches of spans with distinct ids; batch b holds spans b*10+1 ... b*10+n, with text so
    /// records intern strings and seals write text blocks and index paragraphs.
    static func batch(_ b: Int, n: Int = 5) -> [Span] {
        (1...n).map { i in
            var s = minimalSpan(trace: UInt64(b + 1), span: UInt64(b * 10 + i), start: Int64(b * 1000 + i))
            s.inputMessages = [Message(role: "user", content: "question \(b) \(i)\n\nshared paragraph about refunds, batch \(b % 3)")]
            s.attributes = [Attribute("batch", .int(Int64(b)))]
            return s
        }
    }

    /// Appends, remembering what was acknowledged.
    final class Ledger {
        var acked = Set<SpanID>()
        var refused = 0
        func append(_ store: Store, _ spans: [Span]) {
            do {
                try store.append(spans)
                acked.formUnion(spans.map(\.spanID))
            } catch {
                refused += 1
            }
        }
    }

    /// Reopens `dir` as a restart after a crash would (the old store is abandoned, not closed) and
    /// checks that every acknowledged span is there exactly once.
    func expectRecovered(_ dir: String, _ ledger: Ledger, abandoning old: inout Store?, _ context: String,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        old = nil  // no close: nothing is sealed or flushed on the way out
        let store = try Self.open(dir)
        defer { try? store.close() }
        let got = try allSpans(store)
        let ids = got.map(\.spanID)
        #expect(Set(ids).isSuperset(of: ledger.acked), "\(context): lost \(ledger.acked.subtracting(ids).count) acknowledged spans", sourceLocation: sourceLocation)
        #expect(ids.count == Set(ids).count, "\(context): a span came back twice", sourceLocation: sourceLocation)
        // Nothing that was refused comes back either: every failed write was cut off the WAL.
        #expect(Set(ids) == ledger.acked, "\(context): \(Set(ids).subtracting(ledger.acked).count) refused spans came back", sourceLocation: sourceLocation)
        #expect(store.recovery.truncations.isEmpty || ledger.refused > 0, "\(context): \(store.recovery.truncations)", sourceLocation: sourceLocation)
        #expect(StoreVerifier.verify(directory: dir).errors.isEmpty, "\(context): \(StoreVerifier.verify(directory: dir).errors)", sourceLocation: sourceLocation)
    }

    /// Opens a store as a restart does; a start that meets a failure (a one-off fault during
    /// recovery) fails whole and is simply tried again, as an operator or supervisor would.
    static func open(_ dir: String) throws -> Store {
        do {
            return try Store.open(testOptions(dir))
        } catch {
            return try Store.open(testOptions(dir))
        }
    }

    /// A store in a fresh directory with its own fault rules, an empty ledger, and cleanup after.
    func withStore(_ name: String = #function, _ body: (_ dir: String, _ disk: Disk, _ store: inout Store?, _ ledger: Ledger) throws -> Void) throws {
        let dir = TempDir(name)
        defer { dir.cleanup() }
        let disk = Disk(dir.path)
        defer { disk.remove() }
        var store: Store? = try Store.open(testOptions(dir.path))
        try body(dir.path, disk, &store, Ledger())
    }

    /// The bug a full tmpfs showed: after one failed WAL write, small batches were acknowledged
    /// behind a zero-filled gap, and the next start cut everything past the gap off as a torn tail.
    @Test(arguments: [FileFaults.Operation.write, .fsync])
    func acknowledgedAfterAFailedWALWriteSurviveARestart(_ op: FileFaults.Operation) throws {
        try withStore("walfail\(op)") { dir, disk, store, ledger in
            ledger.append(store!, Self.batch(0))
            disk.fail([op])
            for b in 1...3 { ledger.append(store!, Self.batch(b)) }
            #expect(ledger.refused == 3)
            #expect(store!.notWritableReason?.contains("write-ahead log") == true)
            disk.heal()
            for b in 4...40 { ledger.append(store!, Self.batch(b, n: 1)) }
            #expect(ledger.refused == 3)
            #expect(store!.notWritableReason == nil, "a successful write clears the failure")
            try expectRecovered(dir, ledger, abandoning: &store, "\(op)")
            let reopened = try Store.open(testOptions(dir))
            defer { try? reopened.close() }
            #expect(reopened.recovery.truncations.isEmpty, "the WAL holds no gap or torn tail: \(reopened.recovery.truncations)")
        }
    }

    /// One failure at each step of ingest, seal, full-text indexing and rotation, in turn: the k-th
    /// call of each operation fails, the rest succeed. Ingest, seals and indexing go on around it,
    /// and the process "crashes" and restarts every fifth batch, so a fault in WAL data not yet
    /// sealed is caught as well as one in a seal.
    @Test(arguments: FileFaults.Operation.allCases)
    func oneFailureAtEveryStepLosesNothing(_ op: FileFaults.Operation) throws {
        for nth in [1, 2, 3, 5, 8, 13] {
            try withStore("step\(op)\(nth)") { dir, disk, store, ledger in
                disk.fail([op], nth: nth)
                var seen = 0
                var crashAt = -1
                for b in 0..<30 {
                    ledger.append(store!, Self.batch(b))
                    // Two more batches after a failure, then a crash before any seal can hide a bad WAL.
                    if disk.failures > seen { seen = disk.failures; crashAt = b + 2 }
                    if b % 4 == 3 && crashAt < b {
                        _ = try? store!.sealNow()
                        store!.retryAfterFailures()
                        _ = try? store!.indexPendingTexts()
                        _ = try? store!.indexHeadTexts()
                        if disk.failures > seen { seen = disk.failures; crashAt = b + 2 }
                    }
                    if b == crashAt || b % 5 == 4 {
                        try expectRecovered(dir, ledger, abandoning: &store, "\(op) #\(nth), restart after batch \(b)")
                        store = try Self.open(dir)
                    }
                }
                store!.retryAfterFailures()
                ledger.append(store!, Self.batch(40))
                #expect(ledger.acked.count >= 25 * 5, "\(op) #\(nth): only \(ledger.acked.count) spans acknowledged")
                try expectRecovered(dir, ledger, abandoning: &store, "\(op) #\(nth)")
            }
        }
    }

    /// The index database cannot be written (its disk is full): seals fail, ingest is refused with
    /// the reason instead of piling heads up in memory, `notWritableReason` (what /readyz says)
    /// names it, and once writes work again the seal is retried and ingest resumes.
    @Test func indexWriteFailurePausesIngestUntilASealSucceeds() throws {
        try withStore { dir, disk, store, ledger in
            for b in 0..<3 { ledger.append(store!, Self.batch(b)) }
            disk.fail([.indexWrite])
            #expect(throws: StoreError.self) { try store!.sealNow() }
            ledger.append(store!, Self.batch(3))
            #expect(ledger.refused == 1)
            #expect(store!.notWritableReason?.contains("sealing failed") == true, "\(store!.notWritableReason ?? "ready")")
            store!.retryAfterFailures()
            #expect(store!.notWritableReason != nil, "still failing")
            // Reads still see the spans of the head that could not be sealed.
            #expect(try allSpans(store!).count == 15)
            disk.heal()
            store!.retryAfterFailures()
            #expect(store!.notWritableReason == nil)
            #expect(store!.segmentReaders.count == 1)
            ledger.append(store!, Self.batch(4))
            #expect(ledger.refused == 1)
            try expectRecovered(dir, ledger, abandoning: &store, "index write")
        }
    }

    /// Readiness comes back by itself: after a failed WAL write and no traffic since, the probe
    /// finds the disk writable again.
    @Test func readinessRecoversWithoutTraffic() throws {
        try withStore { _, disk, store, ledger in
            defer { try? store!.close() }
            disk.fail([.write, .create])
            ledger.append(store!, Self.batch(0))
            #expect(ledger.refused == 1)
            store!.retryAfterFailures()
            #expect(store!.notWritableReason?.contains("No space left on device") == true)
            disk.heal()
            store!.retryAfterFailures()
            #expect(store!.notWritableReason == nil)
            ledger.append(store!, Self.batch(1))
            #expect(ledger.refused == 1)
        }
    }

    /// A failed write that cannot be cut back off the WAL file either: nothing more goes into that
    /// file; the next pass seals the head into a segment, which starts a new file.
    @Test func aWALThatCannotBeCutBackIsReplaced() throws {
        try withStore { dir, disk, store, ledger in
            ledger.append(store!, Self.batch(0))
            disk.fail([.write, .truncate])
            ledger.append(store!, Self.batch(1))
            disk.heal()
            ledger.append(store!, Self.batch(2))
            #expect(ledger.refused == 2, "refused until the file is replaced")
            #expect(store!.notWritableReason != nil)
            store!.retryAfterFailures()
            #expect(store!.notWritableReason == nil)
            #expect(store!.segmentReaders.count == 1)
            ledger.append(store!, Self.batch(3))
            #expect(ledger.refused == 2)
            try expectRecovered(dir, ledger, abandoning: &store, "uncut WAL")
        }
    }

    /// Shutting down on a full disk: the final seal fails, which `close` reports after closing
    /// everything; no empty WAL file is left for `verify` to call corrupt, and nothing is lost.
    @Test func closingOnAFullDiskLeavesTheWALForTheNextStart() throws {
        try withStore { dir, disk, store, ledger in
            for b in 0..<4 { ledger.append(store!, Self.batch(b)) }
            disk.fail([.create, .write])
            #expect(throws: StoreError.self) { try store!.close(seal: true) }
            disk.heal()
            for name in FileIO.list(dir + "/wal") {
                #expect((FileIO.fileSize(dir + "/wal/" + name) ?? 0) >= WALFile.headerSize, "\(name) is shorter than a WAL header")
            }
            #expect(StoreVerifier.verify(directory: dir).errors.isEmpty, "\(StoreVerifier.verify(directory: dir).errors)")
            try expectRecovered(dir, ledger, abandoning: &store, "close while full")
        }
    }

    /// A restart while the disk is still full fails with the reason, and changes nothing: the next
    /// start, with space, replays every acknowledged span.
    @Test func aRestartOnAFullDiskFailsWithoutTouchingTheWAL() throws {
        try withStore { dir, disk, store, ledger in
            for b in 0..<4 { ledger.append(store!, Self.batch(b)) }
            store = nil
            let walBefore = FileIO.list(dir + "/wal").map { try? FileIO.readFile(dir + "/wal/" + $0) }
            disk.fail([.create, .write])
            do {
                _ = try Store.open(testOptions(dir))
                Issue.record("opened on a full disk")
            } catch let e as StoreError {
                #expect(e.isOutOfSpace, "\(e)")
            }
            disk.heal()
            #expect(FileIO.list(dir + "/wal").map { try? FileIO.readFile(dir + "/wal/" + $0) } == walBefore)
            try expectRecovered(dir, ledger, abandoning: &store, "restart while full")
        }
    }
}
