/// A whole dashboard screen: the header (title, time range, clock, live or paused), the panels in
/// their grid, and the key-hint bar that follows focus. Pure: it draws what it is given into a
/// `ScreenBuffer`, so the tests compare screens as text (`Tests/Fixtures/tui/*.txt`).
public struct DashboardScreen {
    public var dashboard: Dashboard
    public var range: Dashboard.TimeRange
    public var focus = 0
    public var selectedRow: Int? = nil
    public var paused = false
    /// What the header says about the data: `collector 127.0.0.1:4318` or `data ./llmtrace-data`.
    public var source = ""
    public var glyphs: Chart.Glyphs

    public init(dashboard: Dashboard, glyphs: Chart.Glyphs = .braille) {
        self.dashboard = dashboard
        range = dashboard.timeRange
        self.glyphs = glyphs
    }

    /// Draws into `s` (its whole size); `clock` is the time shown in the header (injected: the
    /// tests' screens do not change with the time of day).
    public func draw(_ data: [PanelData], clock: String, on s: inout ScreenBuffer) {
        s.clear()
        let w = s.width
        // Header.
        s.fill(x: 0, y: 0, width: w, height: 1, style: Style(reverse: true))
        let left = " LLMTrace · \(dashboard.title) · last \(range.rawValue)"
        // On a narrow screen the source goes first, then the clock: the title stays.
        var right = "\(source.isEmpty ? "" : source + " · ")\(clock) · \(paused ? "paused" : "live") "
        if left.count + right.count + 1 > w { right = "\(clock) · \(paused ? "paused" : "live") " }
        if left.count + right.count + 1 > w { right = paused ? "paused " : "" }
        s.put(left, x: 0, y: 0, style: Style(bold: true, reverse: true), maxWidth: max(0, w - right.count))
        if !right.isEmpty, right.count < w - left.count { s.put(right, x: w - right.count, y: 0, style: Style(reverse: true)) }
        // Panels.
        let view = PanelView(glyphs: glyphs)
        let rects = Layout.rects(for: dashboard.panels, width: w, height: s.height)
        for (i, panel) in dashboard.panels.enumerated() {
            view.draw(panel, i < data.count ? data[i] : .loading, in: rects[i], on: &s, focused: i == focus, selectedRow: i == focus ? selectedRow : nil)
        }
        // Hints for the focused panel.
        let focused = dashboard.panels.indices.contains(focus) ? dashboard.panels[focus] : nil
        var hints = ["Tab panel", "t \(range.next.rawValue)", paused ? "p resume" : "p pause"]
        switch focused?.kind {
        case .table?: hints.insert(contentsOf: focused?.drill != nil ? ["j/k row", "Enter trace"] : focused?.listsTraces == true ? ["j/k row", "Enter traces"] : ["j/k row"], at: 1)
        case .bars?: hints.insert(contentsOf: focused?.listsTraces == true ? ["j/k bar", "Enter traces"] : ["j/k bar"], at: 1)
        case .alerts?: hints.insert(contentsOf: ["j/k row", "Enter traces"], at: 1)
        case .anomalies?, .drift?: hints.insert(contentsOf: ["j/k row", "Enter traces"], at: 1)
        case .feed?: hints.insert(contentsOf: ["j/k row", "Enter trace"], at: 1)
        case .stat?, .timeseries?: if focused?.listsTraces == true { hints.insert("Enter traces", at: 1) }
        default: break
        }
        hints += ["? help", "q quit"]
        s.put(" " + hints.joined(separator: " · "), x: 0, y: s.height - 1, style: Style(dim: true), maxWidth: w)
    }
}
