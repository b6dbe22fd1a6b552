import Testing
import Foundation
import LLMTraceModel
import LLMTraceCLI
import LLMTraceHTTP
import LLMTraceQuery
import LLMTraceSynthetic
@testable import LLMTraceStore

/// Runs a built product and captures its output.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

func productsDirectory() -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = (exe as NSString).deletingLastPathComponent
    if dir.hasSuffix(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
    return dir
}

func run(_ tool: String, _ args: [String], stdin: String? = nil, env: [String: String] = [:]) throws -> Run {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: productsDirectory() + "/" + tool)
    p.arguments = args
    var e = ProcessInfo.processInfo.environment
    e["SWIFT_BACKTRACE"] = "enable=no"
    for (k, v) in env { e[k] = v }
    p.environment = e
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let r = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: r, as: UTF8.self))
}

/// `llmtraced` on a free port of 127.0.0.1 over `dir`, logging JSON: the process (stop it with
/// SIGTERM), its `http://` address read from its "listening" log line, and its stderr (the log
/// read so far in `log`, the rest to be read from `stderr`).
func spawnCollector(_ dir: String) throws -> (process: Process, endpoint: String, stderr: Pipe, log: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: productsDirectory() + "/llmtraced")
    p.arguments = ["--data", dir, "--listen", "127.0.0.1:0", "--log-format", "json"]
    p.environment = ["SWIFT_BACKTRACE": "enable=no"]
    let err = Pipe()
    p.standardError = err
    try p.run()
    var text = ""
    let deadline = Date().addingTimeInterval(20)
    while !text.contains("\"msg\":\"listening\"") && p.isRunning && Date() < deadline {
        text += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
    }
    guard let line = text.split(separator: "\n").first(where: { $0.contains("\"listening\"") }),
          let address = try JSONValue.parse(String(line))["address"]?.string else {
        p.terminate()
        throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "llmtraced did not say where it listens: \(text)"])
    }
    return (p, "http://" + address, err, text)
}

