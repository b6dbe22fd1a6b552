import Foundation
import LLMTraceCLI
import LLMTraceTUI

/// `llmtrace-bench dash` (first part): the dashboard's drawing alone, in process — a full redraw of
/// the overview at 200×60 (panels drawn into the cell buffer, then every cell written, as after a
/// resize), and the bytes of a frame where nothing changed. The live measure (1M spans stored,
/// 5,000 spans/s arriving, tracectl dash in a pseudo-terminal for 60 s) comes with the next part.
enum DashBench {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["runs"], flags: ["help"])
        if a.has("help") { Terminal.print(BenchMain.usage); return }
        let runs = max(10, try a.int("runs", default: 300))
        guard let text = Dashboard.builtIn["overview"] else { throw UsageError("no built-in overview dashboard") }
        let board = try Dashboard.load(Array(text.utf8), file: "dashboards/overview.json")
        let data = sampleData()
        var screen = DashboardScreen(dashboard: board)
        screen.source = "collector 127.0.0.1:4318"
        var renderer = FrameRenderer(mode: .truecolor)
        var times: [Double] = []
        var bytes = 0
        for i in 0..<(runs + 20) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            var s = ScreenBuffer(width: 200, height: 60)
            screen.draw(data, clock: "14:05:09", on: &s)
            renderer.invalidate()
            bytes = renderer.render(s).count
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            if i >= 20 { times.append(ms) }
        }
        times.sort()
        // A frame with nothing changed: the same data drawn again.
        var s = ScreenBuffer(width: 200, height: 60)
        screen.draw(data, clock: "14:05:09", on: &s)
        let idle = renderer.render(s).count
        // A frame where only the clock moved.
        screen.draw(data, clock: "14:05:10", on: &s)
        let tick = renderer.render(s).count
        Terminal.error("full redraw 200x60: median \(String(format: "%.2f", times[times.count / 2])) ms, p99 \(String(format: "%.2f", times[times.count * 99 / 100])) ms, \(bytes) bytes; unchanged frame \(idle) bytes; clock tick \(tick) bytes")
        Terminal.print("{\"full_redraw_ms_200x60\": \(String(format: "%.3f", times[times.count / 2])), \"full_redraw_ms_200x60_p99\": \(String(format: "%.3f", times[times.count * 99 / 100])), \"full_redraw_bytes\": \(bytes), \"idle_frame_bytes\": \(idle), \"clock_tick_frame_bytes\": \(tick)}")
    }

    /// A busy afternoon, as the golden screens draw it.
    static func sampleData() -> [PanelData] {
        var wave: [Double?] = [], mini: [Double?] = [], sonnet: [Double?] = []
        for i in 0..<60 {
            wave.append(4800 + 400 * sin(Double(i) / 6))
            mini.append(9000 + 1500 * sin(Double(i) / 8))
            sonnet.append(4000 + 800 * cos(Double(i) / 5))
        }
        let rows = (0..<20).map { i in ["4bf92f3577b34da6a3ce929d0e0e47\(10 + i)", "agent.run", "\(15040 - i * 300)", "0.00\(88 - i)"] }
        var out: [PanelData] = (0..<6).map { i in .stat(value: 5012 + Double(i), previous: 4630, history: wave) }
        out.append(.series([.init(name: "gpt-4o-mini", values: mini), .init(name: "claude-sonnet-4", values: sonnet)]))
        out.append(.bars([("claude-sonnet-4", 2.91), ("gpt-4o", 0.84), ("gpt-4o-mini", 0.41)]))
        out.append(.alerts([.init(state: "firing", name: "error rate · support-bot · claude-sonnet-4", since: "12m")]))
        out.append(.table(columns: ["trace_id", "name", "duration_ms", "cost_usd"], rows: rows))
        out.append(.table(columns: ["trace_id", "name", "errors", "start"], rows: rows))
        return out
    }
}
