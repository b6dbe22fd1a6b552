import LLMTraceModel

/// Hand-made spans for tests: every field set, so round trips check everything.
public enum SampleSpans {
    /// A span with every field set, unique by `n` in trace id, span id, start and user message.
    public static func full(_ n: UInt64 = 1) -> Span {
        var s = Span(traceID: TraceID(hi: 0x0123_4567_89ab_cdef, lo: n), spanID: SpanID(0x1122_3344_0000_0000 | n),
                     parentSpanID: SpanID(0x99aa_bbcc_ddee_ff00), project: "proj-a", service: "chat-api", name: "chat gpt-4o",
                     kind: .llm, startNanos: 1_767_225_600_123_456_789 + Int64(n), endNanos: 1_767_225_601_987_654_321, status: .error,
                     statusMessage: "rate limited: \"slow down\"")
        s.provider = "openai"
        s.requestModel = "gpt-4o"
        s.responseModel = "gpt-4o-2024-08-06"
        s.inputTokens = 1200
        s.outputTokens = 345
        s.cachedTokens = 0
        s.reasoningTokens = 17
        s.costUSD = 0.006_45
        s.timeToFirstTokenNanos = 412_000_000
        s.temperature = 0.7
        s.maxTokens = 2048
        s.topP = 0.95
        s.finishReason = "length"
        s.inputMessages = [Message(role: "system", content: "You are helpful.\nBe brief."), Message(role: "user", content: "Où est la gare? 🚉 \(n)"),
                           Message(role: "assistant", content: "", toolCalls: [ToolCall(id: "call_1", name: "find_station", arguments: "{\"city\": \"Paris\"}")]),
                           Message(role: "tool", content: "{\"station\": \"Gare du Nord\"}", toolCallID: "call_1")]
        s.outputMessages = [Message(role: "assistant", content: "Tout droit.",
                                    toolCalls: [ToolCall(name: "show_map", arguments: ""), ToolCall(id: "c2", name: "route", arguments: "{}")])]
        s.documents = [RetrievedDocument(id: "doc-1", content: "Stations are…", score: 0.91), RetrievedDocument(content: "no id or score")]
        s.promptName = "answer"
        s.promptVersion = "v3"
        s.sessionID = "sess-1"
        s.userID = "user-9"
        s.environment = "production"
        s.tags = ["beta", "eu"]
        s.attributes = [Attribute("s", .string("x")), Attribute("i", .int(-5)), Attribute("d", .double(2.5)), Attribute("b", .bool(true)),
                        Attribute("arr", .array([.string("a"), .string("b")])), Attribute("ints", .array([.int(1), .int(2)]))]
        s.events = [SpanEvent(name: "gen_ai.first_token", timeNanos: 1_767_225_600_535_456_789, attributes: [Attribute("k", .bool(false))]),
                    SpanEvent(name: "exception", timeNanos: 1_767_225_601_000_000_000)]
        return s
    }
}
