import LLMTraceModel

/// Reads an immutable segment file through a memory map.
///
/// Opening parses and checks only the footer; column blocks, dictionaries and text blocks are read on
/// demand, each checked against its CRC, so a flipped byte surfaces as an error naming the file and
/// offset rather than as a wrong span. This file: the footer and the caches; the rest by concern in
/// `SegmentReader+Blocks`, `+TextStore`, `+Rows`, `+Columns`, `+Postings` and `+Verify`.
public final class SegmentReader: @unchecked Sendable {
    public let path: String
    public let id: UInt64
    public let rowCount: Int
    public let minStart: Int64
    public let maxStart: Int64
    public let maxWALFile: UInt64
    public let createdNanos: Int64
    public let rowsPerBlock: Int
    /// How the text, details and dictionary blocks are compressed (from the header).
    let codec: SegmentBlockCodec
    let file: MappedFile

    struct Block {
        var offset: Int
        var stored: Int
        var raw: Int
        var crc: UInt32
    }

    struct ColumnInfo {
        var column: SegmentFormat.Column
        var encoding: SegmentFormat.Encoding
        var width: Int
        var minMax: (Int64, Int64)?
        var dictionary: Block?
        var dictionaryCount: Int
        var blocks: [Block]
    }

    private(set) var columns: [ColumnInfo?] = Array(repeating: nil, count: SegmentFormat.Column.allCases.count)
    let textCount: Int
    let textOffsets: Block
    let textBlocks: [(first: Int, block: Block)]

    let lock = Condition()
    var dictCache: [Int: [String]] = [:]
    /// Inflated dictionaries with the offset of each entry, for trace lookups: they need a few
    /// entries, and building every String of a session or user dictionary (tens of thousands) made
    /// the first lookup in a segment cost several milliseconds.
    var rawDictCache: [Int: (bytes: [UInt8], offsets: [UInt32])] = [:]
    /// Columns whose every block has passed its CRC in this process. Segments are immutable, so a
    /// query scanning the same column again skips the checksum (it cost ~6% of a full scan).
    var verifiedColumns = Set<Int>()
    /// Compressed column blocks whose CRC matched once (column << 32 | block): the file is
    /// immutable and mapped, so later reads inflate them without summing them again.
    var verifiedBlocks = Set<Int>()
    var postings: TextPostings?
    /// Text ids of attribute keys looked up so far (nil: not in this segment).
    var textIDCache: [ExactString: Int?] = [:]
    var mappedPostings: TextPostingsFile?
    var postingsUnusable = false
    var textBlockCache: [Int: [UInt8]] = [:]
    var textCacheOrder: [Int] = []
    /// Row blocks a point read has already asked the kernel to read in (`prefetch`).
    var prefetchedBlocks = Set<Int>()

    public var fileSize: Int { file.bytes.count }

