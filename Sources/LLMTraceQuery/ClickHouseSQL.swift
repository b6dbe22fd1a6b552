import Foundation
import LLMTraceModel
import LLMTraceStore

/// A query of LLMTrace's SQL rewritten for ClickHouse over the tables of `schemas/clickhouse/`,
/// with the same answers as the local engine: the checked plan (names resolved, types known,
/// constants folded, a read key's project added to WHERE) is rendered, not the text.
///
/// How the semantics are kept (the local engine follows SQLite; `Ops` has the reference):
/// - Conditions use SQL's three-valued logic. ClickHouse's `and`/`or` return NULL when any argument
///   is NULL (`FALSE AND NULL` is NULL there, FALSE in SQL), so a condition is rendered as a number
///   0 (false), 0.5 (unknown) or 1 (true): AND is `least`, OR `greatest`, NOT `1 - x`, and WHERE
///   and HAVING keep rows where it is 1. A boolean output turns 0.5 back into NULL.
/// - Integer division truncates and division by zero is NULL (`intDivOrZero` behind a zero test:
///   ClickHouse evaluates both branches of `if`); `%` likewise; LIKE is case-insensitive for ASCII
///   letters (`lower` on both sides) with `\` taken literally.
/// - Aggregates over no values are NULL (ClickHouse's `sum` of nothing is 0, its `avg` nan);
///   quantiles are the lower nearest rank ⌊q·(n−1)⌋ of the sorted values, exactly — the local
///   sketch answers within 1/128 of it (`QuantileSketch.alpha`).
/// - ORDER BY puts NULL first ascending and last descending; grouped rows without ORDER BY come in
///   key order, as locally.
/// - Re-sent copies of a span not yet collapsed by a merge are collapsed by `FINAL`.
/// - `text MATCH` searches each message's and document's paragraphs (the `contents` column, split
///   at blank lines when 256 bytes or longer, as the store splits them) for whole tokens: terms (all must be in one paragraph, as FTS5
///   matches one indexed paragraph), `"phrases"`, `prefix*` and `OR`, case-insensitively.
/// - The `traces` table is a GROUP BY of every span of each trace (locally, spans are read from the
///   segments near the query's time range, which is the same for traces shorter than an hour).
public struct ClickHouseQuery: Sendable {
    public var sql: String
    public var columns: [String]
    public var types: [QueryType]
    /// Rows asked for beyond the row cap, to tell a truncated answer.
    public var rowCap: Int
}

/// The ClickHouse tables a query reads (`database.spans` on a cluster, `database.spans_local` on
/// one server).
public struct ClickHouseTables: Sendable {
    public var spans: String
    public var scores: String
    public init(spans: String, scores: String) {
        self.spans = spans
        self.scores = scores
    }
}

extension QueryEngine {
    /// `sql` for ClickHouse. `project` confines it as a read key does locally.
    public static func clickhouse(_ sql: String, project: String? = nil, tables: ClickHouseTables, maxRows: Int = 10_000,
                                  now: Int64 = wallNanos()) throws -> ClickHouseQuery {
        let plan = try QueryPlanner.plan(QueryParser.parse(sql), now: now, project: project)
        var r = ClickHouseRenderer(plan: plan)
        return try r.render(tables: tables, maxRows: maxRows)
    }

    /// A value of a ClickHouse answer (`FORMAT JSONCompact`) as the local engine would give it.
    public static func clickhouseValue(_ v: JSONValue, as type: QueryType) -> QueryValue {
        if case .null = v { return .null }
        switch type {
        case .int, .time:
            let n: Int64? = v.int ?? v.string.flatMap { Int64($0) } ?? v.double.flatMap { $0.isFinite ? Int64(exactly: $0.rounded(.towardZero)) : nil }
            guard let n else { return .null }
            return type == .time ? .time(n) : .int(n)
        case .double:
            guard let d = v.double ?? v.string.flatMap({ Double($0) }), d.isFinite else { return .null }
            return .double(d)
        case .bool:
            let n = v.int ?? v.string.flatMap { Int64($0) } ?? 0
            return .bool(n != 0)
        case .string:
            return v.string.map { .string($0) } ?? .string(v.jsonString)
        case .null:
            return .null
        }
    }
}

