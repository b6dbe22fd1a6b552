import Testing
import Foundation
import LLMTraceModel
@testable import LLMTraceStore

@Suite struct WALRecoveryTests {
    /// Writes three batches, then cuts the last record at every byte offset: recovery keeps exactly
    /// the first two batches, truncates the tail, and the store accepts new writes afterwards.
    @Test func lastRecordCutAtEveryOffset() throws {
        let src = TempDir()
        defer { src.cleanup() }
        let b1 = [fullSpan(1)], b2 = [fullSpan(2), minimalSpan(trace: 5, span: 5)], b3 = [fullSpan(3), minimalSpan(trace: 6, span: 6)]
        let store = try Store.open(testOptions(src.path))
        try store.append(b1)
        try store.append(b2)
        let walPath = src.path + "/wal/" + WALFile.name(1)
        let sizeAfterTwo = FileIO.fileSize(walPath)!
        try store.append(b3)
        try store.close()
        let full = try FileIO.readFile(walPath)
        #expect(full.count > sizeAfterTwo)
        let expected = Set((b1 + b2).map(\.spanID))

        for cut in sizeAfterTwo..<full.count {
            let dir = TempDir("cut")
            defer { dir.cleanup() }
            try FileIO.makeDirectory(dir.path + "/wal")
            try FileIO.replaceFile(dir.path + "/wal/" + WALFile.name(1), with: Array(full[..<cut]))
            let logged = LogBox()
            var opts = testOptions(dir.path)
            opts.log = { _, line in logged.add(line) }
            let s = try Store.open(opts)
            let got = try allSpans(s)
            #expect(Set(got.map(\.spanID)) == expected, "cut at \(cut)")
            #expect(got.count == 3, "cut at \(cut): no span applied twice")
            if cut > sizeAfterTwo {
                #expect(s.recovery.truncations.count == 1, "cut at \(cut)")
                #expect(logged.lines.contains { $0.contains("truncating \(cut - sizeAfterTwo) bytes") }, "cut at \(cut): \(logged.lines)")
            }
            // What was replayed is sealed at once, and its WAL file is gone.
            #expect(!FileIO.exists(dir.path + "/wal/" + WALFile.name(1)))
            #expect(s.segmentReaders.count == 1)
            try s.append([minimalSpan(trace: 77, span: 77)])
            try s.close()
            let again = try Store.open(testOptions(dir.path))
            #expect(try allSpans(again).count == 4)
            try again.close()
        }
    }

    /// A flipped byte inside an earlier record is corruption: recovery keeps what precedes it, says
    /// where, and verify reports it before recovery runs.
    @Test func corruptRecordIsReportedWithOffset() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        try store.append([fullSpan(1)])
        let walPath = dir.path + "/wal/" + WALFile.name(1)
        let firstEnd = FileIO.fileSize(walPath)!
        try store.append([fullSpan(2)])
        try store.append([fullSpan(3)])
        try store.close()
        var bytes = try FileIO.readFile(walPath)
        bytes[firstEnd + 20] ^= 0x40
        try FileIO.replaceFile(walPath, with: bytes)

        let report = StoreVerifier.verify(directory: dir.path)
        #expect(!report.ok)
        #expect(report.errors.contains { $0.contains("CRC mismatch") && $0.contains("offset \(firstEnd)") }, "\(report.errors)")

        let s = try Store.open(testOptions(dir.path))
        #expect(try allSpans(s).map(\.spanID) == [fullSpan(1).spanID])
        #expect(s.recovery.truncations.first?.contains("CRC mismatch") == true)
        try s.close()
    }

    @Test func groupCommitAcknowledgesConcurrentAppenders() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<50 {
                let id = UInt64(t * 1000 + i + 1)
                try! store.append([minimalSpan(trace: id, span: id)])
            }
        }
        #expect(store.walFsyncs <= 400, "some fsyncs covered several batches")
        try store.close()
        let s = try Store.open(testOptions(dir.path))
        let got = try allSpans(s)
        #expect(got.count == 400)
        #expect(Set(got.map(\.spanID)).count == 400)
        try s.close()
    }
}

@Suite struct ConcurrentSealTests {
    /// Explicit seals race the background sealer while writers append: nothing crashes, nothing is
    /// lost or doubled.
    @Test func explicitSealsRaceTheBackgroundSealer() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var opts = testOptions(dir.path)
        opts.backgroundSealing = true
        opts.sealSpanCount = 300
        let store = try Store.open(opts)
        DispatchQueue.concurrentPerform(iterations: 3) { t in
            for i in 0..<60 {
                if t == 2 {
                    if i % 3 == 0 { _ = try? store.sealNow() }
                    continue
                }
                let base = UInt64(t * 100_000 + i * 100 + 1)
                try! store.append((0..<40).map { k in minimalSpan(trace: base + UInt64(k % 5), span: base + UInt64(k)) })
            }
        }
        try store.close(seal: true)
        let again = try Store.open(testOptions(dir.path))
        let spans = try allSpans(again)
        #expect(spans.count == 2 * 60 * 40)
        #expect(Set(spans.map(\.spanID)).count == spans.count)
        #expect(StoreVerifier.verify(directory: dir.path).ok)
        try again.close()
    }
}

@Suite struct FsyncPolicyTests {
    @Test func parsesPolicies() {
        #expect(FsyncPolicy(parsing: "always") == .always)
        #expect(FsyncPolicy(parsing: "interval=250ms") == .interval(milliseconds: 250))
        #expect(FsyncPolicy(parsing: "interval=40") == .interval(milliseconds: 40))
        #expect(FsyncPolicy(parsing: "interval=0ms") == nil)
        #expect(FsyncPolicy(parsing: "sometimes") == nil)
    }

    /// Under interval=N ms one fsync covers the batches of several appenders, and every acknowledged
    /// batch is on disk after a restart.
    @Test func intervalPolicyGroupsFsyncsAndLosesNothing() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var opts = testOptions(dir.path)
        opts.fsync = .interval(milliseconds: 20)
        let store = try Store.open(opts)
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for i in 0..<25 {
                let id = UInt64(t * 1000 + i + 1)
                try! store.append([minimalSpan(trace: id, span: id)])
            }
        }
        #expect(store.walFsyncs < 100, "\(store.walFsyncs) fsyncs for 100 batches")
        try store.close()
        let again = try Store.open(testOptions(dir.path))
        #expect(try allSpans(again).count == 100)
        try again.close()
    }
}
