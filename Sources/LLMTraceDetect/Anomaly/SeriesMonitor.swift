import LLMTraceModel

/// Turns spans into per-series one-minute points and scores every point with its own
/// `AnomalyDetector`. A series is (project, service, model), (project, service, prompt name) or,
/// for retrieval spans, (project, service, retriever = span name); a point is one metric of one
/// minute. A prompt's series spans its versions, so a new version that changes cost or length
/// shows as a change of the series (each point names the minute's most used version); a series
/// per version would start without history at every release and see nothing. Time is injected (`advance(to:)`), so tests
/// drive hours in milliseconds; a minute is closed once `now` is `lateness` past its end (spans
/// arriving later than that for it are dropped and counted), and closed minutes are scored in
/// order, empty ones included (0 calls). Not thread-safe: its owner serialises its calls.
public final class SeriesMonitor {
    public enum Dimension: String, Sendable, CaseIterable {
        case model, prompt, retriever
    }

    public struct SeriesKey: Hashable, Sendable, CustomStringConvertible {
        public var project: String
        public var service: String
        public var dimension: Dimension
        /// The model, the prompt's name, or the retrieval span's name.
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
        /// Mean relevance score of the documents retrieved in the minute.
        case retrievalScore = "retrieval_score_mean"
        /// Share of the minute's prompt word pairs the series has not seen in the last 12 to 24
        /// hours: a new topic, template or language.
        case promptNovelty = "prompt_novelty"
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
        /// For a prompt's series: the minute's most used version.
        public var version: String?
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
    /// Spans stamped more than `maxAheadMinutes` after the latest `advance` (a client clock far off).
    public private(set) var futureSpans = 0
    public private(set) var droppedSeriesSpans = 0
    /// A series is scored at most this many minutes back: a span stamped years ago starts its
    /// series a day ago, not at that minute (which would take millions of empty minutes to catch up).
    public let maxBacklogMinutes: Int64 = 1_440
    public let maxAheadMinutes: Int64 = 60
    /// The first minute not yet closed at the latest `advance`.
    private var closedBefore: Int64?
    public var seriesCount: Int { series.count }

    /// Values kept per minute for a quantile: all of them up to this many, then a uniform sample
    /// of this many (reservoir sampling), so a series at 100,000 calls a minute costs 32 KB a
    /// metric, not 800 KB, and its p95 is still within a fraction of a percentile.
    static let reservoir = 4_096
    /// Prompts per minute whose word pairs count for `prompt_novelty` (the first ones).
    static let noveltyPrompts = 64

    /// Classes, not structs: a span updates its bucket in place (a struct read out of the
    /// dictionary and written back copied the bucket's arrays on every span).
    private final class Bucket {
        var calls = 0, errors = 0
        var latenciesMs = Reservoir()
        var ttftMs = Reservoir()
        var promptSpans = 0
        var inputTokens = 0.0, outputTokens = 0.0, cost = 0.0, costCalls = 0
        var evaluated = 0, evalFailed = 0
        var docScoreSum = 0.0, docScores = 0
        var promptPairs = 0, novelPairs = 0
        /// The minute's prompt word pairs, added to the series' sketch when the minute closes.
        var pairHashes: [UInt32] = []
        var versions: [String: Int] = [:]
        /// Spans of this minute were dropped before reaching the detectors: counts are short.
        var incomplete = false
    }
    private final class Series {
        var detectors: [Metric: AnomalyDetector] = [:]
        /// Minute index → bucket, for minutes not yet closed.
        var open: [Int64: Bucket] = [:]
        /// The first minute not yet scored.
        var next: Int64
        /// Prompt word pairs seen lately (only for series whose spans carry prompts).
        var seen: PairSketch? = nil
        /// Prompt novelty is not reported before this minute: the sketch is not saved, so after a
        /// restart it relearns for an hour instead of calling every prompt new.
        var noveltyFrom: Int64 = .min
        init(next: Int64) { self.next = next }
    }
    private var series: [SeriesKey: Series] = [:]
    private let configuration: AnomalyDetector.Configuration

    public init(resolutionNanos: Int64 = 60_000_000_000, latenessNanos: Int64 = 60_000_000_000, maxSeries: Int = 5_000,
                configuration: AnomalyDetector.Configuration = .init()) {
        self.resolutionNanos = resolutionNanos
        self.latenessNanos = latenessNanos
        self.maxSeries = maxSeries
        // A row of every detector is one resolution step (the coarse shape layer's hours in rows).
        var configuration = configuration
        configuration.rowSeconds = Double(resolutionNanos) / 1e9
        self.configuration = configuration
    }