struct ClickHouseRenderer {
    let plan: QueryPlan

    init(plan: QueryPlan) { self.plan = plan }

    mutating func render(tables: ClickHouseTables, maxRows: Int) throws -> ClickHouseQuery {
        let from: String
        switch plan.table {
        case .spans: from = tables.spans
        case .scores: from = tables.scores
        case .traces: from = "(" + Self.traces(tables.spans) + ")"
        }
        var sql = "SELECT "
        sql += try plan.outputs.enumerated().map { (i, o) in try output(o) + " AS _c\(i)" }.joined(separator: ", ")
        sql += " FROM \(from)" + (plan.table == .traces ? "" : " FINAL")
        if let f = plan.filter { sql += " WHERE " + (try condition(f)) }
        if plan.isAggregate {
            if !plan.keys.isEmpty { sql += " GROUP BY " + (try plan.keys.map { try value($0) }.joined(separator: ", ")) }
            if let h = plan.having { sql += " HAVING " + (try condition(h)) }
        }
        var order: [String] = []
        if !plan.order.isEmpty {
            for o in plan.order { order.append(try output(o.expr) + (o.descending ? " DESC NULLS LAST" : " ASC NULLS FIRST")) }
        } else if plan.isAggregate {
            for k in plan.keys { order.append(try output(k) + " ASC NULLS FIRST") }
        }
        if !order.isEmpty { sql += " ORDER BY " + order.joined(separator: ", ") }
        let cap = min(plan.limit ?? Int.max, maxRows)
        let ask = cap == Int.max ? Int.max : cap + 1
        if ask != Int.max || plan.offset > 0 {
            sql += " LIMIT \(plan.offset), \(ask == Int.max ? Int(Int64.max / 2) : ask)"
        }
        return ClickHouseQuery(sql: sql, columns: plan.names, types: plan.outputTypes, rowCap: cap)
    }

    /// The `traces` table: a row per project and trace id from all its spans (`TraceRow` has the
    /// rules: the representative span is the first root, then earlier start, then smaller span id;
    /// session and user of the first span in that order that has one). Columns are `tr_<name>`:
    /// ClickHouse substitutes aliases everywhere in a query level, so `argMin(name, …) AS name`
    /// would refer to itself.
    static func traces(_ spans: String) -> String {
        let rank = "(parent_span_id != '', start_ns, span_id)"
        func first(_ c: String) -> String {
            "if(count(\(c)) = 0, NULL, argMinIf(assumeNotNull(\(c)), \(rank), isNotNull(\(c))))"
        }
        return "SELECT toString(trace_id) AS tr_trace_id, project AS tr_project, argMin(name, \(rank)) AS tr_name, " +
            "argMin(service, \(rank)) AS tr_service, min(start_ns) AS tr_start, max(end_ns) AS tr_end, " +
            "((max(end_ns) - min(start_ns)) / 1e6) AS tr_duration_ms, toInt64(count()) AS tr_spans, " +
            "toInt64(countIf(kind = 'llm')) AS tr_llm_calls, toInt64(countIf(status = 'error')) AS tr_errors, " +
            "countIf(status = 'error') > 0 AS tr_error, " +
            "if(count(input_tokens) = 0, NULL, sum(input_tokens)) AS tr_input_tokens, " +
            "if(count(output_tokens) = 0, NULL, sum(output_tokens)) AS tr_output_tokens, " +
            "if(count(input_tokens) + count(output_tokens) = 0, NULL, sum(ifNull(input_tokens, 0) + ifNull(output_tokens, 0))) AS tr_total_tokens, " +
            "if(count(cost_usd) = 0, NULL, sum(cost_usd)) AS tr_cost_usd, \(first("session_id")) AS tr_session_id, " +
            "\(first("user_id")) AS tr_user_id, countIf(parent_span_id = '') > 0 AS tr_has_root " +
            "FROM \(spans) FINAL GROUP BY project, trace_id"
    }

    // MARK: Values

    /// A value as its result is read: booleans back from 0/0.5/1 to 0, NULL, 1.
    func output(_ b: Bound) throws -> String {
        b.type == .bool ? "if(\(try value(b)) = 0.5, NULL, toUInt8(\(try value(b))))" : try value(b)
    }

