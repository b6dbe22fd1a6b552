import Foundation
import LLMTraceCLI
import LLMTraceClient
import LLMTraceModel
import LLMTraceSupport
import LLMTraceTUI
#if canImport(Glibc)
import Glibc
#endif

/// `tracectl dash`: the live terminal dashboard.
enum DashCommand {
    static let usage = """
    tracectl dash: a live dashboard in the terminal — spans/s, errors, latency, TTFT, tokens, cost, alerts.

    USAGE
      tracectl dash [--dashboard overview|cost|quality|FILE] [--endpoint URL [--api-key KEY] | --data DIR | --clickhouse URL]
                    [--range 15m|1h|6h|24h|7d] [--ascii] [--no-color]
      tracectl dash --once [--size 80x24] [...]      one frame as text on stdout, then exit

    A dashboard is a grid of panels, each a query of the SQL subset drawn as a number with a
    sparkline, a chart, bars, a table or the alert list (dashboards/README.md; overview, cost and
    quality are built in). With --endpoint (or $LLMTRACE_ENDPOINT) a running collector answers, a read
    key confining every panel to its project; with --data the data directory is read directly (also
    while llmtraced writes it), opened again every refresh; with --clickhouse the cluster many
    collectors forward to answers the panels, trace lists and traces (alerts live in each collector:
    that panel says so). Panels refresh on their own interval;
    only the cells that changed are written to the terminal.

    KEYS
      Tab / Shift-Tab   next / previous panel        j k g G   move in a table, bars or list
      Enter             the panel's traces, or the row's trace     Esc ⌫     back
      t                 time range 15m→1h→6h→24h→7d   p         pause / resume
      r                 refresh now                    ? h       this help
      q Ctrl-C          quit                           Ctrl-Z    suspend (fg resumes)
      In the trace list: / filter (model=… status=error session=… duration>2s, or words),
        s sort by time→duration→tokens→cost→TTFT, S reverse, Enter the trace, y copy, e export
      In a trace: ←/→ fold, Z fold all, Enter the span; in a span: j/k part, Enter read it whole

    OPTIONS
      --dashboard D     A built-in dashboard or a JSON file (default overview)
      --endpoint URL    Ask a running collector (default: $LLMTRACE_ENDPOINT)
      --api-key KEY     Read key for --endpoint (default: $LLMTRACE_API_KEY)
      --data DIR        Data directory (default: $LLMTRACE_DATA or ./llmtrace-data)
      --clickhouse URL  The ClickHouse cluster collectors forward to (README "Scaling out"); --project P
                        confines it to one project
      --range R         Time range to open with (default: the dashboard's)
      --ascii           Block and ASCII characters only (no braille, no box drawing)
      --no-color        No colour (also when NO_COLOR is set)
      --once            Fetch every panel once and print the screen as text (no terminal needed)
      --size WxH        Screen size for --once (default 120x40)

    EXAMPLES
      tracectl dash
      tracectl dash --endpoint http://127.0.0.1:4318 --dashboard cost
      tracectl dash --dashboard my-team.json --range 6h
      tracectl dash --once --size 80x24 --dashboard quality
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["dashboard", "endpoint", "api-key", "data", "clickhouse", "range", "size", "project"],
                                         flags: ["once", "ascii", "no-color", "help"])
        if a.has("help") { Terminal.print(usage); return 0 }
        let dashboard = try load(a.value("dashboard") ?? "overview")
        var range = dashboard.timeRange
        if let r = a.value("range") {
            guard let t = Dashboard.TimeRange(rawValue: r) else {
                throw UsageError("--range takes \(Dashboard.TimeRange.allCases.map(\.rawValue).joined(separator: ", ")), got '\(r)'")
            }
            range = t
        }
        let reader = try Tracectl.reader(a, maxAgeNanos: dashboard.refreshNanos)
        var screen = DashboardScreen(dashboard: dashboard, glyphs: a.has("ascii") ? .ascii : .braille)
        screen.range = range
        screen.source = reader.source

        if a.has("once") {
            let (w, h) = try size(a.value("size") ?? "120x40")
            let now = wallNanos()
            let data = dashboard.panels.map { panelData(for: $0, range: range, reader: reader, now: now) }
            var buffer = ScreenBuffer(width: w, height: h)
            screen.draw(data, clock: clock(now), on: &buffer)
            Terminal.write(buffer.text + "\n")
            return data.contains { if case .failed(let why) = $0 { return why.contains("cannot reach") } else { return false } } ? 4 : 0
        }
        return try interactive(screen: screen, reader: reader, colorOff: a.has("no-color"))
    }

    /// A built-in name or a file.
    static func load(_ name: String) throws -> Dashboard {
        if let text = Dashboard.builtIn[name] {
            do { return try Dashboard.load(Array(text.utf8), file: "dashboards/\(name).json") } catch { throw UsageError("\(error)") }
        }
        guard let bytes = FileManager.default.contents(atPath: name) else {
            throw UsageError("no dashboard '\(name)': not a built-in one (\(Dashboard.builtIn.keys.sorted().joined(separator: ", "))) nor a readable file")
        }
        do { return try Dashboard.load(Array(bytes), file: name) } catch { throw UsageError("\(error)") }
    }

    static func size(_ s: String) throws -> (Int, Int) {
        let p = s.lowercased().split(separator: "x")
        guard p.count == 2, let w = Int(p[0]), let h = Int(p[1]), (20...1000).contains(w), (6...500).contains(h) else {
            throw UsageError("--size takes WIDTHxHEIGHT, 20x6 to 1000x500, got '\(s)'")
        }
        return (w, h)
    }

    static func clock(_ nanos: Int64) -> String {
        var t = time_t(nanos / 1_000_000_000)
        var tmv = tm()
        localtime_r(&t, &tmv)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(tmv.tm_hour)):\(two(tmv.tm_min)):\(two(tmv.tm_sec))"
    }

    static func interactive(screen initial: DashboardScreen, reader: any TraceReader, colorOff: Bool) throws -> Int32 {
        var screen = initial
        let terminal = LLMTraceTUI.Terminal()
        guard terminal.isTerminal else {
            Terminal.error("tracectl dash needs a terminal (for one frame as text: tracectl dash --once)")
            return 2
        }
        var env = ProcessInfo.processInfo.environment
        if colorOff { env["NO_COLOR"] = "1" }
        var renderer = FrameRenderer(mode: ColorMode.detect(env, isTerminal: true))
        do { try terminal.enter() } catch {
            Terminal.error("tracectl: \(error)")
            return 2
        }
        defer { terminal.leave() }
        let panels = screen.dashboard.panels
        var data = [PanelData](repeating: .loading, count: panels.count)
        var due = [Int64](repeating: 0, count: panels.count)
        var sparklineDue = [Int64](repeating: 0, count: panels.count)
        var periodBeforeDue = [Int64](repeating: 0, count: panels.count)
        var decoder = KeyDecoder()
        var help = false
        // What Enter opened — a trace list, a trace, a span — drawn over the dashboard until Esc.
        var drill: Drill? = nil
        let context = DrillContext(glyphs: screen.glyphs, clock: { clock($0) })
        var (w, h) = terminal.size
        var changed = true, lastClock = "", lastSize = (0, 0)
        while true {
            let now = monotonicNanos()
            if terminal.takeResize() { (w, h) = terminal.size; renderer.invalidate() }
            if terminal.takeResume() { renderer.invalidate(); changed = true }
            // Panels whose refresh came, unless paused.
            if !screen.paused {
                let wall = wallNanos()
                for i in panels.indices where due[i] <= now {
                    // Sparklines (buckets of 15 s and more) are asked again every 5 s, or on a new range.
                    let keepSparkline = sparklineDue[i] > now
                    if !keepSparkline { sparklineDue[i] = now + 5_000_000_000 }
                    // The period before moves slower still: every 30 s.
                    let keepBefore = periodBeforeDue[i] > now
                    if !keepBefore { periodBeforeDue[i] = now + 30_000_000_000 }
                    let fresh = panelData(for: panels[i], range: screen.range, reader: reader, now: wall, previous: data[i],
                                          keepSparkline: keepSparkline, keepPeriodBefore: keepBefore)
                    if fresh != data[i] { data[i] = fresh; changed = true }
                    // A drift report reads two windows' samples: once a minute at most.
                    due[i] = monotonicNanos() + (panels[i].kind == .drift ? max(60_000_000_000, panels[i].refreshNanos) : panels[i].refreshNanos)
                }
            }
            // Drawn again only when something shown changed: data, a key, the size, the clock's second.
            let shown = clock(wallNanos())
            if changed || shown != lastClock || w != lastSize.0 || h != lastSize.1 {
                var buffer = ScreenBuffer(width: w, height: h)
                if let d = drill {
                    d.draw(on: &buffer, context: context)
                } else {
                    screen.draw(data, clock: shown, on: &buffer)
                }
                if help { drawHelp(on: &buffer) }
                let bytes = renderer.render(buffer)
                if !bytes.isEmpty { terminal.write(bytes) }
                (changed, lastClock, lastSize) = (false, shown, (w, h))
            }

            let next = screen.paused ? now + 1_000_000_000 : (due.min() ?? now + 1_000_000_000)
            let wait = Int32(max(0, min(1000, (next - monotonicNanos()) / 1_000_000)))
            var keys = decoder.feed(terminal.read(timeoutMillis: wait))
            if keys.isEmpty { keys = decoder.flush() }
            if !keys.isEmpty { changed = true }
            for key in keys {
                if help { help = false; continue }
                if var d = drill {
                    let typing = d.capturesText
                    switch key {
                    case .ctrl("c"), .ctrl("d"): return 0
                    case .char("q") where !typing: return 0
                    case .ctrl("z"): raise(SIGTSTP)
                    case .char("?") where !typing: help = true
                    default:
                        switch d.handle(key, width: w, height: h) {
                        case .none: break
                        case .back: drill = nil; continue
                        case .list(let q): d.listed(listTraces(q, reader: reader))
                        case .trace(let id):
                            if let prefix = TraceIDPrefix(id) { d.opened(openTrace(prefix, reader: reader), id: id) }
                        case .copy(let id):
                            let (bytes, notice) = copy(id, reader: reader)
                            if !bytes.isEmpty { terminal.write(bytes) }
                            d.notice = notice
                        case .export(let id):
                            d.notice = export(id, reader: reader)
                        }
                    }
                    drill = d
                    continue
                }
                switch key {
                case .enter, .right, .char("l"):
                    // The focused panel's traces, or the selected row's trace.
                    let i = screen.focus
                    drill = Self.drill(from: panels[i], data[i], selected: screen.selectedRow, range: screen.range, reader: reader)
                case .char("q"), .ctrl("c"), .ctrl("d"): return 0
                case .ctrl("z"):
                    raise(SIGTSTP)
                case .tab:
                    screen.focus = (screen.focus + 1) % panels.count
                    screen.selectedRow = nil
                case .backTab:
                    screen.focus = (screen.focus + panels.count - 1) % panels.count
                    screen.selectedRow = nil
                case .char("j"), .down:
                    let count = rowCount(data[screen.focus]) ?? 0
                    if count > 0 { screen.selectedRow = min(count - 1, (screen.selectedRow ?? -1) + 1) }
                case .char("k"), .up:
                    screen.selectedRow = max(0, (screen.selectedRow ?? 1) - 1)
                case .char("g"), .home:
                    screen.selectedRow = 0
                case .char("G"), .end:
                    if let n = rowCount(data[screen.focus]), n > 0 { screen.selectedRow = n - 1 }
                case .escape:
                    screen.selectedRow = nil
                case .char("t"):
                    screen.range = screen.range.next
                    due = due.map { _ in 0 }
                    sparklineDue = sparklineDue.map { _ in 0 }
                    periodBeforeDue = periodBeforeDue.map { _ in 0 }
                case .char("r"):
                    due = due.map { _ in 0 }
                    sparklineDue = sparklineDue.map { _ in 0 }
                    periodBeforeDue = periodBeforeDue.map { _ in 0 }
                case .char("p"):
                    screen.paused.toggle()
                case .char("?"), .char("h"):
                    help = true
                default:
                    break
                }
            }
        }
    }

    /// Rows a panel's cursor moves over (tables, bars, alerts, lines), or nil.
    static func rowCount(_ d: PanelData) -> Int? {
        switch d {
        case .table(_, let rows): return rows.count
        case .bars(let items): return items.count
        case .alerts(let rows): return rows.count
        case .lines(let lines, _): return lines.count
        default: return nil
        }
    }

    static func drawHelp(on s: inout ScreenBuffer) {
        let lines = usage.split(separator: "\n", omittingEmptySubsequences: false).drop { !$0.hasPrefix("KEYS") }.prefix(11).map(String.init)
        let width = min(s.width - 2, (lines.map(\.count).max() ?? 40) + 4)
        let height = min(s.height - 2, lines.count + 3)
        let x = max(0, (s.width - width) / 2), y = max(0, (s.height - height) / 2)
        s.fill(x: x, y: y, width: width, height: height, style: Style(reverse: true))
        for (i, line) in lines.enumerated() where i + 1 < height - 1 {
            s.put(line, x: x + 2, y: y + 1 + i, style: Style(reverse: true), maxWidth: width - 4)
        }
        s.put("any key closes this", x: x + 2, y: y + height - 2, style: Style(dim: true, reverse: true), maxWidth: width - 4)
    }
}
