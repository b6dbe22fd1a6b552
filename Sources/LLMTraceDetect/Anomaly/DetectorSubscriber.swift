import LLMTraceIngest
import LLMTraceModel
import LLMTraceSupport

/// The detectors' seat on the ingest fan-out: every stored batch is queued without ever blocking
/// ingest (`SpanQueue`: a batch that does not fit is dropped and counted), and `pump(now:)` —
/// called by its owner's thread with its clock, about once a second — folds the queued spans into
/// the per-series minutes, scores the minutes that are due and keeps the latest alarms.
public final class DetectorSubscriber: @unchecked Sendable {
    public let queue: SpanQueue
    private let lock = Condition()
    private let monitor: SeriesMonitor
    private var alarms: [SeriesMonitor.Point] = []
    /// Alarms kept for `anomalies(project:)`, newest last.
    public let keepAlarms: Int

    public init(fanout: SpanFanout, queueCapacity: Int = 100_000, keepAlarms: Int = 10_000,
                configuration: AnomalyDetector.Configuration = .init()) {
        queue = fanout.subscribe(capacity: queueCapacity)
        monitor = SeriesMonitor(configuration: configuration)
        self.keepAlarms = keepAlarms
    }

    /// Takes every queued batch, scores the minutes due at `now` and returns their alarms (scores
    /// at or over `AnomalyDetector.threshold`).
    @discardableResult
    public func pump(now: Int64) -> [SeriesMonitor.Point] {
        lock.withLock {
            while let batch = queue.next(timeoutNanos: 0) { monitor.add(batch) }
            let due = monitor.advance(to: now).filter { $0.score >= AnomalyDetector.threshold }
            alarms += due
            if alarms.count > keepAlarms { alarms.removeFirst(alarms.count - keepAlarms) }
            return due
        }
    }

    /// The kept alarms, oldest first; with `project`, only that project's (what a read key sees).
    public func anomalies(project: String? = nil) -> [SeriesMonitor.Point] {
        lock.withLock { project.map { p in alarms.filter { ExactString.equal($0.series.project, p) } } ?? alarms }
    }
}
