/// Recursive-descent parser for the SQL subset (README, "Query language"). Errors name the position
/// and what was expected: `at position 23: expected FROM, found 'spans'`.
struct QueryParser {
    private let tokens: [Token]
    private let source: [Unicode.Scalar]
    private var i = 0
    /// Parentheses and calls open at the moment (the parser recurses once per level).
    private var nesting = 0
    /// Deepest expression tree accepted: planning and evaluation recurse once per level.
    static let maxDepth = 200

    static func parse(_ text: String) throws -> SelectStatement {
        var p = QueryParser(tokens: try QueryLexer.tokenize(text), source: Array(text.unicodeScalars))
        return try p.statement()
    }

    private init(tokens: [Token], source: [Unicode.Scalar]) {
        self.tokens = tokens
        self.source = source
    }

    private var peek: Token { tokens[i] }

    private mutating func advance() -> Token {
        let t = tokens[i]
        if i < tokens.count - 1 { i += 1 }
        return t
    }

    private func isKeyword(_ k: String) -> Bool { peek.kind == .keyword(k) }
    private func isSymbol(_ s: String) -> Bool { peek.kind == .symbol(s) }

    private mutating func accept(keyword k: String) -> Bool {
        if isKeyword(k) { i += 1; return true }
        return false
    }

    private mutating func accept(symbol s: String) -> Bool {
        if isSymbol(s) { i += 1; return true }
        return false
    }

    private func fail(_ expected: String) -> QueryError {
        QueryError("expected \(expected), found \(peek.display)", at: peek.position)
    }

    private mutating func expect(keyword k: String) throws {
        guard accept(keyword: k) else { throw fail(k) }
    }

    private mutating func expect(symbol s: String) throws {
        guard accept(symbol: s) else { throw fail("'\(s)'") }
    }

    private mutating func statement() throws -> SelectStatement {
        var s = SelectStatement()
        try expect(keyword: "SELECT")
        if isSymbol("*") {
            s.star = true
            s.starPosition = advance().position
        } else {
            repeat {
                let start = peek.position
                let e = try expression()
                let end = peek.position
                var alias: String?
                if accept(keyword: "AS") {
                    guard case .identifier(let a) = peek.kind else { throw fail("a column name after AS") }
                    alias = a
                    i += 1
                } else if case .identifier(let a) = peek.kind {
                    // An implicit alias, unless it is a misspelt FROM: `count() FORM spans`.
                    let aliasToken = advance()
                    if !isKeyword("FROM"), !isSymbol(","), !(i == tokens.count - 1) {
                        throw QueryError("expected FROM, found \(aliasToken.display)", at: aliasToken.position)
                    }
                    alias = a
                }
                s.items.append(.init(expr: e, alias: alias, text: text(from: start, to: end)))
            } while accept(symbol: ",")
        }
        try expect(keyword: "FROM")
        guard case .identifier(let table) = peek.kind else { throw fail("a table name (spans)") }
        s.table = table
        s.tablePosition = advance().position
        if accept(keyword: "WHERE") { s.filter = try expression() }
        if accept(keyword: "GROUP") {
            try expect(keyword: "BY")
            repeat { s.groupBy.append(try expression()) } while accept(symbol: ",")
        }
        if accept(keyword: "HAVING") { s.having = try expression() }
        if accept(keyword: "ORDER") {
            try expect(keyword: "BY")
            repeat {
                let e = try expression()
                var desc = false
                if accept(keyword: "DESC") { desc = true } else { _ = accept(keyword: "ASC") }
                s.orderBy.append(.init(expr: e, descending: desc))
            } while accept(symbol: ",")
        }
        if accept(keyword: "LIMIT") {
            guard case .integer(let n) = peek.kind, n >= 0 else { throw fail("a row count after LIMIT") }
            i += 1
            s.limit = Int(min(n, 1 << 40))
            if accept(keyword: "OFFSET") {
                guard case .integer(let o) = peek.kind, o >= 0 else { throw fail("a row count after OFFSET") }
                i += 1
                s.offset = Int(min(o, 1 << 40))
            }
        }
        guard peek.kind == .end else {
            let what = s.limit != nil ? "end of query" : s.orderBy.isEmpty ? "WHERE, GROUP BY, ORDER BY, LIMIT or end of query" : "LIMIT or end of query"
            throw fail(what)
        }
        return s
    }

    private func text(from start: Int, to end: Int) -> String {
        let lo = max(0, start - 1), hi = min(source.count, max(lo, end - 1))
        var s = String(String.UnicodeScalarView(source[lo..<hi]))
        while let last = s.unicodeScalars.last, last == " " || last == "\n" || last == "\t" || last == "\r" { s.unicodeScalars.removeLast() }
        return s
    }

    // expression := or
    mutating func expression() throws -> Expr {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= 64 else { throw QueryError("expression nested too deeply (more than 64 levels of parentheses or calls)", at: peek.position) }
        let e = try orExpr()
        guard e.depth <= Self.maxDepth else { throw QueryError("expression too deep (more than \(Self.maxDepth) levels of operators)", at: e.position) }
        return e
    }

    /// A node built in a loop (a chain of AND, OR, +, …): stopped before the chain grows deeper
    /// than anything can evaluate.
    private func bounded(_ e: Expr) throws -> Expr {
        guard e.depth <= Self.maxDepth else { throw QueryError("expression too deep (more than \(Self.maxDepth) levels of operators)", at: e.position) }
        return e
    }

    private mutating func orExpr() throws -> Expr {
        var l = try andExpr()
        while isKeyword("OR") {
            let p = advance().position
            l = try bounded(Expr(.binary("OR", l, try andExpr()), at: p))
        }
        return l
    }

