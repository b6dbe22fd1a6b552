import LLMTraceModel

/// Checked access to the file: every block's CRC before its bytes are used, compressed blocks decoded,
/// dictionaries read once and cached, column blocks walked for a row range.
extension SegmentReader {
    func checked(_ blk: Block, _ what: String) throws -> UnsafeRawBufferPointer {
        let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[blk.offset..<(blk.offset + blk.stored)])
        guard Checksum.crc32(bytes) == blk.crc else {
            throw StoreError("corrupt segment: CRC mismatch in \(what)", path: path, offset: blk.offset)
        }
        return bytes
    }

    /// The block's bytes decoded, its CRC checked first unless `verified` (it matched once in
    /// this process already).
    func inflate(_ blk: Block, _ what: String, verified: Bool = false) throws -> [UInt8] {
        let bytes = verified ? UnsafeRawBufferPointer(rebasing: file.bytes[blk.offset..<(blk.offset + blk.stored)]) : try checked(blk, what)
        do {
            return try codec.decode(bytes, raw: blk.raw)
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

    /// Calls `body` for each block covering `rows` with a reader over its bytes and the block's row range.
    func forBlocks(_ c: SegmentFormat.Column, _ rows: Range<Int>, compressed: Bool = false,
                           _ body: (inout ByteReader, Range<Int>) throws -> Void) throws {
        let info = columns[Int(c.rawValue)]!
        let first = rows.lowerBound / rowsPerBlock
        let last = (rows.upperBound - 1) / rowsPerBlock
        let key = Int(c.rawValue)
        let verified = !compressed && lock.withLock { verifiedColumns.contains(key) }
        for bi in first...last {
            let blockRows = (bi * rowsPerBlock)..<min(rowCount, (bi + 1) * rowsPerBlock)
            if compressed {
                let blockKey = key << 32 | bi
                let known = lock.withLock { verifiedBlocks.contains(blockKey) }
                let data = try inflate(info.blocks[bi], "column \(c) block \(bi)", verified: known)
                if !known { lock.withLock { _ = verifiedBlocks.insert(blockKey) } }
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

    /// A dictionary inflated once, with entry offsets; entries become Strings only when asked for.
    func rawDictionary(_ c: SegmentFormat.Column) throws -> (bytes: [UInt8], offsets: [UInt32]) {
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
}
