#if canImport(Glibc)
import Glibc
#endif

/// A streaming anomaly detector for one series (calls per minute, p95 latency, cost per call…):
/// one value in, one score in [0, 1] out, using nothing after the value (causal). One fixed
/// configuration serves every series; the server alarms at `AnomalyDetector.threshold`.
///
/// Three layers, in the manner of the detectors that score well on the Numenta Anomaly Benchmark:
/// 1. **Raw surprise** of each value against the recent past, robustly: its distance from the
///    median of the last `historyLength` values in units of their median absolute deviation
///    (so one spike does not widen the yardstick), squashed to [0, 1).
/// 2. **Likelihood** (HTM's "anomaly likelihood"): how improbable the average raw surprise of the
///    last `shortWindow` values is under the distribution of raw surprise over the last
///    `longWindow` values (a normal tail). A detector that is often surprised by a noisy series
///    learns that its surprise means little there.
/// 3. **Shape** (`ShapeSurprise`), at two resolutions: how far the latest stretch of 12 points
///    is from the nearest stretch of the recent past, against the largest such distance lately.
///    The finest layer sees every row, the coarse one the means of 2 hours of rows, so that a
///    day is one stretch there. They catch what a level test cannot (a daily peak
///    that does not come, a cycle that flattens). The score is the largest of the three layers'.
/// 4. **Quiet period**: after a score over the threshold, the following `quietRows` scores are
///    held below it, so one incident raises one alarm.
///
/// Configuration and the reasons for each value are in `AnomalyDetector.Configuration`.
public struct AnomalyDetector: Sendable {
    /// The defaults were chosen with `llmtrace-bench nab` on the 24 NAB series of the shared data
    /// (one configuration for all series, not fitted per series; NAB standard 72.05, low FP 64.72,
    /// low FN 77.09). Moving any one setting a step (tail 0.0003 or 0.003, short window 6, likelihood
    /// window 1,000, median history 200, shape margin 1.2 or 1.4, quiet 150 rows) gives 66.3–73.5;
    /// coarse points of 1, 3 or 4 hours instead of 2 (a stretch that is not a day) give 59–63.
    /// A series with a daily cycle and noise, as a service's traffic has, raises no alarm until a
    /// day breaks its pattern (`AnomalyDetectorTests`).
    public struct Configuration: Sendable, Equatable {
        /// Values the median and MAD are taken over.
        public var historyLength = 300
        /// Raw surprise is averaged over this many latest values for the likelihood.
        public var shortWindow = 4
        /// …and compared with its own distribution over this many.
        public var longWindow = 2000
        /// Values seen before any score above 0 (the yardsticks are not yet meaningful).
        public var warmUp = 300
        /// Rows after an alarm during which scores stay under the threshold.
        public var quietRows = 100
        /// z (in MADs) at which raw surprise reaches 1 − 1/e: large, so that surprise keeps
        /// growing with z instead of saturating at a few MADs.
        public var zScale = 25.0
        /// The likelihood tail that scores exactly `threshold` (scores are −log10(tail) scaled so).
        /// Strict, so that a daily cycle (large raw surprise twice a day) does not alarm every day;
        /// what it lets through, the shape layers catch.
        public var tailAtThreshold = 0.001
        /// Points in a stretch compared by the shape layers.
        public var shapeLength = 12
        /// The finest shape layer: earlier rows searched for the nearest stretch, distances
        /// averaged, and the record as the largest average of the last `shapeBlocks × 100` rows.
        public var shapeHistory = 1000
        public var shapeShort = 8
        public var shapeBlocks = 15
        /// The time one row stands for (a minute in the server; the sampling interval of a NAB
        /// series), which turns the coarse layers' durations into rows.
        public var rowSeconds = 60.0
        /// Seconds per point of the coarser shape layers (empty: none): 2 hours, so that a stretch
        /// of 12 points is a day. Each searches the last 500 points, averages 2 distances and keeps
        /// its record over the last 250 points.
        public var shapeCoarseSeconds: [Double] = [7200]
        /// A layer's mean distance must exceed its record this many times over to score the threshold.
        public var shapeMargin = 1.3
        var shapeLayers: [ShapeSurprise.Configuration] {
            [ShapeSurprise.Configuration(every: 1, length: shapeLength, history: shapeHistory, short: shapeShort,
                                         blocks: shapeBlocks, blockPoints: 100, margin: shapeMargin)]
                + shapeCoarseSeconds.map {
                    ShapeSurprise.Configuration(every: max(1, Int(($0 / max(rowSeconds, 1e-9)).rounded())), length: shapeLength, history: 500, short: 2,
                                                blocks: 10, blockPoints: 25, margin: shapeMargin)
                }
        }
        public init() {}
    }

    /// The one alarm threshold the server uses, for every series.
    public static let threshold = 0.5

