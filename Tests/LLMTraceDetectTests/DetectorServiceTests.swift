import Foundation
import Testing
import LLMTraceHTTP
import LLMTraceIngest
import LLMTraceModel
import LLMTraceSupport
@testable import LLMTraceDetect

/// The detectors as the collector runs them: fed through the ingest fan-out, time simulated,
/// alerts through their lifecycle, state across a restart, notifications to a real HTTP receiver.
@Suite(.serialized) struct DetectorServiceTests {
    static let minute = SeriesMonitorTests.minute

    final class Clock: @unchecked Sendable {
        private let lock = Condition()
        private var t: Int64 = 0
        var now: Int64 { get { lock.withLock { t } } set { lock.withLock { t = newValue } } }
    }

    final class Sink: @unchecked Sendable {
        private let lock = Condition()
        private var _scores: [Score] = []
        var scores: [Score] { lock.withLock { _scores } }
        func add(_ s: [Score]) { lock.withLock { _scores += s } }
    }

    /// Minutes `from..<to` of traffic on models a and b (project "default") and b in "other-team";
    /// `change` alters model a's minutes from `at` on. Returns the transitions seen per minute.
    static func drive(_ d: DetectorService, _ fanout: SpanFanout, _ clock: Clock, _ t: inout SeriesMonitorTests.Traffic,
                      from: Int64, to: Int64, at: Int64, change: (inout SeriesMonitorTests.Traffic, Int64) -> [Span]) {
        for m in from..<to {
            fanout.publish(m >= at ? change(&t, m) : t.minute(m, model: "a"))
            fanout.publish(t.minute(m, model: "b"))
            var other = t.minute(m, model: "b")
            for i in other.indices { other[i].project = "other-team"; other[i].spanID = SpanID(UInt64(i) + 500) }
            fanout.publish(other)
            clock.now = (m + 2) * minute
            d.pump(now: clock.now)
        }
    }

    static func tempDir() -> String {
        let dir = NSTemporaryDirectory() + "llmtrace-detect-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func aLatencyStepFiresOneAlertWithinFiveMinutesAndReadsStayInTheirProject() throws {
        let fanout = SpanFanout(), clock = Clock(), sink = Sink()
        let d = try DetectorService(fanout: fanout, statePath: nil, clock: { clock.now }, scoreSink: { sink.add($0) })
        var t = SeriesMonitorTests.Traffic(seed: 5)
        let at: Int64 = 8 * 60
        Self.drive(d, fanout, clock, &t, from: 0, to: 9 * 60, at: at) { t, m in t.minute(m, model: "a", slow: 2) }
        let alerts = d.alerts(project: "default")
        let latency = alerts.filter { $0.series.value == "a" && $0.metric == .p50Latency }
        #expect(latency.count == 1, "\(alerts.map(\.summary))")
        if let a = latency.first {
            #expect(a.state == .firing)
            #expect(a.firedNanos! - at * Self.minute <= 5 * Self.minute, "fired \(Double(a.firedNanos! - at * Self.minute) / 6e10) minutes after the change")
            #expect(a.summary.hasPrefix("p50_latency_ms of chat-api model=a rose to"), "\(a.summary)")
        }
        #expect(!alerts.contains { $0.series.value == "b" })
        #expect(d.alerts(project: "other-team").isEmpty)
        #expect(d.anomalies(project: "other-team").isEmpty)
        #expect(!d.anomalies(project: "default").isEmpty)
        #expect(d.firingCounts()["default", default: 0] >= 1 && d.firingCounts()["other-team"] == nil)
        #expect(d.stats.droppedSpans == 0 && d.stats.spans > 0)
    }

    @Test func unchangedTrafficFiresNothing() throws {
        for seed in [21, 22] as [UInt64] {
            let fanout = SpanFanout(), clock = Clock()
            let d = try DetectorService(fanout: fanout, statePath: nil, clock: { clock.now }, scoreSink: { _ in })
            var t = SeriesMonitorTests.Traffic(seed: seed)
            Self.drive(d, fanout, clock, &t, from: 0, to: 9 * 60, at: .max) { t, m in t.minute(m, model: "a") }
            #expect(d.alerts().filter { $0.firedNanos != nil }.isEmpty, "seed \(seed): \(d.alerts().map(\.summary))")
        }
    }

