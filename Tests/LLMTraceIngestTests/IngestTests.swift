import Foundation
import Testing
import LLMTraceModel
import LLMTraceOTLP
@testable import LLMTraceIngest

/// The same span gets the same answer whichever way it arrives: as native JSON (`POST /v1/spans`,
/// `tracectl import`) or as OTLP (`POST /v1/traces`, here encoded the way an instrumented service
/// sends it, GenAI attributes and all). Each case is sent both ways; both must accept it with the
/// same enrichment, or both refuse it with the same class of reason. Each case differed before
/// the routes shared `Ingest`.
@Suite struct IngestTests {
    static func span(_ change: (inout Span) -> Void = { _ in }) -> Span {
        var s = Span(traceID: TraceID(hi: 0x4bf9_2f35_77b3_4da6, lo: 0xa3ce_929d_0e0e_4736), spanID: SpanID(0x00f0_67aa_0ba9_02b7),
                     service: "chat", name: "chat gpt-4o-mini", startNanos: 1_767_225_600_000_000_000, endNanos: 1_767_225_601_000_000_000)
        s.requestModel = "gpt-4o-mini"
        s.inputTokens = 1000
        s.outputTokens = 100
        change(&s)
        return s
    }

    static func viaNative(_ s: Span, _ ingest: Ingest = Ingest()) -> Result<Span, SpanRejection> {
        ingest.native(s.jsonBytes())
    }

