import LLMTraceModel

/// One unsealed span's fixed fields as the head keeps them: numbers, and text ids into the head's
/// `SharedTextTable` for the strings. No references, so appending a row to the head retains
/// nothing and sealing sorts plain bytes; a `Span` is made from it only when something reads the
/// row (a query, a trace lookup). Filled by `SpanBinaryCodec.encode` as it writes the WAL record,
/// from the ids it interns there.
struct HeadRow {
    var traceID: TraceID
    var spanID: SpanID
    var parentSpanID: SpanID
    var startNanos: Int64
    var durationNanos: Int64
    var kindIndex: UInt8
    var statusIndex: UInt8
    /// Which of the optional numbers are present (bit k = `numbers[k]`, 1 << (6 + k) = `reals[k]`).
    var present: UInt16
    /// input, output, cached, reasoning tokens, time to first token, max tokens.
    var numbers: (Int64, Int64, Int64, Int64, Int64, Int64)
    /// cost, temperature, top_p.
    var reals: (Double, Double, Double)
    /// A text id per `FixedTextIDs.Slot`, `FixedTextIDs.none` where the field is nil.
    var ids: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    /// The row of `s` with its numbers (and the kind and status indices its encoder computed); the
    /// text ids are set by whoever interns the strings.
    init(numbersOf p: UnsafePointer<Span>, kindIndex: UInt8, statusIndex: UInt8) {
        traceID = p.pointee.traceID
        spanID = p.pointee.spanID
        parentSpanID = p.pointee.parentSpanID
        startNanos = p.pointee.startNanos
        durationNanos = p.pointee.endNanos &- p.pointee.startNanos
        self.kindIndex = kindIndex
        self.statusIndex = statusIndex
        present = 0
        numbers = (0, 0, 0, 0, 0, 0)
        reals = (0, 0, 0)
        let n = FixedTextIDs.none
        ids = (n, n, n, n, n, n, n, n, n, n, n, n, n)
        if let v = p.pointee.inputTokens { setNumber(0, v) }
        if let v = p.pointee.outputTokens { setNumber(1, v) }
        if let v = p.pointee.cachedTokens { setNumber(2, v) }
        if let v = p.pointee.reasoningTokens { setNumber(3, v) }
        if let v = p.pointee.timeToFirstTokenNanos { setNumber(4, v) }
        if let v = p.pointee.maxTokens { setNumber(5, v) }
        if let v = p.pointee.costUSD { setReal(0, v) }
        if let v = p.pointee.temperature { setReal(1, v) }
        if let v = p.pointee.topP { setReal(2, v) }
    }

    mutating func setNumber(_ k: Int, _ v: Int64) {
        present |= 1 << UInt16(k)
        withUnsafeMutableBytes(of: &numbers) { $0.storeBytes(of: v, toByteOffset: 8 * k, as: Int64.self) }
    }

    mutating func setReal(_ k: Int, _ v: Double) {
        present |= 1 << UInt16(6 + k)
        withUnsafeMutableBytes(of: &reals) { $0.storeBytes(of: v, toByteOffset: 8 * k, as: Double.self) }
    }

    func number(_ k: Int) -> Int64? {
        guard present & (1 << UInt16(k)) != 0 else { return nil }
        return withUnsafeBytes(of: numbers) { $0.load(fromByteOffset: 8 * k, as: Int64.self) }
    }

    func real(_ k: Int) -> Double? {
        guard present & (1 << UInt16(6 + k)) != 0 else { return nil }
        return withUnsafeBytes(of: reals) { $0.load(fromByteOffset: 8 * k, as: Double.self) }
    }

    func id(_ slot: FixedTextIDs.Slot) -> UInt32 {
        withUnsafeBytes(of: ids) { $0.load(fromByteOffset: 4 * slot.rawValue, as: UInt32.self) }
    }

    mutating func setID(_ slot: FixedTextIDs.Slot, _ id: UInt32) {
        withUnsafeMutableBytes(of: &ids) { $0.storeBytes(of: id, toByteOffset: 4 * slot.rawValue, as: UInt32.self) }
    }

    var kind: SpanKind { SpanBinaryCodec.kinds[Int(kindIndex)] }
    var status: SpanStatus { SpanBinaryCodec.statuses[Int(statusIndex)] }

    /// The row as a span with empty details (strings from `texts`, the head's table).
    /// A fixed string field, by its id in `texts` (nil when the field is nil).
    func text(_ slot: FixedTextIDs.Slot, _ texts: [String]) -> String? {
        let i = id(slot)
        return i == FixedTextIDs.none ? nil : texts[Int(i)]
    }

    func span(_ texts: [String]) -> Span {
        func text(_ slot: FixedTextIDs.Slot) -> String? { self.text(slot, texts) }
        var s = Span(traceID: traceID, spanID: spanID, parentSpanID: parentSpanID, project: text(.project)!, service: text(.service)!,
                     name: text(.name)!, kind: kind, startNanos: startNanos, endNanos: startNanos &+ durationNanos, status: status,
                     statusMessage: text(.statusMessage))
        s.provider = text(.provider)
        s.requestModel = text(.requestModel)
        s.responseModel = text(.responseModel)
        s.inputTokens = number(0)
        s.outputTokens = number(1)
        s.cachedTokens = number(2)
        s.reasoningTokens = number(3)
        s.timeToFirstTokenNanos = number(4)
        s.maxTokens = number(5)
        s.costUSD = real(0)
        s.temperature = real(1)
        s.topP = real(2)
        s.finishReason = text(.finishReason)
        s.promptName = text(.promptName)
        s.promptVersion = text(.promptVersion)
        s.sessionID = text(.sessionID)
        s.userID = text(.userID)
        s.environment = text(.environment)
        return s
    }
}
