import LLMTraceModel

/// Whole columns for query scans: dictionary codes, integers and doubles with validity, trace
/// ids, and one attribute of every row.
extension SegmentReader {
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
                let o = out.baseAddress! + rows.lowerBound
                // The largest code in the same pass (a second pass over the codes cost as much as the decode).
                var top: UInt32 = 0
                switch width {
                case 1: for k in 0..<n { let v = UInt32(base.load(fromByteOffset: k, as: UInt8.self)); o[k] = v; top = max(top, v) }
                case 2: for k in 0..<n { let v = UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self))); o[k] = v; top = max(top, v) }
                default: for k in 0..<n { let v = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)); o[k] = v; top = max(top, v) }
                }
                r.pos += n * width
                maxCode = max(maxCode, top)
            }
        }
        guard Int(maxCode) <= dict.count else { throw StoreError("corrupt segment: dictionary code \(maxCode) of \(c) out of range", path: path) }
        return (codes, dict)
    }

    /// An integer column (start, duration, a nullable integer column, span ids) with its validity
    /// (nil when no row is null). Null rows read as 0.
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
        case .packed, .nullablePacked:
            let nullable = enc == .nullablePacked
            var v = [Bool](repeating: true, count: nullable ? rowCount : 0)
            var nulls = 0
            try values.withUnsafeMutableBufferPointer { out in
                try v.withUnsafeMutableBufferPointer { ok in
                    try forBlocks(c, 0..<rowCount) { r, rows in
                        guard let (base, width) = PackedInts.header(r.base, count: rows.count, nullable: nullable) else { r.fail(); return }
                        nulls += PackedInts.decode(r.base, count: rows.count, base: base, width: width, into: out.baseAddress! + rows.lowerBound,
                                                   valid: nullable ? ok.baseAddress! + rows.lowerBound : nil)
                    }
                }
            }
            if nulls > 0 { valid = v }
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

    /// Attribute `key` of every row (nil where a row has none): one pass over the details column,
    /// skipping messages and documents. The key's text id is found by scanning the text store in
    /// id order without building strings, stopping at the match (keys are interned when a span
    /// first uses them, so they sit in the first blocks), and remembered; string values are read
    /// through the text block cache, each distinct one once.
    /// `rows`: only these (ascending; the others are left nil, and details blocks holding none of
    /// them are not inflated).
    public func attributeColumn(_ key: String, rows: [Int32]? = nil) throws -> [AttributeValue?] {
        try attributeColumns([key], rows: rows)[0]
    }

    /// Several attributes in one pass: each details block is inflated once for all of them.
    public func attributeColumns(_ keys: [String], rows: [Int32]? = nil) throws -> [[AttributeValue?]] {
        var out = [[AttributeValue?]](repeating: [AttributeValue?](repeating: nil, count: rowCount), count: keys.count)
        guard rowCount > 0, rows?.isEmpty != true else { return out }
        var ids: [(slot: Int, id: UInt32)] = []
        for (k, key) in keys.enumerated() { if let id = try textID(of: key) { ids.append((k, UInt32(id))) } }
        guard !ids.isEmpty else { return out }
        let lookup = MemoTextLookup(reader: self)
        try forEachDetails(only: rows) { row, p in
            for (slot, id) in ids {
                var r = ByteReader(p)
                guard let v = SpanBinaryCodec.attribute(&r, key: id, texts: lookup) else {
                    if lookup.error != nil { return true }
                    return false
                }
                out[slot][row] = v
            }
            return true
        }
        if let e = lookup.error { throw e }
        return out
    }
}
