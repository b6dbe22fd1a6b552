import Foundation
import LLMTraceStore

/// One aggregate of a grouped query.
struct AggregateSpec: Sendable {
    enum Kind: Sendable, Equatable {
        case countRows, count, sum, avg, min, max, quantile(Double), countDistinct, rate
    }
    var kind: Kind
    var arg: Bound?
    var type: QueryType
}

/// A checked query: what to read, how to filter and group, what to return.
struct QueryPlan: Sendable {
    struct OrderKey: Sendable {
        var expr: Bound
        var descending: Bool
    }
    var table = QueryTable.spans
    var names: [String] = []
    var filter: Bound?
    var isAggregate = false
    var keys: [Bound] = []
    var aggregates: [AggregateSpec] = []
    /// Row context for plain queries, grouped context (`.agg`, `.key`) for aggregate queries.
    var outputs: [Bound] = []
    var having: Bound?
    var order: [OrderKey] = []
    var limit: Int?
    var offset = 0
    /// Inclusive bounds on the table's time column (`start`, or `time` for scores) implied by the
    /// WHERE clause (segments outside are skipped).
    var startLow: Int64 = .min
    var startHigh: Int64 = .max
    /// Equality / IN constraints on dictionary columns (a segment whose dictionary has none of the
    /// values is skipped).
    var dictionaryConstraints: [(SegmentFormat.Column, [String])] = []
    /// Seconds that `rate()` divides by.
    var rateSeconds: Double?
    /// Columns the row stage reads.
    var columns: Set<ColumnRef> = []
    /// FTS5 queries of the `text MATCH '…'` conditions, by number.
    var matchQueries: [String] = []

    var outputTypes: [QueryType] { outputs.map(\.type) }
}

/// Turns a parsed statement into a plan: resolves names, checks types (errors carry the position),
/// folds constants, finds the time range and splits aggregates from row expressions.
struct QueryPlanner {
    let now: Int64
    private var aggregateIndex: [String: Int] = [:]
    private var plan = QueryPlan()
    private var groupKeys: [(canonical: String, bound: Bound)] = []

