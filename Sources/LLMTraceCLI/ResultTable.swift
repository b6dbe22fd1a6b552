import Foundation

/// Query results for people (aligned columns) and scripts (CSV). Cells are already text; nil is NULL.
public struct ResultTable {
    public var columns: [String]
    /// Right-aligned columns (numbers).
    public var numeric: [Bool]
    public var rows: [[String?]]

    public init(columns: [String], numeric: [Bool], rows: [[String?]]) {
        self.columns = columns
        self.numeric = numeric
        self.rows = rows
    }

    /// Widest cell shown before it is cut with "…" (the full value is in --json and --csv).
    public static let maxCellWidth = 60

    static func width(_ s: String) -> Int { s.unicodeScalars.count }

    static func cut(_ s: String) -> String {
        let flat = Terminal.visible(s.replacingOccurrences(of: "\n", with: "⏎").replacingOccurrences(of: "\t", with: " "))
        guard width(flat) > maxCellWidth else { return flat }
        return String(String.UnicodeScalarView(flat.unicodeScalars.prefix(maxCellWidth - 1))) + "…"
    }

    /// A header row, a rule, then the rows; NULL shows as an empty cell.
    public func aligned(color: Bool) -> String {
        let cells = rows.map { $0.map { $0.map(Self.cut) ?? "" } }
        let columns = self.columns.map { Terminal.visible($0) }
        var widths = columns.map(Self.width)
        for r in cells { for (k, c) in r.enumerated() where k < widths.count { widths[k] = max(widths[k], Self.width(c)) } }
        func pad(_ s: String, _ k: Int) -> String {
            let gap = String(repeating: " ", count: max(0, widths[k] - Self.width(s)))
            return numeric[k] ? gap + s : s + gap
        }
        func line(_ r: [String]) -> String {
            var s = r.enumerated().map { pad($0.element, $0.offset) }.joined(separator: "  ")
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
        var out = Terminal.style(line(columns), .bold, color: color) + "\n"
        out += widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ") + "\n"
        for r in cells { out += line(r) + "\n" }
        return out
    }

    /// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; NULL is empty.
    /// Controls other than line breaks and tabs are escaped visibly, as on a terminal.
    public func csv() -> String {
        func field(_ raw: String) -> String {
            let s = Terminal.visible(raw, keepNewlines: true)
            guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        var out = columns.map(field).joined(separator: ",") + "\r\n"
        for r in rows { out += r.map { field($0 ?? "") }.joined(separator: ",") + "\r\n" }
        return out
    }
}
