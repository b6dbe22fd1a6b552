import LLMTraceClient
/// What Enter on a line of a panel opens: a trace, or the traces a filter finds.
public enum DrillTarget: Sendable, Equatable {
    case trace(String)
    case traces(TraceFilter, origin: String)
}

/// What a panel shows, as its query or the collector answered it.
public enum PanelData: Sendable, Equatable {
    case loading
    /// The query failed, or the collector could not be reached: shown in the panel, in red.
    case failed(String)
    /// A stat: the value over the range, the value over the range before (for the change), and the
    /// sparkline's points.
    case stat(value: Double?, previous: Double?, history: [Double?])
    /// A time series: points per group, oldest first, sharing the buckets.
    case series([Series])
    case bars([(label: String, value: Double)])
    case table(columns: [String], rows: [[String]])
    case alerts([AlertRow])
    /// Pre-written lines, newest first: the feed, anomalies, drift; with what Enter on each opens
    /// (as many as the lines, or none).
    case lines([String], targets: [DrillTarget] = [])

    public struct Series: Sendable, Equatable {
        public var name: String
        public var values: [Double?]
        public init(name: String, values: [Double?]) {
            self.name = name
            self.values = values
        }
    }

    public struct AlertRow: Sendable, Equatable {
        public var state: String
        public var name: String
        public var since: String
        /// The traces Enter lists for it (its service and model).
        public var traces: TraceFilter
        public init(state: String, name: String, since: String, traces: TraceFilter = TraceFilter()) {
            self.state = state
            self.name = name
            self.since = since
            self.traces = traces
        }

        /// As the panel lists them: firing, pending, resolved, then by name (j/k count in this order).
        public static func ordered(_ rows: [AlertRow]) -> [AlertRow] {
            let order = ["firing": 0, "pending": 1, "resolved": 2]
            return rows.sorted { (order[$0.state] ?? 3, $0.name) < (order[$1.state] ?? 3, $1.name) }
        }
    }

    public static func == (a: PanelData, b: PanelData) -> Bool {
        switch (a, b) {
        case (.loading, .loading): return true
        case (.failed(let x), .failed(let y)): return x == y
        case (.stat(let v1, let p1, let h1), .stat(let v2, let p2, let h2)): return v1 == v2 && p1 == p2 && h1 == h2
        case (.series(let x), .series(let y)): return x == y
        case (.bars(let x), .bars(let y)): return x.map(\.label) == y.map(\.label) && x.map(\.value) == y.map(\.value)
        case (.table(let c1, let r1), .table(let c2, let r2)): return c1 == c2 && r1 == r2
        case (.alerts(let x), .alerts(let y)): return x == y
        case (.lines(let x, let tx), .lines(let y, let ty)): return x == y && tx == ty
        default: return false
        }
    }
}

/// Draws one panel into its rectangle: a box with the title (highlighted when focused), then the
/// content for its kind. Text is cut to fit with `…`; nothing is drawn outside the rectangle.
public struct PanelView {
    public var glyphs: Chart.Glyphs
    /// Colours for series and bars, in order.
    static let palette: [Color] = [.cyan, .magenta, .yellow, .green, .blue, .brightRed, .white, .gray]

    /// The 256 braille cells as strings, made once.
    static let braille: [String] = (0..<256).map { String(Unicode.Scalar(0x2800 + UInt32($0))!) }

    static func glyph(_ u: Unicode.Scalar) -> String {
        (0x2800...0x28FF).contains(u.value) ? braille[Int(u.value - 0x2800)] : String(u)
    }

    public init(glyphs: Chart.Glyphs) {
        self.glyphs = glyphs
    }

