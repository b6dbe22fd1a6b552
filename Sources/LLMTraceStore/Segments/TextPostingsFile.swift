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
    /// Version 2 adds the term section; version 3 checks the file with CRC-32C instead of CRC-32
    /// (the whole file is checked on its first use in a process, and a query's first match opens
    /// every segment's: 48 MB for 1M spans took ~20 ms of CRC-32, ~5 ms of CRC-32C). Versions 1
    /// and 2 still read.
    public static let version: UInt16 = 3
    static let trailerSize = 8
    static func headerSize(_ version: UInt16) -> Int { version == 1 ? 24 : 32 }

    /// The trailer's checksum of everything before it, as `version` computes it.
    static func checksum(_ b: UnsafeRawBufferPointer, version: UInt16) -> UInt32 {
        version >= 3 ? Checksum.crc32c(b) : Checksum.crc32(b)
    }

    public static func name(_ segment: UInt64) -> String {
        String(SegmentFormat.name(segment).dropLast(4)) + ".postings"
    }

    public static func path(ofSegment path: String) -> String {
        String(path.dropLast(4)) + ".postings"
    }

    public let path: String
    /// The format version the file was written in (1-3).
    public let version: UInt16
    public let segmentID: UInt64
    public let rowCount: Int
    public let entryCount: Int
    private let file: MappedFile
    private let hashesAt: Int
    private let offsetsAt: Int
    private let rowsAt: Int
    private let rowsEnd: Int
    /// The term section (version 2): term count, and where its four parts start.
    public let termCount: Int
    private let termOffsetsAt: Int
    private let termBytesAt: Int
    private let listOffsetsAt: Int
    private let listsAt: Int
    private let listsEnd: Int
    /// Whether the file names each entry's terms: a query of plain words is then answered from it.
    public var hasTerms: Bool { termOffsetsAt > 0 }

    /// Maps and checks a postings file: header, trailer and the CRC of everything before it.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path), path: path)
    }

    /// A postings file built in memory (`encode`) for a segment whose file is not written yet.
    convenience init(encoded: [UInt8], path: String) throws {
        try self.init(file: MappedFile(copying: encoded, path: path), path: path)
    }

    private init(file: MappedFile, path: String) throws {
        self.path = path
        self.file = file
        let b = file.bytes
        func corrupt(_ what: String, _ off: Int) -> StoreError { StoreError("corrupt postings: \(what)", path: path, offset: off) }
        guard b.count >= Self.headerSize(1) + Self.trailerSize else { throw corrupt("file too short (\(b.count) bytes)", 0) }
        guard UnsafeRawBufferPointer(rebasing: b[0..<4]).elementsEqual(Self.magic),
              UnsafeRawBufferPointer(rebasing: b[(b.count - 4)...]).elementsEqual(Self.magic) else { throw corrupt("bad magic", 0) }
        var h = ByteReader(b, at: 4)
        version = h.u16()
        guard (1...3).contains(version) else { throw corrupt("unsupported version \(version)", 4) }
        guard b.count >= Self.headerSize(version) + Self.trailerSize else { throw corrupt("file too short (\(b.count) bytes)", 0) }
        _ = h.u16()
        segmentID = h.u64()
        rowCount = Int(h.u32())
        entryCount = Int(h.u32())
        let termsAt = version == 1 ? 0 : Int(h.u32())
        termCount = version == 1 ? 0 : Int(h.u32())
        let end = b.count - Self.trailerSize
        var t = ByteReader(b, at: end)
        guard Self.checksum(UnsafeRawBufferPointer(rebasing: b[0..<end]), version: version) == t.u32() else { throw corrupt("CRC mismatch", end) }
        hashesAt = Self.headerSize(version)
        offsetsAt = hashesAt + 8 * entryCount
        rowsAt = offsetsAt + 4 * (entryCount + 1)
        rowsEnd = termsAt == 0 ? end : termsAt
        guard rowsAt <= rowsEnd, rowsEnd <= end else { throw corrupt("\(entryCount) entries do not fit in the file", hashesAt) }
        var o = ByteReader(b, at: offsetsAt + 4 * entryCount)
        guard Int(o.u32()) == rowsEnd - rowsAt else { throw corrupt("row area length disagrees with the offsets", offsetsAt) }
        if termsAt == 0 {
            (termOffsetsAt, termBytesAt, listOffsetsAt, listsAt, listsEnd) = (0, 0, 0, 0, 0)
        } else {
            // Term offsets, term bytes, list offsets, lists: each part's length from the one before.
            termOffsetsAt = termsAt
            termBytesAt = termOffsetsAt + 4 * (termCount + 1)
            guard termCount < Int(UInt32.max), termBytesAt <= end else { throw corrupt("\(termCount) terms do not fit in the file", termsAt) }
            var to = ByteReader(b, at: termOffsetsAt + 4 * termCount)
            listOffsetsAt = termBytesAt + Int(to.u32())
            listsAt = listOffsetsAt + 4 * (termCount + 1)
            guard listsAt <= end else { throw corrupt("the term section does not fit in the file", termsAt) }
            var lo = ByteReader(b, at: listOffsetsAt + 4 * termCount)
            listsEnd = listsAt + Int(lo.u32())
            guard listsEnd == end else { throw corrupt("term list area length disagrees with the offsets", listOffsetsAt) }
        }
        // The check read every page: drop them from this process's RSS (they stay in the page cache).
        file.dropResidentPages()
    }

    /// See `MappedFile.dropResidentPages`.
    public func dropResidentPages() { file.dropResidentPages() }

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
                guard markRows(of: k, in: o) else { bad = true; return }
            }
        }
        if bad { throw StoreError("corrupt postings: an entry's rows are out of range", path: path) }
        return out
    }

    /// Sets o[row] = 1 for each row of entry `k`; false when the entry is out of range.
    @inline(__always)
    private func markRows(of k: Int, in o: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        let b = file.bytes
        let from = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offsetsAt + 4 * k, as: UInt32.self)))
        let to = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offsetsAt + 4 * k + 4, as: UInt32.self)))
        guard from <= to, rowsAt + to <= rowsEnd else { return false }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: b[(rowsAt + from)..<(rowsAt + to)]))
        var row = -1
        while r.remaining > 0 {
            let gap = r.varint()
            guard !r.failed, gap < UInt64(rowCount) else { return false }
            row += Int(gap) + 1
            guard row < rowCount else { return false }
            o[row] = 1
        }
        return true
    }

    /// The index of `term` in the sorted term bytes, or nil.
    private func termIndex(_ term: [UInt8]) throws -> Int? {
        let b = file.bytes
        @inline(__always) func offset(_ i: Int) -> Int { Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: termOffsetsAt + 4 * i, as: UInt32.self))) }
        var lo = 0, hi = termCount
        while lo < hi {
            let mid = (lo + hi) >> 1
            let from = offset(mid), to = offset(mid + 1)
            guard from <= to, termBytesAt + to <= listOffsetsAt else { throw StoreError("corrupt postings: a term is out of range", path: path) }
            let c = term.withUnsafeBytes { t -> Int in
                let n = min(t.count, to - from)
                let r = n == 0 ? 0 : Int(memcmp(b.baseAddress! + termBytesAt + from, t.baseAddress!, n))
                return r != 0 ? r : (to - from) - t.count
            }
            if c < 0 { lo = mid + 1 } else if c > 0 { hi = mid } else { return mid }
        }
        return nil
    }

    /// 1 for every row holding a paragraph that has every one of `terms` (FTS5's implicit AND of
    /// plain words: all in the same paragraph), else 0. Each term's entry list is read, their
    /// intersection found with a count per entry, and only those entries' rows are decoded.
    /// Needs `hasTerms`.
    public func rows(matchingAllTerms terms: [[UInt8]]) throws -> [UInt8] {
        precondition(hasTerms, "rows(matchingAllTerms:) needs a version 2 postings file")
        var out = [UInt8](repeating: 0, count: rowCount)
        let distinct = Array(Set(terms))
        guard !distinct.isEmpty else { return out }
        guard distinct.count < 255 else { throw StoreError("a text match of more than 254 distinct words") }
        var lists: [(from: Int, to: Int)] = []
        let b = file.bytes
        for t in distinct {
            guard let i = try termIndex(t) else { return out }  // a term no paragraph has
            let from = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: listOffsetsAt + 4 * i, as: UInt32.self)))
            let to = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: listOffsetsAt + 4 * i + 4, as: UInt32.self)))
            guard from <= to, listsAt + to <= listsEnd else { throw StoreError("corrupt postings: a term's list is out of range", path: path) }
            lists.append((from, to))
        }
        var counts = [UInt8](repeating: 0, count: entryCount)
        var bad = false
        counts.withUnsafeMutableBufferPointer { c in
            for l in lists {
                var r = ByteReader(UnsafeRawBufferPointer(rebasing: b[(listsAt + l.from)..<(listsAt + l.to)]))
                var e = -1
                while r.remaining > 0 {
                    let gap = r.varint()
                    guard !r.failed, gap < UInt64(entryCount) else { bad = true; return }
                    e += Int(gap) + 1
                    guard e < entryCount else { bad = true; return }
                    c[e] &+= 1
                }
            }
        }
        if bad { throw StoreError("corrupt postings: a term's entries are out of range", path: path) }
        let all = UInt8(lists.count)
        out.withUnsafeMutableBufferPointer { o in
            for k in 0..<entryCount where counts[k] == all {
                guard markRows(of: k, in: o) else { bad = true; return }
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

    /// Encodes postings (`SegmentReader.TextPostings`: per text its hash and rows; `texts` the
    /// segment's texts, same order) as a file: entries with at least one row, sorted by hash; rows
    /// as varint gaps; then each term of the entries' paragraphs (FTS5's tokenizer) with the
    /// entries holding it. Without a tokenizer the term section is empty.
    /// `version`: 3, or 2 to compare with a file of version 2 (`SegmentReader.verify`); they differ
    /// only in the checksum.
    static func encode(_ p: SegmentReader.TextPostings, texts: [String], segmentID: UInt64, rowCount: Int,
                       tokenizer: FTSTokenizer? = FTSTokenizer.shared, version: UInt16 = TextPostingsFile.version) -> [UInt8] {
        precondition(version == 2 || version == 3, "postings are encoded in version 2 or 3")
        var entries: [(hash: Int64, text: Int)] = []
        for k in p.hashes.indices where p.offsets[k + 1] > p.offsets[k] { entries.append((p.hashes[k], k)) }
        entries.sort { $0.hash < $1.hash }
        // A segment's texts are distinct, but two of them can still share a 64-bit hash; such
        // entries are merged, so hashes in the file strictly ascend (FTS5 names the hash, not the
        // text, so a match finds the rows of both either way).
        var merged: [(hash: Int64, rows: [Int32], texts: [Int])] = []
        for e in entries {
            let rows = Array(p.rows[Int(p.offsets[e.text])..<Int(p.offsets[e.text + 1])])
            if let last = merged.last, last.hash == e.hash {
                merged[merged.count - 1].rows = Array(Set(last.rows + rows)).sorted()
                merged[merged.count - 1].texts.append(e.text)
            } else {
                merged.append((e.hash, rows.sorted(), [e.text]))
            }
        }
        var w = ByteWriter(capacity: Self.headerSize(version) + 14 * entries.count + 4 * p.rows.count)
        w.bytes.append(contentsOf: Self.magic)
        w.u16(version)
        w.u16(0)
        w.u64(segmentID)
        w.u32(UInt32(rowCount))
        w.u32(UInt32(merged.count))
        let termsAtField = w.count
        w.u32(0)  // where the term section starts, filled in below
        w.u32(0)  // term count
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
        // Without a tokenizer the section is left out (its position stays 0): the file then
        // answers by hashes only, and the indexer writes it again once it can tokenize.
        if let tokenizer {
            let terms = TermLists(merged.map(\.texts), texts: texts, tokenizer: tokenizer)
            w.patchU32(UInt32(w.count), at: termsAtField)
            w.patchU32(UInt32(terms.count), at: termsAtField + 4)
            terms.write(into: &w)
        }
        let crc = w.bytes.withUnsafeBytes { Self.checksum($0, version: version) }
        w.u32(crc)
        w.bytes.append(contentsOf: Self.magic)
        return w.bytes
    }

    /// Writes the postings of `segment` durably beside it (tmp, fsync, rename, fsync directory).
    static func write(_ p: SegmentReader.TextPostings, texts: [String], for segment: SegmentReader) throws {
        try FileIO.replaceFile(path(ofSegment: segment.path), with: encode(p, texts: texts, for: segment))
    }

    /// `encode` for `segment`'s postings (its id and row count).
    static func encode(_ p: SegmentReader.TextPostings, texts: [String], for segment: SegmentReader,
                       tokenizer: FTSTokenizer? = FTSTokenizer.shared) -> [UInt8] {
        encode(p, texts: texts, segmentID: segment.id, rowCount: segment.rowCount, tokenizer: tokenizer)
    }
}

/// The term section of a postings file being written: every term of the entries' paragraphs, in
/// byte order, each with the entries (ascending) whose paragraph has it.
///
/// Built on the full-text thread right after a seal, at full ingest, for millions of term
/// occurrences a segment, so it allocates nothing per occurrence: distinct terms are interned in
/// one byte arena through an open-addressing table (`InternHash`, bytes compared), and each term's
/// list is kept as the varint gaps it is written as (about a byte an entry), not as integers.
struct TermLists {
    private var arena: [UInt8] = []
    private var starts: [UInt32] = [0]
    private var hashes: [UInt64] = []
    private var slots = [Int32](repeating: -1, count: 1 << 12)
    private var lists: [ByteWriter] = []
    private var lastEntry: [Int32] = []

    var count: Int { lists.count }

    /// `entryTexts[e]` are the text indexes of entry e (one, or more that share a hash).
    init(_ entryTexts: [[Int]], texts: [String], tokenizer: FTSTokenizer) {
        for (e, ks) in entryTexts.enumerated() {
            let entry = Int32(e)
            for k in ks {
                var text = texts[k]
                text.withUTF8 { u in
                    tokenizer.forEachTerm(UnsafeRawBufferPointer(u)) { t in
                        let i = id(of: t)
                        if i == lists.count {
                            lists.append(ByteWriter(capacity: 0))
                            lastEntry.append(-1)
                        }
                        guard lastEntry[i] != entry else { return }
                        lists[i].varint(UInt64(entry - lastEntry[i] - 1))
                        lastEntry[i] = entry
                    }
                }
            }
        }
    }

    /// The id of term `t`, interning it (the next id) when new.
    private mutating func id(of t: UnsafeRawBufferPointer) -> Int {
        let h = InternHash.hash(t)
        var mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let i = Int(slots[slot])
            if i < 0 { break }
            if hashes[i] == h, Int(starts[i + 1] - starts[i]) == t.count,
               arena.withUnsafeBytes({ a in t.count == 0 || memcmp(a.baseAddress! + Int(starts[i]), t.baseAddress!, t.count) == 0 }) {
                return i
            }
            slot = (slot + 1) & mask
        }
        let i = hashes.count
        arena.append(contentsOf: t)
        starts.append(UInt32(arena.count))
        hashes.append(h)
        slots[slot] = Int32(i)
        if hashes.count * 2 > slots.count {
            slots = [Int32](repeating: -1, count: slots.count * 2)
            mask = slots.count - 1
            for (j, hj) in hashes.enumerated() {
                var s = Int(truncatingIfNeeded: hj) & mask
                while slots[s] >= 0 { s = (s + 1) & mask }
                slots[s] = Int32(j)
            }
        }
        return i
    }

    private func term(_ i: Int) -> ArraySlice<UInt8> { arena[Int(starts[i])..<Int(starts[i + 1])] }

    /// Term offsets, term bytes, list offsets and lists (FORMAT.md, "Postings").
    func write(into w: inout ByteWriter) {
        let order = lists.indices.sorted { term($0).lexicographicallyPrecedes(term($1)) }
        var at: UInt32 = 0
        for i in order { w.u32(at); at += starts[i + 1] - starts[i] }
        w.u32(at)
        for i in order { w.bytes.append(contentsOf: term(i)) }
        at = 0
        for i in order { w.u32(at); at += UInt32(lists[i].count) }
        w.u32(at)
        for i in order { w.bytes.append(contentsOf: lists[i].bytes) }
    }
}
