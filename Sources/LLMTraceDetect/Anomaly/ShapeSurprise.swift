/// The second layer of `AnomalyDetector`: how unlike anything of the recent past the latest
/// stretch of the series is, in its shape, whatever its level. It catches what a level test cannot:
/// a daily peak that does not come, a cycle that flattens, spikes that change their rhythm, values
/// inside the usual range arriving in an unusual order.
///
/// 1. **Discord distance** (the matrix-profile idea, computed causally): the root-mean-square
///    distance between the last `length` values and the nearest earlier stretch of `length` values
///    among the last `history` (stretches overlapping the current one excluded).
/// 2. **Record ratio**: the mean of the last `short` distances, divided by the largest such mean
///    of the previous `blocks × blockRows` rows (kept as one maximum per block of rows, so the
///    memory is fixed). A series that is always somewhat novel (noise) sets a high record and is
///    not alarming; a periodic one sets a low record, and the first broken period beats it.
///    Scale-free: no yardstick is needed, so a series that sits on one value for hours then moves
///    is handled like any other.
/// The score is the ratio over twice `margin`, capped at 1: a mean `margin` times the record scores
/// `AnomalyDetector.threshold`.
struct ShapeSurprise: Sendable {
    struct Configuration: Sendable, Equatable {
        var length = 12
        var history = 1000
        var short = 4
        var blocks = 15
        var blockRows = 100
        /// How far past the record the mean must go to score the alarm threshold: a series of plain
        /// noise sets a new record now and then by a hair, which is no news.
        var margin = 1.3
        /// Distances computed before any ratio (a record over a handful of rows means nothing).
        var minimumCandidates = 20
    }

    let configuration: Configuration
    /// The latest values, oldest first; at most `2 × capacity` are kept and the front is cut off in
    /// one move when that is reached, so the last `capacity` are always contiguous.
    private(set) var values: [Double] = []
    /// The last `short` distances (their mean is the statistic) and the last `short` means (a mean
    /// joins the record only `short` rows later, so the current stretch never competes with itself).
    private(set) var distances: [Double] = []
    private(set) var means: [Double] = []
    /// Maxima of the completed blocks, oldest first, and of the block being filled.
    private(set) var blockMaxima: [Double] = []
    private(set) var currentMax = -1.0
    private(set) var currentRows = 0

    init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    private var capacity: Int { configuration.history + 2 * configuration.length }

    /// Adds `value` and returns the shape score in [0, 1] (0 while there is too little past).
    mutating func update(_ value: Double, scoring: Bool) -> Double {
        values.append(value)
        if values.count >= 2 * capacity { values.removeFirst(values.count - capacity) }
        let distance = nearestDistance() ?? 0
        Self.push(&distances, distance, keep: configuration.short)
        let mean = distances.reduce(0, +) / Double(configuration.short)
        // The mean from `short` rows ago joins the record.
        if means.count == configuration.short {
            let old = means[0]
            currentMax = max(currentMax, old)
            currentRows += 1
            if currentRows == configuration.blockRows {
                blockMaxima.append(currentMax)
                if blockMaxima.count > configuration.blocks { blockMaxima.removeFirst() }
                currentMax = -1
                currentRows = 0
            }
        }
        Self.push(&means, mean, keep: configuration.short)
        guard scoring else { return 0 }
        var record = currentRows > 0 ? currentMax : -1
        for m in blockMaxima { record = max(record, m) }
        guard record >= 0 else { return 0 }
        let ratio = record > 0 ? mean / record : (mean > 0 ? .infinity : 0)
        return min(1, max(0, ratio / (2 * configuration.margin)))
    }

    private static func push(_ ring: inout [Double], _ v: Double, keep: Int) {
        if ring.count == keep { ring.removeFirst() }
        ring.append(v)
    }

    /// The distance from the last `length` values to the nearest non-overlapping earlier stretch
    /// within `history`; nil while fewer than `minimumCandidates` such stretches exist.
    private func nearestDistance() -> Double? {
        let m = configuration.length
        let n = values.count
        let current = n - m  // start of the current stretch
        let last = current - m  // the latest start that does not overlap it
        let first = max(0, current - configuration.history)
        guard last - first >= configuration.minimumCandidates, n > m + 50 else { return nil }
        return values.withUnsafeBufferPointer { v -> Double in
            var best = Double.infinity
            for s in first...last {
                var sum = 0.0
                var i = 0
                // Stop early once this candidate cannot beat the best so far.
                while i < m && sum < best {
                    let d = v[s + i] - v[current + i]
                    sum += d * d
                    i += 1
                }
                if sum < best { best = sum }
            }
            return (best / Double(m)).squareRoot()
        }
    }
}

extension ShapeSurprise {
    /// The state as bytes (inside `AnomalyDetector.encodedState()`): counts then values.
    func encode(into out: inout [UInt8]) {
        func put(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        for list in [Array(values.suffix(capacity)), distances, means, blockMaxima] {
            put(UInt64(list.count))
            for v in list { put(v.bitPattern) }
        }
        put(currentMax.bitPattern)
        put(UInt64(currentRows))
    }

    /// Reads what `encode` wrote, advancing `get`; nil when the bytes do not fit this configuration.
    init?(_ configuration: Configuration, reading get: () -> UInt64?) {
        self.init(configuration)
        let limits = [capacity, configuration.short, configuration.short, configuration.blocks]
        var lists: [[Double]] = []
        for limit in limits {
            guard let n = get(), n <= UInt64(limit) else { return nil }
            var list: [Double] = []
            for _ in 0..<n {
                guard let b = get() else { return nil }
                list.append(Double(bitPattern: b))
            }
            lists.append(list)
        }
        guard let cm = get(), let rows = get(), rows < UInt64(configuration.blockRows) else { return nil }
        values = lists[0]; distances = lists[1]; means = lists[2]; blockMaxima = lists[3]
        currentMax = Double(bitPattern: cm)
        currentRows = Int(rows)
    }
}
