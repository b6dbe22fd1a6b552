import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import LLMTrace

/// The OpenAI-compatible instrumentation: the three operations read from their JSON, whole and
/// streamed, and a real URLSession call through the protocol to a loopback server.
@Suite(.serialized) struct OpenAIInstrumentationTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func operationsFromPaths() {
        #expect(OpenAICall.operation(path: "/v1/chat/completions") == .chat)
        #expect(OpenAICall.operation(path: "/openai/deployments/prod-gpt4o/chat/completions") == .chat)
        #expect(OpenAICall.azureDeployment(path: "/openai/deployments/prod-gpt4o/chat/completions") == "prod-gpt4o")
        #expect(OpenAICall.operation(path: "/v1/responses") == .responses)
        #expect(OpenAICall.operation(path: "/v1/embeddings/") == .embeddings)
        #expect(OpenAICall.operation(path: "/v1/models") == nil)
        #expect(OpenAICall.provider(host: "api.openai.com") == "openai")
        #expect(OpenAICall.provider(host: "myres.openai.azure.com") == "azure.ai.openai")
        #expect(OpenAICall.provider(host: "127.0.0.1") == "openai_compatible")
    }

    @Test func chatWholeWithToolCallsAndUsage() {
        var c = OpenAICall(operation: .chat, path: "/v1/chat/completions", body: Self.bytes(#"""
            {"model":"gpt-4o","temperature":0.3,"max_completion_tokens":99,"top_p":0.5,
             "messages":[{"role":"system","content":"Be brief."},
                         {"role":"user","content":[{"type":"text","text":"Where is"},{"type":"text","text":"#42?"}]},
                         {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"lookup","arguments":"{\"id\":42}"}}]},
                         {"role":"tool","tool_call_id":"c1","content":"shipped"}]}
            """#))
        #expect(c.requestModel == "gpt-4o" && c.temperature == 0.3 && c.maxTokens == 99 && c.topP == 0.5 && !c.stream)
        #expect(c.input.map(\.role) == ["system", "user", "assistant", "tool"])
        #expect(c.input[1].content == "Where is\n#42?")
        #expect(c.input[2].toolCalls == [ToolCall(id: "c1", name: "lookup", arguments: #"{"id":42}"#)])
        #expect(c.input[3].toolCallID == "c1")
        c.readResponse(status: 200, body: Self.bytes(#"""
            {"id":"chatcmpl-1","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"It shipped."},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":50,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":32},"completion_tokens_details":{"reasoning_tokens":2}}}
            """#))
        #expect(c.responseModel == "gpt-4o-2024-08-06" && c.responseID == "chatcmpl-1" && c.finishReason == "stop")
        #expect(c.output == [Message(role: "assistant", content: "It shipped.")])
        #expect(c.inputTokens == 50 && c.outputTokens == 4 && c.cachedTokens == 32 && c.reasoningTokens == 2)
        #expect(c.errorMessage == nil)
    }

    /// Events split anywhere (even inside a line), CRLF or LF, content and tool-call fragments,
    /// the usage chunk; the first piece with content is the first token.
    @Test func chatStreamAcrossArbitrarySplits() {
        let stream = "data: {\"id\":\"c\",\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r\n\r\n"
            + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
            + ": keep-alive comment\n\n"
            + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n"
            + "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t1\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n"
            + "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]}}]}\n\n"
            + "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}\n\n"
            + "data: [DONE]\n\n"
        let all = Self.bytes(stream)
        for split in [1, 2, 7, 64, all.count] {
            var c = OpenAICall(operation: .chat, path: "/v1/chat/completions", body: Self.bytes(#"{"model":"m","stream":true,"messages":[]}"#))
            #expect(c.stream)
            var firsts: [Int] = []
            var i = 0
            while i < all.count {
                if c.readStream(all[i..<min(all.count, i + split)]) { firsts.append(i) }
                i += split
            }
            c.finishStream()
            #expect(firsts.count == 1, "split \(split)")
            #expect(c.output == [Message(role: "assistant", content: "Hello", toolCalls: [ToolCall(id: "t1", name: "f", arguments: #"{"a":1}"#)])], "split \(split)")
            #expect(c.finishReason == "tool_calls" && c.inputTokens == 7 && c.outputTokens == 3 && c.responseModel == "m-1")
        }
    }

    @Test func responsesAndEmbeddingsAndErrors() {
        var r = OpenAICall(operation: .responses, path: "/v1/responses", body: Self.bytes(#"{"model":"o4-mini","instructions":"Be kind.","input":"Hi","max_output_tokens":20}"#))
        #expect(r.input == [Message(role: "system", content: "Be kind."), Message(role: "user", content: "Hi")] && r.maxTokens == 20)
        r.readResponse(status: 200, body: Self.bytes(#"""
            {"id":"resp_1","model":"o4-mini-2025","status":"completed","output":[{"type":"reasoning"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello!"}]}],
             "usage":{"input_tokens":9,"output_tokens":30,"output_tokens_details":{"reasoning_tokens":24}}}
            """#))
        #expect(r.output == [Message(role: "assistant", content: "Hello!")] && r.finishReason == "stop" && r.reasoningTokens == 24)

        var e = OpenAICall(operation: .embeddings, path: "/v1/embeddings", body: Self.bytes(#"{"model":"text-embedding-3-small","input":["a b","c"]}"#))
        #expect(e.input.map(\.content) == ["a b", "c"])
        e.readResponse(status: 200, body: Self.bytes(#"{"data":[],"usage":{"prompt_tokens":3,"total_tokens":3}}"#))
        #expect(e.inputTokens == 3 && e.output.isEmpty)

        var bad = OpenAICall(operation: .chat, path: "/v1/chat/completions", body: Self.bytes("not json"))
        #expect(bad.requestModel == nil && bad.input.isEmpty)
        bad.readResponse(status: 429, body: Self.bytes(#"{"error":{"message":"Rate limit reached","type":"rate_limit_error"}}"#))
        #expect(bad.errorMessage == "Rate limit reached")
        var html = OpenAICall(operation: .chat, path: "/v1/chat/completions", body: [])
        html.readResponse(status: 502, body: Self.bytes("<html>bad gateway</html>"))
        #expect(html.errorMessage == "HTTP 502")
    }
}

/// In SDKTests' serialized suite: it bootstraps the process-wide SDK.
extension SDKTests {
    /// A real URLSession call through the protocol: the caller gets the server's bytes unchanged,
    /// the span is the current span's child, and the request left with its traceparent.
    @Test func aSessionCallBecomesAChildSpan() async throws {
        let sse = "data: {\"model\":\"m-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
        let server = ScriptedServer([
            .send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: \(sse.utf8.count)\r\n\r\n" + sse),
            .send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"),
        ])
        defer { server.stop() }
        let e = SDKTests.bootstrap()
        defer { LLMTrace.shutdown() }
        let config = URLSessionConfiguration.ephemeral
        LLMTrace.instrumentOpenAI(config)
        LLMTrace.instrumentOpenAI(config)   // twice is once
        #expect(config.protocolClasses?.filter { $0 == OpenAIURLProtocol.self }.count == 1)
        let session = URLSession(configuration: config)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)/v1/chat/completions")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"model":"m","stream":true,"messages":[{"role":"user","content":"Hello?"}]}"#.utf8)
        let parent = try await LLMTrace.withSpan("handler", ofKind: .agent) { span in
            let (data, response) = try await session.data(for: request)
            #expect(String(decoding: data, as: UTF8.self) == sse && (response as? HTTPURLResponse)?.statusCode == 200)
            // Not an OpenAI path: passed through, not traced.
            var other = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)/v1/models")!)
            other.httpMethod = "POST"
            other.httpBody = Data("{}".utf8)
            _ = try await session.data(for: other)
            return span.context
        }
        #expect(LLMTrace.forceFlush(timeoutSeconds: 5))
        let chat = try #require(e.spans.first { $0.kind == .llm })
        #expect(e.spans.count == 2)
        #expect(chat.traceID == parent.traceID && chat.parentSpanID == parent.spanID && chat.name == "chat m")
        #expect(chat.requestModel == "m" && chat.responseModel == "m-1" && chat.provider == "openai_compatible" && chat.finishReason == "stop")
        #expect(chat.inputMessages == [Message(role: "user", content: "Hello?")] && chat.outputMessages == [Message(role: "assistant", content: "Hi")])
        #expect(chat.timeToFirstTokenNanos != nil && chat.status == .unset)
        let got = server.received
        #expect(got.count == 2 && got[0].head.lowercased().contains("traceparent: 00-\(parent.traceID)-\(chat.spanID)-01\r\n"), "\(got.first?.head ?? "")")
        #expect(!got[1].head.lowercased().contains("traceparent"))
    }
}

/// The handoff from `canInit` (on the caller's task) to `startLoading` (elsewhere): two calls to the
/// same endpoint at once, started in one order and loaded in the other, each get their own
/// parent (a CI run of sdk_test.py saw a tool call's span filed under another trace when the
/// handoff went by URL alone).
@Suite struct OpenAIHandoffTests {
    @Test func concurrentCallsToOneEndpointKeepTheirParents() throws {
        let url = URL(string: "http://127.0.0.1:9/v1/chat/completions")!
        let a = SpanContext(traceID: TraceID(hi: 1, lo: 1), spanID: SpanID(11), sampled: true)
        let b = SpanContext(traceID: TraceID(hi: 2, lo: 2), spanID: SpanID(22), sampled: true)
        let bodyA = Array(#"{"model":"m","messages":[{"role":"user","content":"Where is order 1?"}]}"#.utf8)
        let bodyB = Array(#"{"model":"m","messages":[{"role":"user","content":"Refund policy?"}]}"#.utf8)
        OpenAIURLProtocol.remember(a, key: OpenAIURLProtocol.handoffKey(url, body: bodyA))
        OpenAIURLProtocol.remember(a, key: OpenAIURLProtocol.handoffKey(url, body: bodyA))   // canInit asked twice: one request
        OpenAIURLProtocol.remember(b, key: OpenAIURLProtocol.handoffKey(url, body: bodyB))
        #expect(OpenAIURLProtocol.takeContext(for: url, body: bodyB) == b)
        #expect(OpenAIURLProtocol.takeContext(for: url, body: bodyA) == a)
        #expect(OpenAIURLProtocol.takeContext(for: url, body: bodyA) == nil, "nothing left over")
        // A body canInit could not see (a stream) is kept by URL, and found by URL.
        OpenAIURLProtocol.remember(b, key: OpenAIURLProtocol.handoffKey(url, body: nil))
        #expect(OpenAIURLProtocol.takeContext(for: url, body: bodyA) == b)
    }
}
