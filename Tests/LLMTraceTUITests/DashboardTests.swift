import Foundation
import Testing
import LLMTraceClient
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore
import LLMTraceSupport
@testable import LLMTraceTUI

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Dashboards are data: the shipped ones load, every query in them runs on a real store for every
/// time range, and a malformed file is refused with its file, line, column and field.
@Suite struct DashboardTests {
    static func shipped() throws -> [(String, Dashboard)] {
        try ["overview", "cost", "quality"].map { name in
            let path = repoRoot + "/dashboards/\(name).json"
            return (name, try Dashboard.load(Array(try Data(contentsOf: URL(fileURLWithPath: path))), file: path))
        }
    }

    @Test func shippedDashboardsLoadAndTheirQueriesRun() throws {
        let boards = try Self.shipped()
        #expect(boards.map(\.1.title) == ["Overview", "Cost", "Quality"])
        let overview = boards[0].1
        #expect(Set(overview.panels.map(\.kind)) == [.stat, .timeseries, .bars, .alerts, .table])
        // A store with a few spans and scores, sealed and in the head.
        let dir = NSTemporaryDirectory() + "llmtrace-dash-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = StoreOptions(directory: dir)
        o.backgroundSealing = false
        o.log = { _, _ in }
        let store = try Store.open(o)
        let now = wallNanos()
        var spans: [Span] = []
        for i in 0..<50 {
            var s = Span(traceID: TraceID(hi: 1, lo: UInt64(i / 3 + 1)), spanID: SpanID(UInt64(i + 1)), service: "svc-\(i % 2)", name: "chat",
                         kind: i % 3 == 0 ? .agent : .llm, startNanos: now - Int64(i) * 60_000_000_000, endNanos: now - Int64(i) * 60_000_000_000 + 800_000_000)
            s.requestModel = "gpt-4o-mini"; s.inputTokens = 100; s.outputTokens = 20; s.cachedTokens = 50; s.costUSD = 0.001
            s.timeToFirstTokenNanos = 200_000_000; s.promptName = "answer"; s.promptVersion = "3"; s.userID = "u\(i % 4)"
            if i % 7 == 0 { s.status = .error }
            spans.append(s)
        }
        try store.append(Array(spans[..<30]))
        _ = try store.sealNow()
        try store.append(Array(spans[30...]))
        _ = try store.index.addScores([Score(traceID: TraceID(hi: 1, lo: 1), name: "user_feedback", value: .number(1), source: .user, timeNanos: now),
                                Score(traceID: TraceID(hi: 1, lo: 2), name: "pii", value: .number(1), source: .eval, timeNanos: now)])
        let engine = QueryEngine(store: store)
        for (name, board) in boards {
            for panel in board.panels {
                for q in [panel.query, panel.sparkline, panel.kind == .stat ? panel.query.map { "PREVIOUS" + $0 } : nil].compactMap({ $0 }) {
                    for range in Dashboard.TimeRange.allCases {
                        // A stat's query over the period before, for its change.
                        let sql = q.hasPrefix("PREVIOUS") ? Dashboard.expandPrevious(String(q.dropFirst(8)), range: range) ?? "" : Dashboard.expand(q, range: range)
                        #expect(!sql.isEmpty, "\(name) \(panel.title): every shipped stat shows its change")
                        #expect(!sql.contains("$"))
                        do {
                            let r = try engine.run(sql, now: now)
                            if panel.kind == .stat && q == panel.query { #expect(r.rows.count == 1, "\(name) \(panel.title): one row") }
                        } catch {
                            Issue.record("\(name).json, \(panel.title), \(range.rawValue): \(error)\n\(sql)")
                        }
                    }
                }
            }
        }
        try store.close()
    }

    static func error(_ json: String) -> String {
        do {
            _ = try Dashboard.load(Array(json.utf8), file: "my.json")
            return "loaded"
        } catch {
            return error.description
        }
    }

    @Test func malformedFilesNameFileLineColumnAndField() {
        let panel = #"{"title": "A", "kind": "stat", "grid": [0, 0, 2, 2], "query": "SELECT 1"}"#
        #expect(Self.error(#"{"title": "T", "panels": [\#(panel)]}"#) == "loaded")
        #expect(Self.error("{\"title\": \"T\",\n \"panels\": [\n  {\"title\": \"A\", \"kind\": \"pie\", \"grid\": [0, 0, 2, 2]}]}")
                == "my.json:3:26: panels[0].kind: unknown kind \"pie\" (one of stat, timeseries, bars, table, alerts, anomalies, drift, feed)")
        #expect(Self.error("{\"title\": \"T\", \"panels\": [\(panel),\n  {\"title\": \"B\", \"kind\": \"alerts\", \"grid\": [1, 1, 2, 2]}]}")
                == "my.json:2:44: panels[1].grid: overlaps panels[0] (\"A\")")
        #expect(Self.error(#"{"title": "T", "panels": [{"title": "A", "kind": "table", "grid": [0, 0, 2, 2]}]}"#)
                == "my.json:1:27: panels[0].query: missing")
        #expect(Self.error(#"{"title": "T", "panels": [{"title": "A", "kind": "stat", "grid": [6, 0, 7, 2], "query": "q"}]}"#)
                == "my.json:1:66: panels[0].grid: a panel is at least 1×1 and ends by column 12 (got column 6, width 7)")
        #expect(Self.error(#"{"title": "T", "refesh": "1s", "panels": [\#(panel)]}"#)
                == "my.json:1:26: refesh: unknown field (known: panels, refresh, time_range, title)")
        #expect(Self.error(#"{"title": "T", "time_range": "2h", "panels": [\#(panel)]}"#)
                == "my.json:1:30: time_range: expected one of \"15m\", \"1h\", \"6h\", \"24h\", \"7d\"")
        #expect(Self.error(#"{"title": "T", "refresh": "10ms", "panels": [\#(panel)]}"#)
                == "my.json:1:27: refresh: expected a duration of at least 250ms, such as \"1s\" or \"30s\"")
        #expect(Self.error("{\"title\": \"T\",\n\"panels\": [,]}").hasPrefix("my.json:2:12: invalid JSON: "))
        #expect(Self.error(#"{"panels": []}"#) == "my.json:1:1: title: missing")
        #expect(Self.error(#"{"title": "T", "panels": [{"title": "A", "kind": "alerts", "grid": [0, 0, 2, 2], "query": "SELECT 1"}]}"#)
                == "my.json:1:91: panels[0].query: alerts panels ask the collector themselves; they take no query")
        // "traces": the trace list's filter language, `$label` and `$column` only where a row is selected.
        let bars = #"{"title": "T", "panels": [{"title": "A", "kind": "bars", "grid": [0, 0, 2, 2], "query": "q", "traces": "TRACES"}]}"#
        #expect(Self.error(bars.replacingOccurrences(of: "TRACES", with: "model=$label status=error")) == "loaded")
        #expect(Self.error(bars.replacingOccurrences(of: "TRACES", with: "colour=$label"))
                == "my.json:1:104: panels[0].traces: no filter 'colour': filters are service, name, session, user, status, duration, cost, tokens, spans, model, provider, kind, prompt, version, finish, env, ttft")
        #expect(Self.error(bars.replacingOccurrences(of: "TRACES", with: "model=$model")) == "my.json:1:104: panels[0].traces: model=$model: a bar has only $label")
        #expect(Self.error(bars.replacingOccurrences(of: "TRACES", with: "duration>$label")) == "my.json:1:104: panels[0].traces: duration takes a number (2s, 500ms, 1.5m), got '$label'")
        #expect(Self.error(bars.replacingOccurrences(of: "\"bars\"", with: "\"stat\"").replacingOccurrences(of: "TRACES", with: "model=$label"))
                == "my.json:1:104: panels[0].traces: model=$label: only tables and bars have a selected row to take values from")
        #expect(Self.error(#"{"title": "T", "panels": [{"title": "A", "kind": "alerts", "grid": [0, 0, 2, 2], "traces": "kind=llm"}]}"#)
                == "my.json:1:92: panels[0].traces: alerts panels choose their traces themselves")
    }

    @Test func panelsSayWhichTracesEnterLists() throws {
        let boards = try Self.shipped()
        let overview = boards[0].1, quality = boards[2].1
        func panel(_ b: Dashboard, _ title: String) -> Dashboard.Panel { b.panels.first { $0.title == title }! }
        #expect(panel(overview, "Top models by cost").traceFilter(values: ["label": "gpt-4o"])?.terms == [.field("model", .eq, "gpt-4o")])
        #expect(panel(overview, "Top models by cost").traceSort == .cost)
        #expect(panel(overview, "p95 TTFT").traceSort == .ttft && panel(overview, "p95 latency").traceSort == .duration)
        #expect(panel(overview, "Spans/s").listsTraces && panel(overview, "Spans/s").traceFilter() == nil)
        #expect(!panel(overview, "Slowest traces").listsTraces, "a table naming traces opens them")
        #expect(!panel(quality, "User feedback").listsTraces, "a panel of scores without \"traces\" lists none")
        let cost = boards[1].1
        #expect(panel(cost, "By prompt version").traceFilter(values: ["prompt_name": "answer", "prompt_version": "7"])?.terms
                == [.field("prompt", .eq, "answer"), .field("version", .eq, "7")])
    }

    @Test func compiledInDashboardsAreTheFiles() throws {
        for name in ["overview", "cost", "quality"] {
            let file = try String(contentsOfFile: repoRoot + "/dashboards/\(name).json", encoding: .utf8)
            #expect(Dashboard.builtIn[name].map { $0 + "\n" } == file, "dashboards/\(name).json differs from the compiled-in copy: regenerate DefaultDashboards.swift")
        }
    }

    @Test func timeRangesExpandAndCycle() {
        #expect(Dashboard.expand("SELECT rate() FROM spans WHERE start > $since GROUP BY bucket(start, $bucket)", range: .h24)
                == "SELECT rate() FROM spans WHERE start > now() - 1d GROUP BY bucket(start, 30m)")
        #expect(Dashboard.TimeRange.d7.next == .m15 && Dashboard.TimeRange.h1.next == .h6)
        #expect(Dashboard.expandPrevious("SELECT rate() FROM spans WHERE kind = 'llm' AND start > $since", range: .h1)
                == "SELECT rate() FROM spans WHERE kind = 'llm' AND start > now() - 2h AND start <= now() - 1h")
        #expect(Dashboard.expandPrevious("SELECT avg(value) FROM scores WHERE time>$since AND name = 'x'", range: .h24) == nil, "only `column > $since` is understood")
        #expect(Dashboard.expandPrevious("SELECT avg(value) FROM scores WHERE time > $since", range: .d7)
                == "SELECT avg(value) FROM scores WHERE time > now() - 14d AND time <= now() - 7d")
        #expect(Dashboard.expandPrevious("SELECT count() FROM spans", range: .h1) == nil)
        #expect(Dashboard.nanos("500ms") == 500_000_000 && Dashboard.nanos("2m") == 120_000_000_000 && Dashboard.nanos("x") == nil && Dashboard.nanos("1.5s") == nil)
    }
}
