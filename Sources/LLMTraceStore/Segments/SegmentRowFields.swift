import LLMTraceModel

/// What `SegmentWriter` reads of a row: the fixed fields of a span. Two kinds of rows are
/// written: a sealed head's `HeadRow`s, whose strings are text ids into the segment's text store
/// (dictionary columns are then built from ids), and whole `Span`s (recovery, tests).
protocol SegmentRowFields {
    var traceID: TraceID { get }
    var spanID: SpanID { get }
    var parentSpanID: SpanID { get }
    var startNanos: Int64 { get }
    var durationNanos: Int64 { get }
    var kind: SpanKind { get }
    var status: SpanStatus { get }
    /// The value of a nullable integer column.
    func intValue(_ c: SegmentFormat.Column) -> Int64?
    /// The value of a float64 column.
    func doubleValue(_ c: SegmentFormat.Column) -> Double?
    /// A fixed string field, from the row or, by its id, from `texts`.
    func text(_ slot: FixedTextIDs.Slot, _ texts: [String]) -> String?
    /// Whether `textID` gives the strings' ids in the segment's text table.
    static var hasTextIDs: Bool { get }
    /// The text id of a fixed string field (`FixedTextIDs.none` when nil); only when `hasTextIDs`.
    func textID(_ slot: FixedTextIDs.Slot) -> UInt32
}

extension Span: SegmentRowFields {
    static var hasTextIDs: Bool { false }
    func textID(_ slot: FixedTextIDs.Slot) -> UInt32 { preconditionFailure("a span has no text ids") }

    func text(_ slot: FixedTextIDs.Slot, _ texts: [String]) -> String? {
        switch slot {
        case .project: project
        case .service: service
        case .name: name
        case .statusMessage: statusMessage
        case .provider: provider
        case .requestModel: requestModel
        case .responseModel: responseModel
        case .promptName: promptName
        case .promptVersion: promptVersion
        case .sessionID: sessionID
        case .userID: userID
        case .environment: environment
        case .finishReason: finishReason
        }
    }

    func intValue(_ c: SegmentFormat.Column) -> Int64? {
        switch c {
        case .inputTokens: inputTokens
        case .outputTokens: outputTokens
        case .cachedTokens: cachedTokens
        case .reasoningTokens: reasoningTokens
        case .ttft: timeToFirstTokenNanos
        case .maxTokens: maxTokens
        default: nil
        }
    }

    func doubleValue(_ c: SegmentFormat.Column) -> Double? {
        switch c {
        case .costUSD: costUSD
        case .temperature: temperature
        case .topP: topP
        default: nil
        }
    }
}

extension HeadRow: SegmentRowFields {
    static var hasTextIDs: Bool { true }
    func textID(_ slot: FixedTextIDs.Slot) -> UInt32 { id(slot) }

    func intValue(_ c: SegmentFormat.Column) -> Int64? {
        switch c {
        case .inputTokens: number(0)
        case .outputTokens: number(1)
        case .cachedTokens: number(2)
        case .reasoningTokens: number(3)
        case .ttft: number(4)
        case .maxTokens: number(5)
        default: nil
        }
    }

    func doubleValue(_ c: SegmentFormat.Column) -> Double? {
        switch c {
        case .costUSD: real(0)
        case .temperature: real(1)
        case .topP: real(2)
        default: nil
        }
    }
}