    private mutating func andExpr() throws -> Expr {
        var l = try notExpr()
        while isKeyword("AND") {
            let p = advance().position
            l = try bounded(Expr(.binary("AND", l, try notExpr()), at: p))
        }
        return l
    }

    private mutating func notExpr() throws -> Expr {
        // Iterative, so a long run of NOTs cannot exhaust the stack.
        var positions: [Int] = []
        while isKeyword("NOT") { positions.append(advance().position) }
        var e = try comparison()
        for p in positions.reversed() { e = try bounded(Expr(.not(e), at: p)) }
        return e
    }

    private mutating func comparison() throws -> Expr {
        let l = try additive()
        let p = peek.position
        if case .symbol(let op) = peek.kind, ["=", "!=", "<", "<=", ">", ">="].contains(op) {
            i += 1
            return Expr(.binary(op, l, try additive()), at: p)
        }
        if accept(keyword: "IS") {
            let neg = accept(keyword: "NOT")
            try expect(keyword: "NULL")
            return Expr(.isNull(l, negated: neg), at: p)
        }
        var negated = false
        if isKeyword("NOT"), case .keyword(let next) = tokens[min(i + 1, tokens.count - 1)].kind, ["IN", "LIKE", "BETWEEN"].contains(next) {
            i += 1
            negated = true
        }
        if accept(keyword: "IN") {
            try expect(symbol: "(")
            var list: [Expr] = []
            repeat { list.append(try additive()) } while accept(symbol: ",")
            try expect(symbol: ")")
            return Expr(.inList(l, list, negated: negated), at: p)
        }
        if accept(keyword: "LIKE") {
            return Expr(.like(l, try additive(), negated: negated), at: p)
        }
        if accept(keyword: "BETWEEN") {
            let lo = try additive()
            try expect(keyword: "AND")
            let hi = try additive()
            return Expr(.between(l, lo, hi, negated: negated), at: p)
        }
        if accept(keyword: "MATCH") {
            guard case .string(let q) = peek.kind else { throw fail("a quoted search string after MATCH") }
            i += 1
            return Expr(.match(l, q), at: p)
        }
        return l
    }

    private mutating func additive() throws -> Expr {
        var l = try multiplicative()
        while case .symbol(let op) = peek.kind, op == "+" || op == "-" {
            let p = advance().position
            l = try bounded(Expr(.binary(op, l, try multiplicative()), at: p))
        }
        return l
    }

    private mutating func multiplicative() throws -> Expr {
        var l = try unary()
        while case .symbol(let op) = peek.kind, op == "*" || op == "/" || op == "%" {
            let p = advance().position
            l = try bounded(Expr(.binary(op, l, try unary()), at: p))
        }
        return l
    }

    private mutating func unary() throws -> Expr {
        // Iterative, so a long run of signs cannot exhaust the stack.
        var negations: [Int] = []
        while isSymbol("-") || isSymbol("+") {
            let t = advance()
            if t.kind == .symbol("-") { negations.append(t.position) }
        }
        var e = try primary()
        for p in negations.reversed() {
            // Fold negative literals so `-5` is a literal.
            if case .literal(.int(let v)) = e.kind, v != .min { e = Expr(.literal(.int(-v)), at: p); continue }
            if case .literal(.double(let v)) = e.kind { e = Expr(.literal(.double(-v)), at: p); continue }
            e = try bounded(Expr(.negate(e), at: p))
        }
        return e
    }

    private mutating func primary() throws -> Expr {
        let t = peek
        switch t.kind {
        case .integer(let v): i += 1; return Expr(.literal(.int(v)), at: t.position)
        case .number(let v): i += 1; return Expr(.literal(.double(v)), at: t.position)
        case .duration(let v): i += 1; return Expr(.literal(.int(v)), at: t.position)
        case .string(let s): i += 1; return Expr(.literal(.string(s)), at: t.position)
        case .keyword("NULL"): i += 1; return Expr(.literal(.null), at: t.position)
        case .keyword("TRUE"): i += 1; return Expr(.literal(.bool(true)), at: t.position)
        case .keyword("FALSE"): i += 1; return Expr(.literal(.bool(false)), at: t.position)
        case .symbol("("):
            i += 1
            let e = try expression()
            try expect(symbol: ")")
            return e
        case .identifier(let name):
            i += 1
            if name == "attr" || name == "attributes", isSymbol("[") {
                i += 1
                guard case .string(let key) = peek.kind else { throw fail("a quoted attribute key, as in attr['gen_ai.system']") }
                i += 1
                try expect(symbol: "]")
                return Expr(.attr(key), at: t.position)
            }
            if accept(symbol: "(") {
                if accept(symbol: ")") { return Expr(.call(name, [], star: false, distinct: false), at: t.position) }
                if accept(symbol: "*") {
                    try expect(symbol: ")")
                    return Expr(.call(name, [], star: true, distinct: false), at: t.position)
                }
                let distinct = accept(keyword: "DISTINCT")
                var args: [Expr] = []
                repeat { args.append(try expression()) } while accept(symbol: ",")
                try expect(symbol: ")")
                return Expr(.call(name, args, star: false, distinct: distinct), at: t.position)
            }
            // `spans.model`: an optional table qualifier.
            if accept(symbol: ".") {
                guard case .identifier(let col) = peek.kind else { throw fail("a column name after '\(name).'") }
                i += 1
                return Expr(.column(col), at: t.position)
            }
            return Expr(.column(name), at: t.position)
        default:
            throw fail("an expression (a column, a number, a 'string' or a function call)")
        }
    }
}