    /// A condition kept where true.
    func condition(_ b: Bound) throws -> String { "(\(try kleene(b)) = 1)" }

    /// Any expression as a three-valued number (0, 0.5, 1) for the logic above.
    func kleene(_ b: Bound) throws -> String {
        switch b.type {
        case .bool: return try value(b)
        case .null: return "0.5"
        case .int, .double, .time:
            let v = try value(b)
            return "if(isNull(\(v)), 0.5, toFloat64(\(v) != 0))"
        case .string:
            throw QueryError("a string used as a condition is not answered through ClickHouse; compare it, e.g. x != ''")
        }
    }

    /// A boolean read as a nullable number (1, 0 or NULL) for arithmetic and comparisons.
    func number(_ b: Bound) throws -> String {
        b.type == .bool ? "if(\(try value(b)) = 0.5, NULL, \(try value(b)))" : try value(b)
    }

    func value(_ b: Bound) throws -> String {
        switch b {
        case .column(let c): return try column(c)
        case .const(let v, let t): return literal(v, t)
        case .negate(let e, _): return "(-\(try number(e)))"
        case .not(let e): return "(1 - \(try kleene(e)))"
        case .and(let l, let r): return "least(\(try kleene(l)), \(try kleene(r)))"
        case .or(let l, let r): return "greatest(\(try kleene(l)), \(try kleene(r)))"
        case .isNull(let e, let neg):
            let test = e.type == .bool ? "toFloat64(\(try value(e)) = 0.5)" : "toFloat64(isNull(\(try value(e))))"
            return neg ? "(1 - \(test))" : test
        case .compare(let op, let l, let r):
            let sqlOp = op == "!=" ? "!=" : op
            return "ifNull(toFloat64(\(try number(l)) \(sqlOp) \(try number(r))), 0.5)"
        case .inList(let e, let values, let neg):
            let x = try number(e)
            let list = values.map { literal($0, e.type) }.joined(separator: ", ")
            let hasNull = values.contains(where: \.isNull)
            // x IN (…) is NULL when x is NULL, or when nothing matched and the list holds a NULL.
            let test = "if(isNull(\(x)), 0.5, if(\(x) IN (\(list)), 1., \(hasNull ? "0.5" : "0.")))"
            return neg ? "(1 - \(test))" : test
        case .like(let e, let pattern, let neg):
            var p = ""
            for s in pattern {
                if s == "\\" { p += "\\\\" } else { p.unicodeScalars.append(s) }
            }
            let test = "ifNull(toFloat64(lower(\(try value(e))) LIKE lower(\(quote(p)))), 0.5)"
            return neg ? "(1 - \(test))" : test
        case .arith(let op, let l, let r, let t): return try arith(op, l, r, t)
        case .call(let f, let args, let t): return try call(f, args, t)
        case .key(let k, _): return try value(plan.keys[k])
        case .agg(let k, _): return try aggregate(plan.aggregates[k])
        case .match(let k): return try match(plan.matchQueries[k])
        }
    }

    func arith(_ op: String, _ l: Bound, _ r: Bound, _ t: QueryType) throws -> String {
        let x = try number(l), y = try number(r)
        let integers = t == .int || t == .time
        switch op {
        case "+", "-", "*": return "(\(x) \(op) \(y))"
        case "/":
            return integers ? "if(\(y) = 0, NULL, intDivOrZero(\(x), \(y)))" : "if(\(y) = 0, NULL, \(x) / \(y))"
        default:
            if integers { return "if(\(y) = 0, NULL, \(x) % if(\(y) = 0, 1, \(y)))" }
            // SQLite's % of reals works on their integer parts.
            return "if(abs(\(y)) < 1, NULL, toFloat64(toInt64(\(x)) % if(abs(\(y)) < 1, 1, toInt64(\(y)))))"
        }
    }

