import LLMTraceModel

/// Turns spans into per-series one-minute points and scores every point with its own
/// `AnomalyDetector`. A series is (project, service, model) or (project, service, prompt name and
/// version); a point is one metric of one minute. Time is injected (`advance(to:)`), so tests
/// drive hours in milliseconds; a minute is closed once `now` is `lateness` past its end (spans
/// arriving later than that for it are dropped and counted), and closed minutes are scored in
/// order, empty ones included (0 calls). Not thread-safe: its owner serialises its calls.
public final class SeriesMonitor {
    public enum Dimension: String, Sendable, CaseIterable {
        case model, prompt
    }

    public struct SeriesKey: Hashable, Sendable, CustomStringConvertible {
        public var project: String
        public var service: String
        public var dimension: Dimension
        /// The model, or the prompt as `name@version` (`name` when it has no version).
        public var value: String
        public init(project: String, service: String, dimension: Dimension, value: String) {
            self.project = project
            self.service = service
            self.dimension = dimension
            self.value = value
        }
        public var description: String { "\(project)/\(service)/\(dimension.rawValue)=\(value)" }
    }

    public enum Metric: String, CaseIterable, Sendable {
        case calls, errorRate = "error_rate", p50Latency = "p50_latency_ms", p95Latency = "p95_latency_ms"
        case ttftP95 = "ttft_p95_ms", inputTokensPerCall = "input_tokens_per_call"
        case outputTokensPerCall = "output_tokens_per_call", costPerCall = "cost_per_call", costPerMinute = "cost_per_minute"
        case evalFailureRate = "eval_failure_rate"
    }

    /// One scored value: `metric` of `series` over the minute starting at `minuteStartNanos`;
    /// `level` is the median of the values the detector compared it with (the usual level).
    public struct Point: Sendable, Equatable {
        public var series: SeriesKey
        public var metric: Metric
        public var minuteStartNanos: Int64
        public var value: Double
        public var score: Double
        public var level: Double?
    }

    /// What the evaluators made of a span, for the failure-rate metric.
    public struct EvalOutcome: Sendable {
        public var evaluated: Bool
        public var failed: Bool
        public init(evaluated: Bool, failed: Bool) { self.evaluated = evaluated; self.failed = failed }
    }

    public let resolutionNanos: Int64
    public let latenessNanos: Int64
    /// Series kept at most; spans of further series are dropped and counted (`droppedSeriesSpans`).
    public let maxSeries: Int
    public private(set) var lateSpans = 0
    public private(set) var droppedSeriesSpans = 0
    public var seriesCount: Int { series.count }

    private struct Bucket {
        var calls = 0, errors = 0
        var latenciesMs: [Double] = []
        var ttftMs: [Double] = []
        var inputTokens = 0.0, outputTokens = 0.0, cost = 0.0, costCalls = 0
        var evaluated = 0, evalFailed = 0
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

    public init(resolutionNanos: Int64 = 60_000_000_000, latenessNanos: Int64 = 60_000_000_000, maxSeries: Int = 5_000,
                configuration: AnomalyDetector.Configuration = .init()) {
        self.resolutionNanos = resolutionNanos
        self.latenessNanos = latenessNanos
        self.maxSeries = maxSeries
        self.configuration = configuration
    }

    /// Adds model calls (spans that name a model) to their model's series, and spans that name a
    /// prompt to their prompt's series.
    public func add(_ spans: [Span], evaluations: [EvalOutcome]? = nil) {
        for (i, s) in spans.enumerated() {
            let e = evaluations?[i]
            if let model = s.responseModel ?? s.requestModel {
                add(s, SeriesKey(project: s.project, service: s.service, dimension: .model, value: model), e)
            }
            if let prompt = s.promptName {
                let v = s.promptVersion.map { "\(prompt)@\($0)" } ?? prompt
                add(s, SeriesKey(project: s.project, service: s.service, dimension: .prompt, value: v), e)
            }
        }
    }

    private func add(_ s: Span, _ key: SeriesKey, _ e: EvalOutcome?) {
        let minute = SpecialFunctions.floorDiv(s.startNanos, resolutionNanos)
        var state: Series
        if let st = series[key] {
            state = st
        } else {
            guard series.count < maxSeries else { droppedSeriesSpans += 1; return }
            state = Series(next: minute)
        }
        guard minute >= state.next else { lateSpans += 1; return }
        var b = state.open[minute] ?? Bucket()
        b.calls += 1
        if s.status == .error { b.errors += 1 }
        b.latenciesMs.append(Double(s.durationNanos) / 1e6)
        if let t = s.timeToFirstTokenNanos { b.ttftMs.append(Double(t) / 1e6) }
        b.inputTokens += Double(s.inputTokens ?? 0)
        b.outputTokens += Double(s.outputTokens ?? 0)
        if let c = s.costUSD { b.cost += c; b.costCalls += 1 }
        if let e, e.evaluated { b.evaluated += 1; if e.failed { b.evalFailed += 1 } }
        state.open[minute] = b
        series[key] = state
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
                    out.append(Point(series: key, metric: metric, minuteStartNanos: minute * resolutionNanos, value: value, score: score, level: d.level))
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
        if b.evaluated > 0 { out.append((.evalFailureRate, Double(b.evalFailed) / Double(b.evaluated))) }
        return out
    }

    // MARK: State

    /// One series' detectors, for the detector state database.
    public struct SavedSeries: Sendable {
        public var key: SeriesKey
        public var next: Int64
        public var detectors: [(Metric, [UInt8])]
    }

    /// Every series' detectors and next minute (open minutes are not saved).
    public func saved() -> [SavedSeries] {
        series.map { k, s in SavedSeries(key: k, next: s.next, detectors: s.detectors.map { ($0.key, $0.value.encodedState()) }) }
    }

    /// Restores saved series. Minutes between the save and `now` are skipped, not scored: the
    /// collector was down, and scoring them as zero-call minutes would report its own downtime as
    /// an anomaly. The minute in progress is skipped too (its spans before the restart are not
    /// here). Detectors whose state cannot be read start afresh; the count is returned.
    @discardableResult
    public func restore(_ saved: [SavedSeries], now: Int64) -> Int {
        var unreadable = 0
        let resume = SpecialFunctions.floorDiv(now, resolutionNanos) + 1
        for s in saved where series.count < maxSeries {
            var state = Series(next: max(s.next, resume))
            for (m, bytes) in s.detectors {
                if let d = AnomalyDetector(state: bytes, configuration: configuration) { state.detectors[m] = d } else { unreadable += 1 }
            }
            series[s.key] = state
        }
        return unreadable
    }
}
