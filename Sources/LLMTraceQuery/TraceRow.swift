import LLMTraceModel

/// One row of the `traces` table: a trace summed up from its spans, built at query time. A row is
/// made from one span or from a run of spans, and rows of the same trace combine with `merge` in
/// any order, so each segment is summed on its own core and the results joined by trace.
///
/// A trace is its spans with the same trace id *in one project* (a key never sees another
/// project's spans, not even as part of a trace). Its representative span, whose name and service
/// the row shows, is the first in the order: roots (no parent) before other spans, then earlier
/// start, then smaller span id. Session and user come from the first span in that order that has one.
struct TraceRow: Sendable {
    /// Sort key of the representative order: smaller comes first.
    struct Rank: Comparable, Sendable {
        var notRoot: Bool
        var start: Int64
        var spanID: UInt64
        static func < (a: Rank, b: Rank) -> Bool {
            if a.notRoot != b.notRoot { return !a.notRoot }
            if a.start != b.start { return a.start < b.start }
            return a.spanID < b.spanID
        }
    }

    var project: String
    var traceID: TraceID
    var rank: Rank
    var name: String
    var service: String
    var start: Int64
    var end: Int64
    var spans: Int64 = 0
    var llmCalls: Int64 = 0
    var errors: Int64 = 0
    var inputTokens: Int64?
    var outputTokens: Int64?
    var totalTokens: Int64?
    var costUSD: Double?
    var session: (Rank, String)?
    var user: (Rank, String)?

    private static func plus(_ a: Int64?, _ b: Int64?) -> Int64? {
        guard let b else { return a }
        return (a ?? 0) &+ b
    }

    private static func plus(_ a: Double?, _ b: Double?) -> Double? {
        guard let b else { return a }
        return (a ?? 0) + b
    }

    private static func first(_ a: (Rank, String)?, _ b: (Rank, String)?) -> (Rank, String)? {
        guard let b else { return a }
        guard let a else { return b }
        return b.0 < a.0 ? b : a
    }

    mutating func merge(_ o: TraceRow) {
        if o.rank < rank {
            rank = o.rank
            name = o.name
            service = o.service
        }
        start = min(start, o.start)
        end = max(end, o.end)
        spans += o.spans
        llmCalls += o.llmCalls
        errors += o.errors
        inputTokens = Self.plus(inputTokens, o.inputTokens)
        outputTokens = Self.plus(outputTokens, o.outputTokens)
        totalTokens = Self.plus(totalTokens, o.totalTokens)
        costUSD = Self.plus(costUSD, o.costUSD)
        session = Self.first(session, o.session)
        user = Self.first(user, o.user)
    }

    /// The value of column `c` of this row.
    func value(_ c: TraceColumn) -> QueryValue {
        func int(_ v: Int64?) -> QueryValue { v.map { .int($0) } ?? .null }
        switch c {
        case .traceID: return .string(traceID.hex)
        case .project: return .string(project)
        case .name: return .string(name)
        case .service: return .string(service)
        case .start: return .time(start)
        case .end: return .time(end)
        case .durationMs: return .double(Double(end &- start) / 1e6)
        case .spans: return .int(spans)
        case .llmCalls: return .int(llmCalls)
        case .errors: return .int(errors)
        case .error: return .bool(errors > 0)
        case .inputTokens: return int(inputTokens)
        case .outputTokens: return int(outputTokens)
        case .totalTokens: return int(totalTokens)
        case .costUSD: return costUSD.map { .double($0) } ?? .null
        case .sessionID: return session.map { .string($0.1) } ?? .null
        case .userID: return user.map { .string($0.1) } ?? .null
        case .hasRoot: return .bool(!rank.notRoot)
        }
    }

    /// The traces of `spans`, one row per project and trace id, in order of first appearance: the
    /// definition the engine's batch-by-batch assembly must agree with.
    static func rows(of spans: [Span]) -> [TraceRow] {
        var index: [TraceKey: Int] = [:]
        var out: [TraceRow] = []
        for s in spans {
            let key = TraceKey(traceID: s.traceID, project: s.project)
            let row = TraceRow(s)
            if let k = index[key] {
                out[k].merge(row)
            } else {
                index[key] = out.count
                out.append(row)
            }
        }
        return out
    }
}

extension TraceRow {
    /// The row of a trace made of this one span.
    init(_ s: Span) {
        let rank = Rank(notRoot: !s.parentSpanID.isZero, start: s.startNanos, spanID: s.spanID.value)
        self.init(project: s.project, traceID: s.traceID, rank: rank, name: s.name, service: s.service,
                  start: s.startNanos, end: s.endNanos, spans: 1, llmCalls: s.kind == .llm ? 1 : 0, errors: s.status == .error ? 1 : 0,
                  inputTokens: s.inputTokens, outputTokens: s.outputTokens,
                  totalTokens: s.inputTokens == nil && s.outputTokens == nil ? nil : (s.inputTokens ?? 0) &+ (s.outputTokens ?? 0),
                  costUSD: s.costUSD, session: s.sessionID.map { (rank, $0) }, user: s.userID.map { (rank, $0) })
    }
}

/// A trace's identity: its id within one project.
struct TraceKey: Hashable, Sendable {
    var traceID: TraceID
    var project: String

    /// By the id alone (random already; one trace id in two projects is rare). Equality still
    /// compares both.
    func hash(into h: inout Hasher) {
        h.combine(traceID.hi ^ (traceID.lo &* 0x9E37_79B9_7F4A_7C15))
    }
}
