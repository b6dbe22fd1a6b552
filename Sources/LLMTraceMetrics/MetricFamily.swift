import LLMTraceSupport

/// One metric family: a name, a kind, fixed label names and a series per distinct label values.
/// Label sets are capped (`maxSeries`): past the cap, new label sets are folded into one overflow
/// series whose every label is `__overflow__`, and `folded` counts what went there, so a runaway
/// label (a user id as a service name) cannot grow memory or the scrape without bound.
public final class MetricFamily: @unchecked Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public let name: String
    public let kind: Kind
    public let help: String
    public let labelNames: [String]
    /// Histogram bucket upper bounds, ascending (`+Inf` is implied).
    public let buckets: [Double]
    public let maxSeries: Int

    static let overflowValue = "__overflow__"

    struct Series {
        var value = 0.0
        var bucketCounts: [UInt64] = []
        var sum = 0.0
        var count: UInt64 = 0
    }

    private let lock = Condition()
    private var series: [[String]: Series] = [:]
    private var foldedCount: UInt64 = 0

    public init(_ name: String, _ kind: Kind, help: String, labels: [String] = [], buckets: [Double] = [], maxSeries: Int = 10_000) {
        precondition(kind != .histogram || !buckets.isEmpty, "a histogram needs buckets")
        precondition(buckets == buckets.sorted(), "histogram buckets must ascend")
        self.name = name
        self.kind = kind
        self.help = help
        self.labelNames = labels
        self.buckets = buckets
        self.maxSeries = max(1, maxSeries)
    }

    /// Label sets folded into the overflow series since start.
    public var folded: UInt64 { lock.withLock { foldedCount } }
    public var seriesCount: Int { lock.withLock { series.count } }

    /// The key to store `labels` under: itself while there is room (or it exists), else the
    /// overflow series. Lock held.
    private func key(_ labels: [String]) -> [String] {
        precondition(labels.count == labelNames.count, "\(name) takes labels \(labelNames)")
        if series[labels] != nil || series.count < maxSeries - 1 { return labels }
        foldedCount += 1
        return [String](repeating: Self.overflowValue, count: labelNames.count)
    }

    /// Counters: adds `v` (must not be negative).
    public func add(_ labels: [String], _ v: Double = 1) {
        lock.withLock { series[key(labels), default: Series()].value += v }
    }

    /// Gauges: sets the value.
    public func set(_ labels: [String], _ v: Double) {
        lock.withLock { series[key(labels), default: Series()].value = v }
    }

    /// Histograms: observes each value, under one lock.
    public func observe<C: Collection>(_ labels: [String], _ values: C) where C.Element == Double {
        guard !values.isEmpty else { return }
        lock.withLock {
            let k = key(labels)
            var s = series[k] ?? Series(bucketCounts: [UInt64](repeating: 0, count: buckets.count + 1))
            for v in values {
                // First bucket whose bound holds v; the last slot is +Inf (and NaN).
                var lo = 0, hi = buckets.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if v <= buckets[mid] { hi = mid } else { lo = mid + 1 }
                }
                s.bucketCounts[lo] += 1
                s.sum += v
                s.count += 1
            }
            series[k] = s
        }
    }

    public func observe(_ labels: [String], _ v: Double) { observe(labels, CollectionOfOne(v)) }

    /// The value of one counter or gauge series (tests, and the collector's own reads).
    public func value(_ labels: [String]) -> Double? { lock.withLock { series[labels]?.value } }

    /// Count and sum of one histogram series.
    public func histogram(_ labels: [String]) -> (count: UInt64, sum: Double, buckets: [UInt64])? {
        lock.withLock { series[labels].map { ($0.count, $0.sum, $0.bucketCounts) } }
    }

    /// Appends the family to `out`. `only` keeps the series whose label `only.label` equals
    /// `only.value` (a read key's project); series are sorted by label values so scrapes are stable.
    public func render(into out: inout Exposition, only: (label: String, value: String)? = nil) {
        let snapshot = lock.withLock { series }
        var keys = Array(snapshot.keys)
        if let only, let i = labelNames.firstIndex(of: only.label) { keys = keys.filter { $0[i] == only.value } }
        keys.sort { $0.lexicographicallyPrecedes($1) }
        // A family with no series yet still says what it is, so dashboards and scrapers see it.
        out.family(name, type: kind.rawValue, help: help)
        if keys.isEmpty, labelNames.isEmpty, kind != .histogram { out.sample(name, labels: [], value: 0); return }
        for k in keys {
            let s = snapshot[k]!
            let labels = Array(zip(labelNames, k))
            switch kind {
            case .counter, .gauge:
                out.sample(name, labels: labels, value: s.value)
            case .histogram:
                var cumulative: UInt64 = 0
                for (b, bound) in buckets.enumerated() {
                    cumulative += s.bucketCounts[b]
                    out.sample(name, "_bucket", labels: labels, extra: ("le", Exposition.format(bound)), value: Double(cumulative))
                }
                out.sample(name, "_bucket", labels: labels, extra: ("le", "+Inf"), value: Double(s.count))
                out.sample(name, "_sum", labels: labels, value: s.sum)
                out.sample(name, "_count", labels: labels, value: Double(s.count))
            }
        }
    }
}
