/// The columns of the `traces` table: one row per trace, assembled from its spans at query time.
/// The representative span is the root (no parent); while the root has not arrived, the earliest span
/// (`TraceRow` has the exact rule).
enum TraceColumn: String, CaseIterable, Sendable {
    case traceID = "trace_id", project
    /// The representative span's name and service.
    case name, service
    /// Earliest span start, latest span end, and the time between.
    case start, end, durationMs = "duration_ms"
    /// Spans in the trace, of them LLM calls (kind llm) and errors (status error).
    case spans, llmCalls = "llm_calls", errors
    /// True when any span failed.
    case error
    /// Sums over the spans (NULL when no span reported any).
    case inputTokens = "input_tokens", outputTokens = "output_tokens", totalTokens = "total_tokens", costUSD = "cost_usd"
    /// Of the first span in representative order (roots, then earlier start, then smaller span id) that has one.
    case sessionID = "session_id", userID = "user_id"
    /// Whether the root span has arrived.
    case hasRoot = "has_root"

    var type: QueryType {
        switch self {
        case .start, .end: return .time
        case .durationMs, .costUSD: return .double
        case .spans, .llmCalls, .errors, .inputTokens, .outputTokens, .totalTokens: return .int
        case .error, .hasRoot: return .bool
        default: return .string
        }
    }

    static let star: [TraceColumn] = [
        .start, .traceID, .service, .name, .durationMs, .spans, .llmCalls, .errors, .totalTokens, .costUSD, .sessionID, .userID,
    ]
}
