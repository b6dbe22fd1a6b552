import Glibc
import LLMTraceModel

/// The full-text postings of one segment on disk (`segments/NNNNNNNNNNNNNNNN.postings`, FORMAT.md):
/// for each distinct message or document paragraph, its hash (the FTS5 rowid) and the rows that
/// hold it. Written by the full-text indexer beside the segment it read, so a text match needs
/// neither the text store nor the details column: a query reads the hashes, finds those FTS5
/// named, and decodes only their rows. Without the file (not indexed yet, or a directory from
/// before it existed) the reader builds the same postings in memory.
public final class TextPostingsFile: @unchecked Sendable {
    public static let magic: [UInt8] = Array("LTPO".utf8)
    public static let version: UInt16 = 1
    static let headerSize = 24
    static let trailerSize = 8

    public static func name(_ segment: UInt64) -> String {
        String(SegmentFormat.name(segment).dropLast(4)) + ".postings"
    }

    public static func path(ofSegment path: String) -> String {
        String(path.dropLast(4)) + ".postings"
    }

    public let path: String
    public let segmentID: UInt64
    public let rowCount: Int
    public let entryCount: Int
    private let file: MappedFile
    private let hashesAt: Int
    private let offsetsAt: Int
    private let rowsAt: Int
    private let rowsEnd: Int