    public func draw(_ panel: Dashboard.Panel, _ data: PanelData, in r: Rect, on s: inout ScreenBuffer, focused: Bool, selectedRow: Int? = nil) {
        guard r.width >= 4, r.height >= 2 else { return }
        box(title: panel.title, in: r, on: &s, focused: focused)
        let inner = Rect(x: r.x + 1, y: r.y + 1, width: r.width - 2, height: r.height - 2)
        guard inner.height > 0 else { return }
        switch data {
        case .loading:
            s.put("…", x: inner.x, y: inner.y, style: Style(dim: true))
        case .failed(let why):
            wrap(why, in: inner, on: &s, style: Style(fg: .red))
        case .stat(let value, let previous, let history):
            stat(value, previous, history, panel.unit, in: inner, on: &s)
        case .series(let series):
            chart(series, panel.unit, in: inner, on: &s)
        case .bars(let items):
            bars(items, panel.unit, in: inner, on: &s, selected: focused ? selectedRow : nil)
        case .table(let columns, let rows):
            table(columns, rows, in: inner, on: &s, selected: focused ? selectedRow : nil)
        case .alerts(let rows):
            alerts(rows, in: inner, on: &s, selected: focused ? selectedRow : nil)
        case .lines(let lines, _) where lines.count == 1 && selectedRow == nil:
            // One line is a message: wrapped, not cut.
            wrap(lines[0], in: inner, on: &s, style: Style(dim: true))
        case .lines(let lines, _):
            for (i, line) in lines.prefix(inner.height).enumerated() {
                put(line, x: inner.x, y: inner.y + i, width: inner.width, on: &s, style: focused && selectedRow == i ? Style(reverse: true) : .plain)
            }
        }
    }

    func box(title: String, in r: Rect, on s: inout ScreenBuffer, focused: Bool) {
        let ascii = glyphs == .ascii
        let (h, v, tl, tr, bl, br) = ascii ? ("-", "|", "+", "+", "+", "+") : ("─", "│", "┌", "┐", "└", "┘")
        let border = focused ? Style(fg: .cyan, bold: true) : Style(fg: .gray)
        for x in r.x..<(r.x + r.width) {
            s.put(h, x: x, y: r.y, style: border)
            s.put(h, x: x, y: r.y + r.height - 1, style: border)
        }
        for y in r.y..<(r.y + r.height) {
            s.put(v, x: r.x, y: y, style: border)
            s.put(v, x: r.x + r.width - 1, y: y, style: border)
        }
        s.put(tl, x: r.x, y: r.y, style: border)
        s.put(tr, x: r.x + r.width - 1, y: r.y, style: border)
        s.put(bl, x: r.x, y: r.y + r.height - 1, style: border)
        s.put(br, x: r.x + r.width - 1, y: r.y + r.height - 1, style: border)
        put(" " + title + " ", x: r.x + 1, y: r.y, width: r.width - 2, on: &s, style: focused ? Style(fg: .cyan, bold: true) : Style(bold: true))
    }

    /// Text cut to `width` cells, the last one `…` when it did not fit.
    func put(_ text: String, x: Int, y: Int, width: Int, on s: inout ScreenBuffer, style: Style = .plain) {
        guard width > 0 else { return }
        var used = 0
        var fits = true
        for ch in text {
            let w = ScreenBuffer.printable(ch).reduce(0) { $0 + DisplayWidth.of($1) }
            if used + w > width { fits = false; break }
            used += w
        }
        if fits {
            s.put(text, x: x, y: y, style: style, maxWidth: width)
        } else {
            s.put(text, x: x, y: y, style: style, maxWidth: width - 1)
            let end = x + min(used, width - 1)
            s.put("…", x: end, y: y, style: style)
        }
    }

