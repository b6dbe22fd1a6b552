import Foundation
import LLMTraceIngest
import LLMTraceModel
import LLMTraceSupport

/// The detectors as the collector runs them, on one thread of their own, fed by the ingest
/// fan-out (a `SpanQueue`: ingest never waits on them; a batch that does not fit is dropped and
/// counted). For each stored batch: the online evaluators (their flags stored as `eval` scores
/// through `scoreSink`), then the per-series minutes. About once a second (`tick`): the minutes
/// that closed are scored, alarms kept, alerts moved through their lifecycle and announced.
/// Once a minute and at `stop`, the state is saved to `detectors.db`, so a restart continues
/// where it was and does not announce again what already fired.
///
/// Time comes from `clock` (wall nanoseconds), so tests drive hours in milliseconds with
/// `pump(now:)` instead of `start()`.
public final class DetectorService: @unchecked Sendable {
    public struct Settings: Sendable {
        public var evaluators = OnlineEvaluators.Settings()
        public var alerts = AlertBook.Settings()
        public var notifier = Notifier.Settings()
        public var anomaly = AnomalyDetector.Configuration()
        public var queueCapacity = 200_000
        /// CPU the evaluators may use, as a share of one core (0.01: 10 ms a second, about 1,500
        /// spans a second). When spans arrive faster than that pays for, the evaluators look at a
        /// sample of whole traces (by trace id) and the failure rates come from the sample; at
        /// ordinary rates every span is evaluated. 0 switches the budget off (every span, whatever
        /// it costs). A whole span costs more than its evaluation (it is copied for the detectors'
        /// thread and freed there), which is why the share is small: at 3%, the detectors took 12%
        /// of full-rate ingest, measured with `llmtrace-bench ingest --compare --detectors=off`.
        public var evaluatorCPUShare = 0.01
        /// Whole spans a second kept when no evaluator is on anywhere: prompt novelty reads at most
        /// 64 prompts a minute of a series, and needs no more.
        public var noveltySpansPerSecond = 100.0
        public var maxSeries = 5_000
        /// Anomalies (points at or over the threshold) kept for `GET /api/anomalies`.
        public var keepAnomalies = 10_000
        public var saveEveryNanos: Int64 = 60_000_000_000
        public init() {}
    }

    public struct Stats: Sendable {
        public var spans = 0, evaluated = 0, evalFlagged = 0, scoresStored = 0, scoreWriteFailures = 0
        public var droppedSpans = 0, lateSpans = 0, droppedSeriesSpans = 0, series = 0
        public var notifications = Notifier.Stats()
        /// The share of traces the evaluators currently look at (1: all).
        public var evalSampleRatio = 1.0
        public var stateSaveFailures = 0
        /// CPU seconds the detectors used: their own thread's, and the ingest threads' making digests.
        public var threadCPUSeconds = 0.0
        public var ingestCPUSeconds = 0.0
    }

    public let settings: Settings
    public let queue: DigestQueue
    private let lock = Condition()
    private let monitor: SeriesMonitor
    private let book: AlertBook
    private let evaluators: OnlineEvaluators
    private let notifier: Notifier
    private let state: DetectorStateDB?
    private let scoreSink: ([Score]) throws -> Void
    private let clock: @Sendable () -> Int64
    private var anomalyRing: [SeriesMonitor.Point] = []
    /// The latest point of every series and metric (the `llmtrace_anomaly_score` gauges).
    private var latest: [String: SeriesMonitor.Point] = [:]
    private var pendingScores: [Score] = []
    private var lastSave: Int64 = .min / 2
    private var lastRefresh: Int64 = .min / 2
    private var _stats = Stats()
    // The evaluators' budget (`evaluatorCPUShare`), touched only by the consuming thread.
    private var sampleRatio = 1.0
    private var windowStart = monotonicNanos()
    private var windowSpans = 0
    private var windowEvalNanos: Int64 = 0
    private var windowEvaluated = 0
    private var costPerSpanNanos = 0.0
    private var droppedSeen = 0
    private var stopping = false
    private var thread: Thread?
    private var finished = false

    /// `statePath`: the detector state database (nil keeps state in memory only, for tests and
    /// for `--detectors` without a data directory). A database that cannot be read is an error.
    public init(fanout: SpanFanout, statePath: String?, settings: Settings = Settings(),
                clock: @escaping @Sendable () -> Int64 = { wallNanos() },
                scoreSink: @escaping ([Score]) throws -> Void) throws {
        self.settings = settings
        self.clock = clock
        self.scoreSink = scoreSink
        monitor = SeriesMonitor(maxSeries: settings.maxSeries, configuration: settings.anomaly)
        book = AlertBook(settings: settings.alerts)
        evaluators = OnlineEvaluators(settings: settings.evaluators)
        notifier = Notifier(settings: settings.notifier)
        if let statePath {
            let db = try DetectorStateDB(path: statePath)
            let now = clock()
            monitor.restore(try db.loadSeries(), now: now)
            book.restore(try db.loadAlerts(resolvedLimit: settings.alerts.keepResolved))
            book.setSilences(try db.loadSilences(now: now))
            state = db
        } else {
            state = nil
        }
        queue = DigestQueue(fanout: fanout, capacity: settings.queueCapacity)
    }

