/// A token of the query language, with the 1-based character position it starts at.
struct Token: Sendable {
    enum Kind: Equatable, Sendable {
        case identifier(String)      // lowercased unless it was quoted with "..."
        case keyword(String)         // uppercase: SELECT, FROM, ...
        case integer(Int64)
        case number(Double)
        case duration(Int64)         // nanoseconds: 5m, 1h, 250ms
        case string(String)
        case symbol(String)          // ( ) , * + - / % = != <> < <= > >= [ ] .
        case end
    }
    var kind: Kind
    var position: Int

    var display: String {
        switch kind {
        case .identifier(let s): return "'\(s)'"
        case .keyword(let s): return s
        case .integer(let v): return String(v)
        case .number(let v): return String(v)
        case .duration(let v): return "duration \(v)ns"
        case .string(let s): return "'\(s)'"
        case .symbol(let s): return "'\(s)'"
        case .end: return "end of query"
        }
    }
}

/// Splits query text into tokens. Keywords are case-insensitive; identifiers fold to lower case;
/// strings are single-quoted with '' as an escaped quote (SQL); `--` starts a comment to end of line.
enum QueryLexer {
    static let keywords: Set<String> = [
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "ASC", "DESC", "LIMIT", "OFFSET", "AND", "OR", "NOT",
        "IN", "LIKE", "IS", "NULL", "AS", "HAVING", "TRUE", "FALSE", "BETWEEN", "MATCH", "DISTINCT",
    ]

    /// Duration units in nanoseconds, longest first so "ms" wins over "m".
    static let units: [(String, Int64)] = [
        ("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000),
        ("h", 3_600_000_000_000), ("d", 86_400_000_000_000), ("w", 604_800_000_000_000),
    ]

    static func tokenize(_ text: String) throws -> [Token] {
        let chars = Array(text.unicodeScalars)
        var out: [Token] = []
        var i = 0
        func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.value < 128 && c.properties.isAlphabetic) }
        func isIdent(_ c: Unicode.Scalar) -> Bool { isIdentStart(c) || (c >= "0" && c <= "9") }
        while i < chars.count {
            let c = chars[i]
            let pos = i + 1
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            if c == "-", i + 1 < chars.count, chars[i + 1] == "-" {
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            }
            if isIdentStart(c) {
                var s = ""
                while i < chars.count, isIdent(chars[i]) { s.unicodeScalars.append(chars[i]); i += 1 }
                let upper = s.uppercased()
                out.append(Token(kind: keywords.contains(upper) ? .keyword(upper) : .identifier(s.lowercased()), position: pos))
                continue
            }
            if c == "\"" {
                i += 1
                var s = ""
                while true {
                    guard i < chars.count else { throw QueryError("unterminated quoted name", at: pos) }
                    if chars[i] == "\"" {
                        if i + 1 < chars.count, chars[i + 1] == "\"" { s.append("\""); i += 2; continue }
                        i += 1; break
                    }
                    s.unicodeScalars.append(chars[i]); i += 1
                }
                out.append(Token(kind: .identifier(s), position: pos))
                continue
            }
            if c == "'" {
                i += 1
                var s = ""
                while true {
                    guard i < chars.count else { throw QueryError("unterminated string (strings are in single quotes; write '' for a quote inside)", at: pos) }
                    if chars[i] == "'" {
                        if i + 1 < chars.count, chars[i + 1] == "'" { s.append("'"); i += 2; continue }
                        i += 1; break
                    }
                    s.unicodeScalars.append(chars[i]); i += 1
                }
                out.append(Token(kind: .string(s), position: pos))
                continue
            }
            if (c >= "0" && c <= "9") || (c == "." && i + 1 < chars.count && chars[i + 1] >= "0" && chars[i + 1] <= "9") {
                var s = ""
                var isFloat = false
                while i < chars.count, (chars[i] >= "0" && chars[i] <= "9") || chars[i] == "." || chars[i] == "_" {
                    if chars[i] == "." { if isFloat { break }; isFloat = true }
                    if chars[i] != "_" { s.unicodeScalars.append(chars[i]) }
                    i += 1
                }
                if i < chars.count, chars[i] == "e" || chars[i] == "E",
                   i + 1 < chars.count, (chars[i + 1] >= "0" && chars[i + 1] <= "9") || chars[i + 1] == "-" || chars[i + 1] == "+" {
                    isFloat = true
                    s.append("e"); i += 1
                    if chars[i] == "-" || chars[i] == "+" { s.unicodeScalars.append(chars[i]); i += 1 }
                    while i < chars.count, chars[i] >= "0" && chars[i] <= "9" { s.unicodeScalars.append(chars[i]); i += 1 }
                }
                // A unit right after the number makes it a duration.
                if i < chars.count, isIdentStart(chars[i]) {
                    var u = ""
                    var j = i
                    while j < chars.count, isIdent(chars[j]) { u.unicodeScalars.append(chars[j]); j += 1 }
                    guard let unit = units.first(where: { $0.0 == u.lowercased() }) else {
                        throw QueryError("unknown unit '\(u)' after a number (durations use ns, us, ms, s, m, h, d, w)", at: i + 1)
                    }
                    guard let v = Double(s), (v * Double(unit.1)).magnitude < 9.2e18 else { throw QueryError("duration out of range", at: pos) }
                    out.append(Token(kind: .duration(Int64((v * Double(unit.1)).rounded())), position: pos))
                    i = j
                    continue
                }
                if isFloat {
                    guard let v = Double(s) else { throw QueryError("malformed number '\(s)'", at: pos) }
                    out.append(Token(kind: .number(v), position: pos))
                } else {
                    guard let v = Int64(s) else {
                        guard let d = Double(s) else { throw QueryError("malformed number '\(s)'", at: pos) }
                        out.append(Token(kind: .number(d), position: pos)); continue
                    }
                    out.append(Token(kind: .integer(v), position: pos))
                }
                continue
            }
            let two = i + 1 < chars.count ? String(String.UnicodeScalarView([c, chars[i + 1]])) : ""
            if ["!=", "<>", "<=", ">=", "=="].contains(two) {
                out.append(Token(kind: .symbol(two == "<>" ? "!=" : two == "==" ? "=" : two), position: pos))
                i += 2
                continue
            }
            if "(),*+-/%=<>[].;".unicodeScalars.contains(c) {
                if c == ";" {
                    // A trailing semicolon is harmless; anything after it is not.
                    var j = i + 1
                    while j < chars.count, chars[j] == " " || chars[j] == "\n" || chars[j] == "\t" || chars[j] == "\r" { j += 1 }
                    guard j == chars.count else { throw QueryError("only one statement per query", at: j + 1) }
                    i = j
                    continue
                }
                out.append(Token(kind: .symbol(String(c)), position: pos))
                i += 1
                continue
            }
            throw QueryError("unexpected character '\(c)'", at: pos)
        }
        out.append(Token(kind: .end, position: chars.count + 1))
        return out
    }
}
