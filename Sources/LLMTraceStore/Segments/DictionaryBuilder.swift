import LLMTraceModel

/// Builds a dictionary column for `SegmentWriter`: the distinct values in first-use order and a
/// code per row (0 = null, k = entry k−1).
///
/// Head rows carry their fixed fields' text ids: equal bytes have one id, so a code is an array
/// lookup by id. Spans (recovery, tests) are keyed by their strings' bytes: two spellings of one
/// text (NFC and NFD) are two entries, as sent. Both give the same entries and codes for the same
/// rows.
struct DictionaryBuilder {
    let texts: [String]
    /// Code of each text id in the column being built (0 = not seen yet); reset after each column
    /// by the ids it set, so it is allocated once per segment.
    private var codeOfText: [UInt32]

    init(texts: [String], byID: Bool) {
        self.texts = texts
        codeOfText = byID ? [UInt32](repeating: 0, count: texts.count) : []
    }

    mutating func build<R: SegmentRowFields>(_ col: SegmentFormat.Column, _ spans: UnsafeBufferPointer<R>) -> (entries: [String], codes: [UInt32]) {
        let n = spans.count
        var entries: [String] = []
        var codes = [UInt32](repeating: 0, count: n)
        if col == .kind || col == .status {
            // Enum columns: a code per case, in first-use order.
            var codeOfCase = [UInt32](repeating: 0, count: 64)
            for i in 0..<n {
                let kind = spans[i].kind, status = spans[i].status
                let (ordinal, value) = col == .kind ? (kind.ordinal, kind.rawValue) : (status.ordinal, status.rawValue)
                if codeOfCase[ordinal] == 0 {
                    entries.append(value)
                    codeOfCase[ordinal] = UInt32(entries.count)
                }
                codes[i] = codeOfCase[ordinal]
            }
            return (entries, codes)
        }
        let slot = FixedTextIDs.slot(of: col)!
        if R.hasTextIDs {
            var touched: [UInt32] = []
            for i in 0..<n {
                let id = spans[i].textID(slot)
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
            for id in touched { codeOfText[Int(id)] = 0 }
            return (entries, codes)
        }
        var dict: [ExactString: UInt32] = [:]
        // Rows are sorted by trace, so neighbours often share a value: compare with the last one
        // (equal strings that share storage compare in O(1)) before hashing.
        var lastValue: String? = nil
        var lastCode: UInt32 = 0
        for i in 0..<n {
            guard let v = spans[i].text(slot, texts) else { continue }
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