    // MARK: Running

    public func start() {
        startNotifier()
        let t = Thread { [self] in
            setCurrentThreadName("llmtrace-detect")
            run()
        }
        thread = t
        t.start()
    }

    /// Starts only the notifier's thread: for callers that drive time with `pump(now:)` (a
    /// second consumer of the queue would race `pump` for the batches).
    public func startNotifier() { notifier.start() }

    /// Stops the thread, scores nothing more, saves the state and lets the notifier try what it holds.
    public func stop() {
        lock.withLock { stopping = true }
        queue.cancel()
        if thread != nil {
            while !lock.withLock({ finished }) { usleep(5_000) }
        }
        lock.withLock { save(now: clock(), force: true) }
        notifier.stop()
    }

    private func run() {
        var lastTick = monotonicNanos()
        while !lock.withLock({ stopping }) {
            if let batch = queue.next(timeoutNanos: 200_000_000) { process(batch) }
            if monotonicNanos() - lastTick >= 1_000_000_000 {
                lastTick = monotonicNanos()
                let cpu = threadCPUNanos()
                lock.withLock {
                    _ = tick(now: clock())
                    _stats.threadCPUSeconds = Double(cpu) / 1e9
                }
            }
        }
        lock.withLock { flushScores(); finished = true }
    }

    /// Takes every queued batch and runs a tick at `now`; returns the points scored. For tests,
    /// and for callers that drive time themselves instead of `start()`.
    @discardableResult
    public func pump(now: Int64) -> [SeriesMonitor.Point] {
        while let batch = queue.next(timeoutNanos: 0) { process(batch) }
        return lock.withLock { tick(now: now) }
    }

    private func process(_ batch: DigestBatch) {
        let now = clock()
        var outcomes: [SeriesMonitor.EvalOutcome] = []
        outcomes.reserveCapacity(batch.digests.count)
        var scores: [Score] = []
        var flagged = 0, evaluated = 0, kept = 0
        let t0 = threadCPUNanos()
        for d in batch.digests {
            // Only the spans of the sample's traces come whole (`DigestQueue.setSampleRatio`).
            guard let s = d.full else {
                outcomes.append(SeriesMonitor.EvalOutcome(evaluated: false, failed: false))
                continue
            }
            kept += 1
            let e = evaluators.evaluate(s, now: now)
            outcomes.append(SeriesMonitor.EvalOutcome(evaluated: e.evaluated, failed: e.failed))
            if e.evaluated { evaluated += 1 }
            if e.failed { flagged += 1 }
            scores += e.scores
        }
        budget(spans: batch.spans, evaluated: kept, nanos: threadCPUNanos() - t0)
        let dropped = queue.droppedSpans
        lock.withLock {
            if dropped > droppedSeen {
                // Batches were dropped (the queue was full): this minute's and the previous one's
                // call counts are short, and are not scored (ratios and per-call figures still are).
                droppedSeen = dropped
                monitor.markIncomplete(around: now)
            }
            monitor.add(batch, evaluations: outcomes)
            pendingScores += scores
            _stats.spans += batch.spans
            _stats.evaluated += evaluated
            _stats.evalFlagged += flagged
            _stats.evalSampleRatio = sampleRatio
            if pendingScores.count >= 2_000 { flushScores() }
        }
    }

    /// Adjusts the evaluators' sample four times a second so they use about `evaluatorCPUShare` of a core.
    private func budget(spans: Int, evaluated: Int, nanos: Int64) {
        guard settings.evaluatorCPUShare > 0 else { return }
        windowSpans += spans
        windowEvaluated += evaluated
        windowEvalNanos += nanos
        // A quarter-second window: at start the sample is everything, and a burst at full rate
        // must not be evaluated whole for long (a second of it cost 0.5 CPU-seconds, measured).
        let elapsed = monotonicNanos() - windowStart
        guard elapsed >= 250_000_000 else { return }
        if windowEvaluated > 0 {
            let cost = Double(windowEvalNanos) / Double(windowEvaluated)
            costPerSpanNanos = costPerSpanNanos == 0 ? cost : 0.7 * costPerSpanNanos + 0.3 * cost
        }
        let arriving = Double(windowSpans) / (Double(elapsed) / 1e9)
        let anyEvaluator = !settings.evaluators.enabled.isEmpty || settings.evaluators.projects.values.contains { !$0.isEmpty }
        if !anyEvaluator && arriving > 0 {
            sampleRatio = min(1, max(0.001, settings.noveltySpansPerSecond / arriving))
            queue.setSampleRatio(sampleRatio)
        } else if costPerSpanNanos > 0 && arriving > 0 {
            let affordable = settings.evaluatorCPUShare * 1e9 / costPerSpanNanos
            sampleRatio = min(1, max(0.001, affordable / arriving))
            queue.setSampleRatio(sampleRatio)
        }
        windowStart = monotonicNanos()
        windowSpans = 0
        windowEvaluated = 0
        windowEvalNanos = 0
    }

