import Foundation
import Testing
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic
@testable import LLMTraceCollector
import LLMTraceIngest
import LLMTraceOTLP

/// The collector's routes called directly (the socket layer has its own tests).
@Suite struct CollectorTests {
    static let ingestKey = "lt_ingest_chat_0123456789"
    static let readKey = "lt_read_chat_0123456789ab"

    func withCollector(keys: Bool = true, options: Collector.Options = Collector.Options(), _ body: (Collector, Store) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "llmtrace-collector-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var opts = StoreOptions(directory: dir)
        opts.backgroundSealing = false
        let store = try Store.open(opts)
        defer { try? store.close() }
        let ring = KeyRing(projects: keys ? [KeyRing.Project(name: "chat", ingestKeys: [Self.ingestKey], readKeys: [Self.readKey])] : [])
        try body(Collector(store: store, keys: ring, conventions: .builtIn(), pricing: .builtIn(), options: options), store)
    }

    func post(_ c: Collector, _ path: String, _ body: String, type: String = "application/json", key: String? = ingestKey) -> (Int, JSONValue?) {
        var h: [(name: String, value: String)] = [("content-type", type)]
        if let key { h.append(("authorization", "Bearer " + key)) }
        let r = c.handle(HTTPRequest(method: "POST", target: path, headers: h, body: Array(body.utf8)))
        return (r.status, try? JSONValue.parse(r.body))
    }

    static let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    func span(_ id: String, extra: String = "") -> String {
        #"{"trace_id": "\#(Self.trace)", "span_id": "\#(id)", "name": "chat", "kind": "llm", "start_ns": 1700000000000000000, "end_ns": 1700000001000000000, "request_model": "gpt-4o-mini", "input_tokens": 1000, "output_tokens": 100\#(extra)}"#
    }

