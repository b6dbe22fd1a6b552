/// Charts drawn with characters: braille (2×4 dots per cell, the finest a terminal shows), eighth
/// blocks (▁…█) where braille is missing from the font, or ASCII where Unicode is. Values are
/// plotted oldest on the left as an area from the bottom; nil is a gap.
public enum Chart {
    public enum Glyphs: Sendable { case braille, blocks, ascii }

    /// `height` rows of `width` cells (top row first) plotting `values` between `low` and `high`
    /// (by default 0, or the smallest value when below 0, and the largest value).
    public static func area(_ values: [Double?], width: Int, height: Int, glyphs: Glyphs = .braille,
                            low: Double? = nil, high: Double? = nil) -> [String] {
        guard width > 0, height > 0 else { return [] }
        let present = values.compactMap { $0 }.filter(\.isFinite)
        let lo = low ?? min(0, present.min() ?? 0)
        var hi = high ?? (present.max() ?? 1)
        if hi <= lo { hi = lo + 1 }
        let columnsPerCell = glyphs == .braille ? 2 : 1
        let dotsPerCell = glyphs == .braille ? 4 : 8
        let levelsTotal = height * dotsPerCell
        // One level per plotted column: the values resampled to the columns (the newest at the right).
        let columns = width * columnsPerCell
        let levels: [Int?] = (0..<columns).map { c in
            let v = resample(values, columns: columns, column: c)
            guard let v, v.isFinite else { return nil }
            let f = (min(max(v, lo), hi) - lo) / (hi - lo)
            return Int((f * Double(levelsTotal)).rounded())
        }
        var rows: [String] = []
        for r in 0..<height {
            let bottom = (height - 1 - r) * dotsPerCell   // levels below this row
            var line = ""
            for cell in 0..<width {
                switch glyphs {
                case .braille:
                    var bits: UInt32 = 0
                    for half in 0..<2 {
                        guard let level = levels[cell * 2 + half] else { continue }
                        let filled = min(4, max(0, level - bottom))
                        // Dots from the bottom of the cell up: left column 7, 3, 2, 1; right 8, 6, 5, 4.
                        let order: [UInt32] = half == 0 ? [0x40, 0x04, 0x02, 0x01] : [0x80, 0x20, 0x10, 0x08]
                        for k in 0..<filled { bits |= order[k] }
                    }
                    line.unicodeScalars.append(Unicode.Scalar(0x2800 + bits)!)
                case .blocks:
                    let filled = levels[cell].map { min(8, max(0, $0 - bottom)) } ?? 0
                    line += [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"][filled]
                case .ascii:
                    let filled = levels[cell].map { min(8, max(0, $0 - bottom)) } ?? 0
                    line += filled >= 8 ? "#" : (filled >= 4 ? "+" : (filled > 0 ? "." : " "))
                }
            }
            rows.append(line)
        }
        return rows
    }

    /// `height` rows plotting `values` as a line (braille only: a dot per column at the value,
    /// joined to the previous column's), for charts with several series that must not hide each
    /// other. Other glyph sets fall back to `area`.
    public static func line(_ values: [Double?], width: Int, height: Int, glyphs: Glyphs = .braille, low: Double, high: Double) -> [String] {
        guard glyphs == .braille else { return area(values, width: width, height: height, glyphs: glyphs, low: low, high: high) }
        guard width > 0, height > 0 else { return [] }
        let hi = high > low ? high : low + 1
        let dots = height * 4
        let columns = width * 2
        var grid = [[UInt32]](repeating: [UInt32](repeating: 0, count: width), count: height)
        let bit: [[UInt32]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]   // [column][row from the top]
        func set(_ c: Int, _ level: Int) {   // level 0 = the bottom dot
            let fromTop = dots - 1 - max(0, min(dots - 1, level))
            grid[fromTop / 4][c / 2] |= bit[c % 2][fromTop % 4]
        }
        var previous: Int? = nil
        for c in 0..<columns {
            guard let v = resample(values, columns: columns, column: c), v.isFinite else { previous = nil; continue }
            let level = Int(((min(max(v, low), hi) - low) / (hi - low) * Double(dots - 1)).rounded())
            let from = previous ?? level
            for l in min(from, level)...max(from, level) { set(c, l) }
            previous = level
        }
        return grid.map { row in String(String.UnicodeScalarView(row.map { Unicode.Scalar(0x2800 + $0)! })) }
    }

    /// One row: a sparkline.
    public static func sparkline(_ values: [Double?], width: Int, glyphs: Glyphs = .blocks) -> String {
        area(values, width: width, height: 1, glyphs: glyphs).first ?? ""
    }

    /// The value shown in `column` of `columns`: when there are more values than columns, the mean
    /// of the values that fall in it; when fewer, each value spans its share of the columns (the
    /// values are the whole range: the first at the left edge, the newest at the right).
    static func resample(_ values: [Double?], columns: Int, column: Int) -> Double? {
        let n = values.count
        if n == 0 { return nil }
        if n <= columns { return values[column * n / columns] }
        let from = column * n / columns, to = max(from + 1, (column + 1) * n / columns)
        var sum = 0.0, count = 0
        for v in values[from..<to] { if let v, v.isFinite { sum += v; count += 1 } }
        return count == 0 ? nil : sum / Double(count)
    }
}
