/// An expression as parsed, with the 1-based position of its first character (for errors).
struct Expr: Sendable {
    indirect enum Kind: Sendable {
        case column(String)
        case literal(QueryValue)
        /// `attr['key']`: a span attribute by key.
        case attr(String)
        /// A function or aggregate call; `star` for `count(*)`, `distinct` for `count(DISTINCT x)`.
        case call(String, [Expr], star: Bool, distinct: Bool)
        case negate(Expr)
        case not(Expr)
        /// + - * / % = != < <= > >= AND OR
        case binary(String, Expr, Expr)
        case inList(Expr, [Expr], negated: Bool)
        case like(Expr, Expr, negated: Bool)
        case isNull(Expr, negated: Bool)
        case between(Expr, Expr, Expr, negated: Bool)
        /// `text MATCH 'terms'`: full-text search.
        case match(Expr, String)
    }
    var kind: Kind
    var position: Int
    /// Levels of the tree under and including this node: planning and evaluation recurse this deep,
    /// so the parser bounds it.
    let depth: Int

    init(_ kind: Kind, at position: Int) {
        self.kind = kind
        self.position = position
        var d = 0
        switch kind {
        case .column, .literal, .attr: d = 0
        case .call(_, let args, _, _): d = args.map(\.depth).max() ?? 0
        case .negate(let e), .not(let e), .isNull(let e, _), .match(let e, _): d = e.depth
        case .binary(_, let l, let r), .like(let l, let r, _): d = max(l.depth, r.depth)
        case .inList(let e, let list, _): d = max(e.depth, list.map(\.depth).max() ?? 0)
        case .between(let e, let lo, let hi, _): d = max(e.depth, lo.depth, hi.depth)
        }
        depth = d + 1
    }

    /// A canonical rendering: two expressions with the same canonical text are the same expression
    /// (how `GROUP BY model` is matched with `SELECT model`).
    var canonical: String {
        switch kind {
        case .column(let c): return c
        case .literal(let v):
            switch v {
            case .string(let s): return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
            case .null: return "NULL"
            case .time(let t): return "time(\(t))"
            default: return v.text
            }
        case .attr(let k): return "attr['\(k)']"
        case .call(let f, let args, let star, let distinct):
            return f + "(" + (distinct ? "DISTINCT " : "") + (star ? "*" : args.map(\.canonical).joined(separator: ", ")) + ")"
        case .negate(let e): return "-(" + e.canonical + ")"
        case .not(let e): return "NOT (" + e.canonical + ")"
        case .binary(let op, let l, let r): return "(" + l.canonical + " " + op + " " + r.canonical + ")"
        case .inList(let e, let list, let neg):
            return "(" + e.canonical + (neg ? " NOT IN (" : " IN (") + list.map(\.canonical).joined(separator: ", ") + "))"
        case .like(let e, let p, let neg): return "(" + e.canonical + (neg ? " NOT LIKE " : " LIKE ") + p.canonical + ")"
        case .isNull(let e, let neg): return "(" + e.canonical + (neg ? " IS NOT NULL)" : " IS NULL)")
        case .between(let e, let lo, let hi, let neg):
            return "(" + e.canonical + (neg ? " NOT BETWEEN " : " BETWEEN ") + lo.canonical + " AND " + hi.canonical + ")"
        case .match(let e, let q): return "(" + e.canonical + " MATCH '" + q + "')"
        }
    }

    /// Calls every sub-expression (including self), depth first.
    func visit(_ body: (Expr) throws -> Void) rethrows {
        try body(self)
        switch kind {
        case .column, .literal, .attr: break
        case .call(_, let args, _, _): for a in args { try a.visit(body) }
        case .negate(let e), .not(let e), .isNull(let e, _), .match(let e, _): try e.visit(body)
        case .binary(_, let l, let r), .like(let l, let r, _): try l.visit(body); try r.visit(body)
        case .inList(let e, let list, _): try e.visit(body); for a in list { try a.visit(body) }
        case .between(let e, let lo, let hi, _): try e.visit(body); try lo.visit(body); try hi.visit(body)
        }
    }
}

/// One SELECT statement.
struct SelectStatement: Sendable {
    struct Item: Sendable {
        var expr: Expr
        var alias: String?
        /// The text as written, the column's name in the result when there is no alias (as SQLite does).
        var text: String
        var name: String { alias ?? text }
    }
    struct Order: Sendable {
        var expr: Expr
        var descending: Bool
    }
    var items: [Item] = []
    /// `SELECT *`
    var star = false
    var starPosition = 0
    var table = "spans"
    var tablePosition = 0
    var filter: Expr?
    var groupBy: [Expr] = []
    var having: Expr?
    var orderBy: [Order] = []
    var limit: Int?
    var offset = 0
}
