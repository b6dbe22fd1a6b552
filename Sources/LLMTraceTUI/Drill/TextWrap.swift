/// Long text as lines of at most `width` cells: its own line breaks kept, lines broken after a
/// space where one is near, else inside a word; tabs as four spaces; widths as the screen draws the
/// text (wide characters two cells, control characters their one-cell pictures).
public enum TextWrap {
    public static func lines(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var out: [String] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = raw.hasSuffix("\r") ? raw.dropLast() : raw[...]
            if line.contains("\t") { line = Substring(line.split(separator: "\t", omittingEmptySubsequences: false).joined(separator: "    ")) }
            var current = "", used = 0
            var lastSpace: (index: String.Index, used: Int)? = nil
            for ch in line {
                let w = cells(ch)
                if used + w > width {
                    // Break after the last space when it leaves at least a third of the line used.
                    if let sp = lastSpace, sp.used >= width / 3 {
                        let head = String(current[..<sp.index])
                        let tail = String(current[current.index(after: sp.index)...])
                        out.append(head)
                        current = tail
                        used = used - sp.used - 1
                    } else {
                        out.append(current)
                        current = ""
                        used = 0
                    }
                    lastSpace = nil
                }
                if ch == " " { lastSpace = (current.endIndex, used) }
                current.append(ch)
                used += w
            }
            out.append(current)
        }
        return out
    }

    /// Cells `ch` takes on the screen.
    public static func cells(_ ch: Character) -> Int {
        ScreenBuffer.printable(ch).reduce(0) { $0 + DisplayWidth.of($1) }
    }

    /// Cells `text` takes on the screen.
    public static func cells(_ text: String) -> Int {
        text.reduce(0) { $0 + cells($1) }
    }

    /// `text` cut to `width` cells, ending in `…` when it was longer.
    public static func cut(_ text: String, _ width: Int) -> String {
        guard width > 0 else { return "" }
        guard cells(text) > width else { return text }
        var out = "", used = 0
        for ch in text {
            let w = cells(ch)
            if used + w > width - 1 { break }
            out.append(ch)
            used += w
        }
        return out + "…"
    }

    /// `text` padded with spaces (or cut) to exactly `width` cells, on the left when `right`.
    public static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let t = cut(text, width)
        let gap = String(repeating: " ", count: max(0, width - cells(t)))
        return right ? gap + t : t + gap
    }
}
