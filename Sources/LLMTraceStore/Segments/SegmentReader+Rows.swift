import LLMTraceModel

/// Whole spans from a row range, and the per-column decoders they are built from.
extension SegmentReader {
    /// Decodes the spans in `rows` (a range of row numbers) with every field. `texts`: the whole
    /// text store (`allTexts()`), for a caller that reads one segment in several ranges.
    public func spans(rows: Range<Int>, texts: [String]? = nil) throws -> [Span] {
        guard rows.lowerBound >= 0, rows.upperBound <= rowCount else {
            throw StoreError("row range \(rows) outside 0..<\(rowCount)", path: path)
        }
        if rows.isEmpty { return [] }
        if texts == nil && rows.count < 2048 { prefetch(rows) }
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
        let bulkTexts: [String]? = try texts ?? (rows.count >= 2048 ? allTexts() : nil)
        if bulkTexts == nil { prefetchTexts(ofDetails: details) }

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

    /// The first point read of a row block asks for every column's block of it (and the
    /// dictionaries) at once: after a restart, with the file out of the page cache, a trace lookup
    /// otherwise waited for some thirty page faults one after another.
    func prefetch(_ rows: Range<Int>) {
        let blocks = (rows.lowerBound / rowsPerBlock)...((rows.upperBound - 1) / rowsPerBlock)
        // The dictionaries with the segment's first prefetch.
        let (fresh, firstTouch) = lock.withLock { () -> ([Int], Bool) in
            let f = blocks.filter { !prefetchedBlocks.contains($0) }
            let first = prefetchedBlocks.isEmpty
            prefetchedBlocks.formUnion(f)
            return (f, first)
        }
        guard !fresh.isEmpty else { return }
        var ranges: [(offset: Int, count: Int)] = []
        for case let info? in columns {
            for bi in fresh where bi < info.blocks.count { ranges.append((info.blocks[bi].offset, info.blocks[bi].stored)) }
            if firstTouch, let d = info.dictionary { ranges.append((d.offset, d.stored)) }
        }
        file.willNeed(ranges)
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

    /// Rows of a bit-packed column (`PackedInts`), each read alone; nil for null.
    func decodePacked(_ c: SegmentFormat.Column, _ rows: Range<Int>) throws -> [Int64?] {
        let nullable = columns[Int(c.rawValue)]!.encoding == .nullablePacked
        var out: [Int64?] = []
        out.reserveCapacity(rows.count)
        try forBlocks(c, rows) { r, blockRows in
            guard let (base, width) = PackedInts.header(r.base, count: blockRows.count, nullable: nullable) else { r.fail(); return }
            let lo = max(rows.lowerBound, blockRows.lowerBound), hi = min(rows.upperBound, blockRows.upperBound)
            for row in lo..<hi {
                out.append(PackedInts.value(r.base, row: row - blockRows.lowerBound, count: blockRows.count, base: base, width: width, nullable: nullable))
            }
        }
        return out
    }

    func isPacked(_ c: SegmentFormat.Column) -> Bool {
        let e = columns[Int(c.rawValue)]!.encoding
        return e == .packed || e == .nullablePacked
    }

    func decodeStarts(_ rows: Range<Int>) throws -> [Int64] {
        if isPacked(.start) { return try decodePacked(.start, rows).map { $0 ?? 0 } }
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
        if isPacked(c) { return try decodePacked(c, rows).map { UInt64(bitPattern: $0 ?? 0) } }
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
        if isPacked(c) { return try decodePacked(c, rows) }
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
    /// `only`: just these rows (ascending); a block holding none of them is not inflated.
    func forEachDetails(only: [Int32]? = nil, _ body: (Int, UnsafeRawBufferPointer) throws -> Bool) throws {
        guard rowCount > 0 else { return }
        guard let only else { return try forEachDetails(in: 0..<rowCount, only: nil, body) }
        var k = 0
        while k < only.count {
            let block = Int(only[k]) / rowsPerBlock
            guard only[k] >= 0, Int(only[k]) < rowCount else { throw StoreError("row \(only[k]) outside 0..<\(rowCount)", path: path) }
            let blockRows = (block * rowsPerBlock)..<min(rowCount, (block + 1) * rowsPerBlock)
            let first = k
            while k < only.count && Int(only[k]) < blockRows.upperBound { k += 1 }
            try forEachDetails(in: blockRows, only: only[first..<k], body)
        }
    }

    /// The rows of `range` (whole blocks), or of them those in `only` (ascending).
    private func forEachDetails(in range: Range<Int>, only: ArraySlice<Int32>?, _ body: (Int, UnsafeRawBufferPointer) throws -> Bool) throws {
        var w = only?.startIndex ?? 0
        try forBlocks(.details, range, compressed: true) { r, blockRows in
            for row in blockRows {
                let len = r.count(limit: r.remaining)
                guard len <= r.remaining else { throw StoreError("corrupt segment: details of row \(row) run past their block", path: path) }
                if let only {
                    guard w < only.endIndex, Int(only[w]) == row else { r.skip(len); continue }
                    w += 1
                }
                if len == 0 { continue }
                let start = r.pos
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
}
