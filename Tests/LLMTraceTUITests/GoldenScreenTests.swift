import Foundation
import Testing
import LLMTraceClient
@testable import LLMTraceTUI

/// Golden screens: the shipped dashboards drawn from fixed data at 80×24 and 200×60, compared as
/// text with `Tests/Fixtures/tui/<name>.txt`. `UPDATE_GOLDEN=1 swift test --filter GoldenScreen`
/// rewrites the files; review the diff before committing it.
@Suite struct GoldenScreenTests {
    static func golden(_ name: String, _ screen: ScreenBuffer) throws {
        let path = repoRoot + "/Tests/Fixtures/tui/\(name).txt"
        let text = screen.text + "\n"
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] != nil {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let want = try String(contentsOfFile: path, encoding: .utf8)
        if want != text {
            let a = want.split(separator: "\n", omittingEmptySubsequences: false), b = text.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            Issue.record("\(name): first difference at line \(first + 1)\nwant: \(first < a.count ? a[first] : "")\ngot:  \(first < b.count ? b[first] : "")\n\(text)")
        }
    }

    /// What the overview's panels might show on a busy afternoon.
    static let overviewData: [PanelData] = {
        var wave: [Double?] = [], errors: [Double?] = [], p50: [Double?] = [], p95: [Double?] = [], flat: [Double?] = [], cost: [Double?] = []
        var mini: [Double?] = [], sonnet: [Double?] = [], embed: [Double?] = []
        for i in 0..<60 {
            let x = Double(i)
            wave.append(4800 + 400 * sin(x / 6) + Double(i % 7) * 20)
            errors.append(i > 40 && i < 46 ? 9 : 2 + Double(i % 3) * 0.3)
            p50.append(780 + Double(i % 9) * 6)
            p95.append(i > 50 ? 2300 : 1600 + Double(i % 5) * 20)
            flat.append(380)
            cost.append(4 + Double(i % 10) / 30)
            mini.append(9000 + 1500 * sin(x / 8))
            sonnet.append(4000 + 800 * cos(x / 5))
            embed.append(i < 10 ? nil : 1200)
        }
        let series: [PanelData.Series] = [.init(name: "gpt-4o-mini", values: mini), .init(name: "claude-sonnet-4", values: sonnet),
                                          .init(name: "text-embedding-3-small", values: embed)]
        let bars: [(label: String, value: Double)] = [("claude-sonnet-4", 2.91), ("gpt-4o", 0.84), ("gpt-4o-mini", 0.41), ("text-embedding-3-small", 0.02)]
        let alerts: [PanelData.AlertRow] = [.init(state: "pending", name: "p95 latency · checkout · gpt-4o", since: "3m"),
                                            .init(state: "firing", name: "error rate · support-bot · claude-sonnet-4", since: "12m")]
        let slow: [[String]] = [["4bf92f3577b34da6a3ce929d0e0e4736", "agent.run", "15040", "0.0088"],
                                ["9d067449403e13dbfecf86b33be154eb", "POST /answer", "9120", "0.0041"],
                                ["03ab67587c4f4c8fbc228595c4822bb5", "summarize", "7990", "0.0052"]]
        let failing: [[String]] = [["587a30af3f5b771ee197abaa26e4f8b1", "POST /answer", "2", "12:34:56"]]
        var out: [PanelData] = []
        out.append(.stat(value: 5012, previous: 4630, history: wave))
        out.append(.stat(value: 2.4, previous: 3.1, history: errors))
        out.append(.stat(value: 812, previous: 790, history: p50))
        out.append(.stat(value: 2140, previous: 1650, history: p95))
        out.append(.stat(value: 388, previous: nil, history: flat))
        out.append(.stat(value: 4.27, previous: 4.1, history: cost))
        out.append(.series(series))
        out.append(.bars(bars))
        out.append(.alerts(alerts))
        out.append(.table(columns: ["trace_id", "name", "duration_ms", "cost_usd"], rows: slow))
        out.append(.table(columns: ["trace_id", "name", "errors", "start"], rows: failing))
        return out
    }()

    @Test func overviewAt80x24And200x60() throws {
        let board = try DashboardTests.shipped()[0].1
        var screen = DashboardScreen(dashboard: board)
        screen.source = "collector 127.0.0.1:4318"
        for (w, h) in [(80, 24), (200, 60)] {
            var s = ScreenBuffer(width: w, height: h)
            screen.draw(Self.overviewData, clock: "14:05:09", on: &s)
            try Self.golden("overview-\(w)x\(h)", s)
        }
        // Focus on the slowest-traces table with its second row selected; ASCII glyphs.
        screen.focus = 9
        screen.selectedRow = 1
        screen.glyphs = .ascii
        var s = ScreenBuffer(width: 80, height: 24)
        screen.draw(Self.overviewData, clock: "14:05:09", on: &s)
        try Self.golden("overview-80x24-ascii-table-focus", s)
    }

    /// The quality dashboard with its detector panels full, the anomalies focused, at both sizes.
    @Test func qualityWithDriftAndAnomalies() throws {
        let board = try DashboardTests.shipped()[2].1
        var screen = DashboardScreen(dashboard: board)
        screen.focus = 7
        screen.selectedRow = 1
        let scores: [PanelData.Series] = [.init(name: "user_feedback", values: (0..<48).map { 0.8 + Double($0 % 5) / 50 }),
                                          .init(name: "groundedness", values: (0..<48).map { $0 < 30 ? 0.9 : 0.7 })]
        let drift = ["helpdesk·gpt-4o · duration_ms · JS 0.71 · PSI major · KS p < 0.001, W1/σ 4.2",
                     "helpdesk·gpt-4o · output_tokens · JS 0.22 · PSI moderate · KS p = 0.003"]
        let anomalies = ["14:02 p95_latency_ms helpdesk·gpt-4o 2.31k (usual 1.12k) · 0.97",
                         "13:58 error_rate checkout·claude-sonnet-4 0.09 (usual 0.01) · 0.81",
                         "13:41 cost_per_call triage·gpt-4o-mini 0.004 (usual 0.001) · 0.66"]
        let data: [PanelData] = [.stat(value: 87, previous: 91, history: (0..<48).map { 85 + Double($0 % 7) }),
                                 .stat(value: 42, previous: 30, history: []), .stat(value: 0.83, previous: 0.9, history: []),
                                 .stat(value: 1.4, previous: 1.2, history: []), .series(scores),
                                 .bars([("refusal", 31), ("pii", 9), ("secret", 2)]),
                                 .lines(drift, targets: drift.map { _ in .traces(TraceFilter(), origin: "drift") }),
                                 .lines(anomalies, targets: anomalies.map { _ in .traces(TraceFilter(), origin: "anomaly") })]
        for (w, h) in [(80, 24), (200, 60)] {
            var s = ScreenBuffer(width: w, height: h)
            screen.draw(data, clock: "14:05:09", on: &s)
            try Self.golden("quality-\(w)x\(h)", s)
        }
    }

    @Test func emptyFailedAndLoadingPanels() throws {
        let board = try DashboardTests.shipped()[2].1
        var screen = DashboardScreen(dashboard: board)
        screen.paused = true
        var s = ScreenBuffer(width: 80, height: 24)
        screen.draw([.stat(value: nil, previous: nil, history: []), .failed("cannot reach the collector at 127.0.0.1:4318 (connection refused)"),
                     .loading, .stat(value: 0, previous: 0, history: []), .series([]), .bars([]),
                     .lines(["nothing to compare: the baseline window holds no spans"]), .lines([])], clock: "09:00:00", on: &s)
        try Self.golden("quality-80x24-empty", s)
    }
}