    /// Maps and checks a postings file: header, trailer and the CRC of everything before it.
    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        let b = file.bytes
        func corrupt(_ what: String, _ off: Int) -> StoreError { StoreError("corrupt postings: \(what)", path: path, offset: off) }
        guard b.count >= Self.headerSize + Self.trailerSize else { throw corrupt("file too short (\(b.count) bytes)", 0) }
        guard UnsafeRawBufferPointer(rebasing: b[0..<4]).elementsEqual(Self.magic),
              UnsafeRawBufferPointer(rebasing: b[(b.count - 4)...]).elementsEqual(Self.magic) else { throw corrupt("bad magic", 0) }
        var h = ByteReader(b, at: 4)
        let version = h.u16()
        guard version == Self.version else { throw corrupt("unsupported version \(version)", 4) }
        _ = h.u16()
        segmentID = h.u64()
        rowCount = Int(h.u32())
        entryCount = Int(h.u32())
        let end = b.count - Self.trailerSize
        var t = ByteReader(b, at: end)
        guard Checksum.crc32(UnsafeRawBufferPointer(rebasing: b[0..<end])) == t.u32() else { throw corrupt("CRC mismatch", end) }
        hashesAt = Self.headerSize
        offsetsAt = hashesAt + 8 * entryCount
        rowsAt = offsetsAt + 4 * (entryCount + 1)
        rowsEnd = end
        guard rowsAt <= end else { throw corrupt("\(entryCount) entries do not fit in the file", Self.headerSize) }
        var o = ByteReader(b, at: offsetsAt + 4 * entryCount)
        guard Int(o.u32()) == end - rowsAt else { throw corrupt("row area length disagrees with the offsets", offsetsAt) }
        // The check read every page: drop them from this process's RSS (they stay in the page cache).
        file.dropResidentPages()
    }

    /// 1 for every row holding a paragraph whose hash is in `set`, else 0. Reads the hashes, and
    /// the row lists of the matching entries only.
    public func rows(matching set: Set<Int64>) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rowCount)
        guard !set.isEmpty else { return out }
        let b = file.bytes
        var bad = false
        @inline(__always) func hash(_ k: Int) -> Int64 { Int64(littleEndian: b.loadUnaligned(fromByteOffset: hashesAt + 8 * k, as: Int64.self)) }
        // A match naming few paragraphs looks each up (the hashes ascend); a broad one walks
        // every entry, asking the set.
        var entries: [Int] = []
        let lookUp = set.count * 24 < entryCount
        if lookUp {
            for h in set {
                var lo = 0, hi = entryCount
                while lo < hi {
                    let mid = (lo + hi) >> 1
                    if hash(mid) < h { lo = mid + 1 } else { hi = mid }
                }
                if lo < entryCount, hash(lo) == h { entries.append(lo) }
            }
        }
        out.withUnsafeMutableBufferPointer { o in
            for e in 0..<(lookUp ? entries.count : entryCount) {
                let k = lookUp ? entries[e] : e
                if !lookUp { guard set.contains(hash(k)) else { continue } }
                let from = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offsetsAt + 4 * k, as: UInt32.self)))
                let to = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offsetsAt + 4 * k + 4, as: UInt32.self)))
                guard from <= to, rowsAt + to <= rowsEnd else { bad = true; return }
                var r = ByteReader(UnsafeRawBufferPointer(rebasing: b[(rowsAt + from)..<(rowsAt + to)]))
                var row = -1
                while r.remaining > 0 {
                    let gap = r.varint()
                    guard !r.failed, gap < UInt64(rowCount) else { bad = true; return }
                    row += Int(gap) + 1
                    guard row < rowCount else { bad = true; return }
                    o[row] = 1
                }
            }
        }
        if bad { throw StoreError("corrupt postings: an entry's rows are out of range", path: path) }
        return out
    }

    /// Every entry decoded and checked against the segment's row count (verification).
    public func verify() -> [String] {
        var problems: [String] = []
        let all = Set((0..<entryCount).map { Int64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: hashesAt + 8 * $0, as: Int64.self)) })
        do { _ = try rows(matching: all) } catch { problems.append("\(error)") }
        var last = Int64.min
        for k in 0..<entryCount {
            let h = Int64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: hashesAt + 8 * k, as: Int64.self))
            if k > 0 && h <= last { problems.append("corrupt postings: hashes out of order at entry \(k) (\(path))"); break }
            last = h
        }
        file.dropResidentPages()
        return problems
    }

    /// Encodes postings (`SegmentReader.TextPostings`: per text its hash and rows) as a file:
    /// entries with at least one row, sorted by hash; rows as varint gaps.
    static func encode(_ p: SegmentReader.TextPostings, segmentID: UInt64, rowCount: Int) -> [UInt8] {
        var entries: [(hash: Int64, text: Int)] = []
        for k in p.hashes.indices where p.offsets[k + 1] > p.offsets[k] { entries.append((p.hashes[k], k)) }
        entries.sort { $0.hash < $1.hash }
        // A segment's texts are distinct, but two of them can still share a 64-bit hash; such
        // entries are merged, so hashes in the file strictly ascend (FTS5 names the hash, not the
        // text, so a match finds the rows of both either way).
        var w = ByteWriter(capacity: Self.headerSize + 14 * entries.count + 2 * p.rows.count)
        w.bytes.append(contentsOf: Self.magic)
        w.u16(Self.version)
        w.u16(0)
        w.u64(segmentID)
        w.u32(UInt32(rowCount))
        var merged: [(hash: Int64, rows: [Int32])] = []
        for e in entries {
            let rows = Array(p.rows[Int(p.offsets[e.text])..<Int(p.offsets[e.text + 1])])
            if let last = merged.last, last.hash == e.hash {
                merged[merged.count - 1].rows = Array(Set(last.rows + rows)).sorted()
            } else {
                merged.append((e.hash, rows.sorted()))
            }
        }
        w.u32(UInt32(merged.count))
        for e in merged { w.i64(e.hash) }
        var area = ByteWriter(capacity: 2 * p.rows.count)
        var offsets: [UInt32] = []
        offsets.reserveCapacity(merged.count + 1)
        for e in merged {
            offsets.append(UInt32(area.count))
            var prev = -1
            for r in e.rows {
                area.varint(UInt64(Int(r) - prev - 1))
                prev = Int(r)
            }
        }
        offsets.append(UInt32(area.count))
        for o in offsets { w.u32(o) }
        w.bytes.append(contentsOf: area.bytes)
        let crc = Checksum.crc32(w.bytes)
        w.u32(crc)
        w.bytes.append(contentsOf: Self.magic)
        return w.bytes
    }

    /// Writes the postings of `segment` durably beside it (tmp, fsync, rename, fsync directory).
    static func write(_ p: SegmentReader.TextPostings, for segment: SegmentReader) throws {
        try FileIO.replaceFile(path(ofSegment: segment.path), with: encode(p, segmentID: segment.id, rowCount: segment.rowCount))
    }
}
