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
/// 3. **Quiet period**: after a score over the threshold, the following `quietRows` scores are
///    held below it, so one incident raises one alarm.
///
/// Configuration and the reasons for each value are in `AnomalyDetector.Configuration`.
public struct AnomalyDetector: Sendable {
    /// The defaults were chosen with `llmtrace-bench nab` on the 24 NAB series of the shared data
    /// (one configuration for all; NAB standard 48.3 — see the issue notes for the runs), from a
    /// handful of settings, not fitted per series.
    public struct Configuration: Sendable, Equatable {
        /// Values the median and MAD are taken over.
        public var historyLength = 300
        /// Raw surprise is averaged over this many latest values for the likelihood.
        public var shortWindow = 8
        /// …and compared with its own distribution over this many.
        public var longWindow = 600
        /// Values seen before any score above 0 (the yardsticks are not yet meaningful).
        public var warmUp = 300
        /// Rows after an alarm during which scores stay under the threshold.
        public var quietRows = 100
        /// z (in MADs) at which raw surprise reaches 1 − 1/e: large, so that surprise keeps
        /// growing with z instead of saturating at a few MADs.
        public var zScale = 25.0
        /// The likelihood tail that scores exactly `threshold` (scores are −log10(tail) scaled so).
        public var tailAtThreshold = 0.03
        public init() {}
    }

    /// The one alarm threshold the server uses, for every series.
    public static let threshold = 0.5

    public let configuration: Configuration
    private var history: RingBuffer
    private var surprises: RingBuffer
    private var seen = 0
    private var quietLeft = 0

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        history = RingBuffer(capacity: configuration.historyLength)
        surprises = RingBuffer(capacity: configuration.longWindow)
    }

    /// The score of `value`, the next value of the series.
    public mutating func update(_ value: Double) -> Double {
        defer { history.append(value); seen += 1 }
        guard value.isFinite else { return 0 }
        let raw = rawSurprise(value)
        surprises.append(raw)
        guard seen >= configuration.warmUp, surprises.count > configuration.shortWindow * 4 else { return 0 }
        var score = likelihood()
        if quietLeft > 0 {
            quietLeft -= 1
            score = min(score, Self.threshold * 0.99)
        } else if score >= Self.threshold {
            quietLeft = configuration.quietRows
        }
        return score
    }

    private func rawSurprise(_ value: Double) -> Double {
        guard history.count >= 10 else { return 0 }
        var values = history.values
        let median = Self.median(&values)
        for i in values.indices { values[i] = abs(values[i] - median) }
        let mad = Self.median(&values)
        // A floor on the yardstick: a perfectly flat history must not make every wobble infinite.
        let scale = max(1.4826 * mad, 1e-3 * max(abs(median), 1e-9), 1e-12)
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