    public let configuration: Configuration
    private var history: RingBuffer
    private var surprises: RingBuffer
    private var shapes: [ShapeSurprise]
    private var seen = 0
    private var quietLeft = 0
    /// The median of the history the last value was compared with (its "usual" level), for
    /// messages such as "p95 latency 1,650 ms (usual 810 ms)"; nil before there is one.
    public private(set) var level: Double?

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        history = RingBuffer(capacity: configuration.historyLength)
        surprises = RingBuffer(capacity: configuration.longWindow)
        shapes = configuration.shapeLayers.map { ShapeSurprise($0) }
    }

    /// The score of `value`, the next value of the series.
    public mutating func update(_ value: Double) -> Double {
        defer { history.append(value); seen += 1 }
        guard value.isFinite else { return 0 }
        let raw = rawSurprise(value)
        surprises.append(raw)
        let scoring = seen >= configuration.warmUp
        var shapeScore = 0.0
        for k in shapes.indices { shapeScore = max(shapeScore, shapes[k].update(value, scoring: scoring)) }
        guard scoring, surprises.count > configuration.shortWindow * 4 else { return 0 }
        var score = max(likelihood(), shapeScore)
        if quietLeft > 0 {
            quietLeft -= 1
            score = min(score, Self.threshold * 0.99)
        } else if score >= Self.threshold {
            quietLeft = configuration.quietRows
        }
        return score
    }

    private mutating func rawSurprise(_ value: Double) -> Double {
        guard history.count >= 10 else { return 0 }
        var values = history.values
        let median = Self.median(&values)
        level = median
        var absSum = 0.0
        for i in values.indices { values[i] = abs(values[i] - median); absSum += values[i] }
        let mad = Self.median(&values)
        // The mean absolute deviation (× √(π/2), σ for normal data) stands in for the MAD when more
        // than half the history sits on one value (an error rate that is mostly 0): the MAD is 0 there
        // and every single error would look infinitely unusual. A floor on the yardstick: a
        // perfectly flat history must not make every wobble infinite either.
        let meanDeviation = absSum / Double(values.count)
        let spread = mad > 0 ? 1.4826 * mad : 1.2533 * meanDeviation
        let scale = max(spread, 1e-3 * max(abs(median), 1e-9), 1e-12)
        let z = abs(value - median) / scale
        return 1 - exp(-z / configuration.zScale)
    }

    private func likelihood() -> Double {
        let all = surprises.values
        let short = configuration.shortWindow
        let recent = all.suffix(short)
        let past = all.dropLast(short)
        let shortMean = recent.reduce(0, +) / Double(recent.count)
        let mean = past.reduce(0, +) / Double(past.count)
        let variance = past.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(past.count)
        let sd = max(variance.squareRoot(), 1e-4)
        let z = (shortMean - mean) / sd
        // The normal tail beyond z, on a log scale: `threshold` at `tailAtThreshold`.
        let tail = 0.5 * erfc(z / 2.0.squareRoot())
        guard tail < 1 else { return 0 }
        return min(1, max(0, Self.threshold * log(max(tail, 1e-300)) / log(configuration.tailAtThreshold)))
    }

    /// The median (sorts `x` in place; the same type-7 quantile the drift bins use).
    static func median(_ x: inout [Double]) -> Double {
        x.sort()
        return Binning.quantile(x, 0.5)
    }
}

extension AnomalyDetector {
    /// The detector's state as bytes (for the detector state database): a version byte, the
    /// counters, then each buffer's values oldest first, then the shape layer's, little-endian
    /// (version 3; an older state, from before the shape layers, is refused and its series starts
    /// afresh). Restoring needs the same
    /// configuration; `init?(state:)` refuses bytes it cannot read.
    public func encodedState() -> [UInt8] {
        var out: [UInt8] = [3]
        func put(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt64(seen)); put(UInt64(quietLeft)); put((level ?? .nan).bitPattern)
        for buffer in [history, surprises] {
            let values = buffer.values
            put(UInt64(values.count))
            for v in values { put(v.bitPattern) }
        }
        for shape in shapes { shape.encode(into: &out) }
        return out
    }

    public init?(state: [UInt8], configuration: Configuration = Configuration()) {
        self.init(configuration)
        var at = 1
        func get() -> UInt64? {
            guard at + 8 <= state.count else { return nil }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(state[at + k]) << (8 * k) }
            at += 8
            return v
        }
        guard state.first == 3, let seen = get(), let quiet = get(), let lv = get(), seen < 1 << 62, quiet < 1 << 31 else { return nil }
        self.seen = Int(seen)
        quietLeft = Int(quiet)
        let l = Double(bitPattern: lv)
        level = l.isNaN ? nil : l
        for which in 0..<2 {
            guard let n = get(), n <= UInt64(which == 0 ? configuration.historyLength : configuration.longWindow) else { return nil }
            for _ in 0..<n {
                guard let b = get() else { return nil }
                if which == 0 { history.append(Double(bitPattern: b)) } else { surprises.append(Double(bitPattern: b)) }
            }
        }
        var shapes: [ShapeSurprise] = []
        for layer in configuration.shapeLayers {
            guard let shape = ShapeSurprise(layer, reading: get) else { return nil }
            shapes.append(shape)
        }
        self.shapes = shapes
        guard at == state.count else { return nil }
    }
}

/// The last `capacity` values, oldest first.
struct RingBuffer: Sendable {
    private var storage: [Double] = []
    private var start = 0
    let capacity: Int
    init(capacity: Int) { self.capacity = max(1, capacity) }
    var count: Int { storage.count }
    mutating func append(_ v: Double) {
        if storage.count < capacity { storage.append(v) } else {
            storage[start] = v
            start = (start + 1) % capacity
        }
    }
    var values: [Double] { Array(storage[start...] + storage[..<start]) }
}
