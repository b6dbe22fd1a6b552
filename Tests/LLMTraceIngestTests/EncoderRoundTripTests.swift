import Foundation
import Testing
import LLMTraceModel
import LLMTraceOTLP
import LLMTraceIngest

/// What the Swift SDK and the bench send (OTLPEncoder) comes back from the collector's mapping as
/// the span that was encoded: every field, under the GenAI and OpenInference names.
@Suite struct EncoderRoundTripTests {
    static func full(kind: SpanKind, project: String, n: UInt64) -> Span {
        var s = Span(traceID: TraceID(hi: 0xabc, lo: n), spanID: SpanID(n), parentSpanID: SpanID(n + 100), project: project,
                     service: "svc-\(n % 2)", name: "op \(kind)", kind: kind, startNanos: 1_767_225_600_000_000_000 + Int64(n),
                     endNanos: 1_767_225_601_234_567_891 + Int64(n))
        s.status = n % 2 == 0 ? .error : .ok
        s.statusMessage = n % 2 == 0 ? "upstream 503" : nil
        s.environment = "prod"
        s.tags = ["a", "b c"]
        s.attributes = [Attribute("http.route", .string("/chat")), Attribute("retries", .int(2)), Attribute("ratio", .double(0.25)),
                        Attribute("flag", .bool(true)), Attribute("list", .array([.string("x"), .int(1)]))]
        s.events = [SpanEvent(name: "note", timeNanos: s.startNanos + 5, attributes: [Attribute("k", .string("v"))])]
        s.sessionID = "sess-1"
        s.userID = "user-\u{e9}"   // kept as sent, not normalised
        if kind == .llm || kind == .embedding {
            s.provider = "openai"
            s.requestModel = "gpt-4o-mini"
            s.responseModel = "gpt-4o-mini-2024-07-18"
            s.inputTokens = 1200; s.outputTokens = 80; s.cachedTokens = 1000; s.reasoningTokens = 16
            s.costUSD = 0.000123
            s.temperature = 0.2; s.maxTokens = 512; s.topP = 0.9
            s.promptName = "support-answer"; s.promptVersion = "7"
        }
        if kind == .llm {
            s.timeToFirstTokenNanos = 420_123_457
            s.finishReason = "tool_calls"
            s.inputMessages = [Message(role: "system", content: "Be brief."), Message(role: "user", content: "Refund?"),
                               Message(role: "tool", content: "{\"ok\":true}", toolCallID: "call_1")]
            s.outputMessages = [Message(role: "assistant", content: "", toolCalls: [ToolCall(id: "call_2", name: "lookup_order", arguments: "{\"id\":42}"),
                                                                                    ToolCall(name: "noid", arguments: "")])]
        }
        if kind == .retrieval {
            s.documents = [RetrievedDocument(id: "kb-1", content: "Refunds within 30 days.", score: 0.91), RetrievedDocument(content: "no id")]
        }
        return s
    }

    @Test(arguments: [SpanKind.llm, .embedding, .retrieval, .tool, .agent, .chain, .guardrail, .cache, .other])
    func everyFieldComesBack(kind: SpanKind) throws {
        let sent = [Self.full(kind: kind, project: "default", n: 2), Self.full(kind: kind, project: "team-b", n: 3)]
        let (got, rejected) = try Ingest().spans(protobuf: OTLPEncoder.encode(sent, sdk: .init(name: "llmtrace-swift", version: "0.1.0")).bytes)
        #expect(rejected.isEmpty)
        try #require(got.count == sent.count)
        let kindKeys: Set = ["openinference.span.kind", "gen_ai.operation.name", "llmtrace.kind"]
        for (var g, s) in zip(got, sent) {
            // What the mapping adds about the request's origin, the kind attributes (kept as sent),
            // and the cost it would compute.
            #expect(g.attributes.contains(Attribute("resource.telemetry.sdk.name", .string("llmtrace-swift"))))
            g.attributes.removeAll { $0.key.hasPrefix("resource.") || $0.key.hasPrefix("otel.scope.") || kindKeys.contains($0.key) }
            if s.costUSD == nil { g.costUSD = nil }
            #expect(g == s)
        }
    }

    /// The offsets a load generator rewrites point at each span's trace id, short and long spans
    /// alike (a span body of 128 bytes or more has a longer length prefix).
    @Test func traceIDOffsetsPointAtTheIDs() {
        var spans: [Span] = []
        for (i, kind) in [SpanKind.llm, .other, .retrieval, .cache].enumerated() {
            spans.append(Self.full(kind: kind, project: i % 2 == 0 ? "default" : "p", n: UInt64(i)))
            spans.append(Span(traceID: TraceID(hi: 7, lo: UInt64(i)), spanID: SpanID(1), name: "s", startNanos: 1, endNanos: 2))
        }
        let (bytes, offsets) = OTLPEncoder.encode(spans)
        #expect(Set(offsets.map { Array(bytes[$0..<($0 + 16)]) }) == Set(spans.map(\.traceID.bytes)))
        #expect(offsets.count == spans.count)
    }
}
