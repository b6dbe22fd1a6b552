import LLMTraceModel
import Foundation

/// A value in a query result or expression. Times are nanoseconds since the Unix epoch, kept apart
/// from plain integers so results can print them as times.
public enum QueryValue: Hashable, Sendable {
    case null
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)
    case time(Int64)

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// Strings are equal when their bytes are (not by Unicode canonical equivalence), so group
    /// keys, DISTINCT and IN keep "café" and "café" written two ways apart, as SQLite does.
    public static func == (a: QueryValue, b: QueryValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.int(let x), .int(let y)), (.time(let x), .time(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.string(let x), .string(let y)): return ExactString.equal(x, y)
        case (.bool(let x), .bool(let y)): return x == y
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .null: h.combine(0 as UInt8)
        case .int(let v): h.combine(1 as UInt8); h.combine(v)
        case .double(let v): h.combine(2 as UInt8); h.combine(v)
        case .string(let s): h.combine(3 as UInt8); h.combine(ExactString(s))
        case .bool(let b): h.combine(4 as UInt8); h.combine(b)
        case .time(let v): h.combine(5 as UInt8); h.combine(v)
        }
    }

    /// As a number, when it is one (bools count as 0 and 1, times as nanoseconds).
    public var asDouble: Double? {
        switch self {
        case .int(let v), .time(let v): return Double(v)
        case .double(let v): return v
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// As a number to show or chart: ints, finite doubles, bools as 0 and 1 (not times, not NaN).
    public var finiteNumber: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d.isFinite ? d : nil
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// As a time in nanoseconds: a time, an int, or RFC 3339 text (what a collector's JSON answer has).
    public var timeNanos: Int64? {
        switch self {
        case .time(let t), .int(let t): return t
        case .string(let s): return QueryValue.parseTime(s)
        default: return nil
        }
    }

    public var asInt: Int64? {
        switch self {
        case .int(let v), .time(let v): return v
        case .bool(let b): return b ? 1 : 0
        case .double(let d): return d.isFinite && abs(d) < 9.2e18 ? Int64(d) : nil
        default: return nil
        }
    }

    /// Text for tables and CSV: times in RFC 3339 UTC with milliseconds, doubles without trailing noise.
    public var text: String {
        switch self {
        case .null: return ""
        case .int(let v): return String(v)
        case .double(let d): return QueryValue.formatDouble(d)
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .time(let t): return QueryValue.formatTime(t)
        }
    }

    static func formatDouble(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return DecimalText.significant(d, 6)
    }

    /// 2026-11-25T06:11:57.123Z
    public static func formatTime(_ ns: Int64) -> String {
        let secs = ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000
        let ms = (ns - secs * 1_000_000_000) / 1_000_000
        var t = time_t(secs)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1, Int(tmv.tm_mday),
                      Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec), Int(ms))
    }

    /// A time on a command line or in a URL: RFC 3339, integer nanoseconds since 1970, or a
    /// duration before `now` (`500ms`, `30s`, `15m`, `2h`, `7d`, `1w`).
    public static func parseTimeArgument(_ v: String, now: Int64) -> Int64? {
        if let t = parseTime(v) { return t }
        if let ns = Int64(v) { return ns }
        for (u, f) in [("ms", 1e6), ("s", 1e9), ("m", 6e10), ("h", 3.6e12), ("d", 8.64e13), ("w", 6.048e14)] where v.hasSuffix(u) {
            guard let n = Double(v.dropLast(u.count)), n >= 0, n * f < 9e18 else { return nil }
            return now - Int64(n * f)
        }
        return nil
    }

    /// Parses RFC 3339 (`2026-11-25T06:00:00Z`, fractional seconds and offsets allowed) or a date
    /// (`2026-11-25`) to nanoseconds.
    public static func parseTime(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        func num(_ from: Int, _ n: Int) -> Int? {
            guard from + n <= b.count else { return nil }
            var v = 0
            for k in from..<(from + n) {
                guard b[k] >= 48, b[k] <= 57 else { return nil }
                v = v * 10 + Int(b[k] - 48)
            }
            return v
        }
        guard let y = num(0, 4), b.count >= 10, b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2),
              (1...12).contains(mo), (1...31).contains(d) else { return nil }
        var h = 0, mi = 0, sec = 0, frac: Int64 = 0, offset = 0
        var i = 10
        if i < b.count {
            guard b[i] == 84 || b[i] == 116 || b[i] == 32, let hh = num(i + 1, 2), b.count > i + 3, b[i + 3] == 58,
                  let mm = num(i + 4, 2) else { return nil }
            h = hh; mi = mm; i += 6
            if i < b.count, b[i] == 58 {
                guard let ss = num(i + 1, 2) else { return nil }
                sec = ss; i += 3
                if i < b.count, b[i] == 46 {
                    i += 1
                    var digits = 0
                    while i < b.count, b[i] >= 48, b[i] <= 57 {
                        if digits < 9 { frac = frac * 10 + Int64(b[i] - 48); digits += 1 }
                        i += 1
                    }
                    guard digits > 0 else { return nil }
                    for _ in digits..<9 { frac *= 10 }
                }
            }
            if i < b.count {
                if b[i] == 90 || b[i] == 122 { i += 1 } else if b[i] == 43 || b[i] == 45 {
                    guard let oh = num(i + 1, 2), b.count > i + 3, b[i + 3] == 58, let om = num(i + 4, 2) else { return nil }
                    offset = (oh * 60 + om) * 60 * (b[i] == 43 ? 1 : -1)
                    i += 6
                } else { return nil }
            }
            guard i == b.count, h < 24, mi < 60, sec < 61 else { return nil }
        }
        // Days from civil (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        // Nanoseconds since 1970 fit in Int64 from 1677 to 2262; anything outside is not a time here.
        let total = Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + sec - offset)
        let (ns, overflow) = total.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (out, overflow2) = ns.addingReportingOverflow(frac)
        return overflow2 ? nil : out
    }
}

/// The type an expression has, known before any row is read.
public enum QueryType: String, Sendable {
    case int, double, string, bool, time, null

    var isNumeric: Bool { self == .int || self == .double || self == .time || self == .null }
}