    /// Marks the minute of `now` and the one before as short of spans in every series (the
    /// detectors' queue dropped a batch): their calls and cost per minute are not scored.
    public func markIncomplete(around now: Int64) {
        let m = SpecialFunctions.floorDiv(now, resolutionNanos)
        for state in series.values {
            for minute in [m - 1, m] where minute >= state.next {
                if let b = state.open[minute] { b.incomplete = true } else {
                    let b = Bucket()
                    b.incomplete = true
                    state.open[minute] = b
                }
            }
        }
    }

    /// Adds model calls (spans that name a model) to their model's series, and spans that name a
    /// prompt to their prompt's series.
    public func add(_ spans: [Span], evaluations: [EvalOutcome]? = nil) {
        add(DigestBatch(spans), evaluations: evaluations)
    }

    /// The same from a batch of digests: each series the batch names is found (or made) once, then
    /// every span goes to its series' bucket by index. Prompt novelty counts the digests that carry
    /// their whole span.
    public func add(_ batch: DigestBatch, evaluations: [EvalOutcome]? = nil) {
        var states = [Series?](repeating: nil, count: batch.keys.count)
        var refused = [Bool](repeating: false, count: batch.keys.count)
        var lastMinute = [Int64](repeating: .min, count: batch.keys.count)
        var lastBucket = [Bucket?](repeating: nil, count: batch.keys.count)
        for (i, d) in batch.digests.enumerated() {
            let minute = SpecialFunctions.floorDiv(d.startNanos, resolutionNanos)
            if let c = closedBefore {
                if minute > c + maxAheadMinutes { futureSpans += 1; continue }
                if minute < c - maxBacklogMinutes { lateSpans += 1; continue }
            }
            let e = evaluations?[i]
            for k in [d.model, d.prompt, d.retriever] where k >= 0 {
                let k = Int(k)
                if refused[k] { droppedSeriesSpans += 1; continue }
                let state: Series
                if let st = states[k] { state = st } else if let st = series[batch.keys[k]] {
                    state = st
                    states[k] = st
                } else {
                    guard series.count < maxSeries else { refused[k] = true; droppedSeriesSpans += 1; continue }
                    state = Series(next: minute)
                    series[batch.keys[k]] = state
                    states[k] = state
                }
                guard minute >= state.next else { lateSpans += 1; continue }
                let b: Bucket
                if lastMinute[k] == minute, let x = lastBucket[k] { b = x } else if let x = state.open[minute] { b = x } else {
                    b = Bucket()
                    state.open[minute] = b
                }
                lastMinute[k] = minute
                lastBucket[k] = b
                add(d, batch.keys[k].dimension, d.version >= 0 ? batch.versions[Int(d.version)] : nil, state, b, e)
            }
        }
    }

    private func add(_ s: SpanDigest, _ dimension: Dimension, _ version: String?, _ state: Series, _ b: Bucket, _ e: EvalOutcome?) {
        b.calls += 1
        if s.status == .error { b.errors += 1 }
        b.latenciesMs.add(Double(s.durationNanos) / 1e6)
        if let t = s.ttftNanos { b.ttftMs.add(Double(t) / 1e6) }
        b.inputTokens += Double(s.inputTokens ?? 0)
        b.outputTokens += Double(s.outputTokens ?? 0)
        if let c = s.costUSD { b.cost += c; b.costCalls += 1 }
        if let e, e.evaluated { b.evaluated += 1; if e.failed { b.evalFailed += 1 } }
        b.docScoreSum += s.docScoreSum
        b.docScores += Int(s.docScores)
        if dimension == .prompt, let v = version { b.versions[v, default: 0] += 1 }
        if dimension != .retriever, b.promptSpans < Self.noveltyPrompts, let full = s.full, full.inputMessages.contains(where: { $0.role == "user" }) {
            b.promptSpans += 1
            for m in full.inputMessages where m.role == "user" {
                if state.seen == nil { state.seen = PairSketch() }
                let seen = state.seen!
                Groundedness.pairs(m.content) { h in
                    let x = UInt32(truncatingIfNeeded: h ^ h >> 32)
                    b.promptPairs += 1
                    if !seen.contains(x) { b.novelPairs += 1 }
                    b.pairHashes.append(x)
                }
            }
        }
    }

