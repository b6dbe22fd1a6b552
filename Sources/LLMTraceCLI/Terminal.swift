#if canImport(Glibc)
import Glibc
#endif

/// Output helpers: unbuffered writes to stdout/stderr, TTY detection and colour that honours NO_COLOR.
public enum Terminal {
    public static func write(_ s: String, fd: Int32 = 1) {
        var s = s
        s.withUTF8 { u in
            var off = 0
            while off < u.count {
                let n = Glibc.write(fd, u.baseAddress! + off, u.count - off)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                off += n
            }
        }
    }

    public static func print(_ s: String) { write(s + "\n") }
    public static func error(_ s: String) { write(s + "\n", fd: 2) }

    public static func isTTY(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Colour only on a terminal and never when NO_COLOR is set (https://no-color.org).
    public static var useColor: Bool {
        guard isTTY(1), getenv("NO_COLOR") == nil else { return false }
        if let t = getenv("TERM"), String(cString: t) == "dumb" { return false }
        return true
    }

    public static var columns: Int {
        var ws = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0 && ws.ws_col > 0 { return Int(ws.ws_col) }
        return 100
    }

    public enum Style: String {
        case bold = "1", dim = "2", red = "31", green = "32", yellow = "33", blue = "34", magenta = "35", cyan = "36"
    }

    /// `s` made safe to print on a terminal. Span text comes from whoever sent it: C0 controls
    /// (all but tab, and newline when `keepNewlines`), DEL, the C1 controls and the bidirectional
    /// overrides are written as visible escapes (`\x1b`, `\u{9b}`, `\u{202e}`), so a name or a
    /// prompt can neither move the cursor, retitle the window, write the clipboard (OSC 52),
    /// overwrite its line with a carriage return nor reorder what is shown.
    public static func visible(_ s: String, keepNewlines: Bool = false) -> String {
        func unsafe(_ v: UInt32) -> Bool {
            if v < 0x20 { return !(v == 0x09 || (keepNewlines && v == 0x0A)) }
            return v == 0x7F || (v >= 0x80 && v <= 0x9F) || (v >= 0x202A && v <= 0x202E) || (v >= 0x2066 && v <= 0x2069)
        }
        guard s.unicodeScalars.contains(where: { unsafe($0.value) }) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            guard unsafe(u.value) else { out.append(u); continue }
            let hex = String(u.value, radix: 16)
            out.append(contentsOf: (u.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{" + hex + "}").unicodeScalars)
        }
        return String(out)
    }

    public static func style(_ s: String, _ st: Style, color: Bool) -> String {
        color ? "\u{1B}[\(st.rawValue)m\(s)\u{1B}[0m" : s
    }

    /// Peak resident set size of this process in MiB (VmHWM from /proc/self/status).
    public static func peakRSSMiB(pid: String = "self") -> Double { procStatusMiB("VmHWM:", pid: pid) }

    /// A memory line of /proc/PID/status (VmHWM:, RssAnon:, RssFile:) in MiB.
    public static func procStatusMiB(_ field: String, pid: String = "self") -> Double {
        guard let f = fopen("/proc/\(pid)/status", "r") else { return 0 }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, 512, f) != nil {
            let s = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if s.hasPrefix(field) {
                let kb = Double(s.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
                return kb / 1024
            }
        }
        return 0
    }
}
