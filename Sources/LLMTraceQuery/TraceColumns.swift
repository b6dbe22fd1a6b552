import LLMTraceModel
import LLMTraceStore

/// The `traces` table as columns: one array a field, strings as dictionary codes. Each segment
/// sums its spans into its own `TraceColumns` (codes into the segment's dictionaries, no string
/// touched), and `join` combines them by trace into one table whose codes point into joined
/// dictionaries. A row of it is what `TraceRow` defines (and `TraceTableTests` checks against it);
/// rows of structs were copied whole (five strings retained and released each time) on every
/// append, merge and regrowth, and that copying was most of a `traces` query.
struct TraceColumns: Sendable {
    /// A string column: code 0 is none, code k is `values[k - 1]`.
    struct Strings: Sendable {
        var codes: [UInt32] = []
        var values: [String] = []
    }

    var traceID: [TraceID] = []
    var project = Strings()
    /// The representative span's rank; name and service are its.
    var rank: [TraceRow.Rank] = []
    var name = Strings()
    var service = Strings()
    var start: [Int64] = []
    var end: [Int64] = []
    var spans: [Int64] = []
    var llmCalls: [Int64] = []
    var errors: [Int64] = []
    var inputTokens: [Int64] = []
    var outputTokens: [Int64] = []
    var totalTokens: [Int64] = []
    var cost: [Double] = []
    /// Which sums saw a value: `hasInput`, `hasOutput`, `hasTotal`, `hasCost` bits.
    var has: [UInt8] = []
    /// Session and user: the first span in rank order that had one (code 0: none had).
    var session = Strings()
    var sessionRank: [TraceRow.Rank] = []
    var user = Strings()
    var userRank: [TraceRow.Rank] = []

    static let hasInput: UInt8 = 1, hasOutput: UInt8 = 2, hasTotal: UInt8 = 4, hasCost: UInt8 = 8

    /// The fields this table holds besides trace id, project and span count: a query's columns
    /// need only some, and the others are neither summed nor joined (their arrays stay empty).
    struct Fields: OptionSet, Sendable {
        let rawValue: UInt16
        static let rank = Fields(rawValue: 1), name = Fields(rawValue: 2), service = Fields(rawValue: 4)
        static let times = Fields(rawValue: 8), llmCalls = Fields(rawValue: 16), errors = Fields(rawValue: 32)
        static let tokens = Fields(rawValue: 64), cost = Fields(rawValue: 128), session = Fields(rawValue: 256), user = Fields(rawValue: 512)
        static let all: Fields = [.rank, .name, .service, .times, .llmCalls, .errors, .tokens, .cost, .session, .user]

        /// What reading `c` takes (the representative's name and service, and the first session
        /// and user in rank order, need the rank).
        static func needed(by c: TraceColumn) -> Fields {
            switch c {
            case .traceID, .project, .spans: return []
            case .name: return [.rank, .name]
            case .service: return [.rank, .service]
            case .hasRoot: return .rank
            case .start, .end, .durationMs: return .times
            case .llmCalls: return .llmCalls
            case .errors, .error: return .errors
            case .inputTokens, .outputTokens, .totalTokens: return .tokens
            case .costUSD: return .cost
            case .sessionID: return [.rank, .session]
            case .userID: return [.rank, .user]
            }
        }

        static func needed(by columns: Set<ColumnRef>) -> Fields {
            var f: Fields = []
            for case .trace(let c) in columns { f.formUnion(needed(by: c)) }
            return f
        }
    }

    var fields: Fields = .all

    init(fields: Fields = .all) { self.fields = fields }

    var count: Int { traceID.count }

    /// Bytes a row takes in these arrays (the query memory budget's measure).
    static let rowBytes = MemoryLayout<TraceID>.stride + 3 * MemoryLayout<TraceRow.Rank>.stride + 5 * 4 + 8 * 8 + 8 + 1

