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

    /// One row: a sparkline.
    public static func sparkline(_ values: [Double?], width: Int, glyphs: Glyphs = .blocks) -> String {
        area(values, width: width, height: 1, glyphs: glyphs).first ?? ""
    }

    /// The value shown in `column` of `columns`: when there are more values than columns, the mean
    /// of the values that fall in it; when fewer, the values sit at the right (the newest last).
    static func resample(_ values: [Double?], columns: Int, column: Int) -> Double? {
        let n = values.count
        if n == 0 { return nil }
        if n <= columns {
            let i = column - (columns - n)
            return i >= 0 ? values[i] : nil
        }
        let from = column * n / columns, to = max(from + 1, (column + 1) * n / columns)
        var sum = 0.0, count = 0
        for v in values[from..<to] { if let v, v.isFinite { sum += v; count += 1 } }
        return count == 0 ? nil : sum / Double(count)
    }
}
