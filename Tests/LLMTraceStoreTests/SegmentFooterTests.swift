import Foundation
import Testing
import LLMTraceModel
@testable import LLMTraceStore

/// Footers that pass their CRC but say something a decoder cannot live with (a writer bug, a
/// forged file). Each once trapped or tried to allocate gigabytes; each must now be an error that
/// names the segment. The fuzzer's segment target recomputes CRCs to find such cases; these are
/// the ones it and a read of the reader showed, kept as a table.
@Suite struct SegmentFooterTests {
    /// Offsets inside the footer (FORMAT.md, "Segment files").
    static let rowCountAt = 8, rowsPerBlockAt = 44, firstColumnAt = 49
    /// First column (trace ids): u16 id, u8 encoding, u8 width, u8 has-min-max, 2 × i64, varint
    /// block count, then its first block's u64 offset, u32 stored, u32 raw, u32 CRC.
    static let encodingAt = firstColumnAt + 2, firstBlockAt = firstColumnAt + 5 + 16 + 1

    func segment(_ dir: String) throws -> (bytes: [UInt8], footerStart: Int, footerLen: Int) {
        let spans = (1...40).map { i -> Span in
            var s = minimalSpan(trace: UInt64(i % 5 + 1), span: UInt64(i), start: Int64(i) * 1000)
            s.inputMessages = [Message(role: "user", content: "question \(i)")]
            return s
        }
        let summary = try SegmentWriter(rowsPerBlock: 16).write(spans: spans, id: 1, maxWALFile: 1, directory: dir)
        let b = try FileIO.readFile(summary.path)
        let len = b[b.count - 12..<b.count - 8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return (b, b.count - 12 - len, len)
    }

    static func put(_ b: inout [UInt8], _ at: Int, _ v: UInt64, width: Int) {
        for k in 0..<width { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
    }

    static let lies: [(what: String, at: Int, value: UInt64, width: Int, error: String)] = [
        ("row count 2^32-1", rowCountAt, 0xFFFF_FFFF, 4, "blocks, expected"),
        ("one row per block", rowsPerBlockAt, 1, 4, "blocks, expected"),
        ("a block offset past Int.max", firstBlockAt, UInt64.max, 8, "out of bounds"),
        ("a block offset past the footer", firstBlockAt, 1 << 40, 8, "out of bounds"),
        ("a block of 4 GB", firstBlockAt + 8, 0xFFFF_FFFF, 4, "out of bounds"),
        ("trace ids as a dictionary column", encodingAt, UInt64(SegmentFormat.Encoding.dictionary.rawValue), 1, "has encoding"),
    ]

    @Test(arguments: lies.indices) func aFooterThatLiesIsAnError(_ i: Int) throws {
        let lie = Self.lies[i]
        let dir = TempDir("footer\(i)")
        defer { dir.cleanup() }
        var (b, start, len) = try segment(dir.path)
        Self.put(&b, start + lie.at, lie.value, width: lie.width)
        let crc = b[start..<(start + len)].withUnsafeBytes { Checksum.crc32($0) }
        Self.put(&b, b.count - 8, UInt64(crc), width: 4)
        let path = dir.path + "/" + SegmentFormat.name(1)
        try FileIO.replaceFile(path, with: b)
        do {
            _ = try SegmentReader(path: path)
            Issue.record("\(lie.what): opened")
        } catch let e as StoreError {
            #expect(e.message.contains(lie.error), "\(lie.what): \(e)")
            #expect(e.path == path)
        }
    }

    @Test func theUntouchedSegmentOpens() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        _ = try segment(dir.path)
        let r = try SegmentReader(path: dir.path + "/" + SegmentFormat.name(1))
        #expect(r.rowCount == 40 && r.verify().isEmpty)
    }

    /// A reader moved past the end (a skipped row longer than its block) fails; it once reported a
    /// negative `remaining`, and the next count read trapped on it.
    @Test func aReaderPastTheEndFailsInsteadOfTrapping() {
        let bytes: [UInt8] = [3, 1, 2]
        bytes.withUnsafeBytes { p in
            var r = ByteReader(p)
            r.skip(10)
            #expect(r.failed && r.remaining == 0)
            var q = ByteReader(p)
            q.pos = 10
            #expect(q.remaining == 0)
            #expect(q.count(limit: q.remaining) == 0 && q.failed)
        }
    }
}
