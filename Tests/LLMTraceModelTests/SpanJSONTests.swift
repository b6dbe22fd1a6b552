import Testing
import Foundation
import LLMTraceModel
import LLMTraceSynthetic

func fullSpan() -> Span { SampleSpans.full() }

@Suite struct SpanJSONTests {
    @Test func everyFieldRoundTrips() throws {
        let s = fullSpan()
        let back = try Span.decodeJSON(s.jsonBytes())
        #expect(back == s)
    }

    /// Found by FuzzSpanJSON: a double attribute of 1.11e20 was written as 21 digits with no
    /// fraction, which read back as an integer past Int64 (the span no longer decoded).
    @Test func largeDoublesStayDoubles() throws {
        var s = Span(traceID: TraceID(hi: 1, lo: 2), spanID: SpanID(3), name: "x", startNanos: 1, endNanos: 2)
        s.attributes = [Attribute("a", .array([.double(1.11e20), .double(-2.5e-7), .double(1e16)])), Attribute("b", .double(9.5e18))]
        s.costUSD = 2.46e-05
        let back = try Span.decodeJSON(s.jsonBytes())
        #expect(back == s)
        #expect(String(decoding: s.jsonBytes(), as: UTF8.self).contains("\"cost_usd\":0.0000246"))
    }

    /// `GET /api/traces/{id}`'s document reads back as written (spans decoded in place).
    @Test func traceDocumentRoundTrips() throws {
        let spans = [SampleSpans.full(1), SampleSpans.full(2)]
        let scores = [Score(project: "proj-a", traceID: spans[0].traceID, name: "helpful", value: .number(0.5), source: .eval, comment: "ok", timeNanos: 7),
                      Score(project: "proj-a", traceID: spans[0].traceID, spanID: spans[0].spanID, name: "label", value: .category("good"), timeNanos: 8)]
        var w = JSONWriter()
        TraceDocument(traceID: spans[0].traceID, spans: spans, scores: scores).encodeJSON(into: &w)
        let back = try TraceDocument.decodeJSON(w.bytes)
        #expect(back.traceID == spans[0].traceID && back.spans == spans && back.scores == scores)
        #expect(throws: SpanDecodingError.self) { try TraceDocument.decodeJSON(Array(#"{"spans": []}"#.utf8)) }
    }

    @Test func syntheticWorkloadRoundTrips() throws {
        var g = SyntheticWorkload(seed: 3)
        for s in g.nextBatch(count: 300) {
            #expect(try Span.decodeJSON(s.jsonBytes()) == s)
        }
    }

    @Test func nanosecondsAsStringsAndNullsAreAccepted() throws {
        let json = #"{"trace_id":"0123456789abcdef0123456789ABCDEF","span_id":"0011223344556677","parent_span_id":"","name":"x","#
            + #""start_ns":"1767225600000000001","end_ns":1767225600000000002,"provider":null,"tags":null}"#
        let s = try Span.decodeJSON(Array(json.utf8))
        #expect(s.startNanos == 1_767_225_600_000_000_001)
        #expect(s.parentSpanID.isZero)
        #expect(s.provider == nil)
        #expect(s.project == "default")
        #expect(s.kind == .other)
    }

    @Test(arguments: [
        (#"{"span_id":"0011223344556677","name":"x","start_ns":1,"end_ns":2}"#, "trace_id", "required field missing"),
        (#"{"trace_id":"00","span_id":"0011223344556677","name":"x","start_ns":1,"end_ns":2}"#, "trace_id", "32 hex digits"),
        (#"{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0011223344556677","name":"x","start_ns":5,"end_ns":2}"#, "end_ns", "before start_ns"),
        (#"{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0011223344556677","name":"x","start_ns":1,"end_ns":2,"kind":"robot"}"#, "kind", "unknown kind"),
        (#"{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0011223344556677","name":"x","start_ns":1,"end_ns":2,"input_tokens":"many"}"#, "input_tokens", "expected an integer"),
        (#"{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0011223344556677","name":"x","start_ns":1,"end_ns":2,"colour":1}"#, "colour", "unknown field"),
        (#"{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0011223344556677","name":"x","start_ns":1,"end_ns":2,"input_messages":[{"content":"hi"}]}"#, "input_messages[0].role", "required field missing"),
        (#"{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0011223344556677","name":"x","start_ns":1,"end_ns":2,"attributes":{"a":{"b":1}}}"#, "attributes.a", "objects are not allowed"),
        (#"{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0011223344556677","name":"x","start_ns":1,"end_ns":2,"cost_usd":-1}"#, "cost_usd", "negative"),
        (#"[1,2]"#, "", "expected a span object"),
    ])
    func rejectionsNameFieldAndReason(json: String, field: String, reason: String) {
        do {
            _ = try Span.decodeJSON(Array(json.utf8))
            Issue.record("accepted invalid span: \(json)")
        } catch {
            #expect(error.field == field, "\(error)")
            #expect(error.reason.contains(reason), "\(error)")
        }
    }

    @Test func identifiersParseAndPrint() {
        let t = TraceID(hex: "0123456789ABCDEF0123456789abcdef")!
        #expect(t.hex == "0123456789abcdef0123456789abcdef")
        #expect(TraceID(bytes: t.bytes.withUnsafeBytes { $0 }) == t)
        #expect(TraceID(hex: "xyz") == nil)
        #expect(SpanID(hex: "00000000000000ff")!.value == 255)
    }
}

@Suite struct SpanSchemaTests {
    /// The example in schemas/span.schema.json is accepted by the decoder and round-trips.
    @Test func schemaExampleDecodes() throws {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let data = try Data(contentsOf: url.appendingPathComponent("schemas/span.schema.json"))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let examples = try #require(schema["examples"] as? [Any])
        #expect(!examples.isEmpty)
        for e in examples {
            let bytes = try JSONSerialization.data(withJSONObject: e)
            let span = try Span.decodeJSON(Array(bytes))
            #expect(span.kind == .llm)
            #expect(span.inputMessages.count == 2)
            #expect(try Span.decodeJSON(span.jsonBytes()) == span)
        }
    }
}
