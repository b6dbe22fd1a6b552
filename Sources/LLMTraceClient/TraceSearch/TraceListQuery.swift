/// Trace search: the queries behind `tracectl dash`'s trace list, in the SQL subset, for whichever
/// reader answers them (`TraceReader.searchTraces`). At most
/// three steps: the traces with a matching span (only when a term is about spans — `model=` — or
/// the list is sorted by time to first token), the traces themselves (trace-level terms, sort and
/// limit on the `traces` table), and the models and TTFT of the listed ones.
public struct TraceListQuery: Sendable, Equatable {
    /// How far back, as the query language writes a duration: `15m`, `1h`, `24h`, `7d`.
    public var range: String
    public var filter: TraceFilter
    public var sort: TraceSort
    public var descending: Bool
    public var limit: Int

    public init(range: String, filter: TraceFilter = TraceFilter(), sort: TraceSort = .time, descending: Bool = true, limit: Int = 200) {
        self.range = range
        self.filter = filter
        self.sort = sort
        self.descending = descending
        self.limit = limit
    }

    var since: String { "start > now() - " + range }

    /// Step 1, when needed: `trace_id, k` for the traces with a matching span, best first by the
    /// sort when it is TTFT, else newest first (up to ten times the list: the next step sorts).
    public var spanStep: String? {
        let conditions = filter.conditions(perSpan: true)
        guard !conditions.isEmpty || sort == .ttft else { return nil }
        var w = [since] + conditions
        if sort == .ttft { w.append("ttft_ms IS NOT NULL") }
        let k = sort == .ttft ? "max(ttft_ms)" : "max(start)"
        let order = sort == .ttft && !descending ? "ASC" : "DESC"
        return "SELECT trace_id, \(k) AS k FROM spans WHERE \(w.joined(separator: " AND ")) GROUP BY trace_id ORDER BY k \(order) LIMIT \(sort == .ttft ? limit : limit * 10)"
    }

    /// Step 2: the traces, `ids` from step 1 when there was one.
    public func traceStep(ids: [String]?) -> String {
        var w = [since] + filter.conditions(perSpan: false)
        if let ids { w.append("trace_id IN (\(ids.isEmpty ? "''" : ids.map(Self.quote).joined(separator: ", ")))") }
        // TTFT is not a trace column: step 1 ordered the ids, the list keeps their order.
        let order = sort == .ttft ? "start DESC" : "\(sort.column) \(descending ? "DESC" : "ASC")"
        return "SELECT \(TraceSummary.columns.joined(separator: ", ")) FROM traces WHERE \(w.joined(separator: " AND ")) ORDER BY \(order) LIMIT \(limit)"
    }

    /// Step 3: `trace_id, model, ttft` for the listed traces (their spans start in the range too).
    public func detailStep(ids: [String]) -> String? {
        guard !ids.isEmpty else { return nil }
        return "SELECT trace_id, model, max(ttft_ms) AS ttft FROM spans WHERE \(since) AND trace_id IN (\(ids.map(Self.quote).joined(separator: ", "))) GROUP BY trace_id, model"
    }

    /// A string literal: single quotes, a quote inside doubled.
    public static func quote(_ s: String) -> String {
        var out = "'"
        for c in s { if c == "'" { out += "''" } else { out.append(c) } }
        return out + "'"
    }

    /// A number as the SQL subset reads it (no exponent).
    static func literal(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        // Nine decimals, written out (the lexer reads no exponent).
        let scaled = Int64((abs(v) * 1e9).rounded())
        var frac = String(scaled % 1_000_000_000)
        while frac.count < 9 { frac = "0" + frac }
        while frac.hasSuffix("0") { frac.removeLast() }
        return (v < 0 ? "-" : "") + String(scaled / 1_000_000_000) + (frac.isEmpty ? "" : "." + frac)
    }
}

/// What the trace list sorts by (`s` cycles, `S` reverses).
public enum TraceSort: String, Sendable, CaseIterable {
    case time, duration, tokens, cost, ttft

    public var column: String {
        switch self {
        case .time: return "start"
        case .duration: return "duration_ms"
        case .tokens: return "total_tokens"
        case .cost: return "cost_usd"
        case .ttft: return "ttft"
        }
    }

    public var next: TraceSort {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

/// One row of the trace list.
public struct TraceSummary: Sendable, Equatable {
    public var traceID: String
    public var startNanos: Int64
    public var name: String
    public var service: String
    public var durationMs: Double
    public var spans: Int
    public var errors: Int
    public var tokens: Int?
    public var costUSD: Double?
    public var session: String?
    /// From step 3: the models its LLM spans used, and its slowest first token.
    public var models: [String]
    public var ttftMs: Double?

    /// What step 2 selects, in this order.
    public static let columns = ["trace_id", "start", "name", "service", "duration_ms", "spans", "errors", "total_tokens", "cost_usd", "session_id"]

    public init(traceID: String, startNanos: Int64, name: String, service: String, durationMs: Double, spans: Int, errors: Int,
                tokens: Int?, costUSD: Double?, session: String?, models: [String] = [], ttftMs: Double? = nil) {
        self.traceID = traceID
        self.startNanos = startNanos
        self.name = name
        self.service = service
        self.durationMs = durationMs
        self.spans = spans
        self.errors = errors
        self.tokens = tokens
        self.costUSD = costUSD
        self.session = session
        self.models = models
        self.ttftMs = ttftMs
    }

    /// Whether every word is in the id, name, service, a model or the session (case-insensitive).
    public func matches(_ words: [String]) -> Bool {
        guard !words.isEmpty else { return true }
        let hay = ([traceID, name, service, session ?? ""] + models).map { $0.lowercased() }
        return words.allSatisfy { w in hay.contains { $0.contains(w) } }
    }
}
