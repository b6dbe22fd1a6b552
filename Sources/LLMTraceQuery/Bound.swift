/// A type-checked expression, ready to evaluate over a batch of rows (`Vec`) or a single row.
indirect enum Bound: Sendable {
    case column(ColumnRef)
    case const(QueryValue, QueryType)
    case arith(String, Bound, Bound, QueryType)
    case negate(Bound, QueryType)
    case compare(String, Bound, Bound)
    case and(Bound, Bound)
    case or(Bound, Bound)
    case not(Bound)
    case isNull(Bound, negated: Bool)
    case inList(Bound, [QueryValue], negated: Bool)
    case like(Bound, [Unicode.Scalar], negated: Bool)
    /// A scalar function: bucket, lower, upper, length, coalesce, abs, round.
    case call(String, [Bound], QueryType)
    /// Result of aggregate number k (after grouping).
    case agg(Int, QueryType)
    /// Value of group key number k (after grouping).
    case key(Int, QueryType)
    /// Full-text condition number k (`text MATCH '…'`): true where a paragraph of the span matches.
    case match(Int)

    var type: QueryType {
        switch self {
        case .column(let c): return c.type
        case .const(_, let t), .arith(_, _, _, let t), .negate(_, let t), .call(_, _, let t), .agg(_, let t), .key(_, let t): return t
        case .compare, .and, .or, .not, .isNull, .inList, .like, .match: return .bool
        }
    }

    var constant: QueryValue? {
        if case .const(let v, _) = self { return v }
        return nil
    }

    /// `bucket(x, w)`: grouped by its dense codes without computing the buckets first.
    var isBucket: Bool {
        if case .call("bucket", _, _) = self { return true }
        return false
    }

    var isAttribute: Bool {
        if case .column(.attr) = self { return true }
        return false
    }

    /// An attribute read as `t` instead (numbers as doubles); anything else unchanged.
    func retyped(_ t: QueryType) -> Bound {
        guard case .column(.attr(let key, _)) = self else { return self }
        switch t {
        case .int, .double: return .column(.attr(key, .double))
        case .bool: return .column(.attr(key, .bool))
        case .string: return .column(.attr(key, .string))
        default: return self
        }
    }

    /// The columns this expression reads.
    func columns(into set: inout Set<ColumnRef>) {
        switch self {
        case .column(let c): set.insert(c)
        case .const, .agg, .key, .match: break
        case .arith(_, let l, let r, _), .compare(_, let l, let r), .and(let l, let r), .or(let l, let r):
            l.columns(into: &set); r.columns(into: &set)
        case .negate(let e, _), .not(let e), .isNull(let e, _), .inList(let e, _, _), .like(let e, _, _): e.columns(into: &set)
        case .call(_, let args, _): for a in args { a.columns(into: &set) }
        }
    }

    /// Evaluates one row: `column` gives a column's value, `aggs`/`keys` the grouped values.
    /// `match` answers full-text condition k for the row.
    func eval(_ column: (ColumnRef) -> QueryValue, aggs: [QueryValue] = [], keys: [QueryValue] = [],
              match: (Int) -> QueryValue = { _ in .null }) throws(QueryError) -> QueryValue {
        switch self {
        case .column(let c): return column(c)
        case .const(let v, _): return v
        case .agg(let k, _): return aggs[k]
        case .key(let k, _): return keys[k]
        case .match(let k): return match(k)
        case .arith(let op, let l, let r, let t): return Ops.arith(op, try l.eval(column, aggs: aggs, keys: keys, match: match), try r.eval(column, aggs: aggs, keys: keys, match: match), t)
        case .negate(let e, let t): return Ops.arith("-", t == .double ? .double(0) : .int(0), try e.eval(column, aggs: aggs, keys: keys, match: match), t)
        case .compare(let op, let l, let r): return Ops.bool(Ops.compare(op, try l.eval(column, aggs: aggs, keys: keys, match: match), try r.eval(column, aggs: aggs, keys: keys, match: match)))
        case .and(let l, let r):
            return Ops.bool(Ops.and(Ops.truth(try l.eval(column, aggs: aggs, keys: keys, match: match)), Ops.truth(try r.eval(column, aggs: aggs, keys: keys, match: match))))
        case .or(let l, let r):
            return Ops.bool(Ops.or(Ops.truth(try l.eval(column, aggs: aggs, keys: keys, match: match)), Ops.truth(try r.eval(column, aggs: aggs, keys: keys, match: match))))
        case .not(let e): return Ops.bool(Ops.not(Ops.truth(try e.eval(column, aggs: aggs, keys: keys, match: match))))
        case .isNull(let e, let neg): return .bool(try e.eval(column, aggs: aggs, keys: keys, match: match).isNull != neg)
        case .inList(let e, let list, let neg): return Ops.bool(Ops.inList(try e.eval(column, aggs: aggs, keys: keys, match: match), list, negated: neg))
        case .like(let e, let p, let neg):
            guard case .string(let s) = try e.eval(column, aggs: aggs, keys: keys, match: match) else { return .null }
            return .bool(Ops.like(s, p) != neg)
        case .call(let name, let args, let t):
            var values: [QueryValue] = []
            for a in args { values.append(try a.eval(column, aggs: aggs, keys: keys, match: match)) }
            return try Ops.call(name, values, t)
        }
    }
}