    @Test func evaluatorFlagsAreStoredAndARefusalBurstFires() throws {
        let fanout = SpanFanout(), clock = Clock(), sink = Sink()
        // Every span evaluated: the CPU budget samples by the thread's real CPU time, which a
        // loaded machine stretches (aFloodIsSampledWithinTheBudget tests the budget).
        var settings = DetectorService.Settings()
        settings.evaluatorCPUShare = 0
        let d = try DetectorService(fanout: fanout, statePath: nil, settings: settings, clock: { clock.now }, scoreSink: { sink.add($0) })
        var t = SeriesMonitorTests.Traffic(seed: 9)
        let at: Int64 = 8 * 60
        func withText(_ spans: [Span], refuse: Bool) -> [Span] {
            spans.enumerated().map { i, s in
                var s = s
                s.inputMessages = [Message(role: "user", content: "How do I reset my password?")]
                let refusal = refuse && i % 3 == 0
                s.outputMessages = [Message(role: "assistant", content: refusal ? "I'm sorry, but I can't help with that." : "Open Settings, then Security, then Reset.")]
                return s
            }
        }
        for m in Int64(0)..<Int64(9 * 60) {
            fanout.publish(withText(t.minute(m, model: "a"), refuse: m >= at))
            clock.now = (m + 2) * Self.minute
            d.pump(now: clock.now)
        }
        let refusals = sink.scores.filter { $0.name == "refusal" }
        #expect(!refusals.isEmpty && refusals.allSatisfy { $0.source == .eval && $0.value == .number(1) && $0.spanID != nil })
        #expect(sink.scores.allSatisfy { $0.name == "refusal" }, "no other evaluator flags these texts")
        let alert = d.alerts().first { $0.metric == .evalFailureRate }
        #expect(alert != nil, "\(d.alerts().map(\.summary))")
        if let a = alert { #expect(a.firedNanos! - at * Self.minute <= 5 * Self.minute) }
        #expect(d.stats.evaluated > 0 && d.stats.evalFlagged == refusals.count)
    }

    /// Spans arriving faster than the evaluators' CPU share pays for: they look at a sample of
    /// whole traces, and with no evaluator on, only the few whole spans prompt novelty reads are kept.
    @Test func aFloodIsSampledWithinTheBudget() throws {
        for evaluatorsOn in [true, false] {
            let fanout = SpanFanout(), clock = Clock()
            var settings = DetectorService.Settings()
            if !evaluatorsOn { settings.evaluators.enabled = [] }
            let d = try DetectorService(fanout: fanout, statePath: nil, settings: settings, clock: { clock.now }, scoreSink: { _ in })
            var t = SeriesMonitorTests.Traffic(seed: 4)
            let started = monotonicNanos()
            var m: Int64 = 0
            // Two budget windows (a second each) of spans as fast as this thread makes them.
            while monotonicNanos() - started < 2_300_000_000 {
                var spans = t.minute(m % 600, model: "a")
                for i in spans.indices {
                    spans[i].inputMessages = [Message(role: "user", content: "Where is my order \(i)? My e-mail is a\(i)@example.com")]
                    spans[i].outputMessages = [Message(role: "assistant", content: "It ships tomorrow.")]
                }
                fanout.publish(spans)
                d.pump(now: clock.now)
                m += 1
            }
            let s = d.stats
            #expect(s.spans > 0 && s.droppedSpans == 0)
            #expect(s.evalSampleRatio < 0.5, "evaluators \(evaluatorsOn): sample ratio \(s.evalSampleRatio) after \(s.spans) spans")
            #expect(s.evalSampleRatio > 0)
            if evaluatorsOn { #expect(s.evaluated > 0 && s.evaluated < s.spans) } else { #expect(s.evaluated == 0) }
        }
    }

    @Test func aRestartContinuesTheSeriesAndDoesNotAnnounceAgain() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/detectors.db"
        let at: Int64 = 8 * 60
        var t = SeriesMonitorTests.Traffic(seed: 5)
        let clock = Clock()
        var fanout = SpanFanout()
        var d = try DetectorService(fanout: fanout, statePath: path, clock: { clock.now }, scoreSink: { _ in })
        Self.drive(d, fanout, clock, &t, from: 0, to: at + 8, at: at) { t, m in t.minute(m, model: "a", slow: 2) }
        let before = d.alerts().filter { $0.state == .firing }
        #expect(!before.isEmpty)
        d.stop()

        // Back three minutes later: the same alerts, still firing; feeding on raises no new firing.
        fanout = SpanFanout()
        clock.now += 3 * Self.minute
        d = try DetectorService(fanout: fanout, statePath: path, clock: { clock.now }, scoreSink: { _ in })
        #expect(Set(d.alerts().filter { $0.state == .firing }.map(\.id)) == Set(before.map(\.id)))
        let restartMinute = clock.now / Self.minute
        Self.drive(d, fanout, clock, &t, from: restartMinute + 1, to: restartMinute + 60, at: 0) { t, m in t.minute(m, model: "a", slow: 2) }
        let fired = d.alerts().filter { $0.firedNanos != nil && !before.map(\.id).contains($0.id) }.map(\.summary)
        #expect(fired.isEmpty, "after the restart: \(fired)")
        #expect(!d.alerts().contains { $0.metric == .calls }, "the downtime is not an anomaly of calls")
        d.stop()
    }

    /// A receiver on 127.0.0.1 that answers 503 to the first `failFirst` posts, then 200.
    final class Receiver: @unchecked Sendable {
        private let lock = Condition()
        private var _bodies: [[UInt8]] = []
        private var failLeft: Int
        var server: HTTPServer!
        var bodies: [[UInt8]] { lock.withLock { _bodies } }
        init(failFirst: Int) throws {
            failLeft = failFirst
            var c = HTTPServer.Configuration()
            c.host = "127.0.0.1"
            c.port = 0
            server = HTTPServer(configuration: c, handler: { [unowned self] req in
                lock.withLock {
                    if failLeft > 0 { failLeft -= 1; return HTTPResponse(status: 503) }
                    _bodies.append(req.body)
                    return HTTPResponse(status: 200)
                }
            }, errorLog: { _ in })
            try server.start()
        }
        var url: String { "http://127.0.0.1:\(server.boundPort)/hook" }
        func wait(for n: Int, seconds: Double = 10) -> Bool {
            let deadline = monotonicNanos() + Int64(seconds * 1e9)
            while monotonicNanos() < deadline { if bodies.count >= n { return true }; usleep(20_000) }
            return false
        }
    }

    @Test func firingAndResolvedReachAWebhookThroughRetriesAndSilencesHoldThemBack() throws {
        let receiver = try Receiver(failFirst: 2)
        defer { receiver.server.shutdown() }
        var settings = DetectorService.Settings()
        settings.notifier.webhooks = [receiver.url]
        settings.notifier.firstBackoffSeconds = 0.05
        let fanout = SpanFanout(), clock = Clock()
        let d = try DetectorService(fanout: fanout, statePath: nil, settings: settings, clock: { clock.now }, scoreSink: { _ in })
        d.startNotifier()
        defer { d.stop() }
        // Model b's p50 latency alerts are silenced; model a's are not.
        _ = try d.addSilence(Silence(project: "default", matchers: ["model": "b"], startsNanos: 0, endsNanos: .max, comment: "known"))
        var t = SeriesMonitorTests.Traffic(seed: 5)
        let at: Int64 = 8 * 60
        for m in Int64(0)..<Int64(9 * 60 + 40) {
            let slow: Double = m >= at && m < at + 15 ? 2 : 1
            fanout.publish(t.minute(m, model: "a", slow: slow))
            fanout.publish(t.minute(m, model: "b", slow: slow))
            clock.now = (m + 2) * Self.minute
            d.pump(now: clock.now)
        }
        #expect(receiver.wait(for: 2), "firing and resolved, after two refused deliveries: \(receiver.bodies.count)")
        let docs = receiver.bodies.compactMap { try? JSONValue.parse($0) }
        let statuses = docs.compactMap { $0["status"]?.string }
        #expect(statuses.contains("firing") && statuses.contains("resolved"), "\(statuses)")
        let labels = docs.flatMap { $0["alerts"]?.array ?? [] }.compactMap { $0["labels"] }
        #expect(!labels.isEmpty && labels.allSatisfy { $0["model"]?.string == "a" && $0["alertname"]?.string == "LLMTraceAnomaly" },
                "model b is silenced: \(labels)")
        let b = d.alerts().filter { $0.series.value == "b" }
        #expect(!b.isEmpty && b.allSatisfy { $0.silenced }, "model b fired, silenced: \(d.alerts().map { "\($0.summary) \($0.state) \($0.silenced)" })")
        #expect(d.stats.notifications.retried >= 2)
    }
}
