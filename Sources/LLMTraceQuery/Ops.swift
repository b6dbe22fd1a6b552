import LLMTraceModel
import Foundation

/// Scalar semantics of every operator and function, one value at a time. The column-at-a-time
/// paths in `Vec` must give the same answers; the tests hold them to it. Semantics follow SQLite:
/// NULL propagates, comparisons with NULL are NULL, integer division truncates, division by zero is
/// NULL, LIKE is case-insensitive for ASCII letters.
enum Ops {
    /// A string, number or NULL as three-valued logic: 0 false, 1 true, 2 NULL.
    static func truth(_ v: QueryValue) -> UInt8 {
        switch v {
        case .null: return 2
        case .bool(let b): return b ? 1 : 0
        case .int(let i), .time(let i): return i != 0 ? 1 : 0
        case .double(let d): return d != 0 ? 1 : 0
        case .string(let s): return numericPrefix(s).value != 0 ? 1 : 0
        }
    }

    /// A string as SQLite reads it as a number: leading spaces, then the longest prefix that is a
    /// decimal number (`[+-]digits[.digits][e[+-]digits]`); no digits is 0. So '0x10' is 0 (not
    /// 16, as Swift's `Double("0x10")` would have it), ' 12 ' is 12, 'inf' and 'nan' are 0.
    /// `whole` says whether that number was all there was (trailing spaces aside).
    static func numericPrefix(_ s: String) -> (value: Double, whole: Bool) {
        let u = Array(s.utf8)
        var i = 0
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        while i < u.count, isSpace(u[i]) { i += 1 }
        let start = i
        if i < u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") { i += 1 }
        var digits = 0
        while i < u.count, u[i] >= 0x30, u[i] <= 0x39 { i += 1; digits += 1 }
        if i < u.count, u[i] == UInt8(ascii: ".") {
            var j = i + 1
            var frac = 0
            while j < u.count, u[j] >= 0x30, u[j] <= 0x39 { j += 1; frac += 1 }
            if digits + frac > 0 { i = j; digits += frac }
        }
        guard digits > 0 else { return (0, false) }
        if i < u.count, u[i] == UInt8(ascii: "e") || u[i] == UInt8(ascii: "E") {
            var j = i + 1
            if j < u.count, u[j] == UInt8(ascii: "+") || u[j] == UInt8(ascii: "-") { j += 1 }
            var e = 0
            while j < u.count, u[j] >= 0x30, u[j] <= 0x39 { j += 1; e += 1 }
            if e > 0 { i = j }
        }
        let end = i
        while i < u.count, isSpace(u[i]) { i += 1 }
        // Only digits, sign, point and exponent are in start..<end, so no hex, inf or nan here.
        let v = Double(String(decoding: u[start..<end], as: UTF8.self)) ?? 0
        return (v, i == u.count)
    }

    /// SQLite's round(x, n): half away from zero on the number as its 15 significant digits write
    /// it, so round(1.005, 2) is 1.01 and round(2.675, 2) is 2.68 (the doubles are a hair below
    /// those halves; multiplying by 100 and rounding, as C does, gives 1.0 and 2.67).
    static func round(_ x: Double, _ digits: Int) -> Double {
        let n = max(0, min(15, digits))
        guard x.isFinite, x.magnitude < 1e15 else { return x }
        if n == 0 { return x.rounded(.toNearestOrAwayFromZero) }
        var buf = [CChar](repeating: 0, count: 64)
        let len = withVaList([x]) { vsnprintf(&buf, buf.count, "%.14e", $0) }
        guard len > 0, var d = Decimal(string: String(cString: buf), locale: Locale(identifier: "en_US_POSIX")) else {
            let p = pow(10.0, Double(n))
            return (x * p).rounded(.toNearestOrAwayFromZero) / p
        }
        var r = Decimal()
        NSDecimalRound(&r, &d, n, .plain)
        // Through its decimal text: NSDecimalNumber.doubleValue is not correctly rounded
        // (44.23 came back as 44.230000000000004).
        return Double(r.description) ?? NSDecimalNumber(decimal: r).doubleValue
    }

