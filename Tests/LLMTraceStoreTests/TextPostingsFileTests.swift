import Foundation
import CLinux
import LLMTraceModel
import LLMTraceSynthetic
import Testing
@testable import LLMTraceStore

/// The postings file the full-text indexer writes beside each segment: the same rows as postings
/// built in memory, checked by verify, set aside (not trusted) when damaged, rewritten when missing,
/// removed with its segment.
@Suite struct TextPostingsFileTests {
    /// A store of two sealed, full-text-indexed segments of synthetic LLM spans.
    static func indexedStore(_ dir: String) throws -> Store {
        let store = try Store.open(testOptions(dir))
        var gen = SyntheticWorkload(seed: 12)
        for _ in 0..<2 {
            try store.append(gen.nextBatch(count: 1_500))
            try store.sealNow()
        }
        try store.indexPendingTexts()
        return store
    }

    /// `indexedStore`, closed: its first segment's path, postings built in memory, and postings file.
    static func firstSegmentOfClosedStore(_ dir: String) throws -> (segment: String, memory: SegmentReader.TextPostings, postings: String) {
        let store = try indexedStore(dir)
        let seg = store.segmentReaders[0].path
        let memory = try store.segmentReaders[0].textPostings()
        try store.close()
        return (seg, memory, TextPostingsFile.path(ofSegment: seg))
    }

    /// Hash sets to match: single paragraphs, a handful, many, and hashes no segment holds.
    static func probes(_ p: SegmentReader.TextPostings) -> [Set<Int64>] {
        let held = p.hashes.indices.filter { p.offsets[$0 + 1] > p.offsets[$0] }.map { p.hashes[$0] }
        return [[held[0]], [held[held.count / 2], held[held.count - 1]], Set(held.prefix(40)), Set(held.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)),
                [1, 2, 3], []]
    }

    @Test func fileRowsAreTheInMemoryRows() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Self.indexedStore(dir.path)
        defer { try? store.close() }
        for r in store.segmentReaders {
            let file = TextPostingsFile.path(ofSegment: r.path)
            #expect(FileIO.exists(file), "no postings beside \(r.path)")
            let memory = try r.textPostings()
            let f = try TextPostingsFile(path: file)
            #expect(f.segmentID == r.id && f.rowCount == r.rowCount)
            for set in Self.probes(memory) {
                let want = memory.rows(matching: set, rowCount: r.rowCount)
                #expect(try f.rows(matching: set) == want)
                #expect(try r.rows(matchingParagraphs: set) == want)
            }
            #expect(try r.rows(matchingParagraphs: Self.probes(memory)[3]).contains(1))
        }
        try store.close()
        #expect(StoreVerifier.verify(directory: dir.path).ok)
    }

    /// Files are written in version 3 (CRC-32C); a version 2 file (CRC-32, otherwise the same
    /// bytes) still opens, answers the same rows, passes verify, and a flipped byte in it is
    /// still caught.
    @Test func versionTwoFilesStillReadAndVerify() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let (seg, memory, path) = try Self.firstSegmentOfClosedStore(dir.path)
        let v3 = try FileIO.readFile(path)
        #expect(try TextPostingsFile(path: path).version == 3)
        let end = v3.count - TextPostingsFile.trailerSize
        #expect(v3.withUnsafeBytes { Checksum.crc32c(UnsafeRawBufferPointer(rebasing: $0[0..<end])) } ==
                v3.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: end, as: UInt32.self) })
        var v2 = v3
        v2[4] = 2
        v2[5] = 0
        let crc = v2.withUnsafeBytes { Checksum.crc32(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
        withUnsafeBytes(of: crc.littleEndian) { for k in 0..<4 { v2[end + k] = $0[k] } }
        try FileIO.replaceFile(path, with: v2)
        let f = try TextPostingsFile(path: path)
        #expect(f.version == 2 && f.hasTerms)
        let r = try SegmentReader(path: seg)
        for set in Self.probes(memory) { #expect(try f.rows(matching: set) == memory.rows(matching: set, rowCount: r.rowCount)) }
        #expect(StoreVerifier.verify(directory: dir.path).ok)
        v2[end / 2] ^= 0x04
        try FileIO.replaceFile(path, with: v2)
        #expect(throws: StoreError.self) { try TextPostingsFile(path: path) }
        #expect(!StoreVerifier.verify(directory: dir.path).ok)
    }

    /// CRC-32C: the standard check value, and the SSE4.2 path agreeing with the bitwise one over
    /// lengths and alignments around its 8-byte steps.
    @Test func crc32cMatchesItsDefinition() {
        #expect(Checksum.crc32c(Array("123456789".utf8)) == 0xE306_9283)
        #expect(Checksum.crc32c([UInt8]()) == 0)
        var rng = SplitMix64(seed: 5)
        let data = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        data.withUnsafeBytes { b in
            for start in 0..<9 {
                for count in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4000] where start + count <= b.count {
                    let slice = UnsafeRawBufferPointer(rebasing: b[start..<start + count])
                    let bitwise = ~clinux_crc32c_sw(~0, slice.baseAddress!, count)
                    #expect(Checksum.crc32c(slice) == (count == 0 ? 0 : bitwise), "start \(start), count \(count)")
                    if Checksum.hardwareCRC32C { #expect(clinux_crc32c_hw(~0, slice.baseAddress!, count) == clinux_crc32c_sw(~0, slice.baseAddress!, count)) }
                }
            }
        }
    }

    @Test func damagedFileIsReportedAndNotTrusted() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let (seg, memory, path) = try Self.firstSegmentOfClosedStore(dir.path)
        let original = try FileIO.readFile(path)
        for off in stride(from: 0, to: original.count, by: max(1, original.count / 25)) + [original.count - 1] {
            var bytes = original
            bytes[off] ^= 0x10
            try FileIO.replaceFile(path, with: bytes)
            let report = StoreVerifier.verify(directory: dir.path)
            #expect(!report.ok, "flip at \(off) of the postings went unnoticed")
            // A reader does not trust it: matches come from postings built in memory.
            let r = try SegmentReader(path: seg)
            for set in Self.probes(memory) { #expect(try r.rows(matchingParagraphs: set) == memory.rows(matching: set, rowCount: r.rowCount)) }
        }
        try FileIO.replaceFile(path, with: original)
        #expect(StoreVerifier.verify(directory: dir.path).ok)
    }

    @Test func missingFileIsRewrittenAndOrphansRemoved() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var store = try Self.indexedStore(dir.path)
        let seg = store.segmentReaders[1].path
        let path = TextPostingsFile.path(ofSegment: seg)
        let original = try FileIO.readFile(path)
        try FileIO.remove(path)
        #expect(try store.writeMissingPostings())
        #expect(try FileIO.readFile(path) == original)
        #expect(try !store.writeMissingPostings())
        try store.close()
        // A postings file whose segment is gone is deleted at open.
        let orphan = dir.path + "/segments/" + TextPostingsFile.name(999)
        try FileIO.replaceFile(orphan, with: original)
        store = try Store.open(testOptions(dir.path))
        #expect(!FileIO.exists(orphan))
        #expect(FileIO.exists(path))
        try store.close()
    }
}