    func call(_ f: String, _ args: [Bound], _ t: QueryType) throws -> String {
        let a = try args.map { try number($0) }
        switch f {
        case "bucket": return "(intDiv(\(a[0]), \(a[1])) * \(a[1]))"
        case "lower", "upper": return "\(f)(\(a[0]))"
        case "length": return "toInt64(lengthUTF8(\(a[0])))"
        case "coalesce", "ifnull": return "coalesce(\(a.joined(separator: ", ")))"
        case "abs": return "abs(\(a[0]))"
        case "round":
            let p = args.count == 2 ? "pow(10, \(a[1]))" : "1"
            // Half away from zero, as SQLite (ClickHouse's round() goes to even).
            return "(if(\(a[0]) < 0, -1, 1) * floor(abs(\(a[0])) * \(p) + 0.5) / \(p))"
        default: throw QueryError("\(f)() is not answered through ClickHouse yet")
        }
    }

    func aggregate(_ spec: AggregateSpec) throws -> String {
        let x = try spec.arg.map { try number($0) } ?? ""
        let none = "count(\(x)) = 0"
        switch spec.kind {
        case .countRows: return "toInt64(count())"
        case .count: return "toInt64(count(\(x)))"
        case .countDistinct: return "toInt64(ifNull(uniqExact(\(x)), 0))"  // NULL over only NULLs in 18.16
        case .sum: return "if(\(none), NULL, sum(\(x)))"
        case .avg: return "if(\(none), NULL, avg(\(x)))"
        case .min: return "if(\(none), NULL, min(\(x)))"
        case .max: return "if(\(none), NULL, max(\(x)))"
        case .quantile(let q):
            // The lower nearest rank, exactly: the sorted non-null values' element ⌊q·(n−1)⌋.
            return "if(\(none), NULL, toFloat64(arraySort(groupArray(\(x)))[toUInt64(floor(\(q) * (count(\(x)) - 1))) + 1]))"
        case .rate:
            let s = plan.rateSeconds ?? 1
            return spec.arg == nil ? "(count() / \(s))" : "(if(\(none), NULL, sum(\(x))) / \(s))"
        }
    }

    func column(_ c: ColumnRef) throws -> String {
        switch c {
        case .span(let s):
            switch s {
            case .traceID: return "toString(trace_id)"
            case .spanID: return "toString(span_id)"
            case .parentSpanID: return "nullIf(parent_span_id, '')"
            case .model: return "coalesce(response_model, request_model)"
            case .start: return "start_ns"
            case .end: return "end_ns"
            case .durationMs: return "((end_ns - start_ns) / 1e6)"
            case .totalTokens:
                return "if(isNull(input_tokens) AND isNull(output_tokens), NULL, ifNull(input_tokens, 0) + ifNull(output_tokens, 0))"
            case .ttftMs: return "(ttft_ns / 1e6)"
            case .error: return "toFloat64(status = 'error')"
            case .isRoot: return "toFloat64(parent_span_id = '')"
            default: return s.rawValue
            }
        case .score(let s):
            switch s {
            case .time: return "time_ns"
            case .traceID: return "toString(trace_id)"
            case .spanID: return "nullIf(span_id, '')"
            default: return s.rawValue
            }
        case .attr(let key, let t):
            let k = quote(key)
            let text = "if(has(attr_keys, \(k)), attr_values[indexOf(attr_keys, \(k))], NULL)"
            switch t {
            case .double, .int:
                // Booleans were written as true/false: numbers 1 and 0, as locally.
                return "multiIf(isNull(\(text)), NULL, \(text) = 'true', 1., \(text) = 'false', 0., toFloat64OrNull(assumeNotNull(\(text))))"
            case .bool:
                return "multiIf(\(text) = 'true', 1., \(text) = 'false', 0., 0.5)"
            default:
                return text
            }
        case .trace(let t):
            switch t {
            case .error, .hasRoot: return "toFloat64(tr_\(t.rawValue))"
            default: return "tr_\(t.rawValue)"
            }
        }
    }

    func literal(_ v: QueryValue, _ t: QueryType) -> String {
        switch v {
        case .null: return "NULL"
        case .int(let i), .time(let i): return "toInt64(\(i))"
        case .double(let d): return "toFloat64(\(d.isFinite ? "\(d)" : "nan"))"
        case .string(let s): return quote(s)
        case .bool(let b): return b ? "1." : "0."
        }
    }

    func quote(_ s: String) -> String { ClickHouseTables.literal(s) }

