import Foundation
import Testing
import LLMTraceModel
import LLMTraceStore
@testable import LLMTraceDetect

/// Drift reports over a real store: a change injected in the current window is found, on top,
/// for the group it happened in; two windows of the same traffic report no drift; reading from
/// sealed segments and from the head gives the same report.
@Suite struct DriftReportTests {
    static let hour: Int64 = 3_600_000_000_000

    struct Rng {
        var x: UInt64
        mutating func u() -> Double { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return Double(x % 1_000_000) / 1_000_000 }
        mutating func normal() -> Double { (u() + u() + u() + u() + u() + u()) - 3 }
    }

    static let topicsBefore = ["refund policy for damaged items", "shipping times to canada", "reset my password", "change delivery address",
                               "cancel my subscription", "invoice for last month"]
    static let topicsAfter = ["quantum entanglement experiment setup", "photosynthesis in desert plants", "medieval castle architecture",
                              "volcanic eruption prediction", "deep sea bioluminescence", "ancient roman aqueducts"]

    /// `n` model calls on models a and b over [from, from + 1 h); with `change`, model a is
    /// slower, stops more often on length and is asked about other topics.
    static func spans(_ n: Int, from: Int64, seed: UInt64, change: Bool) -> [Span] {
        var r = Rng(x: seed &* 0x9E37_79B9_7F4A_7C15 | 1)
        return (0..<n).map { i in
            let model = i % 2 == 0 ? "a" : "b"
            let changed = change && model == "a"
            let start = from + Int64(i) * (hour / Int64(n))
            let latency = (800 + 80 * r.normal()) * (changed ? 1.6 : 1)
            var s = Span(traceID: TraceID(hi: seed, lo: UInt64(i) + 1), spanID: SpanID(UInt64(i) + 1), parentSpanID: SpanID(0),
                         project: i % 10 == 9 ? "other" : "p", service: "support", name: "chat", kind: .llm,
                         startNanos: start, endNanos: start + Int64(latency * 1e6), status: r.u() < 0.02 ? .error : .ok)
            s.responseModel = model
            s.inputTokens = Int64(500 + 50 * r.normal())
            s.outputTokens = Int64(200 + 20 * r.normal())
            s.costUSD = Double(s.inputTokens!) * 1e-6
            s.finishReason = r.u() < (changed ? 0.3 : 0.03) ? "length" : "stop"
            let topics = changed ? topicsAfter : topicsBefore
            let topic = topics[Int(r.u() * Double(topics.count))]
            s.inputMessages = [Message(role: "user", content: "Please help me with \(topic) today, thanks")]
            s.outputMessages = [Message(role: "assistant", content: "Here is what I found about \(topic).")]
            return s
        }
    }

    static func report(_ store: Store, by: [DriftSample.GroupBy] = [.service, .model]) throws -> DriftReport {
        let reader = DriftReader()
        let b = try reader.collect(store, project: "p", window: .init(from: 0, to: hour), by: by)
        let c = try reader.collect(store, project: "p", window: .init(from: hour, to: 2 * hour), by: by)
        return DriftReport(baseline: b, current: c)
    }

    static func withStore(seal: Bool, _ spans: [Span], _ body: (Store) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "llmtrace-drift-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = StoreOptions(directory: dir)
        o.backgroundSealing = false
        o.log = { _, _ in }
        let store = try Store.open(o)
        try store.append(spans)
        if seal { _ = try store.sealNow() }
        try body(store)
        try store.close()
    }

