import LLMTraceModel

/// Turns scored points into alerts and moves them through their lifecycle (see `Alert`). Fed in
/// minute order per series by its owner; time comes from the points and the owner's clock, never
/// from a system call. Not thread-safe: its owner serialises its calls.
public final class AlertBook {
    public struct Settings: Sendable, Equatable {
        /// A score at or over this opens a pending alert.
        public var threshold = AnomalyDetector.threshold
        /// Minutes the scores must stay at or over `resolveBelow` after the first anomaly before
        /// the alert fires (0: it fires on the first anomaly).
        public var forMinutes = 1
        /// Hysteresis: a pending alert whose score falls under this is dropped (and, for a series with
        /// no usual level yet, a score under it counts towards resolving).
        public var resolveBelow = 0.3
        /// Minutes in a row of quiet (`isQuiet`) that resolve a firing alert.
        public var resolveAfterMinutes = 10
        /// Resolved alerts kept for `GET /api/alerts` (the newest).
        public var keepResolved = 1_000
        public init() {}
    }

    /// A change worth telling someone about.
    public struct Transition: Sendable, Equatable {
        public var alert: Alert
        /// The alert became `firing` or `resolved` (pending alerts are not announced).
        public var to: Alert.State
    }

    public let settings: Settings
    /// Open alerts (pending or firing) by series and metric.
    private var open: [String: Alert] = [:]
    private var resolved: [Alert] = []
    public private(set) var silences: [Silence] = []

    public init(settings: Settings = Settings()) { self.settings = settings }

    static func key(_ s: SeriesMonitor.SeriesKey, _ m: SeriesMonitor.Metric) -> String {
        "\(s.project)\u{1F}\(s.service)\u{1F}\(s.dimension.rawValue)\u{1F}\(s.value)\u{1F}\(m.rawValue)"
    }

    /// Applies scored points (in minute order per series); returns the alerts that fired or
    /// resolved, and every alert whose record changed (to be saved).
    public func apply(_ points: [SeriesMonitor.Point], now: Int64) -> (transitions: [Transition], changed: [Alert]) {
        var transitions: [Transition] = []
        var changed: [String: Alert] = [:]
        for p in points {
            let k = Self.key(p.series, p.metric)
            if var a = open[k] {
                a.lastValue = p.value
                a.peakScore = max(a.peakScore, p.score)
                switch a.state {
                case .pending:
                    if p.score < settings.resolveBelow {
                        open[k] = nil
                        a.state = .resolved
                        a.resolvedNanos = p.minuteStartNanos
                        changed[a.id] = a  // dropped before it fired: saved as resolved, never announced
                        continue
                    }
                    if p.minuteStartNanos - a.startsNanos >= Int64(settings.forMinutes) * 60_000_000_000 {
                        a.state = .firing
                        a.firedNanos = now
                        a.silenced = isSilenced(a, now: now)
                        transitions.append(Transition(alert: a, to: .firing))
                    }
                case .firing:
                    a.quietMinutes = Self.isQuiet(a, p, resolveBelow: settings.resolveBelow) ? a.quietMinutes + 1 : 0
                    if a.quietMinutes >= settings.resolveAfterMinutes {
                        a.state = .resolved
                        a.resolvedNanos = now
                        a.silenced = isSilenced(a, now: now)
                        transitions.append(Transition(alert: a, to: .resolved))
                    }
                case .resolved:
                    break
                }
                if a.state == .resolved { open[k] = nil; keep(a) } else { open[k] = a }
                changed[a.id] = a
            } else if p.score >= settings.threshold {
                var a = Alert(id: Self.id(k, p.minuteStartNanos), series: p.series, metric: p.metric, state: .pending,
                              startsNanos: p.minuteStartNanos, peakScore: p.score, value: p.value, level: p.level, lastValue: p.value,
                              version: p.version)
                if settings.forMinutes == 0 {
                    a.state = .firing
                    a.firedNanos = now
                    a.silenced = isSilenced(a, now: now)
                    transitions.append(Transition(alert: a, to: .firing))
                }
                open[k] = a
                changed[a.id] = a
            }
        }
        return (transitions, Array(changed.values))
    }

    /// Whether a point counts towards resolving a firing alert: the value came back at least half
    /// way to the level it left, or the detector's own level has moved to within half the change
    /// of the value (a lasting shift has become the new normal, about two and a half hours after
    /// a step). Without a level to compare with, a score under `resolveBelow`.
    static func isQuiet(_ a: Alert, _ p: SeriesMonitor.Point, resolveBelow: Double) -> Bool {
        guard let before = a.level, a.value != before else { return p.score < resolveBelow }
        let change = abs(a.value - before)
        if abs(p.value - before) < 0.5 * change { return true }
        if let now = p.level, abs(p.value - now) < 0.5 * change, abs(now - before) >= 0.5 * change { return true }
        return false
    }

    private func keep(_ a: Alert) {
        resolved.append(a)
        if resolved.count > settings.keepResolved { resolved.removeFirst(resolved.count - settings.keepResolved) }
    }

    /// A 16-hex-digit id from the series, metric and start minute (FNV-1a; stable across restarts).
    static func id(_ key: String, _ start: Int64) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        for k in 0..<8 { h = (h ^ UInt64(UInt8(truncatingIfNeeded: start >> (8 * k)))) &* 0x100_0000_01b3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: Reads

    /// Open alerts and the kept resolved ones (newest first), with their silenced state as of `now`;
    /// with `project`, only that project's.
    public func alerts(project: String? = nil, now: Int64) -> [Alert] {
        var all = Array(open.values) + resolved.filter { $0.firedNanos != nil }
        if let project { all = all.filter { ExactString.equal($0.series.project, project) } }
        for i in all.indices where all[i].state != .resolved { all[i].silenced = isSilenced(all[i], now: now) }
        return all.sorted { ($0.state == .resolved ? 1 : 0, -$0.startsNanos, $0.id) < ($1.state == .resolved ? 1 : 0, -$1.startsNanos, $1.id) }
    }

    /// Firing alerts not silenced, per project (for `llmtrace_alerts_firing`).
    public func firingCounts(now: Int64) -> [String: Int] {
        var out: [String: Int] = [:]
        for a in open.values where a.state == .firing && !isSilenced(a, now: now) { out[a.series.project, default: 0] += 1 }
        return out
    }

    public func firing(now: Int64) -> [Alert] {
        open.values.filter { $0.state == .firing }.map { a in var a = a; a.silenced = isSilenced(a, now: now); return a }
    }

    // MARK: Silences

    public func isSilenced(_ a: Alert, now: Int64) -> Bool { silences.contains { $0.isActive(at: now) && $0.matches(a) } }

    public func setSilences(_ s: [Silence]) { silences = s }
    public func addSilence(_ s: Silence) { silences.append(s) }
    @discardableResult
    public func removeSilence(id: Int64, project: String?) -> Bool {
        let before = silences.count
        silences.removeAll { $0.id == id && (project == nil || ExactString.equal($0.project, project!)) }
        return silences.count < before
    }

    // MARK: State

    /// Restores alerts saved before a restart: open ones continue where they were (a firing alert
    /// is not announced again), resolved ones are kept for reads.
    public func restore(_ alerts: [Alert]) {
        for a in alerts.sorted(by: { $0.startsNanos < $1.startsNanos }) {
            if a.state == .resolved { if a.firedNanos != nil { keep(a) } } else { open[Self.key(a.series, a.metric)] = a }
        }
    }
}