    func wrap(_ text: String, in r: Rect, on s: inout ScreenBuffer, style: Style) {
        var line = "", y = r.y
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > r.width {
                put(line, x: r.x, y: y, width: r.width, on: &s, style: style)
                y += 1
                line = ""
                if y >= r.y + r.height { return }
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty, y < r.y + r.height { put(line, x: r.x, y: y, width: r.width, on: &s, style: style) }
    }

    func stat(_ value: Double?, _ previous: Double?, _ history: [Double?], _ unit: Dashboard.Panel.Unit, in r: Rect, on s: inout ScreenBuffer) {
        let text = NumberFormat.format(value, unit)
        s.put(text, x: r.x, y: r.y, style: Style(bold: true), maxWidth: r.width)
        if let v = value, let p = previous, p != 0, v.isFinite, p.isFinite {
            let change = (v - p) / abs(p) * 100
            let arrow = change > 0.5 ? "▲" : (change < -0.5 ? "▼" : "=")
            let delta = glyphs == .ascii ? (change >= 0 ? "+" : "") + NumberFormat.fixed(change, 0) + "%" : arrow + NumberFormat.fixed(abs(change), 0) + "%"
            let room = r.width - text.count - 1
            if delta.count <= room { s.put(delta, x: r.x + r.width - delta.count, y: r.y, style: Style(dim: true)) }
        }
        if r.height >= 2, !history.isEmpty {
            // Scaled from the smallest point to the largest: a sparkline shows how the value moved.
            // A flat series sits at half height.
            let present = history.compactMap { $0 }.filter(\.isFinite)
            var low = present.min() ?? 0, high = present.max() ?? 1
            if high - low <= abs(high) * 1e-9 { (low, high) = (low - 1, high + 1) } else { low -= (high - low) * 0.1 }
            let lines = Chart.area(history, width: r.width, height: r.height - 1, glyphs: glyphs == .braille ? .blocks : glyphs, low: low, high: high)
            for (i, l) in lines.enumerated() { s.put(l, x: r.x, y: r.y + 1 + i, style: Style(fg: .cyan)) }
        }
    }

    func chart(_ series: [PanelData.Series], _ unit: Dashboard.Panel.Unit, in r: Rect, on s: inout ScreenBuffer) {
        guard !series.isEmpty else {
            s.put("no data in this range", x: r.x, y: r.y, style: Style(dim: true), maxWidth: r.width)
            return
        }
        // The largest series' scale for all; a legend line at the bottom when there is room.
        let high = series.flatMap { $0.values.compactMap { $0 } }.max() ?? 1
        let legend = r.height >= 4
        let label = NumberFormat.format(high, unit)
        let axis = min(label.count + 1, r.width / 3)
        let plot = Rect(x: r.x + axis, y: r.y, width: r.width - axis, height: r.height - (legend ? 1 : 0))
        put(label, x: r.x, y: r.y, width: axis - 1, on: &s, style: Style(dim: true))
        put("0", x: r.x, y: plot.y + plot.height - 1, width: axis - 1, on: &s, style: Style(dim: true))
        // One series: an area; several: lines, the first drawn last (on top), cell by cell where
        // they have dots.
        for (i, one) in series.enumerated().reversed() {
            let rows = series.count == 1 ? Chart.area(one.values, width: plot.width, height: plot.height, glyphs: glyphs, low: 0, high: high)
                : Chart.line(one.values, width: plot.width, height: plot.height, glyphs: glyphs, low: 0, high: high)
            let style = Style(fg: Self.palette[i % Self.palette.count])
            for (dy, row) in rows.enumerated() where plot.y + dy < s.height {
                // Chart rows are one scalar per cell: written straight in (no grapheme breaking, the
                // braille cells' strings made once).
                for (dx, u) in row.unicodeScalars.enumerated() where u.value != 0x20 && u.value != 0x2800 && plot.x + dx < s.width {
                    s[plot.x + dx, plot.y + dy] = Cell(Self.glyph(u), style)
                }
            }
        }
        if legend {
            var x = r.x
            for (i, one) in series.enumerated() {
                let last = one.values.last { $0 != nil } ?? nil
                let item = "■ \(one.name) \(NumberFormat.format(last, unit))"
                if x + item.count > r.x + r.width { break }
                s.put("■", x: x, y: r.y + r.height - 1, style: Style(fg: Self.palette[i % Self.palette.count]))
                s.put(String(item.dropFirst()), x: x + 1, y: r.y + r.height - 1)
                x += item.count + 2
            }
        }
    }

    func bars(_ items: [(label: String, value: Double)], _ unit: Dashboard.Panel.Unit, in r: Rect, on s: inout ScreenBuffer, selected: Int? = nil) {
        guard !items.isEmpty else {
            s.put("no data in this range", x: r.x, y: r.y, style: Style(dim: true), maxWidth: r.width)
            return
        }
        let shown = Array(items.prefix(r.height))
        let values = shown.map { NumberFormat.format($0.value, unit) }
        let valueWidth = values.map(\.count).max() ?? 0
        let labelWidth = min(shown.map { $0.label.count }.max() ?? 0, max(4, r.width / 3))
        let barWidth = max(1, r.width - labelWidth - valueWidth - 2)
        let high = shown.map(\.value).max() ?? 1
        for (i, item) in shown.enumerated() {
            let y = r.y + i
            put(item.label, x: r.x, y: y, width: labelWidth, on: &s, style: selected == i ? Style(reverse: true) : .plain)
            let eighths = high > 0 ? Int((max(0, item.value) / high * Double(barWidth * 8)).rounded()) : 0
            var bar = String(repeating: glyphs == .ascii ? "#" : "█", count: eighths / 8)
            if eighths % 8 > 0 { bar += glyphs == .ascii ? "" : ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8] }
            s.put(bar, x: r.x + labelWidth + 1, y: y, style: Style(fg: Self.palette[0]), maxWidth: barWidth)
            s.put(values[i], x: r.x + r.width - values[i].count, y: y)
        }
    }

