import LLMTraceDetect
import LLMTraceMetrics
import LLMTraceSupport

extension CollectorMetrics {
    /// The detectors' families, read at scrape time: the latest anomaly score of every series and
    /// metric, firing alerts per project, and the detectors' own counters.
    public func watch(detectors d: DetectorService) {
        guard enabled else { return }
        let r = registry
        func f(_ name: String, _ kind: MetricFamily.Kind, _ help: String, _ labels: [String] = []) -> MetricFamily {
            r.register(MetricFamily(name, kind, help: help, labels: labels, maxSeries: 10_000))
        }
        let score = f("llmtrace_anomaly_score", .gauge,
                      "Latest anomaly score in [0, 1] of each series' one-minute metric (alarm at 0.5); a series is a model, a prompt or a retriever of a service.",
                      ["project", "service", "model", "prompt", "retriever", "metric"])
        let firing = f("llmtrace_alerts_firing", .gauge, "Alerts firing and not silenced, by project.", ["project"])
        let spans = f("llmtrace_detector_spans_total", .counter, "Spans the detectors and evaluators took from the ingest fan-out.")
        let dropped = f("llmtrace_detector_dropped_spans_total", .counter, "Spans the detectors' queue was too full to take (ingest never waits on them).")
        let flagged = f("llmtrace_eval_flagged_spans_total", .counter, "Spans at least one online evaluator flagged.")
        let evaluated = f("llmtrace_eval_spans_total", .counter, "Spans the online evaluators looked at.")
        let ratio = f("llmtrace_eval_sample_ratio", .gauge, "Share of traces the online evaluators look at (1: all; less when spans arrive faster than their CPU budget pays for).")
        let series = f("llmtrace_detector_series", .gauge, "Series (model or prompt version of a service) the detectors follow.")
        let notifications = f("llmtrace_alert_notifications_total", .counter, "Alert notifications by outcome (sent, failed after retries, retried, dropped from a full queue).", ["outcome"])
        let cpu = f("llmtrace_detector_cpu_seconds_total", .counter,
                    "CPU the detectors used: their own thread (part=\"thread\": series, evaluators, alerts) and the ingest threads making their digests (part=\"ingest\").",
                    ["part"])
        let projectsSeen = ProjectsSeen()
        r.onScrape {
            for p in d.latestScores() {
                let v = p.series.value
                let d = p.series.dimension
                score.set([p.series.project, p.series.service, d == .model ? v : "", d == .prompt ? v : "", d == .retriever ? v : "", p.metric.rawValue], p.score)
            }
            let counts = d.firingCounts()
            for p in projectsSeen.update(counts.keys) { firing.set([p], Double(counts[p] ?? 0)) }
            let s = d.stats
            spans.set([], Double(s.spans))
            dropped.set([], Double(s.droppedSpans))
            flagged.set([], Double(s.evalFlagged))
            evaluated.set([], Double(s.evaluated))
            series.set([], Double(s.series))
            ratio.set([], s.evalSampleRatio)
            cpu.set(["thread"], s.threadCPUSeconds)
            cpu.set(["ingest"], s.ingestCPUSeconds)
            notifications.set(["sent"], Double(s.notifications.sent))
            notifications.set(["failed"], Double(s.notifications.failed))
            notifications.set(["retried"], Double(s.notifications.retried))
            notifications.set(["dropped"], Double(s.notifications.dropped))
        }
    }
}

/// Projects that ever had a firing alert: their gauge goes back to 0 instead of vanishing.
final class ProjectsSeen: @unchecked Sendable {
    private let lock = Condition()
    private var seen: Set<String> = []
    func update<S: Sequence>(_ now: S) -> [String] where S.Element == String {
        lock.withLock {
            seen.formUnion(now)
            return seen.sorted()
        }
    }
}