    /// Decoded bytes of compressed bodies in flight share one budget: over it, a 503 with
    /// Retry-After; the same request goes through once the budget is free again.
    @Test func decodedBodiesInFlightHaveABudget() throws {
        var options = Collector.Options()
        options.maxDecodedInFlightBytes = 4 << 20
        try withCollector(keys: false, options: options) { (c: Collector, _: Store) throws in
            let lines = (1...2000).map { span(String(format: "%016x", $0), extra: #", "attributes": {"pad": "\#(String(repeating: "x", count: 200))"}"#) }
            let body = BodyDecoding.gzip(Array(lines.joined(separator: "\n").utf8))  // ~900 KB decoded
            func post() -> HTTPResponse {
                c.handle(HTTPRequest(method: "POST", target: "/v1/spans", headers: [("content-type", "application/x-ndjson"), ("content-encoding", "gzip")], body: body))
            }
            var other: DecodeBudget.Hold? = c.decodeBudget.hold()  // another request holding 3.5 MiB
            #expect(other!.reserve(3584 << 10))
            let refused = post()
            #expect(refused.status == 503)
            #expect(refused.headers.contains { $0.0.lowercased() == "retry-after" })
            #expect(c.decodeBudget.bytesInFlight == 3584 << 10, "the refused request gave back what it had reserved")
            other = nil
            #expect(c.decodeBudget.bytesInFlight == 0)
            let ok = post()
            #expect(ok.status == 200, "\(String(decoding: ok.body, as: UTF8.self).prefix(200))")
            #expect(c.decodeBudget.bytesInFlight == 0, "released when the request is done")
            _ = other
        }
    }

    @Test func nativeBatchWithABadSpanStoresTheRest() throws {
        try withCollector { (c: Collector, store: Store) throws in
            let body = "[" + span("00f067aa0ba902b7") + "," + span("00f067aa0ba902b8", extra: #", "bogus_field": 1"#) + ","
                + span("00f067aa0ba902b9", extra: #", "project": "other""#) + "]"
            let (status, reply) = post(c, "/v1/spans", body)
            #expect(status == 200)
            #expect(reply?["accepted"]?.int == 2)
            #expect(reply?["rejected"]?.int == 1)
            #expect(reply?["errors"]?.array?.first?["index"]?.int == 1)
            #expect(reply?["errors"]?.array?.first?["reason"]?.string?.contains("bogus_field") == true)
            let spans = try store.trace(TraceID(hex: Self.trace)!)
            #expect(spans.count == 2)
            // The ingest key's project wins over what the span says; cost comes from the price table.
            #expect(spans.allSatisfy { $0.project == "chat" })
            #expect(spans.allSatisfy { abs(($0.costUSD ?? 0) - 0.00021) < 1e-12 })
        }
    }

    @Test func jsonLinesReportLineNumbers() throws {
        try withCollector { (c: Collector, store: Store) throws in
            let body = span("00f067aa0ba902b7") + "\n\n{\"trace_id\": 5}\n" + span("00f067aa0ba902b9") + "\n"
            let (status, reply) = post(c, "/v1/spans", body, type: "application/x-ndjson")
            #expect(status == 200)
            #expect(reply?["accepted"]?.int == 2)
            #expect(reply?["errors"]?.array?.first?["line"]?.int == 3)
            #expect(try store.trace(TraceID(hex: Self.trace)!).count == 2)
        }
    }

    @Test func keysAreRequiredAndScoped() throws {
        try withCollector { (c: Collector, _: Store) throws in
            #expect(post(c, "/v1/spans", "[" + span("00f067aa0ba902b7") + "]", key: nil).0 == 401)
            #expect(post(c, "/v1/spans", "[" + span("00f067aa0ba902b7") + "]", key: "lt_ingest_chat_0123456780").0 == 401)
            #expect(post(c, "/v1/spans", "[" + span("00f067aa0ba902b7") + "]", key: Self.readKey).0 == 403)
            #expect(post(c, "/v1/traces", "{}", key: nil).0 == 401)
            #expect(post(c, "/v1/scores", "{}", key: nil).0 == 401)
        }
    }

    @Test func withoutKeysSpansKeepTheirProject() throws {
        try withCollector(keys: false) { (c: Collector, store: Store) throws in
            let (status, _) = post(c, "/v1/spans", span("00f067aa0ba902b9", extra: #", "project": "other""#), key: nil)
            #expect(status == 200)
            #expect(try store.trace(TraceID(hex: Self.trace)!).first?.project == "other")
        }
    }

    @Test func badInputIsA4xx() throws {
        try withCollector { (c: Collector, _: Store) throws in
            #expect(post(c, "/v1/spans", "").0 == 400)
            #expect(post(c, "/v1/spans", "[{").0 == 400)
            #expect(post(c, "/v1/spans", "[]").0 == 400)
            #expect(post(c, "/v1/spans", "x", type: "text/csv").0 == 415)
            #expect(post(c, "/v1/traces", "{\"resourceSpans\": 5}").0 == 400)
            #expect(post(c, "/v1/traces", "\u{0A}\u{05}", type: "application/x-protobuf").0 == 400)
            #expect(post(c, "/v1/traces", "{}", type: "application/xml").0 == 415)
            #expect(post(c, "/v1/nothing", "{}").0 == 404)
            #expect(c.handle(HTTPRequest(method: "GET", target: "/v1/traces")).status == 405)
        }
    }

    @Test func scoresAreStoredPerProject() throws {
        try withCollector { (c: Collector, store: Store) throws in
            let body = #"""
            [{"trace_id": "\#(Self.trace)", "name": "helpfulness", "value": 0.8, "source": "eval", "comment": "judge v2"},
             {"trace_id": "\#(Self.trace)", "span_id": "00f067aa0ba902b7", "name": "thumbs", "value": true},
             {"trace_id": "\#(Self.trace)", "name": "label", "value": "hallucination", "source": "human", "time_ns": 1700000000000000000},
             {"trace_id": "nothex", "name": "x", "value": 1},
             {"trace_id": "\#(Self.trace)", "name": "x", "value": 1, "source": "robot"}]
            """#
            let (status, reply) = post(c, "/v1/scores", body)
            #expect(status == 200)
            #expect(reply?["accepted"]?.int == 3)
            #expect(reply?["rejected"]?.int == 2)
            let scores = try store.index.scores(project: "chat", trace: TraceID(hex: Self.trace)!)
            #expect(scores.count == 3)
            #expect(scores.first?.name == "label" && scores.first?.value == .category("hallucination") && scores.first?.source == .human)
            #expect(scores.contains { $0.name == "thumbs" && $0.value == .number(1) && $0.spanID == SpanID(hex: "00f067aa0ba902b7") })
            #expect(scores.contains { $0.name == "helpfulness" && $0.value == .number(0.8) && $0.comment == "judge v2" && $0.source == .eval })
            #expect(try store.index.scores(project: "default", trace: TraceID(hex: Self.trace)!).isEmpty)
        }
    }

    @Test func otlpRoundTripThroughTheEncoder() throws {
        try withCollector(keys: false) { (c: Collector, store: Store) throws in
            var gen = LLMTraceSynthetic.SyntheticWorkload(seed: 3)
            let sent = gen.nextBatch(count: 50)
            let body = OTLPEncoder.encode(sent).bytes
            let r = c.handle(HTTPRequest(method: "POST", target: "/v1/traces", headers: [("content-type", "application/x-protobuf")], body: body))
            #expect(r.status == 200)
            #expect(r.body.isEmpty)  // everything accepted: an empty ExportTraceServiceResponse
            for s in sent {
                let got = try #require(try store.trace(s.traceID).first { $0.spanID == s.spanID })
                #expect(got.kind == s.kind && got.name == s.name && got.parentSpanID == s.parentSpanID)
                #expect(got.requestModel == s.requestModel && got.inputTokens == s.inputTokens && got.outputTokens == s.outputTokens)
                #expect(got.inputMessages == s.inputMessages && got.outputMessages == s.outputMessages && got.documents == s.documents)
                #expect(got.sessionID == s.sessionID && got.status == s.status && got.statusMessage == s.statusMessage)
                #expect(got.timeToFirstTokenNanos == s.timeToFirstTokenNanos)
                if s.kind == .llm { #expect(got.costUSD != nil) }
            }
        }
    }

    /// The request that once stopped the collector, posted as a client would: stored, and the
    /// collector goes on answering.
    @Test func keylessOTLPAttributeIsStored() throws {
        try withCollector(keys: false) { (c: Collector, store: Store) throws in
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
            let body = Array(try Data(contentsOf: URL(fileURLWithPath: root + "/Fuzz/seeds/FuzzOTLPProtobuf/crash-empty-attribute-key.pb")))
            let r = c.handle(HTTPRequest(method: "POST", target: "/v1/traces", headers: [("content-type", "application/x-protobuf")], body: body))
            #expect(r.status == 200)
            let spans = try store.trace(TraceID(hi: 0x0707070707070707, lo: 0x0707070707070707))
            #expect(spans.count == 1)  // the fuzz seed: one span, trace id 07 x 16
            #expect(spans.first?.attributes.contains { $0.key == "" } == true)
        }
    }

    @Test func acceptedSpansReachSubscribersWithoutBlocking() throws {
        try withCollector { (c: Collector, _: Store) throws in
            let sub = c.fanout.subscribe(capacity: 2)
            _ = post(c, "/v1/spans", "[" + span("00f067aa0ba902b7") + "," + span("00f067aa0ba902b8") + "]")
            // The next batch does not fit the subscriber's capacity: dropped for it and counted,
            // while ingest answers as usual.
            #expect(post(c, "/v1/spans", span("00f067aa0ba902b9")).0 == 200)
            let got = sub.next(timeoutNanos: 1_000_000_000)
            #expect(got?.map(\.spanID.hex) == ["00f067aa0ba902b7", "00f067aa0ba902b8"])
            #expect(sub.droppedSpans == 1)
            #expect(sub.next(timeoutNanos: 10_000_000) == nil)
            sub.cancel()
        }
    }
}
