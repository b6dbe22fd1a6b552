import LLMTraceClickHouse
import LLMTraceMetrics

extension CollectorMetrics {
    /// The ClickHouse sink's families, read at scrape time: how far ClickHouse is behind (spans and
    /// seconds), what was sent, what failed, and the disk retention holds back for it.
    public func watch(sink: ClickHouseSink, budgetBytes: Int) {
        guard enabled else { return }
        let r = registry
        func f(_ name: String, _ kind: MetricFamily.Kind, _ help: String) -> MetricFamily {
            r.register(MetricFamily(name, kind, help: help, labels: [], maxSeries: 10))
        }
        let lagSpans = f("llmtrace_clickhouse_lag_spans", .gauge, "Spans acknowledged here and not yet confirmed by ClickHouse.")
        let lagSeconds = f("llmtrace_clickhouse_lag_seconds", .gauge,
                           "How long ago the oldest span ClickHouse lacks was acknowledged here (0 when nothing waits).")
        let spans = f("llmtrace_clickhouse_sent_spans_total", .counter, "Spans ClickHouse confirmed (re-sends after a crash counted again).")
        let scores = f("llmtrace_clickhouse_sent_scores_total", .counter, "Scores ClickHouse confirmed.")
        let inserts = f("llmtrace_clickhouse_inserts_total", .counter, "Successful insert rounds (a batch of spans and one of scores).")
        let failures = f("llmtrace_clickhouse_insert_failures_total", .counter, "Inserts that failed and were retried (ClickHouse down, refusing, or too slow).")
        let bytes = f("llmtrace_clickhouse_sent_bytes_total", .counter, "Bytes of JSONEachRow rows sent (before compression).")
        let seconds = f("llmtrace_clickhouse_insert_seconds_total", .counter, "Time spent encoding and inserting batches that succeeded.")
        let held = f("llmtrace_clickhouse_outbox_held_bytes", .gauge, "Bytes of segments retention keeps because ClickHouse has not confirmed them.")
        let budget = f("llmtrace_clickhouse_outbox_budget_bytes", .gauge, "The most such bytes retention keeps (--clickhouse-budget).")
        let lost = f("llmtrace_clickhouse_lost_spans_total", .counter, "Unconfirmed spans retention dropped anyway, past the budget.")
        let deferred = f("llmtrace_clickhouse_deferred_seconds_total", .counter,
                         "Time forwarding waited because ingest was saturated (--clickhouse-defer).")
        let limits = f("llmtrace_clickhouse_defer_limits_total", .counter,
                       "Times forwarding went on with ingest still saturated: the lag reached --clickhouse-defer or the outbox half its budget.")
        r.onScrape {
            let s = sink.currentStats
            lagSpans.set([], Double(s.lagSpans))
            lagSeconds.set([], s.lagSeconds)
            spans.set([], Double(s.sentSpans))
            scores.set([], Double(s.sentScores))
            inserts.set([], Double(s.inserts))
            failures.set([], Double(s.failedInserts))
            bytes.set([], Double(s.insertedBytes))
            seconds.set([], s.insertSeconds)
            held.set([], Double(s.heldBytes))
            budget.set([], Double(budgetBytes))
            lost.set([], Double(s.lostSpans))
            deferred.set([], s.deferredSeconds)
            limits.set([], Double(s.deferLimits))
        }
    }
}
