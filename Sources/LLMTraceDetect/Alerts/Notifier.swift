import Foundation
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceQuery
import LLMTraceSupport
#if canImport(Glibc)
import Glibc
#endif

/// Sends alert notifications on its own thread, so neither ingest nor the detectors ever wait on
/// a receiver: to webhooks (a JSON document shaped like Alertmanager's own webhook payload) and
/// to Prometheus Alertmanager's v2 API (`POST /api/v2/alerts`). A delivery that fails (connection
/// refused, timeout, non-2xx) is retried with exponential backoff and full jitter, up to
/// `maxAttempts`; the queue is bounded and drops its oldest delivery when full. Every outcome is
/// counted (`stats`).
public final class Notifier: @unchecked Sendable {
    public struct Settings: Sendable {
        public var webhooks: [String] = []
        /// Alertmanager base URLs (`http://127.0.0.1:9093`).
        public var alertmanagers: [String] = []
        public var maxAttempts = 8
        public var firstBackoffSeconds = 1.0
        public var maxBackoffSeconds = 60.0
        public var timeoutSeconds = 10
        public var maxQueued = 1_000
        /// Where `generatorURL` points (the collector's own address), if known.
        public var externalURL: String?
        public init() {}
        public var isEmpty: Bool { webhooks.isEmpty && alertmanagers.isEmpty }
    }

    public struct Stats: Sendable, Equatable {
        public var sent = 0, failed = 0, retried = 0, dropped = 0
    }

    private struct Delivery {
        var target: String
        var isAlertmanager: Bool
        var body: [UInt8]
        var attempt = 0
        var notBefore: Int64 = 0
    }

    public let settings: Settings
    private let cond = Condition()
    private var queue: [Delivery] = []
    private var stopping = false
    private var _stats = Stats()
    private var thread: Thread?

    public init(settings: Settings) {
        self.settings = settings
    }

    public var stats: Stats { cond.withLock { _stats } }

    public func start() {
        guard !settings.isEmpty else { return }
        let t = Thread { [self] in
            setCurrentThreadName("llmtrace-notify")
            run()
        }
        thread = t
        t.start()
    }

    /// Stops after the deliveries due within `graceNanos` were tried once more.
    public func stop(graceNanos: Int64 = 2_000_000_000) {
        cond.withLock { stopping = true; cond.broadcast() }
        let deadline = monotonicNanos() + graceNanos
        while monotonicNanos() < deadline {
            if cond.withLock({ queue.isEmpty || thread == nil }) { break }
            usleep(20_000)
        }
    }

    /// Queues notifications of alerts that fired or resolved (silenced ones are not sent).
    public func notify(_ transitions: [AlertBook.Transition], now: Int64) {
        let alerts = transitions.filter { !$0.alert.silenced }.map(\.alert)
        guard !alerts.isEmpty else { return }
        enqueue(alerts, now: now, webhooks: true)
    }

    /// Re-sends the firing alerts to Alertmanager (it expires an alert not heard of for its
    /// `resolve_timeout`); called about once a minute.
    public func refresh(_ firing: [Alert], now: Int64) {
        let alerts = firing.filter { !$0.silenced }
        guard !alerts.isEmpty, !settings.alertmanagers.isEmpty else { return }
        enqueue(alerts, now: now, webhooks: false)
    }

    private func enqueue(_ alerts: [Alert], now: Int64, webhooks: Bool) {
        var items: [Delivery] = []
        if webhooks {
            let body = Self.webhookPayload(alerts, externalURL: settings.externalURL)
            items += settings.webhooks.map { Delivery(target: $0, isAlertmanager: false, body: body) }
        }
        let am = Self.alertmanagerPayload(alerts, externalURL: settings.externalURL)
        items += settings.alertmanagers.map { Delivery(target: $0, isAlertmanager: true, body: am) }
        cond.withLock {
            queue += items
            if queue.count > settings.maxQueued {
                _stats.dropped += queue.count - settings.maxQueued
                queue.removeFirst(queue.count - settings.maxQueued)
            }
            cond.broadcast()
        }
    }

