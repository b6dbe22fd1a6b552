import Foundation
import Testing
import LLMTraceModel
import LLMTraceStore
import LLMTraceSupport
import LLMTraceSynthetic
@testable import LLMTraceClient

/// Trace search (the dashboard's trace list): its filter language, and its queries run by a real
/// reader over a real data directory, checked against the answer worked out from the spans
/// themselves.
@Suite struct TraceSearchTests {
    @Test func filtersReadAndMistakesSayWhy() throws {
        let f = try TraceFilter.parse(#"model=gpt-4o  status=error duration>2s cost<=$0.5 refund name="POST /answer" ttft>=500ms session!="""#)
        #expect(f.terms == [.field("model", .eq, "gpt-4o"), .field("status", .eq, "error"), .field("duration", .gt, "2s"),
                            .field("cost", .le, "$0.5"), .text("refund"), .field("name", .eq, "POST /answer"), .field("ttft", .ge, "500ms"),
                            .field("session", .ne, "")])
        #expect(f.words == ["refund"])
        #expect(f.text == #"model=gpt-4o status=error duration>2s cost<=$0.5 refund name="POST /answer" ttft>=500ms session!="""#)
        #expect(f.conditions(perSpan: false) == ["error", "duration_ms > 2000", "cost_usd <= 0.5", "name = 'POST /answer'", "session_id IS NOT NULL"])
        #expect(f.conditions(perSpan: true) == ["model = 'gpt-4o'", "ttft_ms >= 500"])
        #expect(try TraceFilter.parse("name=it's").conditions(perSpan: false) == ["name = 'it''s'"], "a quote in a value is doubled")
        #expect(try TraceFilter.parse("duration>1.5m cost>0.00001").conditions(perSpan: false) == ["duration_ms > 90000", "cost_usd > 0.00001"])
        for (text, why) in [("colour=red", "no filter 'colour'"), ("duration>fast", "duration takes a number"), ("status=maybe", "status is error or ok"),
                            (#"name="open"#, "a double quote is not closed"), ("model>3", "model takes = or !="), ("model=", "model= needs a value")] {
            #expect(throws: TraceFilterError.self, "\(text)") { try TraceFilter.parse(text) }
            do { _ = try TraceFilter.parse(text) } catch { #expect(error.description.contains(why), "\(text): \(error)") }
        }
        // A word with `=` inside but no key before it is a word.
        #expect(try TraceFilter.parse("=x").terms == [.text("=x")])
    }

    /// 400 traces two hours ago, 1,500 in the last half hour, in a data directory read as tracectl
    /// dash reads it; each search compared with the traces worked out from the spans.
    @Test func searchesAnswerWhatTheSpansSay() throws {
        let dir = NSTemporaryDirectory() + "llmtrace-search-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let now = wallNanos()
        var old = SyntheticWorkload(seed: 3, startNanos: now - 7_200_000_000_000)
        var recent = SyntheticWorkload(seed: 4, startNanos: now - 1_800_000_000_000)
        var spans: [Span] = []
        for _ in 0..<400 { spans += old.nextTrace() }
        for _ in 0..<1500 { spans += recent.nextTrace() }
        var o = StoreOptions(directory: dir)
        o.backgroundSealing = false
        o.log = { _, _ in }
        let store = try Store.open(o)
        try store.append(Array(spans[..<(spans.count / 2)]))
        _ = try store.sealNow()
        try store.append(Array(spans[(spans.count / 2)...]))
        try store.close()
        let reader = LocalReader(directory: dir)

        // The traces, from the spans.
        struct Truth { var start = Int64.max, end = Int64.min, error = false, models: Set<String> = [], ttft: Int64? = nil, cost = 0.0, session: String? }
        var truth: [String: Truth] = [:]
        for s in spans {
            var t = truth[s.traceID.hex] ?? Truth()
            t.start = min(t.start, s.startNanos); t.end = max(t.end, s.endNanos)
            if s.status == .error { t.error = true }
            if let m = s.responseModel ?? s.requestModel { t.models.insert(m) }
            if let f = s.timeToFirstTokenNanos { t.ttft = max(t.ttft ?? 0, f) }
            if s.isRoot { t.session = s.sessionID }
            truth[s.traceID.hex] = t
        }
        let inHour = truth.filter { $0.value.start > now - 3_600_000_000_000 }
        #expect(inHour.count == 1500)

        // Newest first, the last hour only.
        let newest = try reader.searchTraces(TraceListQuery(range: "1h"))
        #expect(newest.count == 200)
        #expect(newest.map(\.traceID) == inHour.sorted { ($0.value.start, $0.key) > ($1.value.start, $1.key) }.prefix(200).map(\.key)
                || newest.map(\.startNanos) == inHour.values.map(\.start).sorted(by: >).prefix(200).map { $0 })
        #expect(newest.allSatisfy { $0.models == truth[$0.traceID]!.models.sorted() }, "each row's models")

        // Slowest first.
        let slow = try reader.searchTraces(TraceListQuery(range: "1h", sort: .duration))
        let durations = inHour.values.map { Double($0.end - $0.start) / 1e6 }.sorted(by: >)
        #expect(zip(slow.map(\.durationMs), durations.prefix(200)).allSatisfy { abs($0 - $1) < 0.001 })

        // A model and errors: every listed trace has both, and none is missing.
        let model = spans.compactMap(\.requestModel).first!
        let failing = try reader.searchTraces(TraceListQuery(range: "1h", filter: try TraceFilter.parse("model=\(model) status=error"), limit: 5000))
        let want = inHour.filter { $0.value.error && $0.value.models.contains(where: { $0 == model }) }
        #expect(!want.isEmpty)
        #expect(Set(failing.map(\.traceID)) == Set(want.keys))
        #expect(failing.allSatisfy { $0.errors > 0 })

        // By time to first token: the largest first, as the spans say.
        let byTTFT = try reader.searchTraces(TraceListQuery(range: "1h", sort: .ttft, limit: 20))
        let ttfts = inHour.values.compactMap(\.ttft).sorted(by: >).prefix(20).map { Double($0) / 1e6 }
        #expect(byTTFT.count == 20)
        #expect(zip(byTTFT.compactMap(\.ttftMs), ttfts).allSatisfy { abs($0 - $1) < 0.001 }, "\(byTTFT.map(\.ttftMs)) \(ttfts)")

        // A session, a duration bound, and cheapest first.
        let session = inHour.values.compactMap(\.session).first!
        let inSession = try reader.searchTraces(TraceListQuery(range: "1h", filter: try TraceFilter.parse("session=\(session)")))
        #expect(Set(inSession.map(\.traceID)) == Set(inHour.filter { $0.value.session == session }.keys))
        let long = try reader.searchTraces(TraceListQuery(range: "1h", filter: try TraceFilter.parse("duration>5s"), sort: .cost, descending: false, limit: 5000))
        #expect(long.count == inHour.values.filter { $0.end - $0.start > 5_000_000_000 }.count)
        #expect(zip(long, long.dropFirst()).allSatisfy { ($0.costUSD ?? 0) <= ($1.costUSD ?? 0) })

        // Two hours back, the old traces too; a filter nothing matches, an empty list.
        #expect(try reader.searchTraces(TraceListQuery(range: "6h", limit: 5000)).count == 1900)
        #expect(try reader.searchTraces(TraceListQuery(range: "1h", filter: try TraceFilter.parse("model=no-such-model"))).isEmpty)
        // Words narrow what is listed, on the client.
        let row = newest[0]
        #expect(row.matches([row.traceID.prefix(8).lowercased()]) && row.matches([row.service.uppercased().lowercased()]) && !row.matches(["no-such-word"]))
    }
}