    /// A string literal whose backslashes are already escaped for ClickHouse.
    func quoteRaw(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "\\'") + "'" }
}

extension ClickHouseTables {
    /// A ClickHouse string literal: backslash and quote escaped; every other byte as it is.
    public static func literal(_ s: String) -> String {
        var out = "'"
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\0": out += "\\0"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "'"
    }
}

extension ClickHouseRenderer {
    // MARK: Text

    /// `text MATCH 'q'`: FTS5's basic syntax over each paragraph, as whole tokens.
    func match(_ q: String) throws -> String {
        let groups = try MatchQuery.parse(q)
        let boundary = "[^\\\\pL\\\\pN]"
        // Lower-cased on both sides: 18.16's match() checks a pattern's literal part case-sensitively
        // before the regular expression, so (?i) finds nothing there.
        func pattern(_ t: MatchQuery.Term) -> String {
            let words = t.words.map { NSRegularExpression.escapedPattern(for: $0.lowercased()).replacingOccurrences(of: "\\", with: "\\\\") }
            let body = words.joined(separator: "\(boundary)+")
            return "(^|\(boundary))" + body + (t.prefix ? "" : "(\(boundary)|$)")
        }
        let alternatives = groups.map { terms in
            "(" + terms.map { "match(lowerUTF8(p), \(quoteRaw(pattern($0))))" }.joined(separator: " AND ") + ")"
        }
        return "toFloat64(arrayExists(c -> arrayExists(p -> \(alternatives.joined(separator: " OR ")), if(length(c) >= 256, splitByString('\\n\\n', c), [c])), contents))"
    }

}

/// The part of FTS5's query syntax answered through ClickHouse: terms, prefix*, and OR between
/// groups of terms (implicit AND binds tighter). Anything else is refused by name.
struct MatchQuery {
    struct Term: Equatable {
        var words: [String]
        var prefix: Bool
    }

    static func parse(_ q: String) throws -> [[Term]] {
        var groups: [[Term]] = [[]]
        var i = q.unicodeScalars.startIndex
        let s = q.unicodeScalars
        func isWord(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c.properties.numericType != nil || c == "_" }
        while i < s.endIndex {
            let c = s[i]
            if c == " " || c == "\t" || c == "\n" { i = s.index(after: i); continue }
            if c == "\"" {
                // As the local index (FTS5 with detail=column) refuses them.
                throw QueryError("MATCH: phrase queries are not supported; give the words without quotes (all must be in one paragraph)")
                guard let close = s[s.index(after: i)...].firstIndex(of: "\"") else { throw QueryError("MATCH: unterminated phrase in '\(q)'") }
                let words = String(String.UnicodeScalarView(s[s.index(after: i)..<close])).split(whereSeparator: { !$0.unicodeScalars.allSatisfy(isWord) }).map(String.init)
                var end = s.index(after: close)
                var prefix = false
                if end < s.endIndex, s[end] == "*" { prefix = true; end = s.index(after: end) }
                if !words.isEmpty { groups[groups.count - 1].append(Term(words: words, prefix: prefix)) }
                i = end
                continue
            }
            var j = i
            while j < s.endIndex, isWord(s[j]) { j = s.index(after: j) }
            guard j > i else { throw QueryError("MATCH: '\(c)' in '\(q)' is not answered through ClickHouse (terms, prefix* and OR are)") }
            let word = String(String.UnicodeScalarView(s[i..<j]))
            var prefix = false
            if j < s.endIndex, s[j] == "*" { prefix = true; j = s.index(after: j) }
            if word == "OR" && !prefix {
                guard !groups[groups.count - 1].isEmpty else { throw QueryError("MATCH: OR needs terms on both sides in '\(q)'") }
                groups.append([])
            } else if word == "AND" && !prefix {
                // Explicit AND is the implicit one.
            } else if word == "NOT" || word == "NEAR" {
                throw QueryError("MATCH: \(word) is not answered through ClickHouse (terms, prefix* and OR are)")
            } else {
                groups[groups.count - 1].append(Term(words: [word], prefix: prefix))
            }
            i = j
        }
        guard groups.allSatisfy({ !$0.isEmpty }) else { throw QueryError("MATCH needs search terms, such as text MATCH 'refund policy'") }
        return groups
    }
}
