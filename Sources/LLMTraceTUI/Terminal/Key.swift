/// A key as the dashboard reads it.
public enum Key: Sendable, Equatable {
    case char(Character)
    case up, down, left, right, home, end, pageUp, pageDown
    case enter, tab, backTab, escape, backspace, delete
    /// Ctrl and a letter (`ctrl("c")`).
    case ctrl(Character)
}

/// Bytes from a terminal in raw mode to keys: UTF-8 characters, control keys, and the escape
/// sequences terminals send for arrows and the rest (CSI `ESC [`, SS3 `ESC O`, with xterm's
/// modifier parameters ignored). A lone ESC is Escape only once no more bytes follow it, so the
/// decoder keeps an incomplete sequence until `flush()` (the caller's short timeout) says it ended.
public struct KeyDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// The keys in `bytes` (with what was kept from before); an incomplete sequence is kept.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Key] {
        pending.append(contentsOf: bytes)
        var keys: [Key] = []
        var i = 0
        while i < pending.count {
            guard let (key, used) = Self.decode(pending, at: i) else { break }   // incomplete
            if let key { keys.append(key) }
            i += used
        }
        pending.removeFirst(i)
        return keys
    }

    /// What is kept, as keys: after a pause, a lone ESC was the Escape key.
    public mutating func flush() -> [Key] {
        defer { pending.removeAll() }
        if pending == [0x1b] { return [.escape] }
        return []
    }

    /// One key at `i` and the bytes it used; nil when the bytes end inside it; a nil key for bytes
    /// that mean nothing to the dashboard (an unknown sequence is consumed whole).
    static func decode(_ b: [UInt8], at i: Int) -> (Key?, Int)? {
        let c = b[i]
        switch c {
        case 0x1b:
            guard i + 1 < b.count else { return nil }
            let n = b[i + 1]
            if n == 0x5b || n == 0x4f { return csi(b, at: i, ss3: n == 0x4f) }
            if n == 0x1b { return (.escape, 1) }
            return (.escape, 1)   // Alt+key: the key follows on its own
        case 0x0d, 0x0a: return (.enter, 1)
        case 0x09: return (.tab, 1)
        case 0x7f, 0x08: return (.backspace, 1)
        case 0x01...0x1a: return (.ctrl(Character(Unicode.Scalar(c + 0x60))), 1)
        case 0x00...0x1f: return (nil, 1)
        default:
            // A UTF-8 character: its length from the lead byte.
            let len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1
            guard i + len <= b.count else { return nil }
            let s = String(decoding: b[i..<(i + len)], as: UTF8.self)
            guard let ch = s.first, s.count == 1, !s.unicodeScalars.contains("\u{FFFD}") else { return (nil, len) }
            return (.char(ch), len)
        }
    }

    /// `ESC [ params final` or `ESC O final`.
    static func csi(_ b: [UInt8], at i: Int, ss3: Bool) -> (Key?, Int)? {
        var j = i + 2
        var params: [UInt8] = []
        while j < b.count, (0x30...0x3f).contains(b[j]) { params.append(b[j]); j += 1 }
        if j - i > 32 { return (nil, j - i) }
        guard j < b.count else { return nil }
        let final = b[j]
        let used = j - i + 1
        let first = String(decoding: params.prefix { $0 != 0x3b }, as: UTF8.self)
        switch final {
        case UInt8(ascii: "A"): return (.up, used)
        case UInt8(ascii: "B"): return (.down, used)
        case UInt8(ascii: "C"): return (.right, used)
        case UInt8(ascii: "D"): return (.left, used)
        case UInt8(ascii: "H"): return (.home, used)
        case UInt8(ascii: "F"): return (.end, used)
        case UInt8(ascii: "Z"): return (ss3 ? nil : .backTab, used)
        case UInt8(ascii: "~"):
            switch first {
            case "1", "7": return (.home, used)
            case "4", "8": return (.end, used)
            case "3": return (.delete, used)
            case "5": return (.pageUp, used)
            case "6": return (.pageDown, used)
            default: return (nil, used)
            }
        default:
            return (nil, used)
        }
    }
}
