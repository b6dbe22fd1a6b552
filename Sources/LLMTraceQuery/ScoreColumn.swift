/// The columns of the `scores` table: feedback and evaluations sent to `POST /v1/scores`.
enum ScoreColumn: String, CaseIterable, Sendable {
    case time, project, traceID = "trace_id", spanID = "span_id", name, value, category, source, comment

    var type: QueryType {
        switch self {
        case .time: return .time
        case .value: return .double
        default: return .string
        }
    }
}