    static func viaOTLP(_ s: Span, _ ingest: Ingest = Ingest()) throws -> Result<Span, SpanRejection> {
        let (spans, rejected) = try ingest.spans(protobuf: OTLPEncoder.encode([s]).bytes)
        if let r = rejected.first { return .failure(r) }
        return .success(try #require(spans.first))
    }

    static let cases: [(what: String, span: Span, refused: SpanRejection.Kind?)] = [
        ("a plain LLM call", span(), nil),
        ("negative input tokens (a Prometheus counter would go down)", span { $0.inputTokens = -5 }, .invalidSpan),
        ("negative output tokens", span { $0.outputTokens = -1 }, .invalidSpan),
        ("negative cached tokens", span { $0.cachedTokens = -1 }, .invalidSpan),
        ("a start at 0 (1970)", span { $0.startNanos = 0; $0.endNanos = 10 }, .invalidTime),
        ("an end before the start", span { $0.endNanos = $0.startNanos - 1 }, .invalidTime),
        ("4,097 attributes", span { $0.attributes = (0...4096).map { Attribute("k\($0)", .int(Int64($0))) } }, .attributes),
        ("a 5 MB attribute", span { $0.attributes = [Attribute("big", .string(String(repeating: "x", count: 5 << 20)))] }, .attributes),
        ("a 5 MB event attribute", span { $0.events = [SpanEvent(name: "e", timeNanos: $0.startNanos, attributes: [Attribute("big", .string(String(repeating: "x", count: 5 << 20)))])] }, .attributes),
        ("a 5 MB prompt", span { $0.inputMessages = [Message(role: "user", content: String(repeating: "x", count: 5 << 20))] }, .invalidSpan),
        ("a 5 MB completion", span { $0.outputMessages = [Message(role: "assistant", content: String(repeating: "x", count: 5 << 20))] }, .invalidSpan),
        ("4,096 attributes (at the limit)", span { $0.attributes = (0..<4096).map { Attribute("k\($0)", .int(Int64($0))) } }, nil),
        ("a negative cost", span { $0.attributes = [Attribute("llmtrace.cost_usd", .double(-0.5))]; $0.costUSD = -0.5 }, .invalidSpan),
    ]

    @Test(arguments: cases.indices)
    func theSameAnswerEitherWay(_ i: Int) throws {
        let c = Self.cases[i]
        let native = Self.viaNative(c.span)
        let otlp = try Self.viaOTLP(c.span)
        switch (native, otlp) {
        case (.success(let a), .success(let b)):
            #expect(c.refused == nil, "\(c.what): accepted both ways, expected \(c.refused!)")
            #expect(a.costUSD != nil && a.costUSD == b.costUSD, "\(c.what): cost \(String(describing: a.costUSD)) natively, \(String(describing: b.costUSD)) over OTLP")
            #expect(a.kind == .llm && b.kind == .llm, "\(c.what): kind \(a.kind) / \(b.kind)")
            #expect(a.inputTokens == b.inputTokens && a.outputTokens == b.outputTokens, "\(c.what)")
        case (.failure(let a), .failure(let b)):
            #expect(a.kind == c.refused && b.kind == c.refused, "\(c.what): refused as \(a.kind) natively (\(a.reason)), \(b.kind) over OTLP (\(b.reason))")
        default:
            Issue.record("\(c.what): native \(native), OTLP \(otlp)")
        }
    }

    /// A time past what 64 bits of nanoseconds hold (year 9999) is refused both ways as a time out
    /// of range; natively it once said "expected an integer".
    @Test func aYear9999TimeSaysItIsOutOfRange() throws {
        var json = String(decoding: Self.span().jsonBytes(), as: UTF8.self)
        json = json.replacingOccurrences(of: "\"start_ns\":1767225600000000000", with: "\"start_ns\":253402300799000000000")
        guard case .failure(let n) = Ingest().native(Array(json.utf8)) else { Issue.record("accepted"); return }
        #expect(n.kind == .invalidTime && n.reason.contains("out of range"), "\(n)")
        let quoted = json.replacingOccurrences(of: "253402300799000000000", with: "\"253402300799000000000\"")
        guard case .failure(let q) = Ingest().native(Array(quoted.utf8)) else { Issue.record("accepted"); return }
        #expect(q.reason.contains("out of range"), "\(q)")

        var t = try OTLPProtobuf.decode(OTLPEncoder.encode([Self.span()]).bytes)
        // OTLP's fixed64 holds up to 2554; past 2262 an Int64 of nanoseconds cannot.
        t.resources[0].scopes[0].spans[0].startNanos = 10_000_000_000_000_000_000
        t.resources[0].scopes[0].spans[0].endNanos = UInt64.max
        var got: SpanRejection?
        Ingest().otlp(&t) { r, _ in if case .failure(let e) = r { got = e } }
        #expect(got?.kind == .invalidTime && got?.reason.contains("2262") == true, "\(String(describing: got))")
    }

    /// An ingest key's project wins over what the span says, both ways.
    /// Infinity and NaN attribute values (OTLP carries them; JSON cannot spell them, so stored they
    /// would read back as null) are refused with the attribute's name, the rest of the batch kept.
    /// The first input is the one FuzzOTLPJSON found: a doubleValue of 1e+370, which parses as
    /// infinity.
    @Test func aNonFiniteAttributeIsRefusedWithItsName() throws {
        let ingest = Ingest()
        let json = #"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "07070707070707070707070707070707", "spanId": "0909090909090909", "name": "chat", "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000", "attributes": [{"key": "gen_ai.response.time_to_first_token", "value": {"doubleValue": 1e+370}}]}, {"traceId": "07070707070707070707070707070707", "spanId": "0a0a0a0a0a0a0a0a", "name": "ok", "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000"}]}]}]}"#
        let r = try ingest.spans(json: Array(json.utf8))
        #expect(r.spans.map(\.name) == ["ok"])
        #expect(r.rejected.count == 1 && r.rejected.first?.kind == .attributes)
        #expect(r.rejected.first?.reason.contains("gen_ai.response.time_to_first_token") == true)
        for bad: AttributeValue in [.double(.infinity), .double(-.infinity), .double(.nan), .array([.double(1), .double(.nan)])] {
            let s = Self.span { $0.attributes = [Attribute("x.ratio", bad)] }
            guard case .failure(let o) = try Self.viaOTLP(s, ingest) else { Issue.record("\(bad) accepted over OTLP"); continue }
            #expect(o.kind == .attributes && o.reason.contains("x.ratio") && o.reason.contains("finite"), "\(o)")
        }
    }

    @Test func theKeysProjectWins() throws {
        let s = Self.span { $0.project = "other" }
        let ingest = Ingest()
        guard case .success(let a) = ingest.native(s.jsonBytes(), project: "chat") else { Issue.record("refused"); return }
        var t = try OTLPProtobuf.decode(OTLPEncoder.encode([s]).bytes)
        var b: Span?
        ingest.otlp(&t, project: "chat") { r, _ in if case .success(let x) = r { b = x } }
        #expect(a.project == "chat" && b?.project == "chat")
    }

    /// A span that carries its cost keeps it; one without is priced; one with no known model has none.
    @Test func costCarriedPricedOrNone() throws {
        let ingest = Ingest()
        #expect(try ingest.native(Self.span { $0.costUSD = 0.25 }.jsonBytes()).get().costUSD == 0.25)
        #expect(try ingest.native(Self.span().jsonBytes()).get().costUSD == ingest.pricing.cost(of: Self.span()))
        #expect(try ingest.native(Self.span { $0.requestModel = "no-such-model" }.jsonBytes()).get().costUSD == nil)
    }

    /// Subscribers get each stored batch in order; a queue that is full drops and counts, never
    /// blocks; a cancelled queue leaves the fan-out.
    @Test func fanOutToSubscribers() {
        final class Recorder: SpanSubscriber, @unchecked Sendable {
            let lock = NSLock()
            var batches: [[SpanID]] = []
            func stored(_ batch: [Span]) { lock.lock(); batches.append(batch.map(\.spanID)); lock.unlock() }
        }
        let fanout = SpanFanout()
        let r = Recorder()
        fanout.add(r)
        let q = fanout.subscribe(capacity: 3)
        let a = [Self.span { $0.spanID = SpanID(1) }, Self.span { $0.spanID = SpanID(2) }]
        let b = [Self.span { $0.spanID = SpanID(3) }, Self.span { $0.spanID = SpanID(4) }]
        fanout.publish(a)
        fanout.publish(b)
        #expect(r.batches == [[SpanID(1), SpanID(2)], [SpanID(3), SpanID(4)]])
        #expect(q.next(timeoutNanos: 0)?.map(\.spanID) == [SpanID(1), SpanID(2)])
        #expect(q.droppedSpans == 2)
        q.cancel()
        fanout.remove(r)
        fanout.publish(a)
        #expect(r.batches.count == 2)
        #expect(q.next(timeoutNanos: 0) == nil)
    }
}
