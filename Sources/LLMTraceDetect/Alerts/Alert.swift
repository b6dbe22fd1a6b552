import LLMTraceModel

/// One alert: an anomaly on one metric of one series that held long enough to fire.
/// Lifecycle: `pending` (an anomaly scored at or over the threshold) → `firing` (the scores stayed
/// at or over `resolveBelow` for `forMinutes` more minutes) → `resolved` (the value back at least
/// half way to its usual level, or a lasting shift adopted as the new normal, for
/// `resolveAfterMinutes` minutes in a row: `AlertBook.isQuiet`). A pending alert whose next score
/// falls under `resolveBelow` is dropped without having fired.
public struct Alert: Sendable, Equatable {
    public enum State: String, Sendable {
        case pending, firing, resolved
    }

    /// Stable for the alert's life, and across restarts: the series, the metric and the minute it started.
    public var id: String
    public var series: SeriesMonitor.SeriesKey
    public var metric: SeriesMonitor.Metric
    public var state: State
    /// The minute of the first anomaly, when it fired, when it resolved (wall-clock nanoseconds).
    public var startsNanos: Int64
    public var firedNanos: Int64?
    public var resolvedNanos: Int64?
    /// The highest score seen, the value and usual level at the first anomaly, the latest value.
    public var peakScore: Double
    public var value: Double
    public var level: Double?
    public var lastValue: Double
    /// For a prompt's series: the version most used in the minute the alert started.
    public var version: String?
    /// Minutes in a row under `resolveBelow` while firing.
    public var quietMinutes = 0
    /// Whether a silence matched when it last changed state (notifications are not sent then).
    public var silenced = false

    /// "p95_latency_ms of chat-api model=gpt-4o rose to 1650 (usual 810)".
    public var summary: String {
        let dir = level.map { value >= $0 ? "rose to" : "fell to" } ?? "is"
        let usual = level.map { " (usual \(Self.format($0)))" } ?? ""
        let v = version.map { " (version \($0))" } ?? ""
        return "\(metric.rawValue) of \(series.service) \(series.dimension.rawValue)=\(series.value)\(v) \(dir) \(Self.format(value))\(usual)"
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        let a = abs(v)
        let digits = a >= 100 ? 0 : a >= 1 ? 2 : 4
        var s = String(v)
        if let dot = s.firstIndex(of: "."), !s.contains("e") {
            let end = s.index(dot, offsetBy: digits == 0 ? 0 : digits + 1, limitedBy: s.endIndex) ?? s.endIndex
            s = String(s[..<end])
        }
        return s
    }

    /// Labels as Prometheus and Alertmanager see them.
    public var labels: [(String, String)] {
        [("alertname", "LLMTraceAnomaly"), ("project", series.project), ("service", series.service),
         (series.dimension.rawValue, series.value), ("metric", metric.rawValue), ("severity", "warning")]
    }
}

/// A silence: alerts of `project` matching every matcher (label → exact value; labels are
/// `service`, `model`, `prompt`, `metric`) between `startsNanos` and `endsNanos` send no
/// notifications and are shown as silenced. An empty matcher list silences the whole project.
public struct Silence: Sendable, Equatable {
    public var id: Int64
    public var project: String
    public var matchers: [String: String]
    public var startsNanos: Int64
    public var endsNanos: Int64
    public var comment: String
    public var createdBy: String

    public static let labels: Set<String> = ["service", "model", "prompt", "retriever", "metric"]

    public init(id: Int64 = 0, project: String, matchers: [String: String], startsNanos: Int64, endsNanos: Int64, comment: String = "", createdBy: String = "") {
        self.id = id
        self.project = project
        self.matchers = matchers
        self.startsNanos = startsNanos
        self.endsNanos = endsNanos
        self.comment = comment
        self.createdBy = createdBy
    }

    public func isActive(at now: Int64) -> Bool { startsNanos <= now && now < endsNanos }

    public func matches(_ a: Alert) -> Bool {
        guard ExactString.equal(a.series.project, project) else { return false }
        for (k, v) in matchers {
            let actual: String?
            switch k {
            case "service": actual = a.series.service
            case "metric": actual = a.metric.rawValue
            case a.series.dimension.rawValue: actual = a.series.value
            default: actual = nil
            }
            guard let actual, ExactString.equal(actual, v) else { return false }
        }
        return true
    }
}
