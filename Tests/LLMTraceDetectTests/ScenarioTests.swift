import Testing
import LLMTraceIngest
import LLMTraceModel
import LLMTraceSupport
@testable import LLMTraceDetect

/// The issue's scenarios, end to end through the fan-out and the alert lifecycle, on nine hours
/// of simulated support-bot traffic: each change, injected at 8 h, fires its alert within five
/// minutes of simulated time; the same traffic without it fires nothing.
@Suite struct ScenarioTests {
    static let minute: Int64 = 60_000_000_000
    static let changeAt: Int64 = 8 * 60

    enum Change: CaseIterable { case none, errorBurst, promptV7DoublesCost, newTopic, retrievalDegraded, outputsHalved }

    static let topics = ["refund for a damaged parcel", "track my order", "change the delivery address", "reset my password",
                         "cancel my subscription", "update my payment card", "invoice for last month", "shipping to canada"]
    static let newTopics = ["quantum computing homework", "write a poem about volcanoes", "translate this contract into german",
                            "explain the offside rule", "plan a trip to kyoto", "debug my python script"]

    struct Rng {
        var x: UInt64
        mutating func u() -> Double { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return Double(x % 1_000_000) / 1_000_000 }
        mutating func normal() -> Double { (u() + u() + u() + u() + u() + u()) - 3 }
    }

    /// One minute: ~20 chat calls (prompt "support", one retrieval span each).
    static func minute(_ m: Int64, change: Change, rng: inout Rng) -> [Span] {
        let on = m >= changeAt
        let calls = 17 + Int(rng.u() * 7)
        var out: [Span] = []
        for k in 0..<calls {
            let start = m * minute + Int64(k) * 2_500_000_000
            let trace = TraceID(hi: UInt64(m) + 1, lo: UInt64(k) + 1)
            var r = Span(traceID: trace, spanID: SpanID(1), parentSpanID: SpanID(0), project: "shop", service: "support-bot", name: "kb-search",
                         kind: .retrieval, startNanos: start, endNanos: start + Int64((40 + 5 * rng.normal()) * 1e6), status: .ok)
            let relevance = on && change == .retrievalDegraded ? 0.45 : 0.82
            r.documents = (0..<4).map { i in RetrievedDocument(id: "doc-\(i)", content: "Policy text \(i)", score: relevance + 0.05 * rng.normal() - 0.02 * Double(i)) }
            out.append(r)
            let error = rng.u() < (on && change == .errorBurst ? 0.25 : 0.01)
            let v7 = on && change == .promptV7DoublesCost
            var s = Span(traceID: trace, spanID: SpanID(2), parentSpanID: SpanID(1), project: "shop", service: "support-bot", name: "chat",
                         kind: .llm, startNanos: start + 50_000_000, endNanos: start + 50_000_000 + Int64((900 + 70 * rng.normal()) * 1e6),
                         status: error ? .error : .ok)
            s.requestModel = "gpt-4o-mini"
            s.promptName = "support"
            s.promptVersion = v7 ? "v7" : "v6"
            s.inputTokens = Int64((1_200 + 100 * rng.normal()) * (v7 ? 2 : 1))
            s.outputTokens = Int64((220 + 25 * rng.normal()) * (on && change == .outputsHalved ? 0.5 : 1))
            s.costUSD = Double(s.inputTokens!) * 1.5e-7 + Double(s.outputTokens!) * 6e-7
            let pool = on && change == .newTopic ? newTopics : topics
            let topic = pool[Int(rng.u() * Double(pool.count))]
            s.inputMessages = [Message(role: "system", content: "You are a helpful support agent."),
                               Message(role: "user", content: "Hello, I need help: \(topic). Thanks")]
            s.outputMessages = [Message(role: "assistant", content: "Sure, here is how to handle \(topic).")]
            s.finishReason = "stop"
            out.append(s)
        }
        return out
    }

    /// Runs nine hours; returns the alerts that fired, with the minute each fired.
    static func run(_ change: Change, seed: UInt64) throws -> [(alert: Alert, firedMinute: Int64)] {
        let fanout = SpanFanout()
        let d = try DetectorService(fanout: fanout, statePath: nil, clock: { 0 }, scoreSink: { _ in })
        var rng = Rng(x: seed &* 0x9E37_79B9_7F4A_7C15 | 1)
        for m in Int64(0)..<(9 * 60) {
            fanout.publish(minute(m, change: change, rng: &rng))
            d.pump(now: (m + 2) * minute)
        }
        return d.alerts().filter { $0.firedNanos != nil }.map { ($0, $0.firedNanos! / minute - 2) }
    }

    static func expectFires(_ change: Change, dimension: SeriesMonitor.Dimension, metric: SeriesMonitor.Metric, seed: UInt64) throws -> Alert? {
        let fired = try run(change, seed: seed)
        let hit = fired.first { $0.alert.series.dimension == dimension && $0.alert.metric == metric }
        #expect(hit != nil, "\(change): no \(dimension) \(metric) alert; fired: \(fired.map { "\($0.alert.summary) @\($0.firedMinute)" })")
        if let hit {
            #expect(hit.firedMinute >= changeAt && hit.firedMinute - changeAt <= 5,
                    "\(change): fired \(hit.firedMinute - changeAt) minutes after the change")
        }
        #expect(!fired.contains { $0.firedMinute < changeAt }, "\(change): fired before the change: \(fired.filter { $0.firedMinute < changeAt }.map(\.alert.summary))")
        return hit?.alert
    }

    @Test func noChangeFiresNothing() throws {
        for seed in [1, 2, 3] as [UInt64] {
            let fired = try Self.run(.none, seed: seed)
            #expect(fired.isEmpty, "seed \(seed): \(fired.map { "\($0.alert.summary) @\($0.firedMinute)" })")
        }
    }

    @Test func anErrorBurstFires() throws {
        _ = try Self.expectFires(.errorBurst, dimension: .model, metric: .errorRate, seed: 4)
    }

    @Test func costPerCallDoubledByPromptV7Fires() throws {
        let a = try Self.expectFires(.promptV7DoublesCost, dimension: .prompt, metric: .costPerCall, seed: 5)
        #expect(a?.version == "v7" && a?.summary.contains("prompt=support (version v7) rose to") == true, "\(a?.summary ?? "")")
    }

    @Test func aNewTopicInThePromptsFires() throws {
        _ = try Self.expectFires(.newTopic, dimension: .model, metric: .promptNovelty, seed: 6)
    }

    @Test func degradedRetrievalScoresFire() throws {
        let a = try Self.expectFires(.retrievalDegraded, dimension: .retriever, metric: .retrievalScore, seed: 7)
        #expect(a?.summary.hasPrefix("retrieval_score_mean of support-bot retriever=kb-search fell to") == true, "\(a?.summary ?? "")")
    }

    @Test func halvedOutputsFire() throws {
        _ = try Self.expectFires(.outputsHalved, dimension: .model, metric: .outputTokensPerCall, seed: 8)
    }
}
