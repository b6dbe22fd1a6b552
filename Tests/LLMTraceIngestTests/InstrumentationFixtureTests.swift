import Foundation
import Testing
import LLMTraceModel
@testable import LLMTraceIngest
@testable import LLMTraceOTLP

/// What four real instrumentation libraries export for the same OpenAI calls, mapped field by
/// field. The fixtures are OTLP protobuf exports captured by
/// `Tests/integration/capture_instrumentation.py` (the libraries instrumenting the real `openai`
/// client against a local OpenAI-compatible mock); the values asserted are the mock's answers.
@Suite struct InstrumentationFixtureTests {
    static let libraries = ["openllmetry", "openllmetry054", "openinference", "otel_v2"]

    /// The mock's answers (capture_instrumentation.py).
    static let responseModel = "gpt-4o-mini-2024-07-18"
    static let chatCost = 23 * 0.15e-6 + 7 * 0.60e-6  // gpt-4o-mini list price
    static let embedModel = "text-embedding-3-small"

    func spans(_ lib: String, _ scenario: String) throws -> [Span] {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "\(repoRoot)/Tests/Fixtures/instrumentation/\(lib)/\(scenario).pb")))
        let (spans, rejected) = try Ingest().spans(protobuf: bytes)
        #expect(rejected.isEmpty, "\(lib)/\(scenario): \(rejected)")
        return spans
    }

    func model(_ s: Span) -> String? { s.responseModel ?? s.requestModel }

    func close(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) <= 1e-12 } ?? false }

    @Test(arguments: libraries) func chat(_ lib: String) throws {
        let s = try #require(try spans(lib, "chat").first)
        #expect(s.kind == .llm)
        #expect(s.service == "support-bot")
        #expect(model(s) == Self.responseModel, "\(lib)")
        #expect(s.inputTokens == 23 && s.outputTokens == 7, "\(lib)")
        #expect(close(s.costUSD, Self.chatCost), "\(lib): cost \(String(describing: s.costUSD))")
        #expect(s.finishReason == "length", "\(lib): the mock cut the answer at max_tokens")
        #expect(s.maxTokens == 7 && s.temperature == 0.2, "\(lib)")
        #expect(s.inputMessages.map(\.role) == ["system", "user"], "\(lib)")
        #expect(s.inputMessages.last?.content == "How long do I have to return an item?", "\(lib)")
        #expect(s.outputMessages.map(\.content) == ["Refunds are accepted within"], "\(lib)")
        #expect(s.outputMessages.first?.role == "assistant")
        #expect(s.timeToFirstTokenNanos == nil, "\(lib): not streamed")
    }

    /// Every library marks the first streamed chunk its own way; the mock waits 120 ms before it.
    @Test(arguments: libraries) func streamingTimeToFirstToken(_ lib: String) throws {
        for scenario in ["stream", "stream_usage"] {
            let s = try #require(try spans(lib, scenario).first)
            #expect(model(s) == Self.responseModel, "\(lib)/\(scenario)")
            #expect(s.outputMessages.map(\.content) == ["Refunds are accepted within 30 days."], "\(lib)/\(scenario)")
            #expect(s.finishReason == "stop", "\(lib)/\(scenario)")
            if lib == "otel_v2" {
                // opentelemetry-instrumentation-openai-v2 2.4b0 records no first-chunk event or
                // attribute (later util-genai releases write gen_ai.response.time_to_first_chunk,
                // which the conventions map).
                #expect(s.timeToFirstTokenNanos == nil)
            } else {
                let ttft = try #require(s.timeToFirstTokenNanos, "\(lib)/\(scenario): no TTFT")
                #expect(ttft >= 100_000_000 && ttft < s.durationNanos, "\(lib)/\(scenario): TTFT \(ttft) ns of \(s.durationNanos)")
            }
            if scenario == "stream_usage" {
                #expect(s.inputTokens == 23 && s.outputTokens == 7, "\(lib)/\(scenario)")
                #expect(close(s.costUSD, Self.chatCost), "\(lib)/\(scenario)")
            }
        }
    }

    @Test(arguments: libraries) func toolCallsAndTheirAnswers(_ lib: String) throws {
        let both = try spans(lib, "tools").sorted { $0.startNanos < $1.startNanos }
        try #require(both.count == 2)
        let (ask, answer) = (both[0], both[1])
        // The first turn only calls the tool: shown as the call, not as JSON text.
        #expect(ask.finishReason == (lib == "openllmetry" ? "tool_call" : "tool_calls"), "\(lib)")
        let out = try #require(ask.outputMessages.first, "\(lib)")
        #expect(out.role == "assistant" && out.content.isEmpty, "\(lib): \(out.content)")
        let call = try #require(out.toolCalls.first, "\(lib): no tool call")
        #expect(out.toolCalls.count == 1)
        #expect(call.id == "call_weather_1" && call.name == "get_weather", "\(lib): \(call)")
        let args = try JSONSerialization.jsonObject(with: Data(call.arguments.utf8)) as? [String: String]
        #expect(args == ["city": "Paris"], "\(lib): arguments \(call.arguments)")
        #expect(ask.inputTokens == 23 && close(ask.costUSD, Self.chatCost), "\(lib)")

        // The second turn sends the call and the tool's answer back.
        #expect(answer.finishReason == "stop")
        #expect(answer.inputMessages.map(\.role) == ["user", "assistant", "tool"], "\(lib): \(answer.inputMessages.map(\.role))")
        if answer.inputMessages.count == 3 {
            #expect(answer.inputMessages[1].toolCalls.map(\.name) == ["get_weather"], "\(lib)")
            #expect(answer.inputMessages[2].toolCallID == "call_weather_1", "\(lib)")
            #expect(answer.inputMessages[2].content.contains("\"temp_c\": 18"), "\(lib): \(answer.inputMessages[2].content)")
        }
        #expect(answer.outputMessages.map(\.content) == ["It is 18 degrees and sunny in Paris."], "\(lib)")
    }

    @Test(arguments: libraries) func embeddings(_ lib: String) throws {
        let s = try #require(try spans(lib, "embeddings").first)
        #expect(s.kind == .embedding, "\(lib)")
        #expect(model(s) == Self.embedModel, "\(lib)")
        #expect(s.inputTokens == 5, "\(lib)")
        #expect(close(s.costUSD, 5 * 0.02e-6), "\(lib): cost \(String(describing: s.costUSD))")
        if lib != "otel_v2" {  // otel_v2 captures no embedding input
            #expect(s.inputMessages.map(\.content) == ["refund policy for damaged items"], "\(lib)")
        }
        // Vectors are never message content.
        #expect(s.outputMessages.isEmpty, "\(lib): \(s.outputMessages)")
        #expect(!(s.inputMessages + s.outputMessages).contains { $0.content.contains("0.125") }, "\(lib)")
    }

    @Test(arguments: libraries) func errorReply(_ lib: String) throws {
        let s = try #require(try spans(lib, "error").first)
        #expect(s.status == .error, "\(lib)")
        #expect(s.statusMessage?.contains("does not exist") == true, "\(lib): \(String(describing: s.statusMessage))")
        // OpenInference names the model only inside llm.invocation_parameters.
        #expect(s.requestModel == "no-such-model", "\(lib)")
        #expect(s.kind == .llm)
        #expect(s.costUSD == nil && s.outputTokens == nil)
    }

    /// OpenInference sends temperature and max_tokens only inside llm.invocation_parameters; the
    /// attribute itself is kept as sent.
    @Test func invocationParametersFillTheRequestFields() throws {
        let s = try #require(try spans("openinference", "chat").first)
        #expect(s.temperature == 0.2 && s.maxTokens == 7)
        #expect(s.attribute("llm.invocation_parameters")?.stringValue?.contains("\"max_tokens\": 7") == true)
        #expect(s.attribute("gen_ai.request.temperature") == nil && s.attribute("llm.temperature") == nil)
    }
}