    private func run() {
        while true {
            var next: Delivery?
            cond.withLock {
                while next == nil {
                    let now = monotonicNanos()
                    if let i = queue.firstIndex(where: { $0.notBefore <= now }) {
                        next = queue.remove(at: i)
                        break
                    }
                    if stopping { break }
                    let wait = queue.map { $0.notBefore - now }.min() ?? 1_000_000_000
                    cond.wait(nanos: max(1_000_000, min(wait, 1_000_000_000)))
                }
            }
            guard var d = next else {
                cond.withLock { thread = nil }
                return
            }
            let ok = deliver(d)
            cond.withLock {
                if ok { _stats.sent += 1; return }
                d.attempt += 1
                if d.attempt >= settings.maxAttempts || stopping { _stats.failed += 1; return }
                _stats.retried += 1
                let cap = min(settings.maxBackoffSeconds, settings.firstBackoffSeconds * Double(1 << min(d.attempt - 1, 30)))
                d.notBefore = monotonicNanos() + Int64(Double.random(in: 0.5...1.0) * cap * 1e9)
                queue.append(d)
            }
        }
    }

    private func deliver(_ d: Delivery) -> Bool {
        do {
            var client = try HTTPClient(endpoint: d.target)
            client.timeoutSeconds = settings.timeoutSeconds
            let r = try client.request("POST", d.isAlertmanager ? "/api/v2/alerts" : "", body: d.body,
                                       headers: [("Content-Type", "application/json")])
            return (200..<300).contains(r.status)
        } catch {
            return false
        }
    }

    // MARK: Payloads

    static func rfc3339(_ ns: Int64) -> String { QueryValue.formatTime(ns) }

    static func writeAlert(_ w: inout JSONWriter, _ a: Alert, externalURL: String?, alertmanager: Bool) {
        w.beginObject()
        if !alertmanager {
            w.key("status"); w.string(a.state == .resolved ? "resolved" : "firing")
            w.key("id"); w.string(a.id)
        }
        w.key("labels"); w.beginObject()
        for (k, v) in a.labels { w.key(k); w.string(v) }
        w.endObject()
        w.key("annotations"); w.beginObject()
        w.key("summary"); w.string(a.summary)
        w.key("description"); w.string("LLMTrace anomaly score \(Alert.format(a.peakScore)) on \(a.metric.rawValue) of \(a.series); alert \(a.id)")
        w.endObject()
        w.key("startsAt"); w.string(rfc3339(a.startsNanos))
        if a.state == .resolved, let r = a.resolvedNanos { w.key("endsAt"); w.string(rfc3339(r)) }
        if let base = externalURL { w.key("generatorURL"); w.string("\(base)/api/alerts?id=\(a.id)") }
        w.endObject()
    }

    /// `{"version": "4", "status": "firing"|"resolved", "receiver": "llmtrace", "alerts": [...]}`
    /// — the shape of Alertmanager's webhook notifications, so the same receivers can take it.
    static func webhookPayload(_ alerts: [Alert], externalURL: String?) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("version"); w.string("4")
        w.key("receiver"); w.string("llmtrace")
        w.key("status"); w.string(alerts.contains { $0.state != .resolved } ? "firing" : "resolved")
        w.key("alerts"); w.beginArray()
        for a in alerts { writeAlert(&w, a, externalURL: externalURL, alertmanager: false) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// Alertmanager v2 `postableAlerts`: an array of {labels, annotations, startsAt, endsAt?, generatorURL?}.
    static func alertmanagerPayload(_ alerts: [Alert], externalURL: String?) -> [UInt8] {
        var w = JSONWriter()
        w.beginArray()
        for a in alerts { writeAlert(&w, a, externalURL: externalURL, alertmanager: true) }
        w.endArray()
        return w.bytes
    }
}
