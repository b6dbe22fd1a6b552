import Testing
import Foundation
import LLMTraceModel
import LLMTraceSynthetic

/// `tracectl dash --once`: the dashboard fetched and drawn once as text, from a data directory,
/// without a terminal; dashboards by name or file, and the errors a user can make.
@Suite struct DashCommandTests {
    static func dataDirectory() throws -> String {
        let dir = tempDir()
        var gen = SyntheticWorkload(seed: 7, startNanos: Int64(Date().timeIntervalSince1970 * 1e9) - 1_800_000_000_000)
        let lines = gen.nextBatch(count: 2000).map { String(decoding: $0.jsonBytes(), as: UTF8.self) }.joined(separator: "\n")
        let r = try run("tracectl", ["import", "-", "--data", dir + "/data"], stdin: lines)
        #expect(r.status == 0, "\(r.stderr)")
        return dir + "/data"
    }

    @Test func oneFrameOfEachBuiltInDashboard() throws {
        let data = try Self.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: (data as NSString).deletingLastPathComponent) }
        for (name, titles) in [("overview", ["Spans/s", "Top models by cost", "Slowest traces", "Firing alerts"]),
                               ("cost", ["Spend", "By prompt version", "Costliest traces"]),
                               ("quality", ["User feedback", "Evaluator flags", "Drift"])] {
            let r = try run("tracectl", ["dash", "--once", "--size", "120x40", "--data", data, "--dashboard", name])
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 41 && lines[0].hasPrefix(" LLMTrace · \(name.prefix(1).uppercased() + name.dropFirst())"), "\(name)")
            #expect(lines.dropLast().allSatisfy { $0.count <= 120 })
            for t in titles { #expect(r.stdout.contains(t), "\(name) lacks \(t)") }
            #expect(!r.stdout.contains("\u{1b}"), "no escape sequences in --once output")
        }
        let r = try run("tracectl", ["dash", "--once", "--size", "80x24", "--data", data])
        // Real numbers from the 2,000 spans: a rate, a latency, a cost and eight table rows.
        #expect(r.stdout.contains("/s") && r.stdout.contains("$") && r.stdout.contains("%"))
        #expect(r.stdout.split(separator: "\n").filter { $0.contains("agent.run") || $0.contains("agent…") }.count >= 2, "\(r.stdout)")
    }

    @Test func dashboardsFromFilesAndMistakes() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = dir + "/mine.json"
        try #"{"title": "Mine", "panels": [{"title": "Calls", "kind": "stat", "grid": [0, 0, 12, 3], "unit": "count", "query": "SELECT count() FROM spans"}]}"#
            .write(toFile: good, atomically: true, encoding: .utf8)
        let data = try Self.dataDirectory()
        let r = try run("tracectl", ["dash", "--once", "--size", "40x8", "--data", data, "--dashboard", good])
        #expect(r.status == 0 && r.stdout.contains("Mine") && r.stdout.contains("2,0"), "\(r.stdout)\(r.stderr)")
        let bad = dir + "/bad.json"
        try "{\"title\": \"Bad\",\n \"panels\": [{\"title\": \"X\", \"kind\": \"gauge\", \"grid\": [0, 0, 2, 2]}]}".write(toFile: bad, atomically: true, encoding: .utf8)
        let e = try run("tracectl", ["dash", "--once", "--dashboard", bad, "--data", data])
        #expect(e.status == 2 && e.stderr.contains("bad.json:2:") && e.stderr.contains("panels[0].kind: unknown kind \"gauge\""), "\(e.stderr)")
        #expect(try run("tracectl", ["dash", "--once", "--dashboard", "nope", "--data", data]).stderr.contains("no dashboard 'nope'"))
        #expect(try run("tracectl", ["dash", "--once", "--range", "2h", "--data", data]).stderr.contains("--range takes 15m, 1h, 6h, 24h, 7d"))
        #expect(try run("tracectl", ["dash", "--once", "--size", "10x2", "--data", data]).status == 2)
        // Without --once and without a terminal: a clear refusal, not a garbled screen.
        let t = try run("tracectl", ["dash", "--data", data])
        #expect(t.status == 2 && t.stderr.contains("needs a terminal"))
        // A collector that is not there: the panels say so and the exit code is 4.
        let u = try run("tracectl", ["dash", "--once", "--endpoint", "http://127.0.0.1:9", "--size", "80x24"])
        #expect(u.status == 4 && u.stdout.contains("cannot reach"), "\(u.stdout)")
        try? FileManager.default.removeItem(atPath: (data as NSString).deletingLastPathComponent)
    }
}

/// The detector panels and the feed, drawn from what a reader answers.
@Suite struct DashDetectorPanelTests {
    @Test func driftAnomaliesAndFeedPanels() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        // gpt-4o answers in ~100 ms for days, then in ~2 s over the last hours.
        var spans: [Span] = []
        for i in 0..<400 {
            let recent = i >= 200
            let start = recent ? now - 3_600_000_000_000 * 3 + Int64(i - 200) * 30_000_000_000 : now - 86_400_000_000_000 * 3 + Int64(i) * 60_000_000_000
            let ms = Int64(recent ? 2000 + (i * 37) % 400 : 100 + (i * 37) % 40)
            var s = Span(traceID: TraceID(hi: 9, lo: UInt64(i + 1)), spanID: SpanID(UInt64(i + 1)), service: "helpdesk", name: "chat gpt-4o", kind: .llm,
                         startNanos: start, endNanos: start + ms * 1_000_000, status: i % 50 == 0 ? .error : .ok)
            s.requestModel = "gpt-4o"
            spans.append(s)
        }
        let lines = spans.map { String(decoding: $0.jsonBytes(), as: UTF8.self) }.joined(separator: "\n")
        #expect(try run("tracectl", ["import", "-", "--data", dir + "/data"], stdin: lines).status == 0)
        let q = try run("tracectl", ["dash", "--once", "--size", "160x40", "--data", dir + "/data", "--dashboard", "quality"])
        #expect(q.status == 0, "\(q.stderr)")
        #expect(q.stdout.contains("helpdesk·gpt-4o · duration_ms · JS"), "the drift panel names what drifted:\n\(q.stdout)")
        #expect(q.stdout.contains("anomalies are kept by the running"), "a data directory has no anomalies, and the panel says where they are")
        let board = dir + "/feed.json"
        try #"{"title": "Live", "panels": [{"title": "Feed", "kind": "feed", "grid": [0, 0, 12, 6], "filter": "status=error"}]}"#
            .write(toFile: board, atomically: true, encoding: .utf8)
        // The last five minutes: a failed span just now, an ok one, and the old failures are out.
        var fresh = spans[0]
        fresh.traceID = TraceID(hi: 10, lo: 1); fresh.startNanos = now - 20_000_000_000; fresh.endNanos = now - 19_000_000_000; fresh.name = "retry gpt-4o"
        var ok = fresh
        ok.spanID = SpanID(999); ok.status = .ok; ok.name = "fine"
        #expect(try run("tracectl", ["import", "-", "--data", dir + "/data"], stdin: [fresh, ok].map { String(decoding: $0.jsonBytes(), as: UTF8.self) }.joined(separator: "\n")).status == 0)
        let f = try run("tracectl", ["dash", "--once", "--size", "100x10", "--data", dir + "/data", "--dashboard", board])
        #expect(f.status == 0 && f.stdout.contains("helpdesk retry gpt-4o gpt-4o 1.00s ✗ error") && !f.stdout.contains("fine"), "\(f.stdout)")
    }
}
