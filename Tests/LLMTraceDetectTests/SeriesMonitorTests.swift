import Testing
import LLMTraceModel
import LLMTraceIngest
@testable import LLMTraceDetect

/// Scenario tests on synthetic model traffic with simulated time: a known change at a known
/// minute raises its alarm within 5 minutes; the same traffic without it raises none.
@Suite struct SeriesMonitorTests {
    static let minute: Int64 = 60_000_000_000

    struct Traffic {
        var x: UInt64
        init(seed: UInt64) { x = seed &+ 0x9E37_79B9_7F4A_7C15 }
        mutating func u() -> Double { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return Double(x % 1_000_000) / 1_000_000 }
        mutating func normal() -> Double { (u() + u() + u() + u() + u() + u()) - 3 }
        /// ~20 calls a minute to `model`, latency ~800 ms × `slow`, ~250 output tokens × `shorter`.
        mutating func minute(_ m: Int64, model: String, slow: Double = 1, shorter: Double = 1, errorShare: Double = 0.01) -> [Span] {
            let calls = 17 + Int(u() * 7)
            return (0..<calls).map { k in
                let start = m * SeriesMonitorTests.minute + Int64(k) * 2_000_000_000
                let latency = (800 + 60 * normal()) * slow
                var s = Span(traceID: TraceID(hi: 1, lo: UInt64(m) << 8 | UInt64(k)), spanID: SpanID(UInt64(k) + 1), parentSpanID: SpanID(0),
                             project: "default", service: "chat-api", name: "chat \(model)", kind: .llm,
                             startNanos: start, endNanos: start + Int64(latency * 1e6), status: u() < errorShare ? .error : .ok)
                s.responseModel = model
                s.inputTokens = Int64(900 + 100 * normal())
                s.outputTokens = Int64((250 + 30 * normal()) * shorter)
                s.costUSD = Double(s.inputTokens!) * 2.5e-6 + Double(s.outputTokens!) * 1e-5
                return s
            }
        }
    }

    /// Runs `hours` of traffic on two models, applying `change` to model "a" from minute `at` on;
    /// returns the points that alarmed.
    static func run(hours: Int, at: Int64, seed: UInt64, change: (inout Traffic, Int64) -> [Span]) -> [SeriesMonitor.Point] {
        let monitor = SeriesMonitor()
        var t = Traffic(seed: seed)
        var alarms: [SeriesMonitor.Point] = []
        for m in Int64(0)..<Int64(hours * 60) {
            monitor.add(m >= at ? change(&t, m) : t.minute(m, model: "a"))
            monitor.add(t.minute(m, model: "b"))
            alarms += monitor.advance(to: (m + 2) * minute).filter { $0.score >= AnomalyDetector.threshold }
        }
        return alarms
    }

    @Test func aLatencyStepOnOneModelAlarmsWithinFiveMinutes() {
        let at: Int64 = 8 * 60
        let alarms = Self.run(hours: 9, at: at, seed: 5) { t, m in t.minute(m, model: "a", slow: 2) }
        let first = alarms.first { $0.series.value == "a" && $0.metric == .p50Latency }
        #expect(first != nil)
        if let first { #expect(first.minuteStartNanos / Self.minute - at < 5, "first alarm \(first)") }
        #expect(!alarms.contains { $0.series.value == "b" }, "model b did not change: \(alarms.filter { $0.series.value == "b" })")
    }

    @Test func outputsHalvedAlarmWithinFiveMinutes() {
        let at: Int64 = 8 * 60
        let alarms = Self.run(hours: 9, at: at, seed: 7) { t, m in t.minute(m, model: "a", shorter: 0.5) }
        let first = alarms.first { $0.series.value == "a" && $0.metric == .outputTokensPerCall }
        #expect(first != nil && first!.minuteStartNanos / Self.minute - at < 5, "\(String(describing: first))")
    }

    @Test func unchangedTrafficRaisesNoAlarm() {
        for seed in [11, 12] as [UInt64] {
            let alarms = Self.run(hours: 9, at: .max, seed: seed) { t, m in t.minute(m, model: "a") }
            #expect(alarms.isEmpty, "seed \(seed): \(alarms.prefix(5))")
        }
    }

    @Test func minutesCloseInOrderAndLateSpansAreCounted() {
        let monitor = SeriesMonitor()
        var t = Traffic(seed: 1)
        monitor.add(t.minute(0, model: "a"))
        #expect(monitor.advance(to: Self.minute).isEmpty, "minute 0 is still open for late spans")
        let points = monitor.advance(to: 3 * Self.minute)
        #expect(Set(points.map(\.minuteStartNanos)) == [0, Self.minute], "minute 1 had no calls but is scored")
        #expect(points.contains { $0.minuteStartNanos == Self.minute && $0.metric == .calls && $0.value == 0 })
        monitor.add(t.minute(0, model: "a"))
        #expect(monitor.lateSpans > 0)
    }
}