    static func bool(_ t: UInt8) -> QueryValue { t == 2 ? .null : .bool(t == 1) }

    static func and(_ a: UInt8, _ b: UInt8) -> UInt8 {
        if a == 0 || b == 0 { return 0 }
        if a == 2 || b == 2 { return 2 }
        return 1
    }

    static func or(_ a: UInt8, _ b: UInt8) -> UInt8 {
        if a == 1 || b == 1 { return 1 }
        if a == 2 || b == 2 { return 2 }
        return 0
    }

    static func not(_ a: UInt8) -> UInt8 { a == 2 ? 2 : 1 - a }

    static func arith(_ op: String, _ a: QueryValue, _ b: QueryValue, _ type: QueryType) -> QueryValue {
        if a.isNull || b.isNull { return .null }
        if type == .double {
            guard let x = a.asDouble, let y = b.asDouble else { return .null }
            return double(op, x, y).map { .double($0) } ?? .null
        }
        guard let x = a.asInt, let y = b.asInt else { return .null }
        // As SQLite: an integer + - * that overflows is computed as a real instead.
        if type != .time, let d = overflowed(op, x, y) { return .double(d) }
        guard let r = int(op, x, y) else { return .null }
        return type == .time ? .time(r) : .int(r)
    }

    /// The real result of `x op y` when the integer one overflows (+ - * only), else nil.
    @inline(__always)
    static func overflowed(_ op: String, _ x: Int64, _ y: Int64) -> Double? {
        switch op {
        case "+": return x.addingReportingOverflow(y).overflow ? Double(x) + Double(y) : nil
        case "-": return x.subtractingReportingOverflow(y).overflow ? Double(x) - Double(y) : nil
        case "*": return x.multipliedReportingOverflow(by: y).overflow ? Double(x) * Double(y) : nil
        default: return nil
        }
    }

    @inline(__always)
    static func int(_ op: String, _ x: Int64, _ y: Int64) -> Int64? {
        switch op {
        case "+": return x &+ y
        case "-": return x &- y
        case "*": return x &* y
        case "/": return y == 0 || (x == .min && y == -1) ? nil : x / y
        default: return y == 0 || (x == .min && y == -1) ? nil : x % y
        }
    }

    @inline(__always)
    static func double(_ op: String, _ x: Double, _ y: Double) -> Double? {
        switch op {
        case "+": return x + y
        case "-": return x - y
        case "*": return x * y
        case "/": return y == 0 ? nil : x / y
        default:
            // SQLite's % works on the integer parts.
            guard y.magnitude >= 1, x.magnitude < 9.2e18, y.magnitude < 9.2e18 else { return nil }
            return Double(Int64(x) % Int64(y))
        }
    }

    /// -1, 0, 1 for two non-null values of comparable types (numbers with numbers, strings with
    /// strings, by UTF-8 bytes like SQLite's BINARY collation).
    static func order(_ a: QueryValue, _ b: QueryValue) -> Int {
        switch (a, b) {
        case (.string(let x), .string(let y)): return compareStrings(x, y)
        case (.int(let x), .int(let y)), (.time(let x), .time(let y)), (.int(let x), .time(let y)), (.time(let x), .int(let y)):
            return x < y ? -1 : x > y ? 1 : 0
        default:
            let x = a.asDouble ?? 0, y = b.asDouble ?? 0
            return x < y ? -1 : x > y ? 1 : 0
        }
    }

    /// By UTF-8 bytes, as SQLite's BINARY collation (never Unicode canonical equivalence).
    static func compareStrings(_ x: String, _ y: String) -> Int {
        if ExactString.equal(x, y) { return 0 }
        return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1
    }

