import LLMTraceModel

/// Reads an immutable segment file through a memory map.
///
/// Opening parses and checks only the footer; column blocks, dictionaries and text blocks are read on
/// demand, each checked against its CRC, so a flipped byte surfaces as an error naming the file and
/// offset rather than as a wrong span.
public final class SegmentReader: @unchecked Sendable {
    public let path: String
    public let id: UInt64
    public let rowCount: Int
    public let minStart: Int64
    public let maxStart: Int64
    public let maxWALFile: UInt64
    public let createdNanos: Int64
    public let rowsPerBlock: Int
    private let file: MappedFile

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

    private let lock = Condition()
    private var dictCache: [Int: [String]] = [:]
    /// Inflated dictionaries with the offset of each entry, for trace lookups: they need a few
    /// entries, and building every String of a session or user dictionary (tens of thousands) made
    /// the first lookup in a segment cost several milliseconds.
    private var rawDictCache: [Int: (bytes: [UInt8], offsets: [UInt32])] = [:]
    /// Columns whose every block has passed its CRC in this process. Segments are immutable, so a
    /// query scanning the same column again skips the checksum (it cost ~6% of a full scan).
    private var verifiedColumns = Set<Int>()
    private var postings: TextPostings?
    /// Text ids of attribute keys looked up so far (nil: not in this segment).
    private var textIDCache: [ExactString: Int?] = [:]
    private var mappedPostings: TextPostingsFile?
    private var postingsUnusable = false
    private var textBlockCache: [Int: [UInt8]] = [:]
    private var textCacheOrder: [Int] = []

    public var fileSize: Int { file.bytes.count }

