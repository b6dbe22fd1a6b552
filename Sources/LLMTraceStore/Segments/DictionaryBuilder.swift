import LLMTraceModel

/// Builds a dictionary column for `SegmentWriter`: the distinct values in first-use order and a
/// code per row (0 = null, k = entry k−1).
///
/// Rows from a head come with their fixed fields' text ids (`FixedTextIDs`): equal bytes have one
/// id, so a code is an array lookup by id. Rows without ids (recovery, tests) are keyed by their
/// strings' bytes: two spellings of one text (NFC and NFD) are two entries, as sent. Both give
/// the same entries and codes for the same rows.
struct DictionaryBuilder {
    let texts: [String]
    /// `FixedTextIDs.width` ids per row, in segment row order.
    let ids: [UInt32]?
    /// Code of each text id in the column being built (0 = not seen yet); reset after each column
    /// by the ids it set, so it is allocated once per segment.
    private var codeOfText: [UInt32]

    init(texts: [String], ids: [UInt32]?) {
        self.texts = texts
        self.ids = ids
        codeOfText = ids == nil ? [] : [UInt32](repeating: 0, count: texts.count)
    }

    mutating func build(_ col: SegmentFormat.Column, _ spans: UnsafeBufferPointer<Span>) -> (entries: [String], codes: [UInt32]) {
        let n = spans.count
        var entries: [String] = []
        var codes = [UInt32](repeating: 0, count: n)
        if col == .kind || col == .status {
            // Enum columns: a code per case, in first-use order.
            var codeOfCase = [UInt32](repeating: 0, count: 64)
            for i in 0..<n {
                let (ordinal, value) = col == .kind ? (spans[i].kind.ordinal, spans[i].kind.rawValue) : (spans[i].status.ordinal, spans[i].status.rawValue)
                if codeOfCase[ordinal] == 0 {
                    entries.append(value)
                    codeOfCase[ordinal] = UInt32(entries.count)
                }
                codes[i] = codeOfCase[ordinal]
            }
            return (entries, codes)
        }
        if let ids, let slot = FixedTextIDs.slot(of: col) {
            let width = FixedTextIDs.width
            var touched: [UInt32] = []
            ids.withUnsafeBufferPointer { ids in
                for i in 0..<n {
                    let id = ids[i * width + slot.rawValue]
                    guard id != FixedTextIDs.none else { continue }
                    var c = codeOfText[Int(id)]
                    if c == 0 {
                        entries.append(texts[Int(id)])
                        c = UInt32(entries.count)
                        codeOfText[Int(id)] = c
                        touched.append(id)
                    }
                    codes[i] = c
                }
            }
            for id in touched { codeOfText[Int(id)] = 0 }
            return (entries, codes)
        }
        var dict: [ExactString: UInt32] = [:]
        // Rows are sorted by trace, so neighbours often share a value: compare with the last one
        // (equal strings that share storage compare in O(1)) before hashing.
        var lastValue: String? = nil
        var lastCode: UInt32 = 0
        for i in 0..<n {
            guard let v = SegmentWriter.dictValue(col, spans[i]) else { continue }
            if let lv = lastValue, ExactString.equal(lv, v) { codes[i] = lastCode; continue }
            lastValue = v
            if let c = dict[ExactString(v)] { codes[i] = c; lastCode = c; continue }
            entries.append(v)
            let c = UInt32(entries.count)
            dict[ExactString(v)] = c
            codes[i] = c
            lastCode = c
        }
        return (entries, codes)
    }
}

private extension SpanKind {
    var ordinal: Int { SpanBinaryCodec.kinds.firstIndex(of: self)! }
}

private extension SpanStatus {
    var ordinal: Int { SpanBinaryCodec.statuses.firstIndex(of: self)! }
}