    @Test func aChangeOnOneModelIsFoundOnTopAndTheOtherModelIsQuiet() throws {
        let all = Self.spans(4_000, from: 0, seed: 1, change: false) + Self.spans(4_000, from: Self.hour, seed: 2, change: true)
        for seal in [true, false] {
            try Self.withStore(seal: seal, all) { store in
                let r = try Self.report(store)
                #expect(r.baselineSpans == 3_600 && r.currentSpans == 3_600, "project p only")
                let drifted = r.findings.filter(\.drifted)
                let fields = Set(drifted.map { "\($0.group.map(\.1).joined(separator: "/")):\($0.field)" })
                #expect(fields.isSuperset(of: ["support/a:duration_ms", "support/a:finish_reason", "support/a:prompt", "support/a:completion"]),
                        "seal \(seal): \(fields.sorted())")
                #expect(!drifted.contains { $0.group.contains { $0 == ("model", "b") } }, "seal \(seal): b did not change: \(fields.sorted())")
                // Ranked: drifted first, by effect.
                let effects = drifted.map(\.effect)
                #expect(effects == effects.sorted(by: >))
                #expect(r.findings.prefix(drifted.count).allSatisfy { $0.drifted })
                let latency = drifted.first { $0.field == "duration_ms" }!
                #expect(latency.reason.hasPrefix("W1/σ = "), "large samples decide on the effect size: \(latency.reason)")
                #expect(latency.psiBand == "major")
                let finish = drifted.first { $0.field == "finish_reason" }!
                #expect(finish.categorical!.categories == ["length", "stop"])
            }
        }
    }

    @Test func twoWindowsOfTheSameTrafficDoNotDrift() throws {
        let all = Self.spans(4_000, from: 0, seed: 3, change: false) + Self.spans(4_000, from: Self.hour, seed: 4, change: false)
        try Self.withStore(seal: true, all) { store in
            let r = try Self.report(store)
            #expect(r.findings.count > 10)
            #expect(r.findings.filter(\.drifted).isEmpty, "\(r.findings.filter(\.drifted).map { "\($0.field) \($0.reason)" })")
        }
    }

    @Test func smallSamplesAreDecidedByTheTests() throws {
        let all = Self.spans(300, from: 0, seed: 5, change: false) + Self.spans(300, from: Self.hour, seed: 6, change: true)
        try Self.withStore(seal: true, all) { store in
            let r = try Self.report(store, by: [.model])
            let latency = r.findings.first { $0.field == "duration_ms" && $0.group.first?.1 == "a" }!
            #expect(latency.drifted && latency.reason.hasPrefix("KS p = "), "\(latency.reason)")
            #expect(latency.numeric!.ksPValueIsExact)
        }
    }

    /// A few dozen texts of varied wording: two samples of the same source differ by a large
    /// n-gram distance by sampling alone (past the fixed floors), so text drift is judged against
    /// the baseline's own two halves; a new topic is still found.
    @Test func aFewDozenVariedTextsDriftOnlyWithANewTopic() {
        func texts(_ n: Int, vocabulary: [String], seed: UInt64) -> [String] {
            var r = Rng(x: seed &* 0x9E37_79B9_7F4A_7C15 | 1)
            return (0..<n).map { _ in (0..<14).map { _ in vocabulary[Int(r.u() * Double(vocabulary.count))] }.joined(separator: " ") }
        }
        let before = (0..<400).map { "w\($0)" }, after = (0..<400).map { "z\($0)" }
        func finding(_ current: [String]) -> DriftReport.Finding? {
            var b = DriftSample(by: [.model]), c = DriftSample(by: [.model])
            b.group(b.key(service: "s", model: "m", prompt: nil)).texts[DriftSample.TextField.prompt.index] = texts(40, vocabulary: before, seed: 1)
            c.group(c.key(service: "s", model: "m", prompt: nil)).texts[DriftSample.TextField.prompt.index] = current
            return DriftReport(baseline: b, current: c).findings.first { $0.field == "prompt" }
        }
        let same = finding(texts(40, vocabulary: before, seed: 2))
        #expect(same != nil)
        if let f = same, let t = f.text {
            #expect(t.jensenShannon >= 0.35 && t.novelShare >= 0.15, "the fixed floors alone would call this drift: \(f.reason)")
            #expect(!f.drifted, "\(f.reason)")
        }
        let shifted = finding(texts(40, vocabulary: after, seed: 3))
        #expect(shifted?.drifted == true, "\(shifted?.reason ?? "no finding")")
    }
}
