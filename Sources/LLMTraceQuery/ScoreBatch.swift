import LLMTraceModel

/// Rows of the `scores` table (feedback and evaluations from `POST /v1/scores`), read from the
/// index database, where scores live, rather than from the segments.
struct ScoreBatch: ScanBatch {
    let scores: [Score]

    var rowCount: Int { scores.count }
    var startRange: (Int64, Int64)? { nil }

    func matchRows(_ k: Int) throws -> [UInt8] { throw QueryError("MATCH searches span text: query FROM spans") }

    func load(_ c: ColumnRef) throws -> Vec {
        guard case .score(let sc) = c else { throw QueryError("internal: column \(c.name) is not a scores column") }
        switch sc {
        case .time: return .ints(scores.map(\.timeNanos), nil)
        case .value:
            let valid = scores.map { if case .number = $0.value { return true } else { return false } }
            let values = scores.map { if case .number(let d) = $0.value { return d } else { return 0 } }
            return .doubles(values, valid.allSatisfy { $0 } ? nil : valid)
        default:
            return .values(scores.map { sc.value(of: $0) })
        }
    }
}

extension ScoreColumn {
    /// The value of this column for one score: the definition the batch must agree with.
    func value(of s: Score) -> QueryValue {
        switch self {
        case .time: return .time(s.timeNanos)
        case .project: return .string(s.project)
        case .traceID: return .string(s.traceID.hex)
        case .spanID: return s.spanID.map { .string($0.hex) } ?? .null
        case .name: return .string(s.name)
        case .value: if case .number(let d) = s.value { return .double(d) } else { return .null }
        case .category: if case .category(let c) = s.value { return .string(c) } else { return .null }
        case .source: return .string(s.source.rawValue)
        case .comment: return s.comment.map { .string($0) } ?? .null
        }
    }
}