    /// See `MappedFile.dropResidentPages`; also empties the decoded-block caches.
    public func dropResidentPages() {
        let postings = lock.withLock { () -> TextPostingsFile? in
            textBlockCache.removeAll()
            textCacheOrder.removeAll()
            return mappedPostings
        }
        file.dropResidentPages()
        postings?.dropResidentPages()
    }

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        let b = file.bytes
        func corrupt(_ what: String, _ off: Int) -> StoreError { StoreError("corrupt segment: \(what)", path: path, offset: off) }
        guard b.count >= SegmentFormat.headerSize + SegmentFormat.trailerSize else { throw corrupt("file too short (\(b.count) bytes)", 0) }
        guard UnsafeRawBufferPointer(rebasing: b[0..<4]).elementsEqual(SegmentFormat.magic) else { throw corrupt("bad magic", 0) }
        var h = ByteReader(b, at: 4)
        let version = h.u16()
        let codecID = h.u16()
        guard version >= 1, version <= SegmentFormat.version else { throw corrupt("unsupported version \(version)", 4) }
        guard let codec = SegmentBlockCodec(version: version, codecID: codecID) else { throw corrupt("unknown block codec \(codecID)", 6) }
        self.codec = codec
        let tail = b.count - SegmentFormat.trailerSize
        var t = ByteReader(b, at: tail)
        let footerLen = Int(t.u32())
        let footerCRC = t.u32()
        guard UnsafeRawBufferPointer(rebasing: b[(tail + 8)..<(tail + 12)]).elementsEqual(SegmentFormat.magic) else { throw corrupt("bad trailing magic", tail + 8) }
        guard footerLen > 0, footerLen <= tail - SegmentFormat.headerSize else { throw corrupt("footer length \(footerLen) out of range", tail) }
        let footerStart = tail - footerLen
        let footerBytes = UnsafeRawBufferPointer(rebasing: b[footerStart..<tail])
        guard Checksum.crc32(footerBytes) == footerCRC else { throw corrupt("footer CRC mismatch", footerStart) }
        var f = ByteReader(footerBytes)
        id = f.u64()
        rowCount = Int(f.u32())
        minStart = f.i64()
        maxStart = f.i64()
        maxWALFile = f.u64()
        createdNanos = f.i64()
        rowsPerBlock = Int(f.u32())
        guard rowsPerBlock > 0 else { throw corrupt("rows per block is zero", footerStart) }
        let nCols = f.count(limit: 1024)
        let expectedBlocks = (rowCount + rowsPerBlock - 1) / rowsPerBlock
        // Offsets wider than the file become -1 here and fail the bounds checks below.
        func offset(_ f: inout ByteReader) -> Int { Int(exactly: f.u64()) ?? -1 }
        func block(_ f: inout ByteReader) -> Block {
            Block(offset: offset(&f), stored: Int(f.u32()), raw: Int(f.u32()), crc: f.u32())
        }
        for _ in 0..<nCols {
            let cid = f.u16()
            let enc = f.u8()
            let width = Int(f.u8())
            let hasMM = f.u8() == 1
            let lo = f.i64(), hi = f.i64()
            guard let col = SegmentFormat.Column(rawValue: cid), let e = SegmentFormat.Encoding(rawValue: enc) else {
                throw corrupt("unknown column \(cid) or encoding \(enc)", footerStart + f.pos)
            }
            // Every decoder assumes the column's own encoding and a code width it can read.
            guard SegmentFormat.readable(e, for: col) else { throw corrupt("column \(col) has encoding \(enc)", footerStart + f.pos) }
            guard e != .dictionary || [1, 2, 4].contains(width) else { throw corrupt("column \(col) has code width \(width)", footerStart + f.pos) }
            var info = ColumnInfo(column: col, encoding: e, width: width, minMax: hasMM ? (lo, hi) : nil,
                                  dictionary: nil, dictionaryCount: 0, blocks: [])
            if e == .dictionary {
                info.dictionary = block(&f)
                info.dictionaryCount = Int(f.u32())
            }
            let nb = f.count(limit: 1 << 24)
            for _ in 0..<nb { info.blocks.append(block(&f)) }
            guard info.blocks.count == expectedBlocks else { throw corrupt("column \(col) has \(info.blocks.count) blocks, expected \(expectedBlocks)", footerStart) }
            columns[Int(cid)] = info
        }
        textCount = f.count()
        textOffsets = Block(offset: offset(&f), stored: Int(f.u32()), raw: 0, crc: f.u32())
        let ntb = f.count(limit: 1 << 24)
        var tbs: [(Int, Block)] = []
        for _ in 0..<ntb {
            let first = Int(f.u32())
            tbs.append((first, block(&f)))
        }
        textBlocks = tbs
        guard !f.failed else { throw corrupt("footer truncated", footerStart) }
        for c in SegmentFormat.Column.allCases where columns[Int(c.rawValue)] == nil && !SegmentFormat.Column.optional.contains(c) {
            throw corrupt("column \(c) missing", footerStart)
        }
        // Everything a decoder later indexes or allocates by is checked here, against the file:
        // a footer that passes its CRC but says the wrong thing (a writer bug, a forged file) is an
        // error naming the segment, never a trap or a multi-gigabyte allocation.
        func inBounds(_ blk: Block) -> Bool {
            blk.offset >= SegmentFormat.headerSize && blk.offset <= footerStart - blk.stored
        }
        for info in columns.compactMap({ $0 }) {
            for blk in info.blocks + (info.dictionary.map { [$0] } ?? []) where !inBounds(blk) {
                throw corrupt("column \(info.column) block out of bounds", blk.offset)
            }
            if info.encoding == .compressedBlobs {
                for blk in info.blocks where blk.raw > codec.maxRaw(stored: blk.stored) {
                    throw corrupt("column \(info.column) block claims \(blk.raw) bytes from \(blk.stored) compressed", blk.offset)
                }
            }
            if let d = info.dictionary {
                guard d.raw <= codec.maxRaw(stored: d.stored), info.dictionaryCount <= d.raw else {
                    throw corrupt("dictionary of \(info.column): \(info.dictionaryCount) entries in \(d.raw) bytes", d.offset)
                }
            }
            // Fixed-width columns hold exactly their rows' bytes: this also bounds the row count by
            // the file's size before anything allocates per row.
            let rowBytes: Int? = switch info.encoding {
            case .rawU64, .float64: 8
            case .dictionary: info.width
            default: nil
            }
            if let rowBytes {
                for (bi, blk) in info.blocks.enumerated() {
                    let rows = min(rowsPerBlock, rowCount - bi * rowsPerBlock)
                    guard blk.stored == rowBytes * rows else {
                        throw corrupt("column \(info.column) block \(bi) holds \(blk.stored) bytes for \(rows) rows", blk.offset)
                    }
                }
            }
        }
        guard textOffsets.offset >= SegmentFormat.headerSize, textOffsets.offset <= footerStart - textOffsets.stored, textOffsets.stored == 4 * textCount else {
            throw corrupt("text offsets out of bounds", textOffsets.offset)
        }
        var previousFirst = -1
        for (bi, tb) in textBlocks.enumerated() {
            guard inBounds(tb.block), tb.block.raw <= codec.maxRaw(stored: tb.block.stored) else { throw corrupt("text block \(bi) out of bounds", tb.block.offset) }
            guard tb.first > previousFirst, tb.first < textCount || (tb.first == textCount && bi == textBlocks.count - 1) else {
                throw corrupt("text block \(bi) starts at text \(tb.first)", tb.block.offset)
            }
            previousFirst = tb.first
        }
        guard textCount == 0 || textBlocks.first?.first == 0 else { throw corrupt("the text blocks do not start at text 0", textOffsets.offset) }
        // Reading the header and footer mapped whole page-cache folios (the first 2 MiB of the file
        // here): everything needed is copied out, so unmap them rather than carry 2 MB of RSS per
        // open segment.
        file.dropResidentPages()
    }

    public func columnMinMax(_ c: SegmentFormat.Column) -> (Int64, Int64)? { columns[Int(c.rawValue)]?.minMax }
}
