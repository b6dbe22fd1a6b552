#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LLMTraceIngest
import LLMTraceMetrics
import LLMTraceModel
import LLMTraceStore
import LLMTraceSupport

/// What `GET /metrics` exports: RED metrics derived from the spans themselves (the ones every
/// service would otherwise hand-write: calls, errors, latency, time to first token, tokens, cost),
/// scores, and the collector's own health. Span metrics are labelled by project, service, model,
/// kind and status; OpenTelemetry GenAI names are used where the conventions define one
/// (`gen_ai.client.operation.duration` → `gen_ai_client_operation_duration_seconds`, …).
public final class CollectorMetrics: SpanSubscriber, @unchecked Sendable {
    public let registry = MetricsRegistry()

    static let spanLabels = ["project", "service", "model", "kind", "status"]
    /// Tens of milliseconds to minutes: LLM calls, agent runs and tool calls.
    public static let latencyBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320]
    public static let ttftBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 20, 40]
    /// Powers of four, the GenAI conventions' advice for token counts.
    public static let tokenBuckets: [Double] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]

    public let spans, errors, duration, ttft, tokenUsage, tokens, cost: MetricFamily
    public let scores, scoresNumeric, scoreSum: MetricFamily
    public let accepted, rejected, duplicates, httpRequests, httpDuration: MetricFamily
    let gauges: [String: MetricFamily]

    /// Off, recording does nothing (what `--metrics off` measures against).
    public let enabled: Bool

    /// `maxSeries`: the cardinality cap of each labelled family.
    public init(maxSeries: Int = 10_000, enabled: Bool = true) {
        self.enabled = enabled
        let r = registry
        func f(_ name: String, _ kind: MetricFamily.Kind, _ help: String, _ labels: [String] = [], _ buckets: [Double] = []) -> MetricFamily {
            r.register(MetricFamily(name, kind, help: help, labels: labels, buckets: buckets, maxSeries: maxSeries))
        }
        spans = f("llmtrace_spans_total", .counter, "Spans stored, by project, service, model, kind and status.", Self.spanLabels)
        errors = f("llmtrace_span_errors_total", .counter, "Spans stored with status error.", ["project", "service", "model", "kind"])
        duration = f("gen_ai_client_operation_duration_seconds", .histogram, "Span duration (end - start).", Self.spanLabels, Self.latencyBuckets)
        ttft = f("gen_ai_server_time_to_first_token_seconds", .histogram, "Time to the first streamed token, for spans that report it.", Self.spanLabels, Self.ttftBuckets)
        tokenUsage = f("gen_ai_client_token_usage", .histogram, "Tokens per span, by gen_ai_token_type (input or output).",
                       Self.spanLabels + ["gen_ai_token_type"], Self.tokenBuckets)
        tokens = f("llmtrace_tokens_total", .counter, "Tokens summed over spans, by type (input, output, cached).", Self.spanLabels + ["type"])
        cost = f("llmtrace_cost_usd_total", .counter, "Cost in US dollars summed over spans (carried, or from the price table).", Self.spanLabels)
        scores = f("llmtrace_scores_total", .counter, "Scores stored (POST /v1/scores), by name and source.", ["project", "name", "source"])
        scoresNumeric = f("llmtrace_scores_numeric_total", .counter, "Numeric scores stored, by name and source.", ["project", "name", "source"])
        scoreSum = f("llmtrace_score_values_summed", .gauge, "Sum of numeric score values (divide by llmtrace_scores_numeric_total for the mean).", ["project", "name", "source"])
        accepted = f("llmtrace_spans_accepted_total", .counter, "Spans stored by ingest, by route (re-sends are counted in llmtrace_spans_deduplicated_total instead).", ["route"])
        rejected = f("llmtrace_spans_rejected_total", .counter, "Spans rejected by ingest, by route and reason.", ["route", "reason"])
        duplicates = f("llmtrace_spans_deduplicated_total", .counter, "Spans received again within the dedup window (same project, trace id and span id): acknowledged, not stored or counted again.", ["route"])
        httpRequests = f("llmtrace_http_requests_total", .counter, "HTTP requests answered, by route and status code.", ["route", "code"])
        httpDuration = f("llmtrace_http_request_duration_seconds", .histogram, "Time from request to response, by route.", ["route"],
                         [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
        var g: [String: MetricFamily] = [:]
        for (name, kind, help, labels) in [
            ("llmtrace_head_spans", MetricFamily.Kind.gauge, "Spans acknowledged and not yet in a segment.", []),
            ("llmtrace_segments", .gauge, "Sealed segments.", []),
            ("llmtrace_disk_bytes", .gauge, "Bytes on disk, by kind (segments, wal, index).", ["kind"]),
            ("llmtrace_wal_written_bytes_total", .counter, "Bytes written to the write-ahead log since start.", []),
            ("llmtrace_wal_fsyncs_total", .counter, "Write-ahead log fsyncs since start.", []),
            ("llmtrace_wal_fsync_seconds_total", .counter, "Time spent in write-ahead log fsyncs since start.", []),
            ("llmtrace_append_backpressure_seconds_total", .counter, "Time appends waited for a seal to finish.", []),
            ("llmtrace_retention_deleted_segments_total", .counter, "Segments deleted by retention since start.", []),
            ("llmtrace_retention_deleted_spans_total", .counter, "Spans in the segments retention deleted since start.", []),
            ("llmtrace_ingest_queue_depth", .gauge, "Requests waiting for a worker.", []),
            ("llmtrace_ingest_in_flight", .gauge,
             "Ingest requests (HTTP and gRPC) being handled, on average over the last second; the ClickHouse sink defers while it is at least the number of cores.", []),
            ("llmtrace_http_open_connections", .gauge, "Open client connections.", []),
            ("llmtrace_http_overload_rejections_total", .counter, "Requests refused with 429/503 because the workers were saturated.", []),
            ("process_resident_memory_bytes", .gauge, "Resident set size.", []),
            ("process_cpu_seconds_total", .counter, "User and system CPU time.", []),
            ("process_open_fds", .gauge, "Open file descriptors.", []),
            ("process_start_time_seconds", .gauge, "Start time since the Unix epoch.", []),
            ("llmtrace_build_info", .gauge, "Always 1; the version is a label.", ["version"]),
        ] {
            g[name] = f(name, kind, help, labels)
        }
        gauges = g
    }

    public static let version = LLMTraceVersion.string

    /// A span's labels. Hashed with one FNV-1a pass over their bytes (Swift's String hashing ran
    /// SipHash over each of the five per span, most of the grouping cost).
    private struct SpanKey: Hashable {
        var project, service, model, kind, status: String
        let fnv: UInt64

        init(project: String, service: String, model: String, kind: String, status: String) {
            // Bounded here too: this key is cached, and a runaway value must not be held per span group.
            self.project = LabelValue.bounded(project)
            self.service = LabelValue.bounded(service)
            self.model = LabelValue.bounded(model)
            self.kind = kind
            self.status = status
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for part in [self.project, self.service, self.model, kind, status] {
                var p = part
                p.withUTF8 { b in for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 } }
                h = (h ^ 0xff) &* 0x100_0000_01b3
            }
            fnv = h
        }

        func hash(into hasher: inout Hasher) { hasher.combine(fnv) }
        static func == (a: SpanKey, b: SpanKey) -> Bool {
            a.fnv == b.fnv && ExactString.equal(a.project, b.project) && ExactString.equal(a.service, b.service)
                && ExactString.equal(a.model, b.model) && a.kind == b.kind && a.status == b.status
        }
        var labels: [String] { [project, service, model, kind, status] }
    }

    /// The series ids of one span label set in every span family, looked up once per label set.
    private struct SpanSeries {
        var spans, duration, usageIn, usageOut, tokensIn, tokensOut, cost: Int
        /// Made when first needed, so a label set that never fails, streams or caches has no such series.
        var errors, ttft, tokensCached: Int?
    }
    private let seriesLock = Condition()
    private var seriesByKey: [SpanKey: SpanSeries] = [:]

    private func series(_ key: SpanKey) -> SpanSeries {
        if let s = seriesLock.withLock({ seriesByKey[key] }) { return s }
        let l = key.labels
        let s = SpanSeries(spans: spans.id(l), duration: duration.id(l),
                           usageIn: tokenUsage.id(l + ["input"]), usageOut: tokenUsage.id(l + ["output"]),
                           tokensIn: tokens.id(l + ["input"]), tokensOut: tokens.id(l + ["output"]), cost: cost.id(l))
        // Bounded like the families: past their caps every new key maps to overflow ids.
        seriesLock.withLock { if seriesByKey.count < 4 * spans.maxSeries { seriesByKey[key] = s } }
        return s
    }

    /// One of the optional series of `key`, made on first use and remembered.
    private func optionalID(_ key: SpanKey, _ path: WritableKeyPath<SpanSeries, Int?>, _ make: () -> Int) -> Int {
        if let id = seriesLock.withLock({ seriesByKey[key]?[keyPath: path] }) { return id }
        let id = make()
        seriesLock.withLock { seriesByKey[key]?[keyPath: path] = id }
        return id
    }

    /// Updates the span metrics for a stored batch: spans are grouped by label set first, each
    /// group's series ids come from a cache, and each family takes its lock once per group.
    /// (Hot path: per stored span; measured with `llmtrace-bench metrics`.)
    public func stored(_ batch: [Span]) { record(batch) }

    public func record(_ batch: [Span]) {
        guard enabled else { return }
        var groups: [SpanKey: [Int32]] = [:]
        // Fields are read through the array, not by copying each 400-byte Span (a copy retains
        // and releases every string and array in it).
        for i in batch.indices {
            let key = SpanKey(project: batch[i].project, service: batch[i].service, model: batch[i].responseModel ?? batch[i].requestModel ?? "",
                              kind: batch[i].kind.rawValue, status: batch[i].status.rawValue)
            groups[key, default: []].append(Int32(i))
        }
        var durations: [Double] = [], ttfts: [Double] = [], inputs: [Double] = [], outputs: [Double] = []
        for (key, members) in groups {
            let ids = series(key)
            durations.removeAll(keepingCapacity: true)
            ttfts.removeAll(keepingCapacity: true)
            inputs.removeAll(keepingCapacity: true)
            outputs.removeAll(keepingCapacity: true)
            var inSum: Int64 = 0, outSum: Int64 = 0, cachedSum: Int64 = 0, costSum = 0.0
            var hasCached = false, hasCost = false
            for m in members {
                let i = Int(m)
                durations.append(Double(batch[i].durationNanos) / 1e9)
                if let t = batch[i].timeToFirstTokenNanos { ttfts.append(Double(t) / 1e9) }
                if let v = batch[i].inputTokens { inputs.append(Double(v)); inSum &+= v }
                if let v = batch[i].outputTokens { outputs.append(Double(v)); outSum &+= v }
                if let v = batch[i].cachedTokens { cachedSum &+= v; hasCached = true }
                if let c = batch[i].costUSD { costSum += c; hasCost = true }
            }
            spans.add(id: ids.spans, Double(members.count))
            if key.status == SpanStatus.error.rawValue {
                let l = key.labels
                errors.add(id: optionalID(key, \.errors) { errors.id(Array(l[0..<4])) }, Double(members.count))
            }
            duration.observe(id: ids.duration, durations)
            if !ttfts.isEmpty { ttft.observe(id: optionalID(key, \.ttft) { ttft.id(key.labels) }, ttfts) }
            tokenUsage.observe(id: ids.usageIn, inputs)
            tokenUsage.observe(id: ids.usageOut, outputs)
            if !inputs.isEmpty { tokens.add(id: ids.tokensIn, Double(inSum)) }
            if !outputs.isEmpty { tokens.add(id: ids.tokensOut, Double(outSum)) }
            if hasCached { tokens.add(id: optionalID(key, \.tokensCached) { tokens.id(key.labels + ["cached"]) }, Double(cachedSum)) }
            if hasCost { cost.add(id: ids.cost, costSum) }
        }
    }

    public func record(_ stored: [Score]) {
        guard enabled else { return }
        for s in stored {
            let labels = [s.project, s.name, s.source.rawValue]
            scores.add(labels)
            if case .number(let v) = s.value {
                scoresNumeric.add(labels)
                scoreSum.add(labels, v)
            }
        }
    }

    /// Counts an ingest request's outcome; rejections by `SpanRejection.Kind` (a fixed set: never
    /// the span's own text).
    public func ingested(route: String, accepted a: Int, duplicates d: Int = 0, rejected byReason: [String: Int]) {
        guard enabled else { return }
        if a > 0 { accepted.add([route], Double(a)) }
        if d > 0 { duplicates.add([route], Double(d)) }
        for (reason, n) in byReason where n > 0 { rejected.add([route, reason], Double(n)) }
    }

    /// The route label of a request path: fixed routes as they are, ids replaced, anything else
    /// `other` (a scanner probing random paths must not make new series).
    public static func route(_ target: String) -> String {
        let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? target
        switch path {
        case "/v1/traces", "/v1/spans", "/v1/scores", "/healthz", "/readyz", "/metrics", "/api/query", "/api/traces", "/api/tail":
            return path
        default:
            if path.hasPrefix("/api/traces/") { return "/api/traces/{id}" }
            if path.hasPrefix("/api/sessions/") { return "/api/sessions/{id}" }
            return "other"
        }
    }

    /// Counts one answered HTTP request (from the server's access hook: every request, including
    /// the 413/429/503 the server answers before any route runs).
    public func request(target: String, status: Int, durationNanos: Int64) {
        guard enabled else { return }
        let route = Self.route(target)
        httpRequests.add([route, String(status)])
        httpDuration.observe([route], Double(durationNanos) / 1e9)
    }

    /// Registers the scrape-time readers of the store, the server and the process.
    public func watch(store: Store, ingestLoad: IngestLoad? = nil,
                      server: (@Sendable () -> (queueDepth: Int, openConnections: Int, overload: Int))? = nil) {
        let g = gauges
        let startSeconds = Date().timeIntervalSince1970
        g["llmtrace_build_info"]!.set([Self.version], 1)
        registry.onScrape {
            g["llmtrace_head_spans"]!.set([], Double(store.headCount))
            g["llmtrace_segments"]!.set([], Double(store.segmentReaders.count))
            let d = store.diskUsage()
            g["llmtrace_disk_bytes"]!.set(["segments"], Double(d.segments))
            g["llmtrace_disk_bytes"]!.set(["wal"], Double(d.wal))
            g["llmtrace_disk_bytes"]!.set(["index"], Double(d.index))
            g["llmtrace_wal_written_bytes_total"]!.set([], Double(store.walBytesWritten))
            g["llmtrace_wal_fsyncs_total"]!.set([], Double(store.walFsyncs))
            g["llmtrace_wal_fsync_seconds_total"]!.set([], Double(store.walFsyncNanos) / 1e9)
            g["llmtrace_append_backpressure_seconds_total"]!.set([], Double(store.appendBackpressureNanos) / 1e9)
            let deleted = store.retentionDeleted
            g["llmtrace_retention_deleted_segments_total"]!.set([], Double(deleted.segments))
            g["llmtrace_retention_deleted_spans_total"]!.set([], Double(deleted.spans))
            if let ingestLoad { g["llmtrace_ingest_in_flight"]!.set([], ingestLoad.recentAverage) }
            if let server {
                let s = server()
                g["llmtrace_ingest_queue_depth"]!.set([], Double(s.queueDepth))
                g["llmtrace_http_open_connections"]!.set([], Double(s.openConnections))
                g["llmtrace_http_overload_rejections_total"]!.set([], Double(s.overload))
            }
            let p = ProcessStats.read()
            g["process_resident_memory_bytes"]!.set([], p.rssBytes)
            g["process_cpu_seconds_total"]!.set([], p.cpuSeconds)
            g["process_open_fds"]!.set([], p.openFDs)
            g["process_start_time_seconds"]!.set([], startSeconds)
        }
    }
}

/// This process's RSS, CPU time and open descriptors, from /proc.
enum ProcessStats {
    static func read() -> (rssBytes: Double, cpuSeconds: Double, openFDs: Double) {
        var rss = 0.0
        if let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let f = s.split(separator: " ")
            if f.count > 1, let pages = Double(f[1]) { rss = pages * Double(sysconf(Int32(_SC_PAGESIZE))) }
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        let fds = Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? 0)
        return (rss, cpu, fds)
    }
}