    /// Under the lock.
    private func tick(now: Int64) -> [SeriesMonitor.Point] {
        flushScores()
        let points = monitor.advance(to: now)
        for p in points {
            latest[AlertBook.key(p.series, p.metric)] = p
            if p.score >= book.settings.threshold { anomalyRing.append(p) }
        }
        if anomalyRing.count > settings.keepAnomalies { anomalyRing.removeFirst(anomalyRing.count - settings.keepAnomalies) }
        let (transitions, changed) = book.apply(points, now: now)
        notifier.notify(transitions, now: now)
        if let state, !changed.isEmpty {
            do { try state.saveAlerts(changed) } catch { _stats.stateSaveFailures += 1 }
        }
        if now - lastRefresh >= 60_000_000_000 {
            lastRefresh = now
            notifier.refresh(book.firing(now: now), now: now)
        }
        save(now: now, force: false)
        return points
    }

    private func flushScores() {
        guard !pendingScores.isEmpty else { return }
        do {
            try scoreSink(pendingScores)
            _stats.scoresStored += pendingScores.count
        } catch {
            _stats.scoreWriteFailures += pendingScores.count
        }
        pendingScores.removeAll(keepingCapacity: true)
    }

    private func save(now: Int64, force: Bool) {
        guard let state, force || now - lastSave >= settings.saveEveryNanos else { return }
        lastSave = now
        do { try state.saveSeries(monitor.saved()) } catch { _stats.stateSaveFailures += 1 }
    }

    // MARK: Reads (any thread)

    public var stats: Stats {
        lock.withLock {
            var s = _stats
            s.droppedSpans = queue.droppedSpans
            s.lateSpans = monitor.lateSpans
            s.droppedSeriesSpans = monitor.droppedSeriesSpans
            s.series = monitor.seriesCount
            s.notifications = notifier.stats
            s.ingestCPUSeconds = Double(queue.ingestCPUNanos) / 1e9
            return s
        }
    }

    /// Anomalies (points at or over the threshold), newest first, since `since`; with `project`,
    /// only that project's (what a read key sees).
    public func anomalies(project: String? = nil, since: Int64 = .min, limit: Int = 1_000) -> [SeriesMonitor.Point] {
        lock.withLock {
            var out: [SeriesMonitor.Point] = []
            for p in anomalyRing.reversed() where p.minuteStartNanos >= since {
                if let project, !ExactString.equal(p.series.project, project) { continue }
                out.append(p)
                if out.count >= limit { break }
            }
            return out
        }
    }

    /// The latest score of every series and metric.
    public func latestScores(project: String? = nil) -> [SeriesMonitor.Point] {
        lock.withLock { latest.values.filter { p in project.map { ExactString.equal(p.series.project, $0) } ?? true } }
    }

    public func alerts(project: String? = nil) -> [Alert] {
        let now = clock()
        return lock.withLock { book.alerts(project: project, now: now) }
    }

    public func firingCounts() -> [String: Int] {
        let now = clock()
        return lock.withLock { book.firingCounts(now: now) }
    }

    public func silences(project: String? = nil) -> [Silence] {
        let now = clock()
        return lock.withLock { book.silences.filter { $0.endsNanos > now && (project == nil || ExactString.equal($0.project, project!)) } }
    }

    /// Adds a silence (saved); returns it with its id.
    public func addSilence(_ s: Silence) throws -> Silence {
        try lock.withLock {
            var s = s
            if let state { s.id = try state.addSilence(s) } else { s.id = (book.silences.map(\.id).max() ?? 0) + 1 }
            book.addSilence(s)
            return s
        }
    }

    /// Removes a silence of `project` (any project with nil); false when there is no such silence.
    public func removeSilence(id: Int64, project: String?) throws -> Bool {
        try lock.withLock {
            guard book.removeSilence(id: id, project: project) else { return false }
            try state?.deleteSilence(id: id)
            return true
        }
    }

    public var now: Int64 { clock() }
}
