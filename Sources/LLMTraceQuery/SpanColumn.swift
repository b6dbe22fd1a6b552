import LLMTraceModel
import LLMTraceStore

/// The columns of the `spans` table, with their query names and types. Each is read from one
/// segment column (or two: `model`, `end`, `total_tokens`), so a query reads only what it names.
enum SpanColumn: String, CaseIterable, Sendable {
    case traceID = "trace_id", spanID = "span_id", parentSpanID = "parent_span_id"
    case project, service, name, kind, status, statusMessage = "status_message"
    case provider, model, requestModel = "request_model", responseModel = "response_model"
    case environment, promptName = "prompt_name", promptVersion = "prompt_version"
    case sessionID = "session_id", userID = "user_id", finishReason = "finish_reason"
    case start, end, durationMs = "duration_ms"
    case inputTokens = "input_tokens", outputTokens = "output_tokens", cachedTokens = "cached_tokens"
    case reasoningTokens = "reasoning_tokens", totalTokens = "total_tokens"
    case costUSD = "cost_usd", ttftMs = "ttft_ms", temperature, maxTokens = "max_tokens", topP = "top_p"
    case error, isRoot = "is_root"

    var type: QueryType {
        switch self {
        case .start, .end: return .time
        case .durationMs, .costUSD, .ttftMs, .temperature, .topP: return .double
        case .inputTokens, .outputTokens, .cachedTokens, .reasoningTokens, .totalTokens, .maxTokens: return .int
        case .error, .isRoot: return .bool
        default: return .string
        }
    }

    /// The segment dictionary column behind a string column, when there is exactly one.
    var dictionaryColumn: SegmentFormat.Column? {
        switch self {
        case .project: return .project
        case .service: return .service
        case .name: return .name
        case .kind: return .kind
        case .status: return .status
        case .statusMessage: return .statusMessage
        case .provider: return .provider
        case .requestModel: return .requestModel
        case .responseModel: return .responseModel
        case .environment: return .environment
        case .promptName: return .promptName
        case .promptVersion: return .promptVersion
        case .sessionID: return .sessionID
        case .userID: return .userID
        case .finishReason: return .finishReason
        default: return nil
        }
    }

    /// `SELECT *` expands to these, in this order.
    static let star: [SpanColumn] = [
        .start, .traceID, .spanID, .parentSpanID, .service, .name, .kind, .status, .model, .durationMs,
        .inputTokens, .outputTokens, .costUSD, .sessionID, .userID,
    ]

    static let help = """
    trace_id span_id parent_span_id project service name kind status status_message provider model \
    request_model response_model environment prompt_name prompt_version session_id user_id finish_reason start end \
    duration_ms input_tokens output_tokens cached_tokens reasoning_tokens total_tokens cost_usd ttft_ms \
    temperature max_tokens top_p error is_root
    """

    /// The value of this column in a span: the definition the columnar paths must agree with.
    func value(of s: Span) -> QueryValue {
        func str(_ v: String?) -> QueryValue { v.map { .string($0) } ?? .null }
        func int(_ v: Int64?) -> QueryValue { v.map { .int($0) } ?? .null }
        func dbl(_ v: Double?) -> QueryValue { v.map { .double($0) } ?? .null }
        switch self {
        case .traceID: return .string(s.traceID.hex)
        case .spanID: return .string(s.spanID.hex)
        case .parentSpanID: return s.parentSpanID.isZero ? .null : .string(s.parentSpanID.hex)
        case .project: return .string(s.project)
        case .service: return .string(s.service)
        case .name: return .string(s.name)
        case .kind: return .string(s.kind.rawValue)
        case .status: return .string(s.status.rawValue)
        case .statusMessage: return str(s.statusMessage)
        case .provider: return str(s.provider)
        case .model: return str(s.responseModel ?? s.requestModel)
        case .requestModel: return str(s.requestModel)
        case .responseModel: return str(s.responseModel)
        case .environment: return str(s.environment)
        case .promptName: return str(s.promptName)
        case .promptVersion: return str(s.promptVersion)
        case .sessionID: return str(s.sessionID)
        case .userID: return str(s.userID)
        case .finishReason: return str(s.finishReason)
        case .start: return .time(s.startNanos)
        case .end: return .time(s.endNanos)
        case .durationMs: return .double(Double(s.durationNanos) / 1e6)
        case .inputTokens: return int(s.inputTokens)
        case .outputTokens: return int(s.outputTokens)
        case .cachedTokens: return int(s.cachedTokens)
        case .reasoningTokens: return int(s.reasoningTokens)
        case .totalTokens:
            if s.inputTokens == nil && s.outputTokens == nil { return .null }
            let (x, y) = (s.inputTokens ?? 0, s.outputTokens ?? 0)
            return Ops.overflowed("+", x, y).map { .double($0) } ?? .int(x + y)
        case .costUSD: return dbl(s.costUSD)
        case .ttftMs: return s.timeToFirstTokenNanos.map { .double(Double($0) / 1e6) } ?? .null
        case .temperature: return dbl(s.temperature)
        case .maxTokens: return int(s.maxTokens)
        case .topP: return dbl(s.topP)
        case .error: return .bool(s.status == .error)
        case .isRoot: return .bool(s.parentSpanID.isZero)
        }
    }
}