    /// Closes and scores every minute that ended at least `lateness` before `now`, oldest first.
    public func advance(to now: Int64) -> [Point] {
        let closedBefore = SpecialFunctions.floorDiv(now - latenessNanos, resolutionNanos)  // minutes < this are closed
        self.closedBefore = max(self.closedBefore ?? closedBefore, closedBefore)
        var out: [Point] = []
        for key in series.keys.sorted(by: { $0.description < $1.description }) {
            let state = series[key]!
            if closedBefore - state.next > maxBacklogMinutes {
                let from = closedBefore - maxBacklogMinutes
                state.open = state.open.filter { $0.key >= from }
                state.next = from
            }
            while state.next < closedBefore {
                let minute = state.next
                let b = state.open.removeValue(forKey: minute) ?? Bucket()
                let version = b.versions.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
                for (metric, value) in Self.values(b) where metric != .promptNovelty || minute >= state.noveltyFrom {
                    // Updated in place: a copy out and back would copy the detector's buffers each minute.
                    let score = state.detectors[metric, default: AnomalyDetector(configuration)].update(value)
                    out.append(Point(series: key, metric: metric, minuteStartNanos: minute * resolutionNanos, value: value, score: score,
                                     level: state.detectors[metric]?.level, version: version))
                }
                if let seen = state.seen {
                    for h in b.pairHashes { seen.insert(h) }
                    seen.tick(minute: minute)
                }
                state.next += 1
            }
        }
        return out
    }

    /// The metrics of one minute; those undefined without calls (latency, per-call figures) are
    /// left out of an empty minute.
    private static func values(_ b: Bucket) -> [(Metric, Double)] {
        var out: [(Metric, Double)] = b.incomplete ? [] : [(.calls, Double(b.calls)), (.costPerMinute, b.cost)]
        guard b.calls > 0 else { return out }
        var lat = b.latenciesMs.values
        lat.sort()
        out.append((.errorRate, Double(b.errors) / Double(b.calls)))
        out.append((.p50Latency, Binning.quantile(lat, 0.5)))
        out.append((.p95Latency, Binning.quantile(lat, 0.95)))
        if !b.ttftMs.values.isEmpty {
            var t = b.ttftMs.values
            t.sort()
            out.append((.ttftP95, Binning.quantile(t, 0.95)))
        }
        out.append((.inputTokensPerCall, b.inputTokens / Double(b.calls)))
        out.append((.outputTokensPerCall, b.outputTokens / Double(b.calls)))
        if b.costCalls > 0 { out.append((.costPerCall, b.cost / Double(b.costCalls))) }
        if b.evaluated > 0 { out.append((.evalFailureRate, Double(b.evalFailed) / Double(b.evaluated))) }
        if b.docScores > 0 { out.append((.retrievalScore, b.docScoreSum / Double(b.docScores))) }
        if b.promptPairs > 0 { out.append((.promptNovelty, Double(b.novelPairs) / Double(b.promptPairs))) }
        return out
    }

    /// Up to `reservoir` values: all of them, then a uniform sample (Algorithm R, with a
    /// deterministic generator so runs repeat).
    struct Reservoir {
        var values: [Double] = []
        var seen = 0
        var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
        mutating func add(_ v: Double) {
            seen += 1
            if values.count < SeriesMonitor.reservoir { values.append(v); return }
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            let j = Int(rng % UInt64(seen))
            if j < values.count { values[j] = v }
        }
    }

    /// Word pairs seen lately: two generations of a 2^17-bit map; every 12 hours the older one is
    /// dropped, so a pair counts as seen for 12 to 24 hours after it last occurred. 32 KB a series.
    final class PairSketch {
        static let bits = 1 << 17
        static let generationMinutes: Int64 = 720
        var current = [UInt64](repeating: 0, count: bits / 64)
        var previous = [UInt64](repeating: 0, count: bits / 64)
        var generationStart: Int64?

        func contains(_ h: UInt32) -> Bool {
            let i = Int(h) & (Self.bits - 1)
            return (current[i >> 6] | previous[i >> 6]) & (1 << UInt64(i & 63)) != 0
        }
        func insert(_ h: UInt32) {
            let i = Int(h) & (Self.bits - 1)
            current[i >> 6] |= 1 << UInt64(i & 63)
        }
        func tick(minute: Int64) {
            guard let start = generationStart else { generationStart = minute; return }
            if minute - start >= Self.generationMinutes {
                swap(&current, &previous)
                for k in current.indices { current[k] = 0 }
                generationStart = minute
            }
        }
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
            let state = Series(next: max(s.next, resume))
            state.noveltyFrom = state.next + 60
            for (m, bytes) in s.detectors {
                if let d = AnomalyDetector(state: bytes, configuration: configuration) { state.detectors[m] = d } else { unreadable += 1 }
            }
            series[s.key] = state
        }
        return unreadable
    }
}
