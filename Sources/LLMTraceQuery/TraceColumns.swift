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

    var count: Int { traceID.count }

    /// Bytes a row takes in these arrays (the query memory budget's measure).
    static let rowBytes = MemoryLayout<TraceID>.stride + 3 * MemoryLayout<TraceRow.Rank>.stride + 5 * 4 + 8 * 8 + 8 + 1

    mutating func reserve(_ n: Int) {
        traceID.reserveCapacity(n); project.codes.reserveCapacity(n); rank.reserveCapacity(n)
        name.codes.reserveCapacity(n); service.codes.reserveCapacity(n); start.reserveCapacity(n); end.reserveCapacity(n)
        spans.reserveCapacity(n); llmCalls.reserveCapacity(n); errors.reserveCapacity(n)
        inputTokens.reserveCapacity(n); outputTokens.reserveCapacity(n); totalTokens.reserveCapacity(n)
        cost.reserveCapacity(n); has.reserveCapacity(n)
        session.codes.reserveCapacity(n); sessionRank.reserveCapacity(n); user.codes.reserveCapacity(n); userRank.reserveCapacity(n)
    }

    /// How another table's codes read in this one: per string column, code in `o` → code here.
    struct CodeMaps {
        var project: [UInt32], name: [UInt32], service: [UInt32], session: [UInt32], user: [UInt32]
    }

    /// Appends row `j` of `o` as a new row.
    mutating func append(_ o: TraceColumns, _ j: Int, _ m: CodeMaps?) {
        @inline(__always) func code(_ c: UInt32, _ map: [UInt32]?) -> UInt32 { map.map { $0[Int(c)] } ?? c }
        traceID.append(o.traceID[j])
        project.codes.append(code(o.project.codes[j], m?.project))
        rank.append(o.rank[j])
        name.codes.append(code(o.name.codes[j], m?.name))
        service.codes.append(code(o.service.codes[j], m?.service))
        start.append(o.start[j]); end.append(o.end[j])
        spans.append(o.spans[j]); llmCalls.append(o.llmCalls[j]); errors.append(o.errors[j])
        inputTokens.append(o.inputTokens[j]); outputTokens.append(o.outputTokens[j]); totalTokens.append(o.totalTokens[j])
        cost.append(o.cost[j]); has.append(o.has[j])
        session.codes.append(code(o.session.codes[j], m?.session)); sessionRank.append(o.sessionRank[j])
        user.codes.append(code(o.user.codes[j], m?.user)); userRank.append(o.userRank[j])
    }

    /// Row `k` becomes the trace of its spans and row `j` of `o`'s (`TraceRow.merge`).
    mutating func absorb(_ k: Int, _ o: TraceColumns, _ j: Int, _ m: CodeMaps?) {
        @inline(__always) func code(_ c: UInt32, _ map: [UInt32]?) -> UInt32 { map.map { $0[Int(c)] } ?? c }
        if o.rank[j] < rank[k] {
            rank[k] = o.rank[j]
            name.codes[k] = code(o.name.codes[j], m?.name)
            service.codes[k] = code(o.service.codes[j], m?.service)
        }
        start[k] = min(start[k], o.start[j])
        end[k] = max(end[k], o.end[j])
        spans[k] += o.spans[j]
        llmCalls[k] += o.llmCalls[j]
        errors[k] += o.errors[j]
        inputTokens[k] &+= o.inputTokens[j]
        outputTokens[k] &+= o.outputTokens[j]
        totalTokens[k] &+= o.totalTokens[j]
        cost[k] += o.cost[j]
        has[k] |= o.has[j]
        let s = o.session.codes[j]
        if s != 0, session.codes[k] == 0 || o.sessionRank[j] < sessionRank[k] {
            session.codes[k] = code(s, m?.session)
            sessionRank[k] = o.sessionRank[j]
        }
        let u = o.user.codes[j]
        if u != 0, user.codes[k] == 0 || o.userRank[j] < userRank[k] {
            user.codes[k] = code(u, m?.user)
            userRank[k] = o.userRank[j]
        }
    }

    /// A dictionary joined from the parts' dictionaries: each distinct string once, compared byte for byte.
    struct Joined {
        var values: [String] = []
        var index: [ExactString: UInt32] = [:]
        /// Code in a part (0 = none, k = its values[k-1]) → code here.
        mutating func map(_ part: [String]) -> [UInt32] {
            var out = [UInt32](repeating: 0, count: part.count + 1)
            for (i, s) in part.enumerated() {
                if let c = index[ExactString(s)] { out[i + 1] = c; continue }
                values.append(s)
                let c = UInt32(values.count)
                index[ExactString(s)] = c
                out[i + 1] = c
            }
            return out
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
    init(_ rows: [TraceRow]) {
        reserve(rows.count)
        var projects = Joined(), names = Joined(), services = Joined(), sessions = Joined(), users = Joined()
        func code(_ s: String?, _ j: inout Joined) -> UInt32 {
            guard let s else { return 0 }
            if let c = j.index[ExactString(s)] { return c }
            j.values.append(s)
            j.index[ExactString(s)] = UInt32(j.values.count)
            return UInt32(j.values.count)
        }
        let none = TraceRow.Rank(notRoot: true, start: 0, spanID: 0)
        for r in rows {
            traceID.append(r.traceID)
            project.codes.append(code(r.project, &projects))
            rank.append(r.rank)
            name.codes.append(code(r.name, &names))
            service.codes.append(code(r.service, &services))
            start.append(r.start); end.append(r.end)
            spans.append(r.spans); llmCalls.append(r.llmCalls); errors.append(r.errors)
            inputTokens.append(r.inputTokens ?? 0); outputTokens.append(r.outputTokens ?? 0); totalTokens.append(r.totalTokens ?? 0)
            cost.append(r.costUSD ?? 0)
            has.append((r.inputTokens == nil ? 0 : Self.hasInput) | (r.outputTokens == nil ? 0 : Self.hasOutput)
                       | (r.totalTokens == nil ? 0 : Self.hasTotal) | (r.costUSD == nil ? 0 : Self.hasCost))
            session.codes.append(code(r.session?.1, &sessions)); sessionRank.append(r.session?.0 ?? none)
            user.codes.append(code(r.user?.1, &users)); userRank.append(r.user?.0 ?? none)
        }
        project.values = projects.values; name.values = names.values; service.values = services.values
        session.values = sessions.values; user.values = users.values
    }
}
