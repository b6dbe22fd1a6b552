/// The shape layers of `AnomalyDetector`: how unlike anything of the recent past the latest
/// stretch of the series is, in its shape, whatever its level. They catch what a level test cannot:
/// a daily peak that does not come, a cycle that flattens, spikes that change their rhythm, values
/// inside the usual range arriving in an unusual order.
///
/// A layer sees the series as points, each the mean of `every` rows (1 for the finest layer; the
/// coarser ones see hours where the finest sees minutes, so a stretch of 12 points spans a day's
/// pattern there).
/// 1. **Discord distance** (the matrix-profile idea, computed causally): the root-mean-square
///    distance between the last `length` points and the nearest earlier stretch of `length` points
///    among the last `history` (stretches overlapping the current one excluded).
/// 2. **Record ratio**: the mean of the last `short` distances, divided by the largest such mean
///    of the previous `blocks × blockPoints` points (kept as one maximum per block of points, so
///    the memory is fixed). A series that is always somewhat novel (noise) sets a high record and
///    is not alarming; a periodic one sets a low record, and the first broken period beats it.
///    Scale-free: no yardstick is needed, so a series that sits on one value for hours then moves
///    is handled like any other.
/// The score is the ratio over twice `margin`, capped at 1: a mean `margin` times the record scores
/// `AnomalyDetector.threshold`.
struct ShapeSurprise: Sendable {
    struct Configuration: Sendable, Equatable {
        /// Rows averaged into one point (1: every row is a point; 12: the layer sees the series at a
        /// twelfth of its resolution and scores once every 12 rows).
        var every = 1
        /// Points in a stretch.
        var length = 12
        /// Earlier points searched for the nearest stretch.
        var history = 1000
        /// Distances averaged into the statistic.
        var short = 8
        /// The record is kept as the maxima of `blocks` blocks of `blockPoints` points.
        var blocks = 15
        var blockPoints = 100
        /// How far past the record the mean must go to score the alarm threshold: a series of plain
        /// noise sets a new record now and then by a hair, which is no news.
        var margin = 1.3
        /// Earlier stretches needed before a distance is taken.
        var minimumCandidates = 20
        /// Means in the record before any score (a record over a handful of points means nothing).
        var minimumRecord = 50
    }

    let configuration: Configuration
    /// The latest points, oldest first, as `Float` (a distance needs no more, and a server holds
    /// thousands of these); at most a quarter more than `capacity` is kept, the front cut off in one
    /// move when that is reached, so the last `capacity` are always contiguous.
    private(set) var points: [Float] = []
    /// The rows of the point being formed.
    private(set) var pendingSum = 0.0
    private(set) var pendingRows = 0
    /// The last `short` distances (their mean is the statistic) and the last `short` means (a mean
    /// joins the record only `short` points later, so the current stretch never competes with itself).
    private(set) var distances: [Double] = []
    private(set) var means: [Double] = []
    /// Maxima of the completed blocks, oldest first, and of the block being filled.
    private(set) var blockMaxima: [Double] = []
    private(set) var currentMax = -1.0
    private(set) var currentPoints = 0
    /// Means that have joined the record so far (counted up to `minimumRecord`).
    private(set) var recorded = 0

    init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    private var capacity: Int { configuration.history + 2 * configuration.length }

    /// Adds the next row's `value` and returns the shape score in [0, 1]: 0 on rows that do not
    /// complete a point, and while there is too little past.
    mutating func update(_ value: Double, scoring: Bool) -> Double {
        pendingSum += value
        pendingRows += 1
        guard pendingRows == configuration.every else { return 0 }
        points.append(Float(pendingSum / Double(pendingRows)))
        pendingSum = 0
        pendingRows = 0
        if points.count >= capacity + capacity / 4 { points.removeFirst(points.count - capacity) }
        // Nothing joins the statistic or the record before there is a real distance (zeros there
        // would make the first distance an infinite record).
        guard let distance = nearestDistance() else { return 0 }
        Self.push(&distances, distance, keep: configuration.short)
        let mean = distances.reduce(0, +) / Double(configuration.short)
        // The mean from `short` points ago joins the record.
        if means.count == configuration.short {
            currentMax = max(currentMax, means[0])
            currentPoints += 1
            recorded = min(recorded + 1, configuration.minimumRecord)
            if currentPoints == configuration.blockPoints {
                blockMaxima.append(currentMax)
                if blockMaxima.count > configuration.blocks { blockMaxima.removeFirst() }
                currentMax = -1
                currentPoints = 0
            }
        }
        Self.push(&means, mean, keep: configuration.short)
        guard scoring, recorded >= configuration.minimumRecord else { return 0 }
        var record = currentPoints > 0 ? currentMax : -1
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
        let n = points.count
        let current = n - m  // start of the current stretch
        let last = current - m  // the latest start that does not overlap it
        let first = max(0, current - configuration.history)
        guard last - first >= configuration.minimumCandidates, n > m + 50 else { return nil }
        return points.withUnsafeBufferPointer { v -> Double in
            var best = Double.infinity
            for s in first...last {
                var sum = 0.0
                var i = 0
                // Stop early once this candidate cannot beat the best so far.
                while i < m && sum < best {
                    let d = Double(v[s + i]) - Double(v[current + i])
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
        let kept = points.suffix(capacity)
        put(UInt64(kept.count))
        for v in kept { put(UInt64(v.bitPattern)) }
        for list in [distances, means, blockMaxima] {
            put(UInt64(list.count))
            for v in list { put(v.bitPattern) }
        }
        put(currentMax.bitPattern)
        put(UInt64(currentPoints))
        put(pendingSum.bitPattern)
        put(UInt64(pendingRows))
        put(UInt64(recorded))
    }

    /// Reads what `encode` wrote, advancing `get`; nil when the bytes do not fit this configuration.
    init?(_ configuration: Configuration, reading get: () -> UInt64?) {
        self.init(configuration)
        guard let count = get(), count <= UInt64(capacity) else { return nil }
        for _ in 0..<count {
            guard let b = get(), b <= UInt64(UInt32.max) else { return nil }
            points.append(Float(bitPattern: UInt32(b)))
        }
        let limits = [configuration.short, configuration.short, configuration.blocks]
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
        guard let cm = get(), let filled = get(), filled < UInt64(configuration.blockPoints),
              let sum = get(), let rows = get(), rows < UInt64(configuration.every),
              let seen = get(), seen <= UInt64(configuration.minimumRecord) else { return nil }
        recorded = Int(seen)
        distances = lists[0]; means = lists[1]; blockMaxima = lists[2]
        currentMax = Double(bitPattern: cm)
        currentPoints = Int(filled)
        pendingSum = Double(bitPattern: sum)
        pendingRows = Int(rows)
    }
}
