import Foundation
import Testing
@testable import LLMTrace

/// The SDK with the in-memory exporter: spans parent across `await`, task groups and child tasks;
/// errors are recorded; sampling keeps whole traces and errors; a full queue drops the oldest and
/// never blocks the caller. Serialized: `LLMTrace` is process-wide, as in an application.
@Suite(.serialized) struct SDKTests {
    struct Failure: Error, CustomStringConvertible { var description: String { "the model is down" } }

    static func bootstrap(_ configure: (inout LLMTrace.Configuration) -> Void = { _ in }) -> InMemoryExporter {
        var c = LLMTrace.Configuration(serviceName: "sdk-test")
        c.scheduleDelaySeconds = 0.05
        configure(&c)
        let e = InMemoryExporter()
        LLMTrace.bootstrap(c, exporter: e)
        return e
    }

    @Test func nestedSpansParentAcrossAwaitAndChildTasks() async throws {
        let e = Self.bootstrap()
        defer { LLMTrace.shutdown() }
        let detached = try await LLMTrace.withSpan("request", ofKind: .agent) { root -> Task<Void, Never> in
            try await Task.sleep(nanoseconds: 1_000_000)
            LLMTrace.withSpan("retrieve", ofKind: .retrieval) { span in
                span.setDocuments([RetrievedDocument(id: "d1", content: "refunds take 5 days", score: 0.9)])
            }
            await withTaskGroup(of: Void.self) { group in
                for i in 0..<3 {
                    group.addTask {
                        await LLMTrace.withSpan("tool-\(i)", ofKind: .tool) { _ in try? await Task.sleep(nanoseconds: 100_000) }
                    }
                }
            }
            async let child: Void = LLMTrace.withSpan("chat", ofKind: .llm) { span in
                span.setModel("gpt-4o-mini", provider: "openai")
                span.markFirstToken()
                span.setUsage(inputTokens: 12, outputTokens: 3)
                span.setOutput([Message(role: "assistant", content: "Five days.")])
            }
            await child
            // A detached task does not inherit the span (it is not a child task).
            return Task.detached { LLMTrace.withSpan("background") { _ in } }
        }
        await detached.value
        #expect(LLMTrace.forceFlush(timeoutSeconds: 5))
        let spans = e.spans
        let root = try #require(spans.first { $0.name == "request" })
        #expect(root.isRoot && root.service == "sdk-test" && root.kind == .agent)
        for name in ["retrieve", "tool-0", "tool-1", "tool-2", "chat"] {
            let s = try #require(spans.first { $0.name == name }, "\(name) missing")
            #expect(s.traceID == root.traceID && s.parentSpanID == root.spanID, "\(name) is not the request's child")
            #expect(s.startNanos >= root.startNanos && s.endNanos <= root.endNanos)
        }
        let chat = spans.first { $0.name == "chat" }!
        #expect(chat.requestModel == "gpt-4o-mini" && chat.provider == "openai" && chat.inputTokens == 12 && chat.outputTokens == 3)
        #expect(chat.timeToFirstTokenNanos != nil && chat.outputMessages.first?.content == "Five days.")
        #expect(spans.first { $0.name == "retrieve" }?.documents.first?.score == 0.9)
        let background = try #require(spans.first { $0.name == "background" })
        #expect(background.isRoot && background.traceID != root.traceID)
        #expect(Set(spans.map(\.spanID)).count == spans.count)
    }

