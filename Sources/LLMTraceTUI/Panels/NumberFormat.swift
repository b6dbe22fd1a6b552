import LLMTraceModel

/// Numbers as panels write them, short enough for a narrow cell: `5.01k/s`, `812ms`, `1.24s`,
/// `$0.0421`, `$1.23/h`, `2.4%`, `12.3k`.
public enum NumberFormat {
    public static func format(_ v: Double?, _ unit: Dashboard.Panel.Unit) -> String {
        guard let v, v.isFinite else { return "–" }
        switch unit {
        case .none, .count: return unit == .count ? grouped(v) : short(v)
        case .perSecond: return short(v) + "/s"
        case .tokens: return short(v)
        case .tokensPerSecond: return short(v) + "/s"
        case .percent: return fixed(v, v < 10 ? 1 : 0) + "%"
        case .milliseconds: return v >= 1000 ? fixed(v / 1000, v >= 10_000 ? 1 : 2) + "s" : fixed(v, v < 10 ? 1 : 0) + "ms"
        case .seconds: return fixed(v, v < 10 ? 2 : 1) + "s"
        case .usd: return dollars(v)
        case .usdPerHour: return dollars(v) + "/h"
        }
    }

    /// Dollars: cents from $0.10 up, three significant figures below (`$0.0412`, `$0.00026`).
    static func dollars(_ v: Double) -> String {
        let a = abs(v)
        var body: String
        if a >= 1000 { body = short(a) }
        else if a >= 0.1 || a == 0 { body = fixed(a, a == 0 ? 0 : 2) }
        else {
            var places = 2, x = a
            while x < 0.1 && places < 9 { x *= 10; places += 1 }
            body = fixed(a, places)
            while body.hasSuffix("0") { body.removeLast() }
        }
        return (v < 0 ? "-$" : "$") + body
    }

    /// 3 significant figures with k, M, G.
    static func short(_ v: Double) -> String {
        let a = abs(v)
        let (scaled, suffix): (Double, String) = a >= 1e9 ? (v / 1e9, "G") : a >= 1e6 ? (v / 1e6, "M") : a >= 1e3 ? (v / 1e3, "k") : (v, "")
        let s = abs(scaled)
        return fixed(scaled, s >= 100 ? 0 : s >= 10 ? 1 : (suffix.isEmpty && s == s.rounded() ? 0 : 2)) + suffix
    }

    static func grouped(_ v: Double) -> String {
        guard abs(v) < 9e15 else { return short(v) }
        return DecimalText.grouped(Int64(v.rounded()))
    }

    /// `places` decimals, rounded half away from zero, without Foundation.
    public static func fixed(_ v: Double, _ places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let r = (abs(v) * scale).rounded()
        guard r < 9e15 else { return String(v) }
        let whole = Int64(r) / Int64(scale), frac = Int64(r) % Int64(scale)
        var s = (v < 0 && r > 0 ? "-" : "") + String(whole)
        if places > 0 {
            var f = String(frac)
            while f.count < places { f = "0" + f }
            s += "." + f
        }
        return s
    }
}