    mutating func reserve(_ n: Int) {
        let f = fields
        traceID.reserveCapacity(n); project.codes.reserveCapacity(n); spans.reserveCapacity(n); has.reserveCapacity(n)
        if f.contains(.rank) { rank.reserveCapacity(n) }
        if f.contains(.name) { name.codes.reserveCapacity(n) }
        if f.contains(.service) { service.codes.reserveCapacity(n) }
        if f.contains(.times) { start.reserveCapacity(n); end.reserveCapacity(n) }
        if f.contains(.llmCalls) { llmCalls.reserveCapacity(n) }
        if f.contains(.errors) { errors.reserveCapacity(n) }
        if f.contains(.tokens) { inputTokens.reserveCapacity(n); outputTokens.reserveCapacity(n); totalTokens.reserveCapacity(n) }
        if f.contains(.cost) { cost.reserveCapacity(n) }
        if f.contains(.session) { session.codes.reserveCapacity(n); sessionRank.reserveCapacity(n) }
        if f.contains(.user) { user.codes.reserveCapacity(n); userRank.reserveCapacity(n) }
    }

    /// Appends one trace (the fields this table does not hold are ignored).
    mutating func appendTrace(_ id: TraceID, project p: UInt32, spans n: Int64, rank r: TraceRow.Rank, name nm: UInt32, service sv: UInt32,
                              start lo: Int64, end hi: Int64, llmCalls l: Int64, errors e: Int64,
                              tokens: (Int64, Int64, Int64), cost c: Double, has h: UInt8,
                              session: (UInt32, TraceRow.Rank), user: (UInt32, TraceRow.Rank)) {
        let f = fields
        traceID.append(id); project.codes.append(p); spans.append(n); has.append(h)
        if f.contains(.rank) { rank.append(r) }
        if f.contains(.name) { name.codes.append(nm) }
        if f.contains(.service) { service.codes.append(sv) }
        if f.contains(.times) { start.append(lo); end.append(hi) }
        if f.contains(.llmCalls) { llmCalls.append(l) }
        if f.contains(.errors) { errors.append(e) }
        if f.contains(.tokens) { inputTokens.append(tokens.0); outputTokens.append(tokens.1); totalTokens.append(tokens.2) }
        if f.contains(.cost) { cost.append(c) }
        if f.contains(.session) { self.session.codes.append(session.0); sessionRank.append(session.1) }
        if f.contains(.user) { self.user.codes.append(user.0); userRank.append(user.1) }
    }

    /// How another table's codes read in this one: per string column, code in `o` → code here.
    struct CodeMaps {
        var project: [UInt32], name: [UInt32], service: [UInt32], session: [UInt32], user: [UInt32]
    }

    /// Appends row `j` of `o` (which holds the same fields) as a new row.
    mutating func append(_ o: TraceColumns, _ j: Int, _ m: CodeMaps?) {
        @inline(__always) func code(_ c: UInt32, _ map: [UInt32]?) -> UInt32 { map.map { $0[Int(c)] } ?? c }
        let f = fields
        traceID.append(o.traceID[j])
        project.codes.append(code(o.project.codes[j], m?.project))
        spans.append(o.spans[j]); has.append(o.has[j])
        if f.contains(.rank) { rank.append(o.rank[j]) }
        if f.contains(.name) { name.codes.append(code(o.name.codes[j], m?.name)) }
        if f.contains(.service) { service.codes.append(code(o.service.codes[j], m?.service)) }
        if f.contains(.times) { start.append(o.start[j]); end.append(o.end[j]) }
        if f.contains(.llmCalls) { llmCalls.append(o.llmCalls[j]) }
        if f.contains(.errors) { errors.append(o.errors[j]) }
        if f.contains(.tokens) { inputTokens.append(o.inputTokens[j]); outputTokens.append(o.outputTokens[j]); totalTokens.append(o.totalTokens[j]) }
        if f.contains(.cost) { cost.append(o.cost[j]) }
        if f.contains(.session) { session.codes.append(code(o.session.codes[j], m?.session)); sessionRank.append(o.sessionRank[j]) }
        if f.contains(.user) { user.codes.append(code(o.user.codes[j], m?.user)); userRank.append(o.userRank[j]) }
    }

