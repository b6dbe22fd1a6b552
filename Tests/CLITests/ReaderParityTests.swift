import Foundation
import Testing
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceSynthetic

/// Every reading command answers the same through a running collector (`--endpoint`) and from its
/// data directory (`--data`), read while the collector writes it: one reader interface, two
/// readers (LLMTraceClient).
@Suite struct ReaderParityTests {
    @Test func everyCommandReadsADataDirectoryAndACollectorAlike() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var gen = SyntheticWorkload(seed: 51, startNanos: Int64(Date().timeIntervalSince1970 * 1e9) - 1_800_000_000_000)
        let spans = gen.nextBatch(count: 1500)
        let lines = spans.map { String(decoding: $0.jsonBytes(), as: UTF8.self) }.joined(separator: "\n")
        #expect(try run("tracectl", ["import", "-", "--data", dir], stdin: lines).status == 0)
        let (p, endpoint, _, _) = try spawnCollector(dir)
        defer { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() }

        func both(_ args: [String]) throws -> (remote: Run, local: Run) {
            (try run("tracectl", args + ["--endpoint", endpoint], env: ["NO_COLOR": "1"]),
             try run("tracectl", args + ["--data", dir], env: ["NO_COLOR": "1", "LLMTRACE_ENDPOINT": endpoint]))
        }
        // Queries: the same columns and rows (the figures of the scan aside).
        let q = try both(["query", "SELECT model, count(), p95(duration_ms), sum(cost_usd) FROM spans GROUP BY model ORDER BY 2 DESC, 1", "--json"])
        #expect(q.remote.status == 0 && q.local.status == 0, "\(q.remote.stderr)\(q.local.stderr)")
        let qr = try JSONValue.parse(q.remote.stdout), ql = try JSONValue.parse(q.local.stdout)
        #expect(qr["rows"] == ql["rows"] && qr["columns"] == ql["columns"] && (qr["rows"]?.array?.count ?? 0) >= 3)
        let stats = try both(["stats", "--since", "2h", "--csv"])
        #expect(stats.remote.status == 0 && stats.remote.stdout == stats.local.stdout && stats.local.stdout.contains(","), "\(stats.remote.stdout)\n\(stats.local.stdout)")
        // A trace, whole.
        let id = spans[0].traceID.hex
        let t = try both(["trace", id, "--json"])
        #expect(t.remote.status == 0 && t.remote.stdout == t.local.stdout && t.local.stdout.contains(id))
        let tree = try both(["trace", String(id.prefix(10))])
        #expect(tree.remote.stdout == tree.local.stdout && !tree.local.stdout.isEmpty)
        // Search, a page and the next.
        let s = try both(["search", "--status", "error", "--since", "2h", "--limit", "5", "--json"])
        #expect(s.remote.status == 0 && s.local.status == 0, "\(s.remote.stderr)\(s.local.stderr)")
        let sr = try JSONValue.parse(s.remote.stdout), sl = try JSONValue.parse(s.local.stdout)
        #expect(sr == sl && sr["traces"]?.array?.count == 5)
        let cursor = try #require(sr["next_cursor"]?.string)
        let page2 = try both(["search", "--status", "error", "--since", "2h", "--limit", "5", "--cursor", cursor])
        #expect(page2.remote.stdout == page2.local.stdout && page2.local.stdout.split(separator: "\n").filter { $0.contains("Z ") }.count == 5, "\(page2.local.stdout)")
        // Drift over the same windows.
        let d = try both(["drift", "--baseline", "3h..40m", "--current", "40m", "--json"])
        #expect(d.remote.status == 0 && d.local.status == 0, "\(d.remote.stderr)\(d.local.stderr)")
        #expect(try JSONValue.parse(d.remote.stdout)["findings"] == JSONValue.parse(d.local.stdout)["findings"])
        // Mistakes: the same exit codes.
        let bad = try both(["query", "SELECT count() FORM spans"])
        #expect(bad.remote.status == 1 && bad.local.status == 1 && bad.remote.stderr.contains("at position 16") && bad.local.stderr.contains("at position 16"))
        let missing = try both(["trace", "00000000000000000000000000000abc"])
        #expect(missing.remote.status == 1 && missing.local.status == 1 && missing.local.stderr.contains("not found"))
        let badSince = try both(["search", "--since", "last tuesday"])
        #expect(badSince.remote.status == 2 && badSince.local.status == 2)
        // Anomalies live in the collector's memory: asked of a directory, the answer says where they are.
        let an = try both(["anomalies", "--since", "1h"])
        #expect(an.remote.status == 0 && an.local.status == 2 && an.local.stderr.contains("--endpoint"), "\(an.local.stderr)")
        #expect(try run("tracectl", ["query", "SELECT 1 FROM spans", "--endpoint", "http://127.0.0.1:1"]).status == 4)

        // tail --data: spans the collector stores while it waits are printed.
        let tailer = Process()
        tailer.executableURL = URL(fileURLWithPath: productsDirectory() + "/tracectl")
        tailer.arguments = ["tail", "--data", dir, "--json", "--count", "4", "--seconds", "20"]
        let out = Pipe()
        tailer.standardOutput = out
        try tailer.run()
        Thread.sleep(forTimeInterval: 1.5)
        let more = gen.nextBatch(count: 6)
        let body = Array(("[" + more.map { String(decoding: $0.jsonBytes(), as: UTF8.self) }.joined(separator: ",") + "]").utf8)
        #expect(try HTTPClient(endpoint: endpoint).request("POST", "/v1/spans", body: body, headers: [("Content-Type", "application/json")]).status == 200)
        tailer.waitUntilExit()
        let tailed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        #expect(tailer.terminationStatus == 0 && tailed.count == 4, "\(tailed)")
        let tailedIDs = Set(tailed.compactMap { (try? JSONValue.parse(String($0)))?["span_id"]?.string })
        #expect(tailedIDs.count == 4 && tailedIDs.isSubset(of: Set(more.map(\.spanID.hex))))
    }
}