    /// Sort order for ORDER BY: NULL first, then numbers, then strings (SQLite's order of types).
    static func sortOrder(_ a: QueryValue, _ b: QueryValue) -> Int {
        func rank(_ v: QueryValue) -> Int {
            switch v {
            case .null: return 0
            case .string: return 2
            default: return 1
            }
        }
        let ra = rank(a), rb = rank(b)
        if ra != rb || ra == 0 { return ra < rb ? -1 : ra > rb ? 1 : 0 }
        return order(a, b)
    }

    @inline(__always)
    static func test(_ op: String, _ c: Int) -> Bool {
        switch op {
        case "=": return c == 0
        case "!=": return c != 0
        case "<": return c < 0
        case "<=": return c <= 0
        case ">": return c > 0
        default: return c >= 0
        }
    }

    static func compare(_ op: String, _ a: QueryValue, _ b: QueryValue) -> UInt8 {
        if a.isNull || b.isNull { return 2 }
        return test(op, order(a, b)) ? 1 : 0
    }

    static func inList(_ v: QueryValue, _ list: [QueryValue], negated: Bool) -> UInt8 {
        if v.isNull { return 2 }
        var sawNull = false
        for x in list {
            if x.isNull { sawNull = true; continue }
            if order(v, x) == 0 { return negated ? 0 : 1 }
        }
        if sawNull { return 2 }
        return negated ? 1 : 0
    }

    /// SQL LIKE: % any run, _ any one character; ASCII letters match either case.
    static func like(_ s: String, _ pattern: [Unicode.Scalar]) -> Bool {
        let t = Array(s.unicodeScalars)
        func fold(_ c: Unicode.Scalar) -> UInt32 { c.value >= 65 && c.value <= 90 ? c.value + 32 : c.value }
        var si = 0, pi = 0
        var starP = -1, starS = 0
        while si < t.count {
            if pi < pattern.count, pattern[pi] == "%" {
                starP = pi; starS = si; pi += 1
            } else if pi < pattern.count, pattern[pi] == "_" || fold(pattern[pi]) == fold(t[si]) {
                si += 1; pi += 1
            } else if starP >= 0 {
                pi = starP + 1; starS += 1; si = starS
            } else {
                return false
            }
        }
        while pi < pattern.count, pattern[pi] == "%" { pi += 1 }
        return pi == pattern.count
    }

    static func lowerASCII(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value >= 65 && $0.value <= 90 ? Unicode.Scalar($0.value + 32)! : $0 }))
    }

    static func upperASCII(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value >= 97 && $0.value <= 122 ? Unicode.Scalar($0.value - 32)! : $0 }))
    }

    /// Start of the bucket of width `w` nanoseconds holding `t` (floor, also before 1970).
    @inline(__always)
    static func bucket(_ t: Int64, _ w: Int64) -> Int64 {
        let q = t / w
        return (t % w < 0 ? q &- 1 : q) &* w
    }

    /// Scalar functions (not aggregates).
    static func call(_ name: String, _ args: [QueryValue], _ type: QueryType) throws(QueryError) -> QueryValue {
        switch name {
        case "bucket":
            guard let t = args[0].asInt, let w = args[1].asInt, w > 0, !args[0].isNull else { return .null }
            return .time(bucket(t, w))
        case "lower":
            guard case .string(let s) = args[0] else { return .null }
            return .string(lowerASCII(s))
        case "upper":
            guard case .string(let s) = args[0] else { return .null }
            return .string(upperASCII(s))
        case "length":
            guard case .string(let s) = args[0] else { return .null }
            return .int(Int64(s.unicodeScalars.count))
        case "coalesce", "ifnull":
            for a in args where !a.isNull { return a }
            return .null
        case "abs":
            switch args[0] {
            case .int(let v):
                guard v != .min else { throw QueryError("integer overflow") }  // as SQLite's abs()
                return .int(abs(v))
            case .double(let d): return .double(abs(d))
            default: return .null
            }
        case "round":
            guard let x = args[0].asDouble, !args[0].isNull else { return .null }
            let digits = args.count > 1 ? Int(args[1].asInt ?? 0) : 0
            return .double(round(x, digits))
        default:
            return .null
        }
    }
}
