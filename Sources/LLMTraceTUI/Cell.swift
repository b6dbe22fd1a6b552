/// How a cell is drawn: colours and attributes (SGR).
public struct Style: Sendable, Hashable {
    public var fg: Color = .default
    public var bg: Color = .default
    public var bold = false
    public var dim = false
    public var italic = false
    public var underline = false
    public var reverse = false

    public init(fg: Color = .default, bg: Color = .default, bold: Bool = false, dim: Bool = false,
                italic: Bool = false, underline: Bool = false, reverse: Bool = false) {
        self.fg = fg
        self.bg = bg
        self.bold = bold
        self.dim = dim
        self.italic = italic
        self.underline = underline
        self.reverse = reverse
    }

    public static let plain = Style()
}

/// One cell of the screen: a grapheme (what the terminal prints as one character) and its style.
/// A wide grapheme (CJK, most emoji) takes two cells; the second holds `continuation`.
public struct Cell: Sendable, Hashable {
    public var text: String
    public var style: Style

    public init(_ text: String = " ", _ style: Style = .plain) {
        self.text = text
        self.style = style
    }

    public static let blank = Cell()
    /// The right half of a wide grapheme: drawn by its left half, never on its own.
    public static let continuation = Cell("", .plain)
    public var isContinuation: Bool { text.isEmpty }
}

/// Display width of a grapheme in terminal cells: 0 for what cannot be shown, 2 for East Asian
/// wide and full-width characters and emoji presentation, 1 otherwise. A table of ranges, enough
/// for what LLM traffic carries (CJK text, emoji, combining marks); terminals disagree on the rest.
public enum DisplayWidth {
    public static func of(_ c: Character) -> Int {
        guard let first = c.unicodeScalars.first else { return 0 }
        let v = first.value
        if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
        if c.unicodeScalars.contains(where: { $0.value == 0xFE0F }) { return 2 }   // emoji presentation
        return isWide(v) ? 2 : 1
    }

    static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
             0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
             0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}
