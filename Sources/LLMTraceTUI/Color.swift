/// A colour as a panel asks for it, and what the terminal can show: truecolor, the 256-colour
/// palette, the 16 ANSI colours, or none (`NO_COLOR`, `TERM=dumb`, not a terminal). A colour the
/// terminal cannot show is brought down to the nearest one it can, never dropped.
public enum Color: Sendable, Hashable {
    /// The terminal's own foreground or background.
    case `default`
    /// One of the 16 ANSI colours (0–7 normal, 8–15 bright).
    case ansi(UInt8)
    /// An entry of the 256-colour palette.
    case indexed(UInt8)
    case rgb(UInt8, UInt8, UInt8)

    public static let black = Color.ansi(0), red = Color.ansi(1), green = Color.ansi(2), yellow = Color.ansi(3)
    public static let blue = Color.ansi(4), magenta = Color.ansi(5), cyan = Color.ansi(6), white = Color.ansi(7)
    public static let gray = Color.ansi(8), brightRed = Color.ansi(9), brightGreen = Color.ansi(10), brightYellow = Color.ansi(11)
}

public enum ColorMode: Int, Sendable, Comparable {
    case none = 0, ansi16, indexed256, truecolor

    public static func < (a: ColorMode, b: ColorMode) -> Bool { a.rawValue < b.rawValue }

    /// What the environment says the terminal shows: `NO_COLOR` (any value) or `TERM=dumb` turn
    /// colour off; `COLORTERM=truecolor|24bit` means truecolor; a `TERM` naming 256 colours the
    /// palette; any other terminal the 16 colours.
    public static func detect(_ env: [String: String], isTerminal: Bool) -> ColorMode {
        if env["NO_COLOR"] != nil || !isTerminal { return .none }
        let term = env["TERM"] ?? ""
        if term == "dumb" || term.isEmpty && env["COLORTERM"] == nil { return .none }
        if let c = env["COLORTERM"]?.lowercased(), c == "truecolor" || c == "24bit" { return .truecolor }
        if term.contains("256color") || term.contains("kitty") || term.contains("alacritty") || term.contains("wezterm") { return .indexed256 }
        return .ansi16
    }
}

extension Color {
    /// The colour as `mode` can show it (nil: the terminal's default).
    public func reduced(to mode: ColorMode) -> Color? {
        switch (self, mode) {
        case (.default, _), (_, .none): return nil
        case (.ansi, _): return self
        case (.indexed(let i), .ansi16): return .ansi(Self.ansi16(ofIndexed: i))
        case (.indexed, _): return self
        case (.rgb(let r, let g, let b), .ansi16): return .ansi(Self.ansi16(ofIndexed: Self.indexed(r, g, b)))
        case (.rgb(let r, let g, let b), .indexed256): return .indexed(Self.indexed(r, g, b))
        case (.rgb, .truecolor): return self
        }
    }

    /// The nearest palette entry: the 6×6×6 cube or the 24-step gray ramp, whichever is closer.
    static func indexed(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let levels: [Int] = [0, 95, 135, 175, 215, 255]
        func level(_ v: UInt8) -> Int {
            var best = 0
            for i in 1..<6 where abs(levels[i] - Int(v)) < abs(levels[best] - Int(v)) { best = i }
            return best
        }
        let (ri, gi, bi) = (level(r), level(g), level(b))
        let cube = (levels[ri], levels[gi], levels[bi])
        let mean = (Int(r) + Int(g) + Int(b)) / 3
        let grayStep = max(0, min(23, (mean - 8 + 5) / 10))
        let gray = 8 + grayStep * 10
        func dist(_ c: (Int, Int, Int)) -> Int {
            let dr = c.0 - Int(r), dg = c.1 - Int(g), db = c.2 - Int(b)
            return dr * dr + dg * dg + db * db
        }
        if dist((gray, gray, gray)) < dist(cube) { return UInt8(232 + grayStep) }
        return UInt8(16 + 36 * ri + 6 * gi + bi)
    }

    /// A palette entry as the nearest of the 16 ANSI colours (their xterm values).
    static func ansi16(ofIndexed i: UInt8) -> UInt8 {
        if i < 16 { return i }
        let rgb: (Int, Int, Int)
        if i >= 232 {
            let v = 8 + Int(i - 232) * 10
            rgb = (v, v, v)
        } else {
            let levels = [0, 95, 135, 175, 215, 255]
            let c = Int(i) - 16
            rgb = (levels[c / 36], levels[c / 6 % 6], levels[c % 6])
        }
        let table: [(Int, Int, Int)] = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
                                        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]
        var best = 0, bestD = Int.max
        for (k, t) in table.enumerated() {
            let d = (t.0 - rgb.0) * (t.0 - rgb.0) + (t.1 - rgb.1) * (t.1 - rgb.1) + (t.2 - rgb.2) * (t.2 - rgb.2)
            if d < bestD { best = k; bestD = d }
        }
        return UInt8(best)
    }
}
