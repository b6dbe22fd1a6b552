#if canImport(Glibc)
import Glibc
#endif

/// Numbers as people read them: plain decimals (`0.0000246`), never exponent notation
/// (`2.46e-05`) in the range a cost, a latency or a token rate can take.
public enum DecimalText {
    /// The shortest text that reads back as exactly `d` (Swift's `description`), with an exponent
    /// moved into the digits when |d| is within 1e-20 ... 1e21. Valid JSON number syntax, and
    /// always read back as a double (a fraction is kept: 1e16 is "10000000000000000.0").
    public static func shortest(_ d: Double) -> String {
        let s = d.description
        guard let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }), let exp = Int(s[s.index(after: e)...]),
              exp >= -20, exp <= 20 else { return s }
        var mantissa = s[..<e]
        let negative = mantissa.first == "-"
        if negative { mantissa = mantissa.dropFirst() }
        let dot = mantissa.firstIndex(of: ".")
        var digits = String(mantissa.filter { $0 != "." })
        // Position of the decimal point within `digits` after shifting by the exponent.
        let intDigits = (dot.map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count) + exp
        var out: String
        if intDigits <= 0 {
            out = "0." + String(repeating: "0", count: -intDigits) + digits
        } else if intDigits >= digits.count {
            digits += String(repeating: "0", count: intDigits - digits.count)
            out = digits
        } else {
            let i = digits.index(digits.startIndex, offsetBy: intDigits)
            out = digits[..<i] + "." + digits[i...]
        }
        if out.contains(".") {
            while out.hasSuffix("0") { out.removeLast() }
            if out.hasSuffix(".") { out.removeLast() }
        }
        // Still a double when read back (1.11e20 as "111000000000000000000" would read as an
        // integer, and one past Int64): a whole number keeps a ".0", as `description` writes 3.0.
        if !out.contains(".") { out += ".0" }
        return (negative ? "-" : "") + out
    }

    /// `d` to `significant` significant digits as a plain decimal, trailing zeros dropped
    /// (`0.00000765`, `123.457`, `0.1`); exponent notation only outside 1e-15 ... 1e15.
    public static func significant(_ d: Double, _ significant: Int) -> String {
        guard d.isFinite else { return d.description }
        if d == 0 { return "0" }
        let a = Swift.abs(d)
        guard a >= 1e-15, a < 1e15 else { return format("%.\(significant)g", d) }
        let exp = Int(floor(log10(a)))
        let decimals = max(0, significant - 1 - exp)
        var s = format("%.\(decimals)f", d)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }

    /// An integer with thousands separated by commas: `1,234,567`.
    public static func grouped(_ v: Int64) -> String {
        let s = String(v.magnitude)
        var out = ""
        for (i, c) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (v < 0 ? "-" : "") + out
    }

    /// C's printf of one double (no Foundation in this module).
    static func format(_ spec: String, _ d: Double) -> String {
        var buf = [CChar](repeating: 0, count: 80)
        let n = withVaList([d]) { vsnprintf(&buf, buf.count, spec, $0) }
        return String(decoding: buf.prefix(max(0, min(Int(n), buf.count - 1))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
