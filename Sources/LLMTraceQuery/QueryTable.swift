/// The tables a query can read (`FROM spans`, `FROM traces`, `FROM scores`).
enum QueryTable: String, CaseIterable, Sendable {
    case spans, traces, scores

    func column(named name: String) -> ColumnRef? {
        switch self {
        case .spans: return SpanColumn(rawValue: name).map(ColumnRef.span)
        case .traces: return TraceColumn(rawValue: name).map(ColumnRef.trace)
        case .scores: return ScoreColumn(rawValue: name).map(ColumnRef.score)
        }
    }

    /// What `SELECT *` expands to.
    var star: [String] {
        switch self {
        case .spans: return SpanColumn.star.map(\.rawValue)
        case .traces: return TraceColumn.star.map(\.rawValue)
        case .scores: return ScoreColumn.allCases.map(\.rawValue)
        }
    }

    var help: String {
        switch self {
        case .spans: return SpanColumn.help
        case .traces: return TraceColumn.allCases.map(\.rawValue).joined(separator: " ")
        case .scores: return ScoreColumn.allCases.map(\.rawValue).joined(separator: " ")
        }
    }

    /// The column holding the project (API keys confine queries through it).
    var projectColumn: ColumnRef {
        switch self {
        case .spans: return .span(.project)
        case .traces: return .trace(.project)
        case .scores: return .score(.project)
        }
    }

    /// The column whose range in WHERE narrows what is read.
    var timeColumn: ColumnRef {
        switch self {
        case .spans: return .span(.start)
        case .traces: return .trace(.start)
        case .scores: return .score(.time)
        }
    }
}