func tempDir(_ name: String = #function) -> String {
    let d = NSTemporaryDirectory() + "llmtrace-cli-\(name.filter { $0.isLetter })-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

/// The spans of `tracectl trace --json` output, decoded with the native decoder.
func decodeTraceJSON(_ text: String) throws -> [Span] {
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBufferPointer { p -> [Span] in
        var r = JSONReader(p)
        var out: [Span] = []
        try r.beginObject()
        var first = true
        while let k = try r.nextKey(first: &first) {
            guard k == "spans" else { try r.skipValue(); continue }
            try r.beginArray()
            var f = true
            while try r.nextElement(first: &f) { out.append(try Span.decodeJSON(&r)) }
        }
        return out
    }
}

@Suite(.serialized) struct TracectlTests {
    @Test func importReportsBadLinesStoresGoodOnesAndTraceShowsThem() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var gen = SyntheticWorkload(seed: 21)
        let trace = gen.nextTrace()
        var lines = trace.map { String(decoding: $0.jsonBytes(), as: UTF8.self) }
        lines.insert(#"{"trace_id":"zz","span_id":"0011223344556677","name":"x","start_ns":1,"end_ns":2}"#, at: 1)
        lines.insert("not json at all", at: 3)
        lines.append("")
        let file = dir + "/spans.jsonl"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)

        let imp = try run("tracectl", ["import", file, "--data", dir + "/data"])
        #expect(imp.status == 3, "partial import exits 3: \(imp.stderr)")
        #expect(imp.stderr.contains("line 2: field 'trace_id': expected 32 hex digits"), "\(imp.stderr)")
        #expect(imp.stderr.contains("line 4:"), "\(imp.stderr)")
        #expect(imp.stderr.contains("imported \(trace.count) spans"), "\(imp.stderr)")

        let human = try run("tracectl", ["trace", trace[0].traceID.hex, "--data", dir + "/data"], env: ["NO_COLOR": "1"])
        #expect(human.status == 0, "\(human.stderr)")
        #expect(human.stdout.contains("Trace \(trace[0].traceID.hex)"))
        #expect(human.stdout.contains("agent.run"))
        #expect(human.stdout.contains("└─ ") || human.stdout.contains("├─ "))
        #expect(!human.stdout.contains("\u{1B}["), "no colour without a terminal")
        let llm = trace.first { $0.kind == .llm }!
        #expect(human.stdout.contains(llm.responseModel!))

        let json = try run("tracectl", ["trace", trace[0].traceID.hex, "--data", dir + "/data", "--json"])
        #expect(json.status == 0)
        // Every span comes back exactly (attribute order included): decode the "spans" array natively.
        let decoded = try decodeTraceJSON(json.stdout)
        #expect(decoded.count == trace.count)
        #expect(Set(decoded.map(\.spanID)) == Set(trace.map(\.spanID)))
        for s in trace { #expect(decoded.first { $0.spanID == s.spanID } == s) }

        let verify = try run("tracectl", ["verify", "--data", dir + "/data"])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("OK: no corruption found"))
    }

    @Test func importFromStdinAndExitCodes() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let span = minimal()
        let ok = try run("tracectl", ["import", "-", "--data", dir], stdin: String(decoding: span.jsonBytes(), as: UTF8.self) + "\n")
        #expect(ok.status == 0, "\(ok.stderr)")
        let missing = try run("tracectl", ["trace", "ffffffffffffffffffffffffffffffff", "--data", dir])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("not found"))
        let badID = try run("tracectl", ["trace", "xyz", "--data", dir])
        #expect(badID.status == 2)
        #expect(badID.stderr.contains("32 hex digits"))
        let unknown = try run("tracectl", ["frobnicate"])
        #expect(unknown.status == 2)
        let badOpt = try run("tracectl", ["trace", "--fulll", "x"])
        #expect(badOpt.status == 2)
        #expect(badOpt.stderr.contains("did you mean --full"), "\(badOpt.stderr)")
        let allBad = try run("tracectl", ["import", "-", "--data", dir], stdin: "{}\n[]\n")
        #expect(allBad.status == 1, "nothing imported")
    }

    /// Import checks and enriches spans exactly as the collector does: priced from the price table
    /// (or --pricing), a negative token count refused; it once stored spans without a cost.
    @Test func importPricesAndChecksLikeTheCollector() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var s = minimal()
        s.requestModel = "gpt-4o-mini"
        s.inputTokens = 1000
        s.outputTokens = 100
        var bad = s
        bad.spanID = SpanID(99)
        bad.inputTokens = -1
        let lines = [s, bad].map { String(decoding: $0.jsonBytes(), as: UTF8.self) }.joined(separator: "\n")
        let imp = try run("tracectl", ["import", "-", "--data", dir + "/a"], stdin: lines)
        #expect(imp.status == 3, "\(imp.stderr)")
        #expect(imp.stderr.contains("line 2") && imp.stderr.contains("must not be negative"), "\(imp.stderr)")
        let got = try decodeTraceJSON(try run("tracectl", ["trace", s.traceID.hex, "--json", "--data", dir + "/a"]).stdout)
        #expect(got.map(\.spanID) == [s.spanID])
        #expect(abs((got.first?.costUSD ?? 0) - 0.00021) < 1e-12, "priced from the built-in table: \(String(describing: got.first?.costUSD))")
        let prices = dir + "/prices.json"
        try #"{"per_tokens": 1000000, "models": {"gpt-4o-mini": {"input": 1.0, "output": 2.0}}}"#.write(toFile: prices, atomically: true, encoding: .utf8)
        #expect(try run("tracectl", ["import", "-", "--data", dir + "/b", "--pricing", prices], stdin: lines).status == 3)
        let priced = try decodeTraceJSON(try run("tracectl", ["trace", s.traceID.hex, "--json", "--data", dir + "/b"]).stdout)
        #expect(abs((priced.first?.costUSD ?? 0) - 0.0012) < 1e-12, "\(String(describing: priced.first?.costUSD))")
    }

    @Test func verifyFailsOnCorruption() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var gen = SyntheticWorkload(seed: 4)
        let lines = gen.nextBatch(count: 200).map { String(decoding: $0.jsonBytes(), as: UTF8.self) }.joined(separator: "\n")
        #expect(try run("tracectl", ["import", "-", "--data", dir], stdin: lines).status == 0)
        let seg = dir + "/segments/" + (try FileManager.default.contentsOfDirectory(atPath: dir + "/segments").first { $0.hasSuffix(".seg") }!)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: seg)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: seg))
        let v = try run("tracectl", ["verify", "--data", dir])
        #expect(v.status == 1)
        #expect(v.stdout.contains("CORRUPT:") && v.stdout.contains(seg), "\(v.stdout)")
        let j = try run("tracectl", ["verify", "--data", dir, "--json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        #expect(obj["ok"] as? Bool == false)
    }

    @Test(arguments: [["--help"], ["trace", "--help"], ["import", "--help"], ["verify", "--help"], ["query", "--help"], ["stats", "--help"], ["search", "--help"], ["tail", "--help"]])
    func everyCommandHasHelpWithExamples(args: [String]) throws {
        let r = try run("tracectl", args)
        #expect(r.status == 0)
        #expect(r.stdout.contains("USAGE"))
        #expect(r.stdout.contains("EXAMPLES"))
    }

    @Test func daemonAndBenchHaveHelp() throws {
        let d = try run("llmtraced", ["--help"])
        #expect(d.status == 0 && d.stdout.contains("--retention"))
        let bad = try run("llmtraced", ["--retention", "forever"])
        #expect(bad.status == 2 && bad.stderr.contains("duration"))
        let b = try run("llmtrace-bench", ["--help"])
        #expect(b.status == 0 && b.stdout.contains("llmtrace-bench store"))
    }

    @Test func daemonSealsOnSIGTERM() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let span = minimal()
        #expect(try run("tracectl", ["import", "-", "--data", dir], stdin: String(decoding: span.jsonBytes(), as: UTF8.self)).status == 0)
        let (p, _, err, started) = try spawnCollector(dir)
        var text = started
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        text += String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("stopped cleanly"), "\(text)")
        // --log-format json: every stderr line is one JSON object with ts, level and msg.
        for line in text.split(separator: "\n") {
            let v = try? JSONValue.parse(String(line))
            #expect(v?["ts"]?.string != nil && v?["level"]?.string != nil && v?["msg"]?.string != nil, "\(line)")
        }
    }

    @Test func queryPrintsTablesCSVAndJSONAndPointsAtErrors() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var gen = SyntheticWorkload(seed: 33)
        let spans = gen.nextBatch(count: 400)
        let lines = spans.map { String(decoding: $0.jsonBytes(), as: UTF8.self) }.joined(separator: "\n")
        #expect(try run("tracectl", ["import", "-", "--data", dir], stdin: lines).status == 0)
        let byService = Dictionary(grouping: spans, by: \.service).mapValues(\.count)

        let sql = "SELECT service, count() AS calls FROM spans GROUP BY service ORDER BY service"
        let table = try run("tracectl", ["query", sql, "--data", dir], env: ["NO_COLOR": "1"])
        #expect(table.status == 0, "\(table.stderr)")
        let rows = table.stdout.split(separator: "\n")
        #expect(rows.first?.hasPrefix("service") == true && rows.first?.hasSuffix("calls") == true, "\(table.stdout)")
        #expect(rows.count == byService.count + 2)
        for (service, n) in byService { #expect(rows.contains { $0.hasPrefix(service + " ") && $0.hasSuffix(" \(n)") }, "\(service) \(n) in \(table.stdout)") }
        #expect(table.stderr.contains("\(byService.count) rows · scanned \(spans.count) spans"), "\(table.stderr)")

        let csv = try run("tracectl", ["query", sql, "--data", dir, "--csv"])
        #expect(csv.stdout.hasPrefix("service,calls\r\n"))
        #expect(csv.stdout.split(separator: "\r\n").count == byService.count + 1)

        let json = try run("tracectl", ["query", "SELECT count(), sum(input_tokens) FROM spans", "--data", dir, "--json"])
        let doc = try JSONValue.parse(json.stdout)
        #expect(doc["rows"]?.array?.first?.array?.first?.int == Int64(spans.count))
        #expect(doc["rows"]?.array?.first?.array?[1].int == spans.reduce(0) { $0 + ($1.inputTokens ?? 0) })

        // stats: the per service and model summary over everything imported.
        let stats = try run("tracectl", ["stats", "--since", "all", "--data", dir, "--csv"])
        #expect(stats.status == 0, "\(stats.stderr)")
        let statRows = stats.stdout.split(separator: "\r\n").dropFirst()
        #expect(statRows.reduce(0) { $0 + (Int($1.split(separator: ",", omittingEmptySubsequences: false)[2]) ?? 0) } == spans.count, "\(stats.stdout)")
        #expect(stats.stdout.hasPrefix("service,model,calls,errors,error_pct,p50_ms,p95_ms,input_tokens,output_tokens,cost_usd\r\n"))
        #expect(try run("tracectl", ["stats", "--since", "yesterday", "--data", dir]).status == 2)

        // search: traces with a failing span, newest first, in pages.
        let failing = Set(spans.filter { $0.status == .error }.map(\.traceID.hex))
        #expect(!failing.isEmpty)
        var found: [String] = []
        var cursor: String? = nil
        repeat {
            let r = try run("tracectl", ["search", "--status", "error", "--limit", "3", "--json", "--data", dir] + (cursor.map { ["--cursor", $0] } ?? []))
            #expect(r.status == 0, "\(r.stderr)")
            let doc = try JSONValue.parse(r.stdout)
            found += doc["traces"]?.array?.compactMap { $0["trace_id"]?.string } ?? []
            cursor = doc["next_cursor"]?.string
        } while cursor != nil && found.count <= failing.count
        #expect(Set(found) == failing && found.count == failing.count, "\(found.count) of \(failing.count)")
        let human = try run("tracectl", ["search", "--service", spans[0].service, "--data", dir], env: ["NO_COLOR": "1"])
        #expect(human.stdout.hasPrefix("matched"), "\(human.stdout)")
        #expect(human.stdout.contains(spans[0].service))
        #expect(try run("tracectl", ["search", "--since", "last tuesday", "--data", dir]).status == 2)

        let bad = try run("tracectl", ["query", "SELECT count() FROM spans WHERE modle = 'x'", "--data", dir])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("at position 33: unknown column 'modle'"), "\(bad.stderr)")
        #expect(bad.stderr.contains("\n" + String(repeating: " ", count: 34) + "^"), "\(bad.stderr)")
        #expect(try run("tracectl", ["query", "--data", dir]).status == 2)
        #expect(try run("tracectl", ["query", "SELECT 1 FROM spans", "--endpoint", "http://127.0.0.1:1"]).status == 4)

        // A result cut at --max-rows says so on stderr in every format, not only the table.
        for format in [[], ["--csv"], ["--json"]] {
            let cut = try run("tracectl", ["query", "SELECT span_id FROM spans", "--data", dir, "--max-rows", "5"] + format)
            #expect(cut.status == 0)
            #expect(cut.stderr.contains("more rows matched"), "\(format): \(cut.stderr)")
            let whole = try run("tracectl", ["query", "SELECT span_id FROM spans LIMIT 5", "--data", dir] + format)
            #expect(!whole.stderr.contains("more rows matched"), "\(format): \(whole.stderr)")
        }
    }

    /// The first 8+ hex digits of a trace id find it when they name one trace; a prefix naming
    /// several is an error listing them.
    @Test func traceByIDPrefix() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func span(_ hi: UInt64, _ lo: UInt64, _ id: UInt64) -> String {
            String(decoding: Span(traceID: TraceID(hi: hi, lo: lo), spanID: SpanID(id), name: "op\(id)", startNanos: 1_000, endNanos: 2_000).jsonBytes(), as: UTF8.self)
        }
        let lines = [span(0xabcd_ef01_0000_0001, 7, 1), span(0xabcd_ef01_0000_0002, 8, 2), span(0x1234_5678_9abc_def0, 9, 3)].joined(separator: "\n")
        #expect(try run("tracectl", ["import", "-", "--data", dir], stdin: lines).status == 0)
        let unique = try run("tracectl", ["trace", "12345678", "--data", dir, "--json"])
        #expect(unique.status == 0, "\(unique.stderr)")
        #expect(unique.stdout.contains("\"trace_id\": \"123456789abcdef00000000000000009\""))
        #expect(try run("tracectl", ["trace", "ABCDEF01000000020", "--data", dir]).stdout.contains("op2"))
        let ambiguous = try run("tracectl", ["trace", "abcdef01", "--data", dir])
        #expect(ambiguous.status == 1)
        #expect(ambiguous.stderr.contains("ambiguous") && ambiguous.stderr.contains("abcdef01000000010000000000000007"), "\(ambiguous.stderr)")
        #expect(try run("tracectl", ["trace", "abcdef", "--data", dir]).status == 2, "under 8 digits")
        #expect(try run("tracectl", ["trace", "ffffffff", "--data", dir]).status == 1)
    }

    @Test func everyExecutableSaysItsVersion() throws {
        for tool in ["llmtraced", "tracectl", "llmtrace-bench"] {
            let r = try run(tool, ["--version"])
            #expect(r.status == 0 && r.stdout == "\(tool) \(LLMTraceVersion.string)\n", "\(tool): \(r.stdout)")
        }
    }

    @Test func queryThroughTheCollector() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var gen = SyntheticWorkload(seed: 34)
        let spans = gen.nextBatch(count: 300)
        let lines = spans.map { String(decoding: $0.jsonBytes(), as: UTF8.self) }.joined(separator: "\n")
        #expect(try run("tracectl", ["import", "-", "--data", dir], stdin: lines).status == 0)
        let (p, endpoint, _, _) = try spawnCollector(dir)
        defer { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() }
        let address = String(endpoint.dropFirst(7))
        let r = try run("tracectl", ["query", "SELECT kind, count() FROM spans GROUP BY kind", "--endpoint", "http://" + address, "--csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let counts = Dictionary(grouping: spans, by: \.kind.rawValue).mapValues(\.count)
        #expect(r.stdout == "kind,count()\r\n" + counts.sorted { $0.key < $1.key }.map { "\($0.key),\($0.value)\r\n" }.joined())
        // tail: spans posted while it waits are printed, then it stops at --count.
        let tailer = Process()
        tailer.executableURL = URL(fileURLWithPath: productsDirectory() + "/tracectl")
        tailer.arguments = ["tail", "--endpoint", "http://" + address, "--json", "--count", "3", "--seconds", "20"]
        let tailOut = Pipe()
        tailer.standardOutput = tailOut
        try tailer.run()
        Thread.sleep(forTimeInterval: 1.0)
        let more = gen.nextBatch(count: 5)
        let body = Array(("[" + more.map { String(decoding: $0.jsonBytes(), as: UTF8.self) }.joined(separator: ",") + "]").utf8)
        let post = try HTTPClient(endpoint: "http://" + address).request("POST", "/v1/spans", body: body, headers: [("Content-Type", "application/json")])
        #expect(post.status == 200)
        tailer.waitUntilExit()
        let tailed = String(decoding: tailOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        #expect(tailer.terminationStatus == 0)
        #expect(tailed.count == 3, "\(tailed)")
        #expect(tailed.compactMap { try? JSONValue.parse(String($0))["span_id"]?.string } == more.prefix(3).map(\.spanID.hex))

        let e = try run("tracectl", ["query", "SELECT count() FORM spans", "--endpoint", "http://" + address])
        #expect(e.status == 1)
        #expect(e.stderr.contains("at position 16: expected FROM"), "\(e.stderr)")
    }

    func minimal() -> Span {
        var s = Span(traceID: TraceID(hi: 7, lo: 7), spanID: SpanID(7), name: "op", kind: .llm, startNanos: 1_000, endNanos: 2_000)
        s.outputMessages = [Message(role: "assistant", content: "hello")]
        return s
    }
}

@Suite struct RendererTests {
    @Test func formats() {
        #expect(TraceRenderer.duration(999) == "999ns")
        #expect(TraceRenderer.duration(1_500_000) == "1.50ms")
        #expect(TraceRenderer.duration(43_000_000) == "43ms")
        #expect(TraceRenderer.duration(3_310_000_000) == "3.31s")
        #expect(TraceRenderer.grouped(1234567) == "1,234,567")
        #expect(TraceRenderer.usd(0.00358) == "$0.00358")
        #expect(TraceRenderer.usd(12.5) == "$12.50")
        #expect(TraceRenderer.usd(2.4599999999999998e-05) == "$0.0000246")
        #expect(QueryValue.double(7.65e-06).text == "0.00000765")
        #expect(TraceRenderer.timestamp(1_767_225_600_123_000_000) == "2026-01-01T00:00:00.123Z")
        #expect(TraceRenderer.timestamp(0) == "1970-01-01T00:00:00.000Z")
    }

    @Test func orphanSpansAreShownNotHidden() {
        let t = TraceID(hi: 1, lo: 1)
        let root = Span(traceID: t, spanID: SpanID(1), name: "root", startNanos: 0, endNanos: 100)
        let child = Span(traceID: t, spanID: SpanID(2), parentSpanID: SpanID(1), name: "child", startNanos: 10, endNanos: 20)
        let orphan = Span(traceID: t, spanID: SpanID(3), parentSpanID: SpanID(99), name: "orphan", startNanos: 30, endNanos: 40)
        let out = TraceRenderer(color: false, full: false).render([orphan, child, root])
        #expect(out.contains("root"))
        #expect(out.contains("└─ child"))
        #expect(out.contains("orphan"))
        #expect(out.contains("3 spans"))
    }

    /// A → B → A: neither span is a root, and both are still shown.
    @Test func parentCyclesAreShownNotHidden() {
        let t = TraceID(hi: 1, lo: 1)
        let a = Span(traceID: t, spanID: SpanID(1), parentSpanID: SpanID(2), name: "span-a", startNanos: 0, endNanos: 100)
        let b = Span(traceID: t, spanID: SpanID(2), parentSpanID: SpanID(1), name: "span-b", startNanos: 10, endNanos: 20)
        let root = Span(traceID: t, spanID: SpanID(3), name: "root", startNanos: 5, endNanos: 50)
        let out = TraceRenderer(color: false, full: false).render([b, root, a])
        #expect(out.contains("span-a") && out.contains("└─ span-b") && out.contains("root"), "\(out)")
        #expect(out.contains("cycle"))
    }

    @Test func toolCallsFinishReasonsAndScoresAreShown() {
        let t = TraceID(hi: 1, lo: 2)
        var s = Span(traceID: t, spanID: SpanID(1), name: "chat", kind: .llm, startNanos: 0, endNanos: 100)
        s.inputMessages = [Message(role: "user", content: "weather?"), Message(role: "tool", content: "{\"t\": 18}", toolCallID: "call_1")]
        s.outputMessages = [Message(role: "assistant", content: "", toolCalls: [ToolCall(id: "call_2", name: "get_weather", arguments: "{\"city\": \"Paris\"}")])]
        s.finishReason = "length"
        let scores = [Score(traceID: t, name: "helpful", value: .number(1), timeNanos: 5),
                      Score(traceID: t, spanID: SpanID(1), name: "faithful", value: .category("yes\u{1b}]0;x\u{07}"), source: .eval, timeNanos: 6)]
        let out = TraceRenderer(color: false, full: false).render([s], scores: scores)
        #expect(out.contains("assistant calls [call_2] ◂ get_weather({\"city\": \"Paris\"})"), "\(out)")
        #expect(out.contains("tool [call_1] ▸ {\"t\": 18}"))
        #expect(!out.contains("assistant ◂"), "a turn that only calls a tool shows the call alone")
        #expect(out.contains("truncated (length)"))
        #expect(out.contains("scores  helpful=1 (user)"))
        #expect(out.contains("faithful=yes\\e]0;x\\a (eval)") || out.contains("faithful=yes\\x1b]0;x\\x07 (eval)"), "\(out)")
        #expect(!out.contains("\u{1b}"))
    }

    @Test func longTextIsShortenedUnlessFull() {
        var s = Span(traceID: TraceID(hi: 1, lo: 1), spanID: SpanID(1), name: "llm", kind: .llm, startNanos: 0, endNanos: 1)
        s.outputMessages = [Message(role: "assistant", content: String(repeating: "x", count: 1000) + "END")]
        #expect(!TraceRenderer(color: false, full: false).render([s]).contains("END"))
        #expect(TraceRenderer(color: false, full: true).render([s]).contains("END"))
    }
}

@Suite struct ArgumentParserTests {
    @Test func parsesOptionsFlagsAndPositionals() throws {
        let a = try ArgumentParser.parse(["trace", "--data=/x", "--full", "abc", "--", "--literal"], options: ["data"], flags: ["full"])
        #expect(a.value("data") == "/x")
        #expect(a.has("full"))
        #expect(a.positionals == ["trace", "abc", "--literal"])
        #expect(throws: UsageError.self) { try ArgumentParser.parse(["--data"], options: ["data"], flags: []) }
        #expect(throws: UsageError.self) { try ArgumentParser.parse(["--full=1"], options: [], flags: ["full"]) }
        #expect(try ArgumentParser.parse(["--spans", "1_000"], options: ["spans"], flags: []).int("spans", default: 0) == 1000)
    }
}