    /// See `MappedFile.dropResidentPages`; also empties the decoded-block caches.
    public func dropResidentPages() {
        lock.withLock {
            textBlockCache.removeAll()
            textCacheOrder.removeAll()
        }
        file.dropResidentPages()
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
        guard version == SegmentFormat.version else { throw corrupt("unsupported version \(version)", 4) }
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
            guard e == SegmentFormat.encoding(of: col) else { throw corrupt("column \(col) has encoding \(enc)", footerStart + f.pos) }
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
                for blk in info.blocks where blk.raw > Zlib.maxInflatedSize(blk.stored) {
                    throw corrupt("column \(info.column) block claims \(blk.raw) bytes from \(blk.stored) compressed", blk.offset)
                }
            }
            if let d = info.dictionary {
                guard d.raw <= Zlib.maxInflatedSize(d.stored), info.dictionaryCount <= d.raw else {
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
            guard inBounds(tb.block), tb.block.raw <= Zlib.maxInflatedSize(tb.block.stored) else { throw corrupt("text block \(bi) out of bounds", tb.block.offset) }
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

    // MARK: Checked block access

    private func checked(_ blk: Block, _ what: String) throws -> UnsafeRawBufferPointer {
        let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[blk.offset..<(blk.offset + blk.stored)])
        guard Checksum.crc32(bytes) == blk.crc else {
            throw StoreError("corrupt segment: CRC mismatch in \(what)", path: path, offset: blk.offset)
        }
        return bytes
    }

    private func inflate(_ blk: Block, _ what: String) throws -> [UInt8] {
        let bytes = try checked(blk, what)
        do {
            return try Zlib.decompress(bytes, size: blk.raw)
        } catch {
            throw StoreError("corrupt segment: \(error) in \(what)", path: path, offset: blk.offset)
        }
    }

    /// The distinct values of a dictionary column (entry k-1 is code k); cached after the first read,
    /// so a query can prune a segment whose dictionary lacks the value it asks for.
    public func dictionary(_ c: SegmentFormat.Column) throws -> [String] {
        let key = Int(c.rawValue)
        if let d = lock.withLock({ dictCache[key] }) { return d }
        guard let info = columns[key] else { return [] }  // an optional column this segment predates
        let raw = try inflate(info.dictionary!, "dictionary of \(c)")
        var out: [String] = []
        out.reserveCapacity(info.dictionaryCount)
        raw.withUnsafeBytes { p in
            var r = ByteReader(p)
            for _ in 0..<info.dictionaryCount { out.append(r.string()) }
        }
        guard out.count == info.dictionaryCount else { throw StoreError("corrupt segment: dictionary of \(c) is short", path: path) }
        lock.withLock { dictCache[key] = out }
        return out
    }

    /// The decoded text with id `id`.
    func text(_ id: Int) throws -> String {
        guard id >= 0, id < textCount else { throw StoreError("corrupt segment: text id \(id) out of range", path: path) }
        // Last block whose first id is <= id.
        var lo = 0, hi = textBlocks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if textBlocks[mid].first <= id { lo = mid } else { hi = mid - 1 }
        }
        let bi = lo
        let data = try textBlock(bi)
        var offs = ByteReader(file.bytes, at: textOffsets.offset + 4 * id)
        let start = Int(offs.u32())
        let end: Int
        if id + 1 < textCount && (bi + 1 >= textBlocks.count || id + 1 < textBlocks[bi + 1].first) {
            end = Int(offs.u32())
        } else {
            end = data.count
        }
        guard start <= end, end <= data.count else { throw StoreError("corrupt segment: text \(id) offsets out of range", path: path) }
        return data.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }
    }

    /// Every text of the store, in id order (inflates each block once).
    func allTexts() throws -> [String] {
        var out: [String] = []
        out.reserveCapacity(textCount)
        try forEachText { _, bytes in
            out.append(String(decoding: bytes, as: UTF8.self))
            return true
        }
        guard out.count == textCount else { throw StoreError("corrupt segment: text store holds \(out.count) texts, footer says \(textCount)", path: path) }
        return out
    }

    /// Calls `body` with each text's id and bytes in id order, inflating each block once (not
    /// through the lookup cache, which a walk would flush) until `body` returns false.
    private func forEachText(_ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Bool) throws {
        let offsets = try checked(textOffsets, "text offsets")
        for (bi, tb) in textBlocks.enumerated() {
            let data = try inflate(tb.block, "text block \(bi)")
            let end = bi + 1 < textBlocks.count ? textBlocks[bi + 1].first : textCount
            guard tb.first <= end, end <= textCount else { throw StoreError("corrupt segment: text block \(bi) ids out of order", path: path) }
            var o = ByteReader(offsets, at: 4 * tb.first)
            var starts: [Int] = []
            for _ in tb.first..<end { starts.append(Int(o.u32())) }
            starts.append(data.count)
            for k in 0..<(end - tb.first) {
                guard starts[k] <= starts[k + 1], starts[k + 1] <= data.count else {
                    throw StoreError("corrupt segment: text \(tb.first + k) offsets out of range", path: path)
                }
                let more = try data.withUnsafeBufferPointer { try body(tb.first + k, UnsafeBufferPointer(rebasing: $0[starts[k]..<starts[k + 1]])) }
                if !more { return }
            }
        }
    }

    private func textBlock(_ bi: Int) throws -> [UInt8] {
        if let d = lock.withLock({ textBlockCache[bi] }) { return d }
        let d = try inflate(textBlocks[bi].block, "text block \(bi)")
        lock.withLock {
            textBlockCache[bi] = d
            textCacheOrder.append(bi)
            // Small cache (2 MB): pool texts (system prompts, popular chunks) live in the first blocks and hit often.
            if textCacheOrder.count > 128 { textBlockCache[textCacheOrder.removeFirst()] = nil }
        }
        return d
    }

    // MARK: Rows

    /// Decodes the spans in `rows` (a range of row numbers) with every field.
    public func spans(rows: Range<Int>) throws -> [Span] {
        guard rows.lowerBound >= 0, rows.upperBound <= rowCount else {
            throw StoreError("row range \(rows) outside 0..<\(rowCount)", path: path)
        }
        if rows.isEmpty { return [] }
        var out: [Span] = []
        out.reserveCapacity(rows.count)
        let traceIDs = try decodeTraceIDs(rows)
        let spanIDs = try decodeU64(.spanID, rows)
        let parents = try decodeU64(.parentSpanID, rows)
        let starts = try decodeStarts(rows)
        let durations = try decodeVarints(.duration, rows)
        var dicts: [SegmentFormat.Column: [String?]] = [:]
        for c in [SegmentFormat.Column.project, .service, .name, .kind, .status, .provider, .requestModel, .responseModel,
                  .environment, .promptName, .promptVersion, .sessionID, .userID, .statusMessage, .finishReason] {
            dicts[c] = try decodeDict(c, rows)
        }
        var ints: [SegmentFormat.Column: [Int64?]] = [:]
        for c in [SegmentFormat.Column.inputTokens, .outputTokens, .cachedTokens, .reasoningTokens, .ttft, .maxTokens] {
            ints[c] = try decodeNullable(c, rows)
        }
        var doubles: [SegmentFormat.Column: [Double?]] = [:]
        for c in [SegmentFormat.Column.costUSD, .temperature, .topP] { doubles[c] = try decodeDoubles(c, rows) }
        let details = try decodeBlobs(rows)
        // Wide reads (scans, verification, text indexing) inflate the whole text store once, in
        // order; point reads go through the block cache.
        let bulkTexts: [String]? = rows.count >= 2048 ? try allTexts() : nil

        for k in 0..<rows.count {
            guard let kindS = dicts[.kind]![k], let kind = SpanKind(rawValue: kindS),
                  let statusS = dicts[.status]![k], let status = SpanStatus(rawValue: statusS),
                  let project = dicts[.project]![k], let service = dicts[.service]![k], let name = dicts[.name]![k] else {
                throw StoreError("corrupt segment: required field missing in row \(rows.lowerBound + k)", path: path)
            }
            var s = Span(traceID: traceIDs[k], spanID: SpanID(spanIDs[k]), parentSpanID: SpanID(parents[k]),
                         project: project, service: service, name: name, kind: kind,
                         startNanos: starts[k], endNanos: starts[k] &+ Int64(bitPattern: durations[k]), status: status)
            s.provider = dicts[.provider]![k]
            s.requestModel = dicts[.requestModel]![k]
            s.responseModel = dicts[.responseModel]![k]
            s.environment = dicts[.environment]![k]
            s.promptName = dicts[.promptName]![k]
            s.promptVersion = dicts[.promptVersion]![k]
            s.sessionID = dicts[.sessionID]![k]
            s.userID = dicts[.userID]![k]
            s.inputTokens = ints[.inputTokens]![k]
            s.outputTokens = ints[.outputTokens]![k]
            s.cachedTokens = ints[.cachedTokens]![k]
            s.reasoningTokens = ints[.reasoningTokens]![k]
            s.timeToFirstTokenNanos = ints[.ttft]![k]
            s.maxTokens = ints[.maxTokens]![k]
            s.statusMessage = dicts[.statusMessage]![k]
            s.finishReason = dicts[.finishReason]![k]
            s.costUSD = doubles[.costUSD]![k]
            s.temperature = doubles[.temperature]![k]
            s.topP = doubles[.topP]![k]
            if let d = details[k], let bulkTexts {
                let ok = d.withUnsafeBytes { p -> Bool in
                    var r = ByteReader(p)
                    return SpanBinaryCodec.decodeDetails(&r, texts: bulkTexts, into: &s) && r.isAtEnd
                }
                guard ok else { throw StoreError("corrupt segment: details of row \(rows.lowerBound + k) do not decode", path: path) }
            } else if let d = details[k] {
                let lookup = SegmentTextLookup(reader: self)
                let ok = d.withUnsafeBytes { p -> Bool in
                    var r = ByteReader(p)
                    return SpanBinaryCodec.decodeDetails(&r, texts: lookup, into: &s) && r.isAtEnd
                }
                if let e = lookup.error { throw e }
                guard ok else { throw StoreError("corrupt segment: details of row \(rows.lowerBound + k) do not decode", path: path) }
            }
            out.append(s)
        }
        return out
    }

    /// Every span, in row order.
    public func allSpans() throws -> [Span] { try spans(rows: 0..<rowCount) }

    /// Calls `body` for each block covering `rows` with a reader over its bytes and the block's row range.
    private func forBlocks(_ c: SegmentFormat.Column, _ rows: Range<Int>, compressed: Bool = false,
                           _ body: (inout ByteReader, Range<Int>) throws -> Void) throws {
        let info = columns[Int(c.rawValue)]!
        let first = rows.lowerBound / rowsPerBlock
        let last = (rows.upperBound - 1) / rowsPerBlock
        let key = Int(c.rawValue)
        let verified = !compressed && lock.withLock { verifiedColumns.contains(key) }
        for bi in first...last {
            let blockRows = (bi * rowsPerBlock)..<min(rowCount, (bi + 1) * rowsPerBlock)
            if compressed {
                let data = try inflate(info.blocks[bi], "column \(c) block \(bi)")
                try data.withUnsafeBytes { p in
                    var r = ByteReader(p)
                    try body(&r, blockRows)
                    if r.failed { throw StoreError("corrupt segment: column \(c) block \(bi) does not decode", path: path, offset: info.blocks[bi].offset) }
                }
            } else {
                let blk = info.blocks[bi]
                var r = ByteReader(verified ? UnsafeRawBufferPointer(rebasing: file.bytes[blk.offset..<(blk.offset + blk.stored)])
                                            : try checked(blk, "column \(c) block \(bi)"))
                try body(&r, blockRows)
                if r.failed { throw StoreError("corrupt segment: column \(c) block \(bi) does not decode", path: path, offset: info.blocks[bi].offset) }
            }
        }
        // Every block checked without an error: later whole-column reads may skip the CRCs.
        if !compressed, !verified, rows.lowerBound == 0, rows.upperBound == rowCount { lock.withLock { _ = verifiedColumns.insert(key) } }
    }

    func decodeTraceIDs(_ rows: Range<Int>) throws -> [TraceID] {
        var out: [TraceID] = []
        out.reserveCapacity(rows.count)
        try forBlocks(.traceID, rows) { r, blockRows in
            var row = blockRows.lowerBound
            let runs = r.count()
            for _ in 0..<runs {
                let t = TraceID(hi: r.u64(), lo: r.u64())
                let len = r.count()
                for _ in 0..<len {
                    if rows.contains(row) { out.append(t) }
                    row += 1
                }
            }
        }
        guard out.count == rows.count else { throw StoreError("corrupt segment: trace id runs do not cover rows \(rows)", path: path) }
        return out
    }

    func decodeU64(_ c: SegmentFormat.Column, _ rows: Range<Int>) throws -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(rows.count)
        try forBlocks(c, rows) { r, blockRows in
            let lo = max(rows.lowerBound, blockRows.lowerBound), hi = min(rows.upperBound, blockRows.upperBound)
            r.pos = 8 * (lo - blockRows.lowerBound)
            for _ in lo..<hi { out.append(r.u64()) }
        }
        return out
    }

    func decodeStarts(_ rows: Range<Int>) throws -> [Int64] {
        let base = columns[Int(SegmentFormat.Column.start.rawValue)]!.minMax?.0 ?? 0
        var out: [Int64] = []
        out.reserveCapacity(rows.count)
        try forBlocks(.start, rows) { r, blockRows in
            var prev = base
            for row in blockRows {
                prev = prev &+ r.svarint()
                if row >= rows.upperBound { break }
                if row >= rows.lowerBound { out.append(prev) }
            }
        }
        return out
    }

    func decodeVarints(_ c: SegmentFormat.Column, _ rows: Range<Int>) throws -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(rows.count)
        try forBlocks(c, rows) { r, blockRows in
            for row in blockRows {
                let v = r.varint()
                if row >= rows.upperBound { break }
                if row >= rows.lowerBound { out.append(v) }
            }
        }
        return out
    }

    func decodeNullable(_ c: SegmentFormat.Column, _ rows: Range<Int>) throws -> [Int64?] {
        var out: [Int64?] = []
        out.reserveCapacity(rows.count)
        try forBlocks(c, rows) { r, blockRows in
            for row in blockRows {
                let v = r.varint()
                if row >= rows.upperBound { break }
                if row >= rows.lowerBound { out.append(v == 0 ? nil : Int64(bitPattern: v &- 1)) }
            }
        }
        return out
    }

    func decodeDoubles(_ c: SegmentFormat.Column, _ rows: Range<Int>) throws -> [Double?] {
        var out: [Double?] = []
        out.reserveCapacity(rows.count)
        try forBlocks(c, rows) { r, blockRows in
            let lo = max(rows.lowerBound, blockRows.lowerBound), hi = min(rows.upperBound, blockRows.upperBound)
            r.pos = 8 * (lo - blockRows.lowerBound)
            for _ in lo..<hi {
                let bits = r.u64()
                out.append(bits == SegmentFormat.nullDoubleBits ? nil : Double(bitPattern: bits))
            }
        }
        return out
    }

    /// A dictionary inflated once, with entry offsets; entries become Strings only when asked for.
    private func rawDictionary(_ c: SegmentFormat.Column) throws -> (bytes: [UInt8], offsets: [UInt32]) {
        let key = Int(c.rawValue)
        if let d = lock.withLock({ rawDictCache[key] }) { return d }
        let info = columns[key]!
        let raw = try inflate(info.dictionary!, "dictionary of \(c)")
        var offsets: [UInt32] = []
        offsets.reserveCapacity(info.dictionaryCount)
        let ok = raw.withUnsafeBytes { p -> Bool in
            var r = ByteReader(p)
            for _ in 0..<info.dictionaryCount {
                offsets.append(UInt32(r.pos))
                _ = r.bytes(r.count(limit: r.remaining))
                if r.failed { return false }
            }
            return true
        }
        guard ok, offsets.count == info.dictionaryCount else { throw StoreError("corrupt segment: dictionary of \(c) is short", path: path) }
        lock.withLock { rawDictCache[key] = (raw, offsets) }
        return (raw, offsets)
    }

    func decodeDict(_ c: SegmentFormat.Column, _ rows: Range<Int>) throws -> [String?] {
        guard let width = columns[Int(c.rawValue)]?.width else { return [String?](repeating: nil, count: rows.count) }
        var codes: [Int] = []
        codes.reserveCapacity(rows.count)
        try forBlocks(c, rows) { r, blockRows in
            let lo = max(rows.lowerBound, blockRows.lowerBound), hi = min(rows.upperBound, blockRows.upperBound)
            r.pos = width * (lo - blockRows.lowerBound)
            for _ in lo..<hi {
                switch width {
                case 1: codes.append(Int(r.u8()))
                case 2: codes.append(Int(r.u16()))
                default: codes.append(Int(r.u32()))
                }
            }
        }
        let count = columns[Int(c.rawValue)]!.dictionaryCount
        if let bad = codes.first(where: { $0 > count }) {
            throw StoreError("corrupt segment: dictionary code \(bad) of \(c) out of range", path: path)
        }
        // A query already decoded the whole dictionary: use it.
        if let dict = lock.withLock({ dictCache[Int(c.rawValue)] }) {
            return codes.map { $0 == 0 ? nil : dict[$0 - 1] }
        }
        let (bytes, offsets) = try rawDictionary(c)
        var memo: [Int: String] = [:]
        return bytes.withUnsafeBytes { p in
            codes.map { code -> String? in
                guard code != 0 else { return nil }
                if let s = memo[code] { return s }
                var r = ByteReader(p)
                r.pos = Int(offsets[code - 1])
                let s = r.string()
                memo[code] = s
                return s
            }
        }
    }

    /// Calls `body` with each row's details bytes (rows without details are skipped), a block at
    /// a time, without copying a row out; `body` returns false when the bytes do not decode.
    func forEachDetails(_ body: (Int, UnsafeRawBufferPointer) throws -> Bool) throws {
        guard rowCount > 0 else { return }
        try forBlocks(.details, 0..<rowCount, compressed: true) { r, blockRows in
            for row in blockRows {
                let len = r.count(limit: r.remaining)
                if len == 0 { continue }
                let start = r.pos
                guard len <= r.remaining else { throw StoreError("corrupt segment: details of row \(row) run past their block", path: path) }
                r.skip(len)
                guard try body(row, UnsafeRawBufferPointer(rebasing: r.base[start..<(start + len)])) else { throw StoreError("corrupt segment: details of row \(row) do not decode", path: path) }
            }
        }
    }

    func decodeBlobs(_ rows: Range<Int>) throws -> [[UInt8]?] {
        var out: [[UInt8]?] = []
        out.reserveCapacity(rows.count)
        try forBlocks(.details, rows, compressed: true) { r, blockRows in
            for row in blockRows {
                let len = r.count(limit: r.remaining)
                if row >= rows.upperBound { break }
                if row >= rows.lowerBound {
                    out.append(len == 0 ? nil : Array(r.bytes(len)))
                } else {
                    r.skip(len)
                }
            }
        }
        return out
    }

    // MARK: Whole columns (query scans)

    /// A dictionary column as codes (0 = null, k = values[k-1]) and its values: predicates and
    /// group-by work on the codes without touching a string per row.
    public func dictColumn(_ c: SegmentFormat.Column) throws -> (codes: [UInt32], values: [String]) {
        guard let width = columns[Int(c.rawValue)]?.width else { return ([UInt32](repeating: 0, count: rowCount), []) }
        let dict = try dictionary(c)
        var codes = [UInt32](repeating: 0, count: rowCount)
        guard rowCount > 0 else { return (codes, dict) }
        var maxCode: UInt32 = 0
        try codes.withUnsafeMutableBufferPointer { out in
            try forBlocks(c, 0..<rowCount) { r, rows in
                let n = rows.count
                guard r.remaining >= n * width else { r.fail(); return }
                let base = r.base.baseAddress! + r.pos
                switch width {
                case 1: for k in 0..<n { out[rows.lowerBound + k] = UInt32(base.load(fromByteOffset: k, as: UInt8.self)) }
                case 2: for k in 0..<n { out[rows.lowerBound + k] = UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))) }
                default: for k in 0..<n { out[rows.lowerBound + k] = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)) }
                }
                r.pos += n * width
                for k in rows { maxCode = max(maxCode, out[k]) }
            }
        }
        guard Int(maxCode) <= dict.count else { throw StoreError("corrupt segment: dictionary code \(maxCode) of \(c) out of range", path: path) }
        return (codes, dict)
    }

    /// An integer column (start, duration, or a nullable varint column) with its validity
    /// (nil when no row is null).
    public func intColumn(_ c: SegmentFormat.Column) throws -> (values: [Int64], valid: [Bool]?) {
        var values = [Int64](repeating: 0, count: rowCount)
        guard rowCount > 0 else { return (values, nil) }
        let enc = columns[Int(c.rawValue)]!.encoding
        var valid: [Bool]? = nil
        switch enc {
        case .deltaVarint:
            let base = columns[Int(c.rawValue)]!.minMax?.0 ?? 0
            try values.withUnsafeMutableBufferPointer { out in
                try forBlocks(c, 0..<rowCount) { r, rows in
                    var prev = base
                    for row in rows { prev = prev &+ r.svarint(); out[row] = prev }
                }
            }
        case .varint:
            try values.withUnsafeMutableBufferPointer { out in
                try forBlocks(c, 0..<rowCount) { r, rows in
                    for row in rows { out[row] = Int64(bitPattern: r.varint()) }
                }
            }
        case .nullableVarint:
            var v = [Bool](repeating: true, count: rowCount)
            var nulls = 0
            try values.withUnsafeMutableBufferPointer { out in
                try v.withUnsafeMutableBufferPointer { ok in
                    try forBlocks(c, 0..<rowCount) { r, rows in
                        for row in rows {
                            let x = r.varint()
                            if x == 0 { ok[row] = false; nulls += 1 } else { out[row] = Int64(bitPattern: x &- 1) }
                        }
                    }
                }
            }
            if nulls > 0 { valid = v }
        case .rawU64:
            try values.withUnsafeMutableBufferPointer { out in
                try forBlocks(c, 0..<rowCount) { r, rows in
                    for row in rows { out[row] = r.i64() }
                }
            }
        default:
            throw StoreError("column \(c) is not an integer column", path: path)
        }
        return (values, valid)
    }

    /// A float64 column with its validity (nil when no row is null).
    public func doubleColumn(_ c: SegmentFormat.Column) throws -> (values: [Double], valid: [Bool]?) {
        var values = [Double](repeating: 0, count: rowCount)
        var v = [Bool](repeating: true, count: rowCount)
        var nulls = 0
        guard rowCount > 0 else { return (values, nil) }
        try values.withUnsafeMutableBufferPointer { out in
            try v.withUnsafeMutableBufferPointer { ok in
                try forBlocks(c, 0..<rowCount) { r, rows in
                    for row in rows {
                        let bits = r.u64()
                        if bits == SegmentFormat.nullDoubleBits { ok[row] = false; nulls += 1 } else { out[row] = Double(bitPattern: bits) }
                    }
                }
            }
        }
        return (values, nulls > 0 ? v : nil)
    }

    /// Every row's trace id.
    public func traceIDColumn() throws -> [TraceID] { try decodeTraceIDs(0..<rowCount) }

    /// The distinct paragraphs of every message and document in the segment (the full-text units),
    /// read from the details column and the text store without decoding whole spans.
    public func searchableTexts() throws -> [String] { try textIndexInputs().texts }

    /// What the full-text indexer needs of a segment, from one pass over its details and text
    /// store: the searchable paragraphs, and which rows hold each (written beside the segment as
    /// its postings file).
    public func textIndexInputs() throws -> (texts: [String], postings: TextPostings) {
        let texts = try allTexts()
        let p = try buildPostings(texts)
        var out: [String] = []
        for k in texts.indices where p.offsets[k + 1] > p.offsets[k] && !texts[k].isEmpty { out.append(texts[k]) }
        return (out, p)
    }

    /// Writes the postings file of this segment (`TextPostingsFile`) from `postings`.
    public func writePostings(_ postings: TextPostings) throws {
        try TextPostingsFile.write(postings, for: self)
    }

    /// Rows holding a message or document paragraph whose hash is in `set` (1, else 0): from the
    /// postings file when the indexer has written it, else from postings built in memory.
    public func rows(matchingParagraphs set: Set<Int64>) throws -> [UInt8] {
        if let f = postingsFile() { return try f.rows(matching: set) }
        return try textPostings().rows(matching: set, rowCount: rowCount)
    }

    /// The postings file, once it exists. A corrupt one is set aside for this process (reported by
    /// `verify`): queries fall back to building postings in memory rather than failing.
    private func postingsFile() -> TextPostingsFile? {
        if let f = lock.withLock({ mappedPostings }) { return f }
        let p = TextPostingsFile.path(ofSegment: path)
        guard lock.withLock({ !postingsUnusable }), FileIO.exists(p) else { return nil }
        do {
            let f = try TextPostingsFile(path: p)
            guard f.segmentID == id, f.rowCount == rowCount else { throw StoreError("postings are for segment \(f.segmentID) of \(f.rowCount) rows", path: p) }
            lock.withLock {
                mappedPostings = f
                postings = nil
            }
            return f
        } catch {
            lock.withLock { postingsUnusable = true }
            return nil
        }
    }

    /// Attribute `key` of every row (nil where a row has none): one pass over the details column,
    /// skipping messages and documents. The key's text id is found by scanning the text store in
    /// id order without building strings, stopping at the match (keys are interned when a span
    /// first uses them, so they sit in the first blocks), and remembered; string values are read
    /// through the text block cache, each distinct one once.
    public func attributeColumn(_ key: String) throws -> [AttributeValue?] {
        var out = [AttributeValue?](repeating: nil, count: rowCount)
        guard rowCount > 0, let keyID = try textID(of: key) else { return out }
        let lookup = MemoTextLookup(reader: self)
        try forEachDetails { row, p in
            var r = ByteReader(p)
            guard let v = SpanBinaryCodec.attribute(&r, key: UInt32(keyID), texts: lookup) else { return lookup.error != nil }
            out[row] = v
            return true
        }
        if let e = lookup.error { throw e }
        return out
    }

    /// The id of the text equal to `s`, or nil when the segment has none.
    func textID(of s: String) throws -> Int? {
        if let known = lock.withLock({ textIDCache[ExactString(s)] }) { return known }
        let want = Array(s.utf8)
        var found: Int? = nil
        try forEachText { id, bytes in
            if bytes.count == want.count, bytes.elementsEqual(want) { found = id; return false }
            return true
        }
        lock.withLock { textIDCache[ExactString(s)] = .some(found) }
        return found
    }

    // MARK: Full-text postings

    /// Which rows hold which paragraph: the paragraph hashes of the segment's texts and, per text, the
    /// rows whose messages or documents use it. Built on first use (it inflates every details and
    /// text block once) and kept: a full-text query then costs a hash lookup per text.
    public struct TextPostings: Sendable {
        public let hashes: [Int64]
        /// Rows of text k are rows[offsets[k]..<offsets[k + 1]].
        let offsets: [Int32]
        let rows: [Int32]

        /// 1 for every row holding a paragraph whose hash is in `set`, else 0.
        public func rows(matching set: Set<Int64>, rowCount: Int) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: rowCount)
            for (k, h) in hashes.enumerated() where set.contains(h) {
                for i in Int(offsets[k])..<Int(offsets[k + 1]) { out[Int(rows[i])] = 1 }
            }
            return out
        }
    }

    public func textPostings() throws -> TextPostings {
        if let p = lock.withLock({ postings }) { return p }
        let p = try buildPostings(try allTexts())
        lock.withLock { postings = p }
        return p
    }

    private func buildPostings(_ texts: [String]) throws -> TextPostings {
        let hashes = texts.map { TextHash.hash($0) }
        var counts = [Int32](repeating: 0, count: texts.count + 1)
        var pairs: [(UInt32, Int32)] = []
        var ids = Set<UInt32>()
        try forEachDetails { row, p in
            ids.removeAll(keepingCapacity: true)
            var r = ByteReader(p)
            guard SpanBinaryCodec.contentTextIDs(&r, into: &ids) else { return false }
            for id in ids {
                guard Int(id) < texts.count else { throw StoreError("corrupt segment: text id \(id) out of range", path: path) }
                pairs.append((id, Int32(row)))
                counts[Int(id) + 1] += 1
            }
            return true
        }
        for k in 0..<texts.count { counts[k + 1] += counts[k] }
        var fill = counts
        var rows = [Int32](repeating: 0, count: pairs.count)
        for (id, row) in pairs {
            rows[Int(fill[Int(id)])] = row
            fill[Int(id)] += 1
        }
        return TextPostings(hashes: hashes, offsets: counts, rows: rows)
    }

    // MARK: Verification

    /// Checks the CRC of every block, dictionary and text block, then decodes every row.
    /// Returns human-readable problems; empty means the segment is sound.
    public func verify() -> [String] {
        var problems: [String] = []
        for info in columns.compactMap({ $0 }) {
            if let d = info.dictionary {
                do { _ = try checked(d, "dictionary of \(info.column)") } catch { problems.append("\(error)") }
            }
            for (i, b) in info.blocks.enumerated() {
                do { _ = try checked(b, "column \(info.column) block \(i)") } catch { problems.append("\(error)") }
            }
        }
        do { _ = try checked(textOffsets, "text offsets") } catch { problems.append("\(error)") }
        for (i, tb) in textBlocks.enumerated() {
            do { _ = try checked(tb.block, "text block \(i)") } catch { problems.append("\(error)") }
        }
        if problems.isEmpty {
            do { _ = try allSpans() } catch { problems.append("\(error)") }
        }
        // The postings file, when written, must be exactly what this segment's texts give.
        let pp = TextPostingsFile.path(ofSegment: path)
        if problems.isEmpty, FileIO.exists(pp) {
            do {
                let f = try TextPostingsFile(path: pp)
                problems += f.verify()
                let want = TextPostingsFile.encode(try buildPostings(try allTexts()), segmentID: id, rowCount: rowCount)
                if try FileIO.readFile(pp) != want {
                    problems.append("postings file \(pp) does not match the segment's texts (rebuild: delete it and reopen the store for writing)")
                }
            } catch {
                problems.append("\(error)")
            }
        }
        return problems
    }
}

/// Text lookup that resolves each id once (through the reader's block cache) and remembers it.
final class MemoTextLookup: TextLookup {
    let reader: SegmentReader
    var error: Error?
    private var memo: [UInt32: String] = [:]

    init(reader: SegmentReader) { self.reader = reader }

    func text(_ id: UInt32) -> String? {
        if let s = memo[id] { return s }
        do {
            let s = try reader.text(Int(id))
            memo[id] = s
            return s
        } catch {
            if self.error == nil { self.error = error }
            return nil
        }
    }
}

/// Text lookup from a segment's text store; remembers the first error for the caller to throw.
final class SegmentTextLookup: TextLookup {
    let reader: SegmentReader
    var error: Error?

    init(reader: SegmentReader) { self.reader = reader }

    func text(_ id: UInt32) -> String? {
        do {
            return try reader.text(Int(id))
        } catch {
            if self.error == nil { self.error = error }
            return nil
        }
    }
}