    @Test func aThrownErrorIsRecordedAndRethrown() throws {
        let e = Self.bootstrap()
        defer { LLMTrace.shutdown() }
        #expect(throws: Failure.self) {
            try LLMTrace.withSpan("chat", ofKind: .llm) { _ in throw Failure() }
        }
        LLMTrace.forceFlush(timeoutSeconds: 5)
        let s = try #require(e.spans.first)
        #expect(s.status == .error && s.statusMessage == "the model is down")
        #expect(s.events.first?.name == "exception")
        #expect(s.events.first?.attributes.contains { $0.key == "exception.message" && $0.value == .string("the model is down") } == true)
    }

    @Test func samplingKeepsWholeTracesAndErrors() {
        let e = Self.bootstrap { $0.samplingRatio = 0.25 }
        defer { LLMTrace.shutdown() }
        for i in 0..<400 {
            LLMTrace.withSpan("root") { root in
                LLMTrace.withSpan("child") { child in if i % 50 == 0 { child.setStatus(.error, message: "boom") } }
                _ = root
            }
        }
        LLMTrace.forceFlush(timeoutSeconds: 5)
        let roots = e.spans.filter(\.isRoot)
        #expect(roots.count > 50 && roots.count < 150, "\(roots.count) of 400 roots at 25%")
        let kept = Set(roots.map(\.traceID))
        let children = e.spans.filter { !$0.isRoot }
        // Every kept trace is whole; an unsampled trace sends only its errors.
        #expect(children.filter { kept.contains($0.traceID) }.count == kept.count)
        #expect(children.filter { !kept.contains($0.traceID) }.allSatisfy { $0.status == .error })
        #expect(children.filter { $0.status == .error }.count == 8)
    }

    @Test func aFullQueueDropsTheOldestAndNeverBlocks() {
        // An exporter that takes a second per batch: the caller must not notice.
        final class Slow: SpanExporter, @unchecked Sendable {
            let inner = InMemoryExporter()
            func export(_ spans: [SpanRecord]) -> Bool { Thread.sleep(forTimeInterval: 1); return inner.export(spans) }
        }
        let slow = Slow()
        var c = LLMTrace.Configuration(serviceName: "sdk-test")
        c.maxQueueSize = 100
        c.maxExportBatchSize = 50
        c.scheduleDelaySeconds = 0.01
        LLMTrace.bootstrap(c, exporter: slow)
        defer { LLMTrace.shutdown(timeoutSeconds: 10) }
        let t0 = Date()
        for i in 0..<10_000 { LLMTrace.withSpan("s\(i)") { _ in } }
        let seconds = Date().timeIntervalSince(t0)
        #expect(seconds < 1, "10,000 spans took \(seconds) s with a stalled exporter")
        #expect(LLMTrace.stats.dropped >= 9_800)
        #expect(LLMTrace.forceFlush(timeoutSeconds: 10))
        // The newest spans are the ones kept.
        #expect(slow.inner.spans.contains { $0.name == "s9999" })
        #expect(LLMTrace.stats.exported + LLMTrace.stats.dropped == 10_000)
    }

    @Test func beforeBootstrapSpansAreNoOps() {
        LLMTrace.shutdown()
        let final = LLMTrace.stats   // what the last processor did, kept after shutdown
        let v = LLMTrace.withSpan("nothing") { span -> Int in
            span.setModel("m")
            return 42
        }
        #expect(v == 42)
        #expect(LLMTrace.stats == final)
        // Nothing is built: every span is the same inert object, and no context is carried.
        let a = LLMTrace.startSpan("a"), b = LLMTrace.startSpan("b")
        #expect(a === b && a.context.traceID.isZero)
        LLMTrace.withSpan("outer") { _ in #expect(SpanContext.current == nil) }
        a.setModel("m"); a.end()
        #expect(a.snapshot.requestModel == nil)
        #expect(!LLMTrace.score("nothing", 1, context: SpanContext(traceID: TraceID(hi: 1, lo: 1), spanID: SpanID(1), sampled: true)))
    }

    @Test func traceparentRoundTrips() throws {
        let c = SpanContext(traceID: TraceID(hi: 0x4bf9_2f35_77b3_4da6, lo: 0xa3ce_929d_0e0e_4736), spanID: SpanID(0x00f0_67aa_0ba9_02b7), sampled: true)
        #expect(c.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        #expect(SpanContext(traceparent: c.traceparent) == c)
        #expect(SpanContext(traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01") == nil)
        #expect(SpanContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01") == nil)
        #expect(SpanContext(traceparent: "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == nil)
        #expect(SpanContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01") == nil)
        #expect(SpanContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")?.sampled == false)
        // A span opened under an extracted context joins the remote trace.
        let e = Self.bootstrap()
        defer { LLMTrace.shutdown() }
        LLMTrace.withSpan("handler", context: c) { _ in }
        LLMTrace.forceFlush(timeoutSeconds: 5)
        let s = try #require(e.spans.first)
        #expect(s.traceID == c.traceID && s.parentSpanID == c.spanID)
    }

    @Test func configurationFromTheOpenTelemetryVariables() {
        let c = LLMTrace.Configuration.fromEnvironment([
            "OTEL_SERVICE_NAME": "checkout",
            "OTEL_RESOURCE_ATTRIBUTES": "service.name=ignored,deployment.environment.name=prod,llmtrace.project=shop",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20lt_ingest_123,x-team=ml",
            "OTEL_BSP_SCHEDULE_DELAY": "1000", "OTEL_BSP_MAX_QUEUE_SIZE": "4096", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "256",
            "OTEL_TRACES_SAMPLER_ARG": "0.5", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_BSP_EXPORT_TIMEOUT": "bogus",
        ])
        #expect(c.serviceName == "checkout" && c.environment == "prod" && c.project == "shop")
        #expect(c.endpoint == "http://collector:4318")
        #expect(c.headers == ["authorization": "Bearer lt_ingest_123", "x-team": "ml"])
        #expect(c.scheduleDelaySeconds == 1 && c.maxQueueSize == 4096 && c.maxExportBatchSize == 256)
        #expect(c.samplingRatio == 0.5 && c.gzip && c.exportTimeoutSeconds == 30)
    }

    /// The hook runs before export: what it edits leaves edited, what it refuses never leaves and
    /// is counted.
    @Test func redactionRunsBeforeExport() throws {
        let e = Self.bootstrap { c in
            c.redact = { span in
                if span.name == "secret" { return false }
                for i in span.inputMessages.indices {
                    span.inputMessages[i].content = span.inputMessages[i].content.replacingOccurrences(of: "4111-1111", with: "[card]")
                }
                return true
            }
        }
        defer { LLMTrace.shutdown() }
        LLMTrace.withSpan("chat", ofKind: .llm) { $0.setInput([Message(role: "user", content: "my card is 4111-1111")]) }
        LLMTrace.withSpan("secret") { _ in }
        #expect(LLMTrace.forceFlush(timeoutSeconds: 5))
        #expect(e.spans.map(\.name) == ["chat"])
        #expect(e.spans.first?.inputMessages.first?.content == "my card is [card]")
        #expect(LLMTrace.stats.redacted == 1 && LLMTrace.stats.exported == 1)
    }

    /// Scores go out with the spans, about the current span or its whole trace.
    @Test func scoresAttachToTheCurrentSpanOrTrace() throws {
        let e = Self.bootstrap()
        defer { LLMTrace.shutdown() }
        #expect(!LLMTrace.score("orphan", 1))   // no span: nothing to attach it to
        let ctx = LLMTrace.withSpan("answer", ofKind: .llm) { span in
            LLMTrace.score("faithfulness", 0.82, source: .eval)
            LLMTrace.score("label", .category("hallucination"), source: .human, comment: "cites a policy that does not exist", wholeTrace: true)
            return span.context
        }
        #expect(LLMTrace.forceFlush(timeoutSeconds: 5))
        let scores = e.scores
        try #require(scores.count == 2)
        #expect(scores[0].traceID == ctx.traceID && scores[0].spanID == ctx.spanID && scores[0].value == .number(0.82) && scores[0].source == .eval)
        #expect(scores[1].spanID == nil && scores[1].value == .category("hallucination") && scores[1].comment != nil)
        #expect(LLMTrace.stats.scoresExported == 2)
    }

    /// The native format is the collector's JSON lines, one span per line, read back equal.
    @Test func nativeJSONBodyIsTheCollectorsFormat() throws {
        var c = LLMTrace.Configuration(serviceName: "native")
        c.format = .nativeJSON
        var span = SpanRecord(traceID: TraceID(hi: 1, lo: 2), spanID: SpanID(3), service: "native", name: "chat", kind: .llm, startNanos: 5, endNanos: 9)
        span.requestModel = "m"
        span.outputMessages = [Message(role: "assistant", content: "", toolCalls: [ToolCall(id: "c1", name: "f", arguments: "{}")])]
        let (bytes, type) = HTTPExporter(c).body([span, span])
        #expect(type == "application/x-ndjson")
        let lines = bytes.split(separator: 0x0A)
        #expect(lines.count == 2)
        #expect(try SpanRecord.decodeJSON(Array(lines[0])) == span)
    }

    /// swift-distributed-tracing's spellings: `context:` before `ofKind:`, `span.attributes[...]`
    /// with literals, `shutdown(deadline:)`; a key set twice is exported once, with its last value.
    @Test func distributedTracingSpellings() throws {
        let e = Self.bootstrap()
        let parent = SpanContext(traceID: TraceID(hi: 9, lo: 9), spanID: SpanID(9), sampled: true)
        LLMTrace.withSpan("handler", context: parent, ofKind: .chain) { span in
            span.attributes["http.response.status_code"] = 200
            span.attributes["ratio"] = 0.5
            span.attributes["route"] = "/chat"
            span.attributes["cached"] = true
            span.attributes["tags"] = ["a", 1]
            span.attributes["route"] = "/answer"
            span.attributes["gone"] = "x"
            span.attributes["gone"] = nil
            #expect(span.attributes["route"] == "/answer")
        }
        #expect(LLMTrace.shutdown(deadline: Date(timeIntervalSinceNow: 5)))
        let s = try #require(e.spans.first)
        #expect(s.traceID == parent.traceID && s.parentSpanID == parent.spanID && s.kind == .chain)
        #expect(s.attributes == [Attribute("http.response.status_code", .int(200)), Attribute("ratio", .double(0.5)),
                                 Attribute("route", .string("/answer")), Attribute("cached", .bool(true)),
                                 Attribute("tags", .array([.string("a"), .int(1)]))])
    }
}