    func table(_ columns: [String], _ rows: [[String]], in r: Rect, on s: inout ScreenBuffer, selected: Int?) {
        guard !columns.isEmpty else { return }
        // Ids as their first 8 digits (as tracectl shows them); widths from the header and the rows
        // shown, the widest shrunk first down to 6, then the last columns left out, until they fit.
        let ids: Set = ["trace_id", "span_id", "parent_span_id"]
        let visible = Array(rows.prefix(max(0, r.height - 1))).map { cells in
            cells.enumerated().map { c, v in c < columns.count && ids.contains(columns[c]) ? String(v.prefix(8)) : v }
        }
        var widths = columns.indices.map { c in
            max(ids.contains(columns[c]) ? 8 : columns[c].count, visible.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0)
        }
        func total() -> Int { widths.reduce(0, +) + widths.count - 1 }
        while total() > r.width {
            if let widest = widths.indices.filter({ widths[$0] > 6 && !ids.contains(columns[$0]) }).max(by: { widths[$0] < widths[$1] }) {
                widths[widest] -= 1
            } else if widths.count > 1 {
                widths.removeLast()
            } else {
                widths[0] = r.width
            }
        }
        func row(_ cells: [String], y: Int, style: Style) {
            var x = r.x
            for (c, w) in widths.enumerated() where x < r.x + r.width {
                put(c < cells.count ? cells[c] : "", x: x, y: y, width: min(w, r.x + r.width - x), on: &s, style: style)
                x += w + 1
            }
        }
        row(columns, y: r.y, style: Style(bold: true, underline: true))
        if visible.isEmpty, r.height > 1 { s.put("no rows", x: r.x, y: r.y + 1, style: Style(dim: true), maxWidth: r.width) }
        for (i, cells) in visible.enumerated() {
            if selected == i { s.fill(x: r.x, y: r.y + 1 + i, width: r.width, height: 1, style: Style(reverse: true)) }
            row(cells, y: r.y + 1 + i, style: selected == i ? Style(reverse: true) : .plain)
        }
    }

    func alerts(_ rows: [PanelData.AlertRow], in r: Rect, on s: inout ScreenBuffer, selected: Int?) {
        guard !rows.isEmpty else {
            s.put(glyphs == .ascii ? "no alerts" : "✓ no alerts", x: r.x, y: r.y, style: Style(fg: .green), maxWidth: r.width)
            return
        }
        let sorted = PanelData.AlertRow.ordered(rows)
        for (i, a) in sorted.prefix(r.height).enumerated() {
            let color: Color = a.state == "firing" ? .red : (a.state == "pending" ? .yellow : .green)
            let y = r.y + i
            let state = a.state.prefix(8) + String(repeating: " ", count: max(0, 8 - a.state.count))
            s.put(String(state), x: r.x, y: y, style: Style(fg: color, bold: a.state == "firing", reverse: selected == i))
            let since = " " + a.since
            put(a.name, x: r.x + 9, y: y, width: max(0, r.width - 9 - since.count), on: &s, style: selected == i ? Style(reverse: true) : .plain)
            if r.width - 9 > since.count + 4 { s.put(since, x: r.x + r.width - since.count, y: y, style: Style(dim: true)) }
        }
    }
}
