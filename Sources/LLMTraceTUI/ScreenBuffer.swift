/// A screen in memory: `width` × `height` cells that panels draw into and the renderer compares
/// with the last frame. Drawing clips at the edges; text from spans is made safe to print (control
/// characters and escape sequences shown as visible symbols, never sent to the terminal).
public struct ScreenBuffer: Sendable, Equatable {
    public private(set) var width: Int
    public private(set) var height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    public mutating func clear(_ style: Style = .plain) {
        for i in cells.indices { cells[i] = Cell(" ", style) }
    }

    /// Fills a rectangle (clipped) with blanks in `style`.
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, style: Style) {
        for row in max(0, y)..<min(height, y + h) {
            for col in max(0, x)..<min(width, x + w) { cells[row * width + col] = Cell(" ", style) }
        }
    }

    /// Writes `text` from (x, y) to the right, at most `maxWidth` cells (to the screen's edge by
    /// default); returns the cells used. A wide character that does not fit whole is left out.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .plain, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height, x < width else { return 0 }
        let limit = min(width, maxWidth.map { x + max(0, $0) } ?? width)
        var col = x
        for ch in text {
            let shown = Self.printable(ch)
            for g in shown {
                let w = DisplayWidth.of(g)
                if w == 0 { continue }
                if col + w > limit { return col - x }
                if col >= 0 {
                    cells[y * width + col] = Cell(String(g), style)
                    if w == 2 { cells[y * width + col + 1] = .continuation }
                }
                col += w
            }
        }
        return col - x
    }

    /// A character as it may safely reach a terminal: C0 and C1 controls (ESC included) as their
    /// Unicode control pictures or `·`, so nothing a span carries can move the cursor or change the
    /// terminal's state.
    public static func printable(_ c: Character) -> [Character] {
        // Fast path: one scalar that is safe as it is.
        if c.unicodeScalars.count == 1, let s = c.unicodeScalars.first, !isControl(s) { return [c] }
        if !c.unicodeScalars.contains(where: isControl) { return [c] }
        // A cluster with a control in it (CR LF is one Character): each scalar on its own.
        return c.unicodeScalars.map { s in
            if s.value < 0x20 { return s == "\t" ? " " : Character(Unicode.Scalar(0x2400 + s.value)!) }   // ␀ … ␟
            if s.value == 0x7F { return "␡" }
            if isControl(s) { return "·" }
            return Character(s)
        }
    }

    /// C0, DEL, C1, the zero-width space and the bidirectional marks, embeddings, overrides and
    /// isolates (text that reads differently from what it is); the joiners emoji and scripts need
    /// (U+200C, U+200D) stay.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return v < 0x20 || (0x7F..<0xA0).contains(v) || v == 0x200B || v == 0x200E || v == 0x200F
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }

    /// The screen as text, one line per row, trailing blanks cut: what golden screen files hold.
    public var text: String {
        var lines: [String] = []
        for row in 0..<height {
            var line = ""
            for col in 0..<width {
                let c = cells[row * width + col]
                if !c.isContinuation { line += c.text }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
