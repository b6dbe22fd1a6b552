import LLMTraceModel

/// Turns spans into per-series one-minute points and scores every point with its own
/// `AnomalyDetector`: a series is (project, service, model), a point one metric of one minute.
/// Time is injected (`advance(to:)`), so tests drive hours in milliseconds; a minute is closed
/// once `now` is `lateness` past its end (spans arriving later than that for it are dropped and
/// counted), and closed minutes are scored in order, empty ones included (0 calls).
/// Not thread-safe: its owner serialises `add` and `advance`.
public final class SeriesMonitor {
    public struct SeriesKey: Hashable, Sendable, CustomStringConvertible {
        public var project: String
        public var service: String
        public var model: String
        public var description: String { "\(project)/\(service)/\(model)" }
    }

    public enum Metric: String, CaseIterable, Sendable {
        case calls, errorRate = "error_rate", p50Latency = "p50_latency_ms", p95Latency = "p95_latency_ms"
        case ttftP95 = "ttft_p95_ms", inputTokensPerCall = "input_tokens_per_call"
        case outputTokensPerCall = "output_tokens_per_call", costPerCall = "cost_per_call", costPerMinute = "cost_per_minute"
    }

    /// One scored value: `metric` of `series` over the minute starting at `minuteStartNanos`.
    public struct Point: Sendable, Equatable {
        public var series: SeriesKey
        public var metric: Metric
        public var minuteStartNanos: Int64
        public var value: Double
        public var score: Double
    }

    public let resolutionNanos: Int64
    public let latenessNanos: Int64
    public private(set) var lateSpans = 0

    private struct Bucket {
        var calls = 0, errors = 0
        var latenciesMs: [Double] = []
        var ttftMs: [Double] = []
        var inputTokens = 0.0, outputTokens = 0.0, cost = 0.0, costCalls = 0
    }
    private struct Series {
        var detectors: [Metric: AnomalyDetector] = [:]
        /// Minute index → bucket, for minutes not yet closed.
        var open: [Int64: Bucket] = [:]
        /// The first minute not yet scored.
        var next: Int64
    }
    private var series: [SeriesKey: Series] = [:]
    private let configuration: AnomalyDetector.Configuration

    public init(resolutionNanos: Int64 = 60_000_000_000, latenessNanos: Int64 = 60_000_000_000,
                configuration: AnomalyDetector.Configuration = .init()) {
        self.resolutionNanos = resolutionNanos
        self.latenessNanos = latenessNanos
        self.configuration = configuration
    }

    /// Adds model calls (spans that name a model) to their series' minutes.
    public func add(_ spans: [Span]) {
        for s in spans {
            guard let model = s.responseModel ?? s.requestModel else { continue }
            let key = SeriesKey(project: s.project, service: s.service, model: model)
            let minute = SpecialFunctions.floorDiv(s.startNanos, resolutionNanos)
            var state = series[key] ?? Series(next: minute)
            guard minute >= state.next else { lateSpans += 1; continue }
            var b = state.open[minute] ?? Bucket()
            b.calls += 1
            if s.status == .error { b.errors += 1 }
            b.latenciesMs.append(Double(s.durationNanos) / 1e6)
            if let t = s.timeToFirstTokenNanos { b.ttftMs.append(Double(t) / 1e6) }
            b.inputTokens += Double(s.inputTokens ?? 0)
            b.outputTokens += Double(s.outputTokens ?? 0)
            if let c = s.costUSD { b.cost += c; b.costCalls += 1 }
            state.open[minute] = b
            series[key] = state
        }
    }

    /// Closes and scores every minute that ended at least `lateness` before `now`, oldest first.
    public func advance(to now: Int64) -> [Point] {
        let closedBefore = SpecialFunctions.floorDiv(now - latenessNanos, resolutionNanos)  // minutes < this are closed
        var out: [Point] = []
        for key in series.keys.sorted(by: { $0.description < $1.description }) {
            var state = series[key]!
            while state.next < closedBefore {
                let minute = state.next
                let b = state.open.removeValue(forKey: minute) ?? Bucket()
                for (metric, value) in Self.values(b) {
                    var d = state.detectors[metric] ?? AnomalyDetector(configuration)
                    let score = d.update(value)
                    state.detectors[metric] = d
                    out.append(Point(series: key, metric: metric, minuteStartNanos: minute * resolutionNanos, value: value, score: score))
                }
                state.next += 1
            }
            series[key] = state
        }
        return out
    }

    /// The metrics of one minute; those undefined without calls (latency, per-call figures) are
    /// left out of an empty minute.
    private static func values(_ b: Bucket) -> [(Metric, Double)] {
        var out: [(Metric, Double)] = [(.calls, Double(b.calls)), (.costPerMinute, b.cost)]
        guard b.calls > 0 else { return out }
        var lat = b.latenciesMs
        lat.sort()
        out.append((.errorRate, Double(b.errors) / Double(b.calls)))
        out.append((.p50Latency, Binning.quantile(lat, 0.5)))
        out.append((.p95Latency, Binning.quantile(lat, 0.95)))
        if !b.ttftMs.isEmpty {
            var t = b.ttftMs
            t.sort()
            out.append((.ttftP95, Binning.quantile(t, 0.95)))
        }
        out.append((.inputTokensPerCall, b.inputTokens / Double(b.calls)))
        out.append((.outputTokensPerCall, b.outputTokens / Double(b.calls)))
        if b.costCalls > 0 { out.append((.costPerCall, b.cost / Double(b.costCalls))) }
        return out
    }
}
