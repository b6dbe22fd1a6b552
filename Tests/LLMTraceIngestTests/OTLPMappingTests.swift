import Foundation
import Testing
import LLMTraceModel
@testable import LLMTraceIngest
@testable import LLMTraceOTLP

/// Repository root, from this file's path.
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

func fixture(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: repoRoot + "/Tests/Fixtures/otlp/" + name)))
}

/// Maps and admits every span of a decoded export with the built-in conventions and prices.
func mapAll(_ t: OTLPTraces) -> (spans: [Span], rejected: [String]) {
    var t = t
    var spans: [Span] = []
    var rejected: [String] = []
    Ingest().otlp(&t) { r, _ in
        switch r {
        case .success(let s): spans.append(s)
        case .failure(let e): rejected.append(e.reason)
        }
    }
    return (spans, rejected)
}

@Suite struct OTLPMappingTests {
    /// Fixtures written by Tests/integration/otel_workload.py with the real OpenTelemetry Python SDK.
    @Test func protobufFixtureFromThePythonSDK() throws {
        let (spans, rejected) = mapAll(try OTLPProtobuf.decode(try fixture("traces.pb")))
        #expect(rejected.isEmpty)
        #expect(spans.count == 7)
        try checkFixtureSpans(spans)
    }

    @Test func jsonFixtureMapsToTheSameSpans() throws {
        let fromPB = mapAll(try OTLPProtobuf.decode(try fixture("traces.pb"))).spans
        let fromJSON = mapAll(try OTLPJSON.decode(try fixture("traces.json"))).spans
        #expect(fromJSON.count == fromPB.count)
        for (a, b) in zip(fromPB, fromJSON) { #expect(a == b, "\(a.name)") }
    }

    func checkFixtureSpans(_ spans: [Span]) throws {
        func span(_ name: String) throws -> Span { try #require(spans.first { $0.name == name }, "span \(name)") }
        let traceIDs = Set(spans.map(\.traceID))
        #expect(traceIDs.count == 1)
        for s in spans {
            #expect(s.service == "fixture-support")
            #expect(s.environment == "test")
            #expect(s.project == "default")
            #expect(s.attributes.contains { $0.key == "resource.telemetry.sdk.language" && $0.value == .string("python") })
            #expect(s.attributes.contains { $0.key == "otel.scope.name" && $0.value == .string("llmtrace.fixtures") })
        }

        let root = try span("support_request")
        #expect(root.isRoot)
        #expect(root.kind == .agent)
        #expect(root.sessionID == "sess-fixture")
        #expect(root.userID == "user-42")
        #expect(root.attributes.contains { $0.key == "customer.tier" && $0.value == .string("gold") })

        let retrieval = try span("retrieve_policy")
        #expect(retrieval.parentSpanID == root.spanID)
        #expect(retrieval.kind == .retrieval)
        #expect(retrieval.documents == [
            RetrievedDocument(id: "kb-17", content: "Refunds are issued within 30 days of purchase.", score: 0.91),
            RetrievedDocument(id: "kb-3", content: "Shipping is free above $50.", score: 0.42),
        ])
        #expect(retrieval.inputMessages == [Message(role: "user", content: "what is the refund policy?")])

        let gpt = try span("chat gpt-4o")
        #expect(gpt.kind == .llm)
        #expect(gpt.provider == "openai")
        #expect(gpt.requestModel == "gpt-4o")
        #expect(gpt.responseModel == "gpt-4o-2024-08-06")
        #expect(gpt.inputTokens == 1200 && gpt.outputTokens == 150)
        #expect(gpt.temperature == 0.2 && gpt.maxTokens == 512 && gpt.topP == 0.9)
        #expect(gpt.inputMessages == [Message(role: "system", content: "You are a helpful support agent."),
                                      Message(role: "user", content: "What is the refund policy?")])
        #expect(gpt.outputMessages == [Message(role: "assistant", content: "Refunds are issued within 30 days of purchase.")])
        // Priced from the dated response model's base entry: 1200 x $2.50/M + 150 x $10/M.
        #expect(abs((gpt.costUSD ?? 0) - 0.0045) < 1e-12)
        let ttft = try #require(gpt.timeToFirstTokenNanos)
        #expect(ttft > 1_000_000 && ttft < gpt.durationNanos)
        // Unmapped attributes stay, mapped ones do not appear twice.
        #expect(gpt.finishReason == "stop" && !gpt.attributes.contains { $0.key == "gen_ai.completion.0.finish_reason" })
        #expect(gpt.attributes.contains { $0.key == "llm.is_streaming" && $0.value == .bool(true) })
        #expect(!gpt.attributes.contains { $0.key == "gen_ai.usage.input_tokens" || $0.key == "gen_ai.prompt.0.content" })

        let claude = try span("chat claude-3-5-sonnet")
        #expect(claude.kind == .llm && claude.provider == "anthropic")
        #expect(claude.cachedTokens == 500)
        #expect(claude.inputMessages == [Message(role: "system", content: "Answer briefly."),
                                         Message(role: "user", content: "Summarize the refund policy.")])
        #expect(claude.outputMessages == [Message(role: "assistant", content: "30-day refunds.")])
        // 300 uncached x $3/M + 500 cached x $0.30/M + 60 x $15/M.
        #expect(abs((claude.costUSD ?? 0) - 0.00195) < 1e-12)

        let oi = try span("ChatCompletion")
        #expect(oi.kind == .llm && oi.requestModel == "gpt-4o-mini" && oi.provider == "openai")
        #expect(oi.inputTokens == 300 && oi.outputTokens == 40)
        #expect(oi.promptName == "classifier" && oi.promptVersion == "v3")
        #expect(oi.inputMessages == [Message(role: "user", content: "Classify: refund request")])
        #expect(oi.outputMessages == [Message(role: "assistant", content: "category=refund")])

        let ollm = try span("openai.chat")
        #expect(ollm.kind == .llm)
        #expect(ollm.inputTokens == 100 && ollm.outputTokens == 20)
        #expect(ollm.costUSD == 0.5)  // a cost the span carries wins over the price table

        let tool = try span("execute_tool lookup_order")
        #expect(tool.kind == .tool)
        #expect(tool.status == .error && tool.statusMessage == "order service timed out")
        #expect(tool.events.first?.name == "exception")
    }

    @Test func invalidSpansAreRejectedWithReasons() throws {
        var t = try OTLPProtobuf.decode(try fixture("traces.pb"))
        t.resources[0].scopes[0].spans[0].traceID = []
        t.resources[0].scopes[0].spans[1].spanID = [0, 0, 0, 0, 0, 0, 0, 0]
        t.resources[0].scopes[0].spans[2].endNanos = 1
        t.resources[0].scopes[0].spans[3].attributes.append(.init("huge", .string(String(repeating: "x", count: 10 << 20))))
        let (spans, rejected) = mapAll(t)
        #expect(spans.count == 3)
        #expect(rejected.count == 4)
        #expect(rejected[0].contains("trace_id"))
        #expect(rejected[1].contains("span_id"))
        #expect(rejected[2].contains("before the start"))
        #expect(rejected[3].contains("'huge'"))
    }

    /// Every prefix of a valid message either decodes (a shorter message is valid protobuf when the
    /// cut falls between fields) or throws; none crashes. Byte flips likewise.
    @Test func truncatedAndCorruptedProtobufNeverCrash() throws {
        let pb = try fixture("traces.pb")
        var errors = 0
        for cut in 0..<pb.count {
            do { _ = try OTLPProtobuf.decode(Array(pb[..<cut])) } catch { errors += 1 }
        }
        #expect(errors > pb.count / 2)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var b = pb
            for _ in 0..<3 { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = try? OTLPProtobuf.decode(b)
        }
    }

    /// A span naming a tool is a tool span (unless a kind convention says otherwise); a model alone
    /// in `llm.invocation_parameters` is found and priced.
    @Test func toolSpansAndModelsFromInvocationParameters() throws {
        var tool = Span(traceID: TraceID(hi: 1, lo: 2), spanID: SpanID(3), name: "get_weather", startNanos: 10, endNanos: 20)
        tool.attributes = [Attribute("gen_ai.tool.name", .string("get_weather"))]
        var tool2 = Span(traceID: TraceID(hi: 1, lo: 2), spanID: SpanID(4), name: "lookup", startNanos: 10, endNanos: 20)
        tool2.attributes = [Attribute("tool.name", .string("lookup"))]
        var llm = Span(traceID: TraceID(hi: 1, lo: 2), spanID: SpanID(5), name: "ChatCompletion", startNanos: 10, endNanos: 20)
        llm.attributes = [Attribute("openinference.span.kind", .string("LLM")), Attribute("llm.invocation_parameters", .string(#"{"model": "gpt-4o", "temperature": 0.5}"#)),
                          Attribute("llm.token_count.prompt", .int(1000)), Attribute("llm.token_count.completion", .int(100))]
        let (spans, rejected) = try Ingest().spans(protobuf: OTLPEncoder.encode([tool, tool2, llm]).bytes)
        #expect(rejected.isEmpty)
        #expect(spans.map(\.kind) == [.tool, .tool, .llm])
        #expect(spans[2].requestModel == "gpt-4o" && spans[2].temperature == 0.5)
        #expect(abs((spans[2].costUSD ?? 0) - (1000 * 2.5e-6 + 100 * 10e-6)) < 1e-12)
    }

    /// Indexed messages and documents group by their number, in numeric order (10 after 2), in
    /// whatever order the attributes came; a part sent twice keeps the later value; the first
    /// output message with a finish reason gives the span's; a side one rule filled is not filled
    /// again by a later rule, whose attributes stay; tool calls order by their own number.
    @Test func indexedMessagesGroupByNumberInAnyAttributeOrder() throws {
        var s = Span(traceID: TraceID(hi: 1, lo: 2), spanID: SpanID(3), name: "chat", startNanos: 10, endNanos: 20)
        s.attributes = [
            Attribute("gen_ai.prompt.10.content", .string("tenth")),
            Attribute("gen_ai.prompt.2.role", .string("system")),
            Attribute("gen_ai.prompt.10.role", .string("user")),
            Attribute("gen_ai.prompt.2.content", .string("first draft")),
            Attribute("gen_ai.prompt.2.content", .string("second")),
            Attribute("gen_ai.completion.1.content", .string("done")),
            Attribute("gen_ai.completion.0.content", .string("calling")),
            Attribute("gen_ai.completion.1.finish_reason", .string("stop")),
            Attribute("gen_ai.completion.0.tool_calls.1.name", .string("b")),
            Attribute("gen_ai.completion.0.tool_calls.0.name", .string("a")),
            Attribute("gen_ai.completion.0.tool_calls.0.arguments", .string("{}")),
            Attribute("llm.input_messages.0.message.content", .string("other convention")),
            Attribute("retrieval.documents.3.document.content", .string("doc three")),
            Attribute("retrieval.documents.1.document.score", .double(0.5)),
            Attribute("retrieval.documents.1.document.content", .string("doc one")),
            Attribute("retrieval.documents.3.document.id", .string("d3")),
        ]
        let (spans, rejected) = try Ingest().spans(protobuf: OTLPEncoder.encode([s]).bytes)
        #expect(rejected.isEmpty)
        let got = try #require(spans.first)
        #expect(got.inputMessages == [Message(role: "system", content: "second"), Message(role: "user", content: "tenth")])
        #expect(got.outputMessages == [
            Message(role: "assistant", content: "calling", toolCalls: [ToolCall(name: "a", arguments: "{}"), ToolCall(name: "b", arguments: "")]),
            Message(role: "assistant", content: "done"),
        ])
        #expect(got.finishReason == "stop")
        #expect(got.documents == [RetrievedDocument(content: "doc one", score: 0.5), RetrievedDocument(id: "d3", content: "doc three")])
        #expect(got.attributes.map(\.key).filter { !$0.hasPrefix("resource.") && $0 != "otel.scope.name" } == ["llm.input_messages.0.message.content"])
    }

    /// A time to first token too large for nanoseconds, or not a number, is not a duration: the
    /// attribute is kept as sent and the span stored (converting it once stopped the collector);
    /// one in range arrives to the nanosecond. An infinite one is refused with the attribute's
    /// name, as any non-finite attribute is (JSON cannot spell it: stored, it read back as null
    /// and the span's JSON no longer imported).
    @Test func outOfRangeTimeToFirstTokenIsKeptNotConverted() throws {
        var spans: [Span] = []
        for (key, value) in [("gen_ai.response.time_to_first_token", AttributeValue.double(1e300)),
                             ("llmtrace.time_to_first_token_ms", .string("nan")),
                             ("llmtrace.time_to_first_token_ms", .double(420.123457))] {
            var s = Span(traceID: TraceID(hi: 1, lo: 2), spanID: SpanID(3), name: "op", startNanos: 10, endNanos: 20)
            s.attributes = [Attribute(key, value)]
            let (got, rejected) = try Ingest().spans(protobuf: OTLPEncoder.encode([s]).bytes)
            #expect(rejected.isEmpty)
            spans += got
        }
        #expect(spans.count == 3)
        for (s, key) in zip(spans, ["gen_ai.response.time_to_first_token", "llmtrace.time_to_first_token_ms"]) {
            #expect(s.timeToFirstTokenNanos == nil && s.attributes.first?.key == key)
        }
        #expect(spans[2].timeToFirstTokenNanos == 420_123_457)
        var inf = Span(traceID: TraceID(hi: 1, lo: 2), spanID: SpanID(3), name: "op", startNanos: 10, endNanos: 20)
        inf.attributes = [Attribute("llmtrace.time_to_first_token_ms", .double(-.infinity))]
        let (none, rejected) = try Ingest().spans(protobuf: OTLPEncoder.encode([inf]).bytes)
        #expect(none.isEmpty && rejected.first?.reason.contains("llmtrace.time_to_first_token_ms") == true)
    }

    /// Empty and repeated keys, in span, event and resource attributes, through the request's key table.
    @Test func emptyAndRepeatedAttributeKeys() throws {
        var s = Span(traceID: TraceID(hi: 1, lo: 2), spanID: SpanID(3), name: "op", startNanos: 10, endNanos: 20)
        s.attributes = [Attribute("", .string("a")), Attribute("", .string("b")), Attribute("k", .int(1)), Attribute("k", .int(2))]
        s.events = [SpanEvent(name: "e", timeNanos: 15, attributes: [Attribute("", .bool(true)), Attribute("k", .double(0.5))])]
        let (spans, rejected) = try Ingest().spans(protobuf: OTLPEncoder.encode([s]).bytes)
        #expect(rejected.isEmpty)
        let got = try #require(spans.first)
        #expect(Array(got.attributes.prefix(4)) == s.attributes)
        #expect(got.events == s.events)
    }

    /// An OTLP request as a proto3 encoder writes it when a key is empty: the KeyValue has no key
    /// field at all. In span, event, resource and kvlist attributes; once this stopped the collector.
    static func requestWithKeylessAttributes() -> [UInt8] {
        func keyless(_ v: String) -> (inout ProtoWriter) -> Void { { kv in kv.messageField(2) { $0.stringField(1, v) } } }
        var w = ProtoWriter()
        w.messageField(1) { rs in
            rs.messageField(1) { res in res.messageField(1, keyless("r")) }
            rs.messageField(2) { ss in
                ss.messageField(2) { sp in
                    sp.bytesField(1, [UInt8](repeating: 7, count: 16))
                    sp.bytesField(2, [UInt8](repeating: 9, count: 8))
                    sp.fixed64Field(7, 1_700_000_000_000_000_000)
                    sp.fixed64Field(8, 1_700_000_001_000_000_000)
                    sp.messageField(9, keyless("a"))
                    sp.messageField(9) { kv in kv.messageField(2) { v in v.messageField(6) { kvl in kvl.messageField(1, keyless("nested")) } } }
                    sp.messageField(11) { ev in ev.fixed64Field(1, 1_700_000_000_500_000_000); ev.messageField(3, keyless("e")) }
                }
            }
        }
        return w.bytes
    }

    @Test func attributesWithoutAKeyFieldHaveTheEmptyKey() throws {
        let (spans, rejected) = try Ingest().spans(protobuf: Self.requestWithKeylessAttributes())
        #expect(rejected.isEmpty)
        let s = try #require(spans.first)
        #expect(s.attributes.contains { $0.key == "" && $0.value == .string("a") })
        #expect(s.attributes.contains { $0.key == "" && $0.value == .string(#"{"":"nested"}"#) })
        #expect(s.attributes.contains { $0.key == "resource." && $0.value == .string("r") })
        #expect(s.events.first?.attributes == [Attribute("", .string("e"))])
    }

    /// An empty project attribute (or one whose value has no known type, which decodes as "") is no
    /// project: the span goes to the default one. It was stored with an empty project, which the
    /// native API refuses (found by the OTLP/JSON fuzzer's round trip).
    @Test func anEmptyProjectAttributeIsNoProject() throws {
        let body = #"{"resourceSpans":[{"resource":{"attributes":[{"key":"llmtrace.project","value":{"stringValue":""}}]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"a","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"llmtrace.project","value":{"stringVxlue":"chat"}}]}]}]}]}"#
        let (spans, rejected) = try Ingest().spans(json: Array(body.utf8))
        #expect(rejected.isEmpty)
        let s = try #require(spans.first)
        #expect(s.project == Span.defaultProject)
        #expect(try Span.decodeJSON(s.jsonBytes()) == s)
    }

    @Test func responsesEncodePartialSuccess() throws {
        #expect(OTLPProtobuf.response(rejected: 0, message: "").isEmpty)
        let b = OTLPProtobuf.response(rejected: 2, message: "bad")
        // field 1 (partial_success) { field 1 varint 2, field 2 "bad" }
        #expect(b == [0x0A, 7, 0x08, 2, 0x12, 3, 0x62, 0x61, 0x64])
        let j = try JSONValue.parse(OTLPJSON.response(rejected: 2, message: "bad"))
        #expect(j["partialSuccess"]?["rejectedSpans"]?.string == "2")
        #expect(j["partialSuccess"]?["errorMessage"]?.string == "bad")
    }

    @Test func pricingMatchesDatedAndPrefixedModels() {
        let p = Pricing.builtIn()
        #expect(p.price(for: "gpt-4o-2024-08-06") == p.price(for: "gpt-4o"))
        #expect(p.price(for: "gpt-4o-mini-2024-07-18") == p.price(for: "gpt-4o-mini"))
        #expect(p.price(for: "claude-3-5-sonnet-20241022") == p.price(for: "claude-3-5-sonnet"))
        #expect(p.price(for: "openai/GPT-4o") == p.price(for: "gpt-4o"))
        #expect(p.price(for: "gpt-4o-mini") != p.price(for: "gpt-4o"))
        #expect(p.price(for: "gpt-4o-turbo-special") == nil)
        #expect(p.price(for: "no-such-model") == nil)
        #expect(p.cost(model: "gpt-4o", input: nil, output: nil, cached: nil) == nil)
    }

    @Test func builtInSchemasAreTheFilesInSchemas() throws {
        let conv = try String(contentsOfFile: repoRoot + "/schemas/conventions.json", encoding: .utf8)
        let price = try String(contentsOfFile: repoRoot + "/schemas/pricing.json", encoding: .utf8)
        #expect(DefaultSchemas.conventions + "\n" == conv)
        #expect(DefaultSchemas.pricing + "\n" == price)
    }

    @Test func conventionsFileErrorsAreClear() {
        // Every span field has exactly one name in conventions.json.
        #expect(Conventions.Field.names.count == Conventions.Field.allCases.count)
        #expect(Set(Conventions.Field.names).count == Conventions.Field.names.count)
        #expect(throws: ConfigError.self) { try Conventions(json: Array(#"{"fields": {"no_such_field": ["x"]}}"#.utf8)) }
        #expect(throws: ConfigError.self) { try Conventions(json: Array(#"{"kind": {"attributes": [{"key": "k", "values": {"A": "bogus"}}]}}"#.utf8)) }
        #expect(throws: ConfigError.self) { try Conventions(json: Array("not json".utf8)) }
    }
}
