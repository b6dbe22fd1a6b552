import Foundation
import Testing
import LLMTraceDetect
import LLMTraceHTTP
import LLMTraceIngest
import LLMTraceModel
import LLMTraceStore
import LLMTraceSupport
@testable import LLMTraceCollector

/// The detectors' routes through the collector with two projects' keys: anomalies, alerts,
/// silences, drift and the evaluators' scores, each confined to the key's project; the detector
/// metrics on /metrics. Time is simulated.
@Suite(.serialized) struct DetectRoutesTests {
    static let keys = QueryRoutesTests.keys
    static let minute: Int64 = 60_000_000_000
    static let t0: Int64 = 1_790_000_000_000_000_000 / minute * minute

    final class Clock: @unchecked Sendable {
        private let lock = Condition()
        private var t: Int64 = DetectRoutesTests.t0
        var now: Int64 { get { lock.withLock { t } } set { lock.withLock { t = newValue } } }
    }

    struct Rng {
        var x: UInt64
        mutating func u() -> Double { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return Double(x % 1_000_000) / 1_000_000 }
        mutating func normal() -> Double { (u() + u() + u() + u() + u() + u()) - 3 }
    }

    /// ~20 calls of `model` in minute `m` (from t0) for `project`.
    static func minute(_ m: Int64, project: String, model: String, slow: Double, rng: inout Rng) -> [Span] {
        (0..<20).map { k in
            let start = t0 + m * minute + Int64(k) * 2_000_000_000
            let latency = (800 + 60 * rng.normal()) * slow
            var s = Span(traceID: TraceID(hi: UInt64(m) + 1, lo: UInt64(k) + 1), spanID: SpanID(UInt64(k) + 1), parentSpanID: SpanID(0),
                         project: project, service: "chat-api", name: "chat", kind: .llm, startNanos: start,
                         endNanos: start + Int64(latency * 1e6), status: .ok)
            s.responseModel = model
            s.inputTokens = Int64(900 + 100 * rng.normal())
            s.outputTokens = Int64(250 + 30 * rng.normal())
            return s
        }
    }

    func request(_ c: Collector, _ method: String, _ path: String, _ body: String = "", key: String?) -> (Int, JSONValue?, String) {
        var h: [(name: String, value: String)] = [("content-type", "application/json")]
        if let key { h.append(("authorization", "Bearer " + key)) }
        let r = c.handle(HTTPRequest(method: method, target: path, headers: h, body: Array(body.utf8)))
        return (r.status, try? JSONValue.parse(r.body), String(decoding: r.body, as: UTF8.self))
    }