    /// Row `k` becomes the trace of its spans and row `j` of `o`'s (`TraceRow.merge`).
    mutating func absorb(_ k: Int, _ o: TraceColumns, _ j: Int, _ m: CodeMaps?) {
        @inline(__always) func code(_ c: UInt32, _ map: [UInt32]?) -> UInt32 { map.map { $0[Int(c)] } ?? c }
        let f = fields
        if f.contains(.rank), o.rank[j] < rank[k] {
            rank[k] = o.rank[j]
            if f.contains(.name) { name.codes[k] = code(o.name.codes[j], m?.name) }
            if f.contains(.service) { service.codes[k] = code(o.service.codes[j], m?.service) }
        }
        spans[k] += o.spans[j]
        has[k] |= o.has[j]
        if f.contains(.times) {
            start[k] = min(start[k], o.start[j])
            end[k] = max(end[k], o.end[j])
        }
        if f.contains(.llmCalls) { llmCalls[k] += o.llmCalls[j] }
        if f.contains(.errors) { errors[k] += o.errors[j] }
        if f.contains(.tokens) {
            inputTokens[k] &+= o.inputTokens[j]
            outputTokens[k] &+= o.outputTokens[j]
            totalTokens[k] &+= o.totalTokens[j]
        }
        if f.contains(.cost) { cost[k] += o.cost[j] }
        if f.contains(.session) {
            let s = o.session.codes[j]
            if s != 0, session.codes[k] == 0 || o.sessionRank[j] < sessionRank[k] {
                session.codes[k] = code(s, m?.session)
                sessionRank[k] = o.sessionRank[j]
            }
        }
        if f.contains(.user) {
            let u = o.user.codes[j]
            if u != 0, user.codes[k] == 0 || o.userRank[j] < userRank[k] {
                user.codes[k] = code(u, m?.user)
                userRank[k] = o.userRank[j]
            }
        }
    }

    /// A dictionary joined from the parts' dictionaries: each distinct string once, compared byte for byte.
    struct Joined {
        var values: [String] = []
        var index: [ExactString: UInt32] = [:]
        /// Code in a part (0 = none, k = its values[k-1]) → code here.
        mutating func map(_ part: [String]) -> [UInt32] { [0] + part.map { code($0) } }

        /// The code of `s` here (0 for none), added when new.
        mutating func code(_ s: String?) -> UInt32 {
            guard let s else { return 0 }
            if let c = index[ExactString(s)] { return c }
            values.append(s)
            index[ExactString(s)] = UInt32(values.count)
            return UInt32(values.count)
        }
    }
}

extension TraceColumns {
    /// Row `i` as a `TraceRow` (tests compare tables through it).
    func row(_ i: Int) -> TraceRow {
        func str(_ s: Strings) -> String? { s.codes[i] == 0 ? nil : s.values[Int(s.codes[i]) - 1] }
        let h = has[i]
        return TraceRow(project: str(project) ?? "", traceID: traceID[i], rank: rank[i], name: str(name) ?? "", service: str(service) ?? "",
                        start: start[i], end: end[i], spans: spans[i], llmCalls: llmCalls[i], errors: errors[i],
                        inputTokens: h & Self.hasInput != 0 ? inputTokens[i] : nil,
                        outputTokens: h & Self.hasOutput != 0 ? outputTokens[i] : nil,
                        totalTokens: h & Self.hasTotal != 0 ? totalTokens[i] : nil,
                        costUSD: h & Self.hasCost != 0 ? cost[i] : nil,
                        session: str(session).map { (sessionRank[i], $0) }, user: str(user).map { (userRank[i], $0) })
    }

    /// Rows built one trace at a time (the head's spans, tests): strings coded as they come.
    init(_ rows: [TraceRow], fields: Fields = .all) {
        self.fields = fields
        reserve(rows.count)
        var projects = Joined(), names = Joined(), services = Joined(), sessions = Joined(), users = Joined()
        let none = TraceRow.Rank(notRoot: true, start: 0, spanID: 0)
        for r in rows {
            let has = (r.inputTokens == nil ? 0 : Self.hasInput) | (r.outputTokens == nil ? 0 : Self.hasOutput)
                | (r.totalTokens == nil ? 0 : Self.hasTotal) | (r.costUSD == nil ? 0 : Self.hasCost)
            appendTrace(r.traceID, project: projects.code(r.project), spans: r.spans, rank: r.rank,
                        name: fields.contains(.name) ? names.code(r.name) : 0, service: fields.contains(.service) ? services.code(r.service) : 0,
                        start: r.start, end: r.end, llmCalls: r.llmCalls, errors: r.errors,
                        tokens: (r.inputTokens ?? 0, r.outputTokens ?? 0, r.totalTokens ?? 0), cost: r.costUSD ?? 0, has: has,
                        session: (fields.contains(.session) ? sessions.code(r.session?.1) : 0, r.session?.0 ?? none),
                        user: (fields.contains(.user) ? users.code(r.user?.1) : 0, r.user?.0 ?? none))
        }
        project.values = projects.values; name.values = names.values; service.values = services.values
        session.values = sessions.values; user.values = users.values
    }
}