    static let aggregateNames: Set<String> = ["count", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99", "quantile", "count_distinct", "rate"]
    static let scalarNames: Set<String> = ["now", "bucket", "lower", "upper", "length", "coalesce", "ifnull", "abs", "round"]

    init(now: Int64) { self.now = now }

    enum Context {
        case row(String)   // where the expression is: "WHERE", "GROUP BY", ...
        case grouped
    }

    static func plan(_ s: SelectStatement, now: Int64, project: String?) throws -> QueryPlan {
        var p = QueryPlanner(now: now)
        return try p.build(s, project: project)
    }

    private mutating func build(_ s0: SelectStatement, project: String?) throws -> QueryPlan {
        var s = s0
        guard let table = QueryTable(rawValue: s.table) else {
            throw QueryError("unknown table '\(s.table)'; the tables are spans, traces (a row per trace) and scores", at: s.tablePosition)
        }
        plan.table = table
        if s.star {
            s.items = table.star.map { .init(expr: Expr(.column($0), at: s.starPosition), alias: nil, text: $0) }
        }
        plan.names = s.items.map(\.name)
        plan.limit = s.limit
        plan.offset = s.offset

        if let w = s.filter {
            let f = try bind(w, .row("WHERE"))
            try requireBool(f, w, "WHERE")
            plan.filter = f
        }
        if let project {
            let p = Bound.compare("=", .column(table.projectColumn), .const(.string(project), .string))
            plan.filter = plan.filter.map { .and(p, $0) } ?? p
        }
        if let f = plan.filter { extractRanges(f) }

        // GROUP BY: positions and aliases name select items.
        for g in s.groupBy {
            let e = try resolveItemReference(g, s.items, "GROUP BY")
            let b = try bind(e, .row("GROUP BY"))
            groupKeys.append((e.canonical, b))
        }
        plan.keys = groupKeys.map(\.bound)
        var usesAggregate = false
        for item in s.items { item.expr.visit { if case .call(let f, _, _, _) = $0.kind, Self.aggregateNames.contains(f) { usesAggregate = true } } }
        if let h = s.having { h.visit { if case .call(let f, _, _, _) = $0.kind, Self.aggregateNames.contains(f) { usesAggregate = true } } }
        for o in s.orderBy { o.expr.visit { if case .call(let f, _, _, _) = $0.kind, Self.aggregateNames.contains(f) { usesAggregate = true } } }
        plan.isAggregate = usesAggregate || !s.groupBy.isEmpty
        if s.having != nil && !plan.isAggregate {
            throw QueryError("HAVING needs GROUP BY or an aggregate", at: s.having!.position)
        }

        let ctx: Context = plan.isAggregate ? .grouped : .row("SELECT")
        plan.outputs = try s.items.map { try bind($0.expr, ctx) }
        if let h = s.having {
            let b = try bind(h, .grouped)
            try requireBool(b, h, "HAVING")
            plan.having = b
        }
        for o in s.orderBy {
            if case .literal(.int(let k)) = o.expr.kind {
                guard k >= 1, k <= plan.outputs.count else {
                    throw QueryError("ORDER BY \(k) is not a column position (the query has \(plan.outputs.count) column\(plan.outputs.count == 1 ? "" : "s"))", at: o.expr.position)
                }
                plan.order.append(.init(expr: plan.outputs[Int(k) - 1], descending: o.descending))
            } else if case .column(let name) = o.expr.kind, let k = s.items.firstIndex(where: { $0.alias == name }) {
                plan.order.append(.init(expr: plan.outputs[k], descending: o.descending))
            } else {
                plan.order.append(.init(expr: try bind(o.expr, ctx), descending: o.descending))
            }
        }

        if plan.aggregates.contains(where: { $0.kind == .rate }) {
            if let w = plan.keys.lazy.compactMap({ k -> Int64? in
                if case .call("bucket", let args, _) = k, let w = args[1].constant?.asInt { return w }
                return nil
            }).first {
                plan.rateSeconds = Double(w) / 1e9
            } else if plan.startLow != .min {
                let hi = plan.startHigh == .max ? now : min(plan.startHigh, now)
                plan.rateSeconds = max(1e-9, Double(hi - plan.startLow) / 1e9)
            } else {
                throw QueryError("rate() needs a time window: GROUP BY bucket(start, 1m), or a start range in WHERE such as start > now() - 1h")
            }
        }

        var cols = Set<ColumnRef>()
        plan.filter?.columns(into: &cols)
        for k in plan.keys { k.columns(into: &cols) }
        for a in plan.aggregates { a.arg?.columns(into: &cols) }
        if !plan.isAggregate {
            for o in plan.outputs { o.columns(into: &cols) }
            for o in plan.order { o.expr.columns(into: &cols) }
        }
        plan.columns = cols
        return plan
    }

    private func resolveItemReference(_ e: Expr, _ items: [SelectStatement.Item], _ clause: String) throws -> Expr {
        if case .literal(.int(let k)) = e.kind {
            guard k >= 1, k <= items.count else {
                throw QueryError("\(clause) \(k) is not a column position (the query has \(items.count) column\(items.count == 1 ? "" : "s"))", at: e.position)
            }
            return items[Int(k) - 1].expr
        }
        if case .column(let name) = e.kind, plan.table.column(named: name) == nil, let item = items.first(where: { $0.alias == name }) {
            return item.expr
        }
        return e
    }

    private func requireBool(_ b: Bound, _ e: Expr, _ clause: String) throws {
        switch b.type {
        case .bool, .null, .int: return
        default: throw QueryError("\(clause) needs a condition, but \(e.canonical) is a \(b.type.rawValue)", at: e.position)
        }
    }

    // MARK: Binding

    private func describe(_ e: Expr, _ t: QueryType) -> String { "\(e.canonical) (\(t.rawValue))" }

    private static func isNumeric(_ t: QueryType) -> Bool { t == .int || t == .double || t == .time || t == .bool || t == .null }

    mutating func bind(_ e: Expr, _ ctx: Context) throws -> Bound {
        if case .grouped = ctx, let k = groupKeys.firstIndex(where: { $0.canonical == e.canonical }) {
            return .key(k, groupKeys[k].bound.type)
        }
        switch e.kind {
        case .column(let name):
            guard let c = plan.table.column(named: name) else {
                throw QueryError("unknown column '\(name)'; \(plan.table.rawValue) has: \(plan.table.help)", at: e.position)
            }
            if case .grouped = ctx {
                throw QueryError("column \(name) must be in GROUP BY or inside an aggregate such as count(), sum(\(name)), max(\(name))", at: e.position)
            }
            return .column(c)
        case .literal(let v):
            switch v {
            case .null: return .const(.null, .null)
            case .int: return .const(v, .int)
            case .double: return .const(v, .double)
            case .string: return .const(v, .string)
            case .bool: return .const(v, .bool)
            case .time: return .const(v, .time)
            }
        case .attr(let key):
            guard plan.table == .spans else { throw QueryError("attr['\(key)'] reads span attributes: query FROM spans", at: e.position) }
            if case .grouped = ctx {
                throw QueryError("attr['\(key)'] must be in GROUP BY or inside an aggregate such as count(attr['\(key)'])", at: e.position)
            }
            return .column(.attr(key, .string))
        case .match(let target, let q):
            guard case .column("text") = target.kind else {
                throw QueryError("MATCH searches the pseudo-column text (all message and document content): write text MATCH '\(q)'", at: target.position)
            }
            guard case .row("WHERE") = ctx else { throw QueryError("MATCH can only be used in WHERE", at: e.position) }
            guard plan.table == .spans else { throw QueryError("MATCH searches span text: query FROM spans", at: e.position) }
            guard !q.trimmingCharacters(in: .whitespaces).isEmpty else { throw QueryError("MATCH needs search terms, such as text MATCH 'refund policy'", at: e.position) }
            plan.matchQueries.append(q)
            return .match(plan.matchQueries.count - 1)
        case .negate(let x):
            let b = try bind(x, ctx)
            guard b.type == .int || b.type == .double || b.type == .null else {
                throw QueryError("cannot negate \(describe(x, b.type))", at: e.position)
            }
            return fold(.negate(b, b.type == .double ? .double : .int))
        case .not(let x):
            return fold(.not(try bind(x, ctx)))
        case .binary(let op, let l, let r):
            if op == "AND" || op == "OR" {
                let lb = try bind(l, ctx), rb = try bind(r, ctx)
                return fold(op == "AND" ? .and(lb, rb) : .or(lb, rb))
            }
            if ["+", "-", "*", "/", "%"].contains(op) { return try bindArith(op, l, r, ctx, e.position) }
            return try bindCompare(op, l, r, ctx, e.position)
        case .isNull(let x, let neg):
            return fold(.isNull(try bind(x, ctx), negated: neg))
        case .between(let x, let lo, let hi, let neg):
            let both = Bound.and(try bindCompare(">=", x, lo, ctx, e.position), try bindCompare("<=", x, hi, ctx, e.position))
            return fold(neg ? .not(both) : both)
        case .inList(let x, let list, let neg):
            var b = try bind(x, ctx)
            if b.isAttribute, let first = list.first, let t = Self.literalType(first) { b = b.retyped(t) }
            var values: [QueryValue] = []
            for item in list {
                var v = try bind(item, ctx)
                v = coerce(v, to: b.type)
                guard let c = v.constant else { throw QueryError("IN takes a list of constants", at: item.position) }
                guard compatible(b.type, v.type) else {
                    throw QueryError("cannot compare \(describe(x, b.type)) with \(describe(item, v.type))", at: item.position)
                }
                values.append(c)
            }
            return fold(.inList(b, values, negated: neg))
        case .like(let x, let p, let neg):
            let b = try bind(x, ctx)
            guard b.type == .string || b.type == .null else { throw QueryError("LIKE needs a string, but \(describe(x, b.type))", at: x.position) }
            guard case .literal(.string(let pattern)) = p.kind else { throw QueryError("LIKE takes a quoted pattern such as 'gpt-4%'", at: p.position) }
            return fold(.like(b, Array(pattern.unicodeScalars), negated: neg))
        case .call(let name, let args, let star, let distinct):
            if Self.aggregateNames.contains(name) {
                guard case .grouped = ctx else {
                    if case .row(let clause) = ctx { throw QueryError("aggregate \(name)() cannot be used in \(clause)", at: e.position) }
                    fatalError()
                }
                return try bindAggregate(e, name, args, star: star, distinct: distinct)
            }
            guard Self.scalarNames.contains(name) else {
                throw QueryError("unknown function \(name)(); functions: count sum avg min max p50 p90 p95 p99 quantile count_distinct rate bucket now lower upper length coalesce abs round", at: e.position)
            }
            guard !star, !distinct else { throw QueryError("\(name)() does not take * or DISTINCT", at: e.position) }
            return try bindScalar(e, name, args, ctx)
        }
    }

    private func compatible(_ a: QueryType, _ b: QueryType) -> Bool {
        if a == .null || b == .null { return true }
        if a == .string || b == .string { return a == b }
        return true
    }

    /// A string literal compared with a time becomes a time.
    private func coerce(_ b: Bound, to t: QueryType) -> Bound {
        if t == .time, case .const(.string(let s), _) = b, let ns = QueryValue.parseTime(s) { return .const(.time(ns), .time) }
        return b
    }

    private mutating func bindCompare(_ op: String, _ l: Expr, _ r: Expr, _ ctx: Context, _ pos: Int) throws -> Bound {
        var lb = try bind(l, ctx), rb = try bind(r, ctx)
        // An attribute takes the type of what it is compared with.
        if lb.isAttribute, !rb.isAttribute { lb = lb.retyped(rb.type) }
        if rb.isAttribute, !lb.isAttribute { rb = rb.retyped(lb.type) }
        lb = coerce(lb, to: rb.type)
        rb = coerce(rb, to: lb.type)
        if lb.type == .time, rb.type == .string { throw QueryError("'\(rb.constant?.text ?? r.canonical)' is not a time; write times as '2026-11-25T06:00:00Z' or now() - 1h", at: r.position) }
        if rb.type == .time, lb.type == .string { throw QueryError("'\(lb.constant?.text ?? l.canonical)' is not a time; write times as '2026-11-25T06:00:00Z' or now() - 1h", at: l.position) }
        guard compatible(lb.type, rb.type) else {
            throw QueryError("cannot compare \(describe(l, lb.type)) with \(describe(r, rb.type))", at: pos)
        }
        return fold(.compare(op, lb, rb))
    }

    private mutating func bindArith(_ op: String, _ l: Expr, _ r: Expr, _ ctx: Context, _ pos: Int) throws -> Bound {
        let lb = try bind(l, ctx).retyped(.double), rb = try bind(r, ctx).retyped(.double)
        for (x, b) in [(l, lb), (r, rb)] where !Self.isNumeric(b.type) {
            throw QueryError("operator \(op) needs numbers, but \(describe(x, b.type))", at: x.position)
        }
        let t: QueryType
        switch (lb.type, rb.type) {
        case (.time, .time):
            guard op == "-" else { throw QueryError("times can only be subtracted from each other", at: pos) }
            t = .int
        case (.time, .double), (.double, .time):
            throw QueryError("time arithmetic needs whole nanoseconds or a duration such as 1h", at: pos)
        case (.time, _), (_, .time):
            guard op == "+" || op == "-", !(op == "-" && rb.type == .time) else { throw QueryError("a time can only have a duration added or subtracted", at: pos) }
            t = .time
        case (.double, _), (_, .double): t = .double
        default: t = .int
        }
        return fold(.arith(op, lb, rb, t))
    }

    private mutating func bindScalar(_ e: Expr, _ name: String, _ args: [Expr], _ ctx: Context) throws -> Bound {
        func arity(_ n: ClosedRange<Int>, _ usage: String) throws {
            guard n.contains(args.count) else { throw QueryError("\(name)() takes \(usage)", at: e.position) }
        }
        switch name {
        case "now":
            try arity(0...0, "no arguments")
            return .const(.time(now), .time)
        case "bucket":
            try arity(2...2, "a time and a width: bucket(start, 1m)")
            let t = try bind(args[0], ctx)
            guard t.type == .time || t.type == .int else { throw QueryError("bucket() needs a time, but \(describe(args[0], t.type))", at: args[0].position) }
            let w = try bind(args[1], ctx)
            guard let wv = w.constant?.asInt, w.type == .int, wv > 0 else {
                throw QueryError("bucket() width must be a positive duration such as 1m, 5m, 1h", at: args[1].position)
            }
            return fold(.call("bucket", [t, .const(.int(wv), .int)], .time))
        case "lower", "upper", "length":
            try arity(1...1, "one string")
            let s = try bind(args[0], ctx)
            guard s.type == .string || s.type == .null else { throw QueryError("\(name)() needs a string, but \(describe(args[0], s.type))", at: args[0].position) }
            return fold(.call(name, [s], name == "length" ? .int : .string))
        case "coalesce", "ifnull":
            try arity(2...16, "two or more values")
            let bs = try args.map { try bind($0, ctx) }
            let t = bs.first(where: { $0.type != .null })?.type ?? .null
            for (a, b) in zip(args, bs) where !(b.type == t || b.type == .null || (Self.isNumeric(t) && Self.isNumeric(b.type) && t != .time && b.type != .time)) {
                throw QueryError("\(name)() arguments must have one type: \(describe(a, b.type)) is not a \(t.rawValue)", at: a.position)
            }
            let rt: QueryType = bs.contains(where: { $0.type == .double }) ? .double : t
            return fold(.call(name, bs, rt))
        case "abs":
            try arity(1...1, "one number")
            let b = try bind(args[0], ctx).retyped(.double)
            guard b.type == .int || b.type == .double || b.type == .null else { throw QueryError("abs() needs a number, but \(describe(args[0], b.type))", at: args[0].position) }
            return fold(.call(name, [b], b.type))
        default: // round
            try arity(1...2, "a number and optionally digits: round(x, 2)")
            let bs = try args.map { try bind($0, ctx).retyped(.double) }
            guard bs[0].type == .int || bs[0].type == .double || bs[0].type == .null else {
                throw QueryError("round() needs a number, but \(describe(args[0], bs[0].type))", at: args[0].position)
            }
            if bs.count == 2, bs[1].constant?.asInt == nil { throw QueryError("round() digits must be a constant integer", at: args[1].position) }
            return fold(.call(name, bs, .double))
        }
    }

    private mutating func bindAggregate(_ e: Expr, _ name: String, _ args: [Expr], star: Bool, distinct: Bool) throws -> Bound {
        let canonical = e.canonical
        if let k = aggregateIndex[canonical] { return .agg(k, plan.aggregates[k].type) }
        func arg(_ k: Int) throws -> Bound {
            let b = try bind(args[k], .row("an aggregate's argument"))
            // Numeric aggregates read an attribute as a number; count, min and max as it is (text).
            switch name {
            case "sum", "avg", "rate", "p50", "p90", "p95", "p99", "quantile": return b.retyped(.double)
            default: return b
            }
        }
        var spec: AggregateSpec
        switch name {
        case "count":
            if star || args.isEmpty {
                spec = .init(kind: .countRows, arg: nil, type: .int)
            } else {
                guard args.count == 1 else { throw QueryError("count() takes *, nothing, or one value", at: e.position) }
                spec = .init(kind: distinct ? .countDistinct : .count, arg: try arg(0), type: .int)
            }
        case "count_distinct":
            guard args.count == 1 else { throw QueryError("count_distinct() takes one value", at: e.position) }
            spec = .init(kind: .countDistinct, arg: try arg(0), type: .int)
        case "rate":
            guard args.count <= 1, !distinct else { throw QueryError("rate() takes nothing (rows per second) or one number (its sum per second)", at: e.position) }
            if args.isEmpty {
                spec = .init(kind: .rate, arg: nil, type: .double)
            } else {
                let b = try arg(0)
                guard Self.isNumeric(b.type), b.type != .time else { throw QueryError("rate() needs a number, but \(describe(args[0], b.type))", at: args[0].position) }
                spec = .init(kind: .rate, arg: b, type: .double)
            }
        default:
            guard !star, !distinct else { throw QueryError("\(name)() does not take * or DISTINCT", at: e.position) }
            let want = name == "quantile" ? 2 : 1
            guard args.count == want else {
                throw QueryError(name == "quantile" ? "quantile() takes a value and a fraction: quantile(duration_ms, 0.999)" : "\(name)() takes one value", at: e.position)
            }
            let b = try arg(0)
            switch name {
            case "min", "max":
                spec = .init(kind: name == "min" ? .min : .max, arg: b, type: b.type)
            case "sum":
                guard Self.isNumeric(b.type), b.type != .time else { throw QueryError("sum() needs a number, but \(describe(args[0], b.type))", at: args[0].position) }
                spec = .init(kind: .sum, arg: b, type: b.type == .double ? .double : .int)
            case "avg":
                guard Self.isNumeric(b.type) else { throw QueryError("avg() needs a number, but \(describe(args[0], b.type))", at: args[0].position) }
                spec = .init(kind: .avg, arg: b, type: .double)
            default:
                guard Self.isNumeric(b.type), b.type != .time else { throw QueryError("\(name)() needs a number, but \(describe(args[0], b.type))", at: args[0].position) }
                let q: Double
                switch name {
                case "p50": q = 0.5
                case "p90": q = 0.9
                case "p95": q = 0.95
                case "p99": q = 0.99
                default:
                    let qb = try bind(args[1], .row("quantile()"))
                    guard let qv = qb.constant?.asDouble, qb.type == .double || qb.type == .int, qv >= 0, qv <= 1 else {
                        throw QueryError("quantile() fraction must be a constant between 0 and 1, such as 0.999", at: args[1].position)
                    }
                    q = qv
                }
                spec = .init(kind: .quantile(q), arg: b, type: .double)
            }
        }
        plan.aggregates.append(spec)
        aggregateIndex[canonical] = plan.aggregates.count - 1
        return .agg(plan.aggregates.count - 1, spec.type)
    }

    /// Evaluates an expression whose inputs are all constants.
    private func fold(_ b: Bound) -> Bound {
        func allConst(_ xs: [Bound]) -> Bool { xs.allSatisfy { $0.constant != nil } }
        let children: [Bound]
        switch b {
        case .arith(_, let l, let r, _), .compare(_, let l, let r), .and(let l, let r), .or(let l, let r): children = [l, r]
        case .negate(let e, _), .not(let e), .isNull(let e, _), .inList(let e, _, _), .like(let e, _, _): children = [e]
        case .call(_, let args, _): children = args
        default: return b
        }
        guard allConst(children) else { return b }
        // A constant that fails (abs(-9223372036854775808)) is left for the run to report.
        guard let v = try? b.eval({ _ in .null }) else { return b }
        return .const(v, b.type)
    }

    // MARK: Pruning facts

    private mutating func extractRanges(_ f: Bound) {
        switch f {
        case .and(let l, let r):
            extractRanges(l); extractRanges(r)
        case .compare(let op, .column(let c), .const(let v, _)) where c == plan.table.timeColumn:
            narrow(op, v)
        case .compare(let op, .const(let v, _), .column(let c)) where c == plan.table.timeColumn:
            let flipped = ["<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="][op]!
            narrow(flipped, v)
        case .compare("=", .column(let c), .const(.string(let s), _)):
            if let dc = dictionaryColumn(c) { plan.dictionaryConstraints.append((dc, [s])) }
        case .inList(.column(let c), let list, negated: false):
            if let dc = dictionaryColumn(c) {
                let strings = list.compactMap { v -> String? in if case .string(let s) = v { return s } else { return nil } }
                plan.dictionaryConstraints.append((dc, strings))
            }
        default: break
        }
    }

    /// The segment dictionary column that a constraint on `c` prunes by. A trace's project is the
    /// project of each of its spans (traces are assembled per project), so it prunes too.
    private func dictionaryColumn(_ c: ColumnRef) -> SegmentFormat.Column? {
        switch c {
        case .span(let sc): return sc.dictionaryColumn
        case .trace(.project): return .project
        default: return nil
        }
    }

    /// The type a literal has, for giving it to an attribute it is compared with.
    private static func literalType(_ e: Expr) -> QueryType? {
        switch e.kind {
        case .literal(.int), .literal(.double): return .double
        case .negate(let x): return literalType(x)
        case .literal(.bool): return .bool
        case .literal(.string): return .string
        default: return nil
        }
    }

    private mutating func narrow(_ op: String, _ v: QueryValue) {
        let t: Int64
        switch v {
        case .time(let x), .int(let x): t = x
        default: return
        }
        switch op {
        case ">": plan.startLow = max(plan.startLow, t == .max ? t : t + 1)
        case ">=": plan.startLow = max(plan.startLow, t)
        case "<": plan.startHigh = min(plan.startHigh, t == .min ? t : t - 1)
        case "<=": plan.startHigh = min(plan.startHigh, t)
        case "=": plan.startLow = max(plan.startLow, t); plan.startHigh = min(plan.startHigh, t)
        default: break
        }
    }
}