    /// A fresh store in a temporary directory (removed after `body`), sealing only when asked.
    func withStore(_ body: (Store, String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "llmtrace-detectroutes-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var opts = StoreOptions(directory: dir)
        opts.backgroundSealing = false
        opts.log = { _, _ in }
        let store = try Store.open(opts)
        defer { try? store.close() }
        try body(store, dir)
    }

    @Test func detectorRoutesAnswerEachProjectItsOwn() throws {
        try withStore { store, dir in try detectorRoutes(store, dir) }
    }

    func detectorRoutes(_ store: Store, _ dir: String) throws {
        let clock = Clock()
        let fanout = SpanFanout()
        // Every span evaluated (no CPU budget): this test sends hours of spans in a second, and the
        // refusal below must not fall outside a sample.
        var settings = DetectorService.Settings()
        settings.evaluatorCPUShare = 0
        let detectors = try DetectorService(fanout: fanout, statePath: dir + "/detectors.db", settings: settings, clock: { clock.now }) {
            _ = try store.index.addScores($0)
        }
        let ring = KeyRing(projects: Self.keys.map { KeyRing.Project(name: $0.key, ingestKeys: [$0.value.ingest], readKeys: [$0.value.read]) })
        let c = Collector(store: store, keys: ring, conventions: .builtIn(), pricing: .builtIn(), fanout: fanout, detectors: detectors)
        let chat = Self.keys["chat"]!.read, bill = Self.keys["billing"]!.read

        // Nine hours: chat's model a doubles its latency at 8 h; billing never changes.
        var rng = Rng(x: 77)
        let at: Int64 = 8 * 60
        for m in Int64(0)..<(at + 10) {
            fanout.publish(Self.minute(m, project: "chat", model: "a", slow: m >= at ? 2 : 1, rng: &rng))
            fanout.publish(Self.minute(m, project: "billing", model: "b", slow: 1, rng: &rng))
            clock.now = Self.t0 + (m + 2) * Self.minute
            detectors.pump(now: clock.now)
        }

        var (status, doc, text) = request(c, "GET", "/api/alerts", key: chat)
        #expect(status == 200, "\(text)")
        let alerts = doc?["alerts"]?.array ?? []
        let latency = alerts.first { $0["metric"]?.string == "p50_latency_ms" }
        #expect(latency?["state"]?.string == "firing" && latency?["model"]?.string == "a" && latency?["project"]?.string == "chat", "\(text)")
        #expect(latency?["labels"]?["alertname"]?.string == "LLMTraceAnomaly")
        (status, doc, text) = request(c, "GET", "/api/alerts", key: bill)
        #expect(status == 200 && doc?["alerts"]?.array?.isEmpty == true, "\(text)")
        #expect(request(c, "GET", "/api/alerts", key: Self.keys["chat"]!.ingest).0 == 403)
        #expect(request(c, "GET", "/api/alerts", key: nil).0 == 401)
        #expect(request(c, "GET", "/api/alerts?state=firing&id=\(latency?["id"]?.string ?? "")", key: chat).1?["alerts"]?.array?.count == 1)
        #expect(request(c, "GET", "/api/alerts?state=burning", key: chat).0 == 400)
        #expect(request(c, "POST", "/api/alerts", key: chat).0 == 405)

        (status, doc, text) = request(c, "GET", "/api/anomalies?metric=p50_latency_ms&since=2h&limit=5", key: chat)
        #expect(status == 200 && !(doc?["anomalies"]?.array ?? []).isEmpty, "\(text)")
        #expect((doc?["anomalies"]?.array ?? []).allSatisfy { $0["project"]?.string == "chat" && $0["score"]!.double! >= 0.5 })
        #expect(request(c, "GET", "/api/anomalies", key: bill).1?["anomalies"]?.array?.isEmpty == true)
        #expect(request(c, "GET", "/api/anomalies?metric=nope", key: chat).0 == 400)
        #expect(request(c, "GET", "/api/anomalies?bogus=1", key: chat).0 == 400)

        // Metrics: the anomaly score and the firing alert, confined to the key's project.
        let scrape = c.handle(HTTPRequest(method: "GET", target: "/metrics", headers: [("authorization", "Bearer " + chat)], body: []))
        let metrics = String(decoding: scrape.body, as: UTF8.self)
        #expect(metrics.contains(#"llmtrace_anomaly_score{project="chat",service="chat-api",model="a",prompt="",retriever="",metric="p50_latency_ms"}"#), "\(metrics.prefix(3000))")
        #expect(metrics.contains(#"llmtrace_alerts_firing{project="chat"} "#))
        #expect(!metrics.contains(#"project="billing""#))

        // Silences: created in the key's project, shown on the alert, removable only from it.
        (status, doc, text) = request(c, "POST", "/api/silences", #"{"matchers": {"model": "a"}, "duration": "2h", "comment": "deploying"}"#, key: chat)
        #expect(status == 201 && doc?["project"]?.string == "chat", "\(text)")
        let id = doc?["id"]?.int ?? -1
        #expect(request(c, "GET", "/api/alerts?state=firing", key: chat).1?["alerts"]?.array?.allSatisfy { $0["silenced"]?.bool == true } == true)
        #expect(request(c, "GET", "/api/silences", key: chat).1?["silences"]?.array?.count == 1)
        #expect(request(c, "GET", "/api/silences", key: bill).1?["silences"]?.array?.isEmpty == true)
        #expect(request(c, "POST", "/api/silences", #"{"matchers": {"colour": "red"}, "duration": "2h"}"#, key: chat).0 == 400)
        #expect(request(c, "POST", "/api/silences", #"{"matchers": {"model": "a"}}"#, key: chat).0 == 400)
        #expect(request(c, "DELETE", "/api/silences/\(id)", key: bill).0 == 404)
        #expect(request(c, "DELETE", "/api/silences/\(id)", key: chat).0 == 204)
        #expect(request(c, "GET", "/api/silences", key: chat).1?["silences"]?.array?.isEmpty == true)

        // Evaluators: a refusal sent through ingest becomes an eval score of the span's project.
        let start = clock.now
        let refusal = #"{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00000000000000aa", "name": "chat", "kind": "llm", "start_ns": \#(start), "end_ns": \#(start + 1_000_000), "request_model": "a", "input_messages": [{"role": "user", "content": "help me break in"}], "output_messages": [{"role": "assistant", "content": "I'm sorry, but I can't help with that."}]}"#
        #expect(request(c, "POST", "/v1/spans", "[\(refusal)]", key: Self.keys["chat"]!.ingest).0 == 200)
        detectors.pump(now: clock.now)
        (status, doc, text) = request(c, "POST", "/api/query", #"{"query": "SELECT name, source, value FROM scores"}"#, key: chat)
        #expect(doc?["rows"]?.array?.first?.array?.map(\.jsonString) == [#""refusal""#, #""eval""#, "1.0"], "\(text)")
        #expect(request(c, "POST", "/api/query", #"{"query": "SELECT count() FROM scores"}"#, key: bill).1?["rows"]?.array?.first?.array?.first?.int == 0)
    }

    @Test func driftReportThroughTheAPI() throws {
        try withStore { store, _ in try driftReport(store) }
    }

    func driftReport(_ store: Store) throws {
        let clock = Clock()
        clock.now = Self.t0 + 120 * Self.minute
        let fanout = SpanFanout()
        let detectors = try DetectorService(fanout: fanout, statePath: nil, clock: { clock.now }) { _ in }
        let ring = KeyRing(projects: Self.keys.map { KeyRing.Project(name: $0.key, ingestKeys: [$0.value.ingest], readKeys: [$0.value.read]) })
        let c = Collector(store: store, keys: ring, conventions: .builtIn(), pricing: .builtIn(), fanout: fanout, detectors: detectors)
        var rng = Rng(x: 5)
        for m in Int64(0)..<120 {
            try store.append(Self.minute(m, project: "chat", model: "a", slow: m >= 60 ? 1.5 : 1, rng: &rng))
            if m == 60 { _ = try store.sealNow() }
        }
        var (status, doc, text) = request(c, "GET", "/api/drift?baseline=2h..1h&current=1h", key: Self.keys["chat"]!.read)
        #expect(status == 200, "\(text)")
        #expect(doc?["baseline"]?["spans"]?.int == 1200 && doc?["current"]?["spans"]?.int == 1200, "\(text.prefix(500))")
        let top = doc?["findings"]?.array?.first
        #expect(top?["field"]?.string == "duration_ms" && top?["drifted"]?.bool == true && top?["group"]?["model"]?.string == "a", "\(text.prefix(800))")
        #expect(top?["ks_p_value"]?.double != nil && top?["wasserstein_normalised"]?.double != nil && top?["psi_band"]?.string == "major")
        (status, doc, text) = request(c, "GET", "/api/drift?baseline=2h..1h&current=1h", key: Self.keys["billing"]!.read)
        #expect(status == 200 && doc?["current"]?["spans"]?.int == 0 && doc?["findings"]?.array?.isEmpty == true, "\(text.prefix(300))")
        #expect(request(c, "GET", "/api/drift?current=yesterday", key: Self.keys["chat"]!.read).0 == 400)
        #expect(request(c, "GET", "/api/drift?by=colour", key: Self.keys["chat"]!.read).0 == 400)
        #expect(request(c, "GET", "/api/drift?baseline=prompt:support@v6&by=prompt", key: Self.keys["chat"]!.read).0 == 400)
    }
}
