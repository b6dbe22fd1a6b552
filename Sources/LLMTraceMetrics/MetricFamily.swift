import LLMTraceModel
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
    /// The `le` label of each bucket, formatted once rather than on every scrape line.
    private let bucketLabels: [String]

    static let overflowValue = "__overflow__"

    struct Series {
        var value = 0.0
        var bucketCounts: [UInt64] = []
        var sum = 0.0
        var count: UInt64 = 0

        mutating func add(_ counts: UnsafeMutableBufferPointer<UInt64>, sum: Double, count n: UInt64) {
            for b in 0..<counts.count { bucketCounts[b] &+= counts[b] }
            self.sum += sum
            count &+= n
        }
    }

    private let lock = Condition()
    /// Series by label values; `ids` index into `labelSets` and `store`, and never change, so a
    /// caller can keep an id and skip hashing the labels on every update.
    /// Keyed by bytes (`ExactString`): label values written two ways (NFC, NFD) are two series.
    private var ids: [[ExactString]: Int] = [:]
    private var labelSets: [[String]] = []
    private var store: [Series] = []
    private var foldedCount: UInt64 = 0

    public init(_ name: String, _ kind: Kind, help: String, labels: [String] = [], buckets: [Double] = [], maxSeries: Int = 10_000) {
        precondition(kind != .histogram || !buckets.isEmpty, "a histogram needs buckets")
        precondition(buckets == buckets.sorted(), "histogram buckets must ascend")
        self.name = name
        self.kind = kind
        self.help = help
        self.labelNames = labels
        self.buckets = buckets
        self.bucketLabels = buckets.map(Exposition.format) + ["+Inf"]
        self.maxSeries = max(1, maxSeries)
    }

    /// Label sets folded into the overflow series since start.
    public var folded: UInt64 { lock.withLock { foldedCount } }
    public var seriesCount: Int { lock.withLock { store.count } }

    /// The series id of `labels`: its own while there is room (or it exists), else the overflow
    /// series'. Each call for a new label set past the cap counts as one fold. Lock held.
    private func lockedID(_ given: [String]) -> Int {
        precondition(given.count == labelNames.count, "\(name) takes labels \(labelNames)")
        if let id = ids[given.map(ExactString.init)] { return id }
        // A runaway value (a 1 MB service name) must not make every scrape that big.
        let labels = given.contains { $0.utf8.count > LabelValue.maxBytes } ? given.map(LabelValue.bounded) : given
        if let id = ids[labels.map(ExactString.init)] { return id }
        var key = labels
        if store.count >= maxSeries - 1 {
            foldedCount += 1
            key = [String](repeating: Self.overflowValue, count: labelNames.count)
            if let id = ids[key.map(ExactString.init)] { return id }
        }
        let id = store.count
        ids[key.map(ExactString.init)] = id
        labelSets.append(key)
        store.append(Series(bucketCounts: kind == .histogram ? [UInt64](repeating: 0, count: buckets.count + 1) : []))
        return id
    }

    /// The id to update `labels` through (`add(id:)`, `observe(id:)`). A label set past the cap
    /// gets the overflow series' id, and is counted as folded once, here.
    public func id(_ labels: [String]) -> Int { lock.withLock { lockedID(labels) } }

    /// Counters: adds `v` (must not be negative). Gauges may add anything.
    public func add(_ labels: [String], _ v: Double = 1) {
        lock.withLock { store[lockedID(labels)].value += v }
    }

    public func add(id: Int, _ v: Double) {
        lock.withLock { store[id].value += v }
    }

    /// Gauges: sets the value.
    public func set(_ labels: [String], _ v: Double) {
        lock.withLock { store[lockedID(labels)].value = v }
    }

    /// Histograms: observes each value. Values are binned into a stack buffer first, then added to
    /// the series under one lock.
    public func observe<C: Collection>(id: Int, _ values: C) where C.Element == Double {
        guard !values.isEmpty else { return }
        let nb = buckets.count + 1
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: nb) { counts in
            counts.initialize(repeating: 0)
            var sum = 0.0
            buckets.withUnsafeBufferPointer { bounds in
                for v in values {
                    // First bucket whose bound holds v; the last slot is +Inf (and NaN).
                    var lo = 0, hi = bounds.count
                    while lo < hi {
                        let mid = (lo + hi) / 2
                        if v <= bounds[mid] { hi = mid } else { lo = mid + 1 }
                    }
                    counts[lo] += 1
                    sum += v
                }
            }
            let n = UInt64(values.count)
            lock.withLock { store[id].add(counts, sum: sum, count: n) }
        }
    }

    public func observe<C: Collection>(_ labels: [String], _ values: C) where C.Element == Double {
        guard !values.isEmpty else { return }
        observe(id: id(labels), values)
    }

    public func observe(_ labels: [String], _ v: Double) { observe(labels, CollectionOfOne(v)) }

    /// The value of one counter or gauge series (tests, and the collector's own reads).
    public func value(_ labels: [String]) -> Double? { lock.withLock { ids[labels.map(ExactString.init)].map { store[$0].value } } }

    /// Count and sum of one histogram series.
    public func histogram(_ labels: [String]) -> (count: UInt64, sum: Double, buckets: [UInt64])? {
        lock.withLock { ids[labels.map(ExactString.init)].map { (store[$0].count, store[$0].sum, store[$0].bucketCounts) } }
    }

    /// Appends the family to `out`. `only` keeps the series whose label `only.label` equals
    /// `only.value` (a read key's project); series are sorted by label values so scrapes are stable.
    public func render(into out: inout Exposition, only: (label: String, value: String)? = nil) {
        let (sets, values) = lock.withLock { (labelSets, store) }
        var order = Array(sets.indices)
        if let only, let i = labelNames.firstIndex(of: only.label) { order = order.filter { sets[$0][i] == only.value } }
        order.sort { sets[$0].lexicographicallyPrecedes(sets[$1]) }
        // A family with no series yet still says what it is, so dashboards and scrapers see it.
        out.family(name, type: kind.rawValue, help: help)
        if order.isEmpty, labelNames.isEmpty, kind != .histogram { out.sample(name, labels: [], value: 0); return }
        for k in order {
            let s = values[k]
            let labels = Array(zip(labelNames, sets[k]))
            switch kind {
            case .counter, .gauge:
                out.sample(name, labels: labels, value: s.value)
            case .histogram:
                var cumulative: UInt64 = 0
                for (b, le) in bucketLabels.enumerated() {
                    cumulative += s.bucketCounts[b]
                    out.sample(name, "_bucket", labels: labels, extra: ("le", le), value: Double(cumulative))
                }
                out.sample(name, "_sum", labels: labels, value: s.sum)
                out.sample(name, "_count", labels: labels, value: Double(s.count))
            }
        }
    }
}
