#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Foundation
import LLMTraceCLI
import LLMTraceClickHouse
import LLMTraceCollector
import LLMTraceDetect
import LLMTraceIngest
import LLMTraceHTTP
import LLMTraceStore
import LLMTraceModel

/// `llmtraced`: the LLMTrace server. Owns the data directory (recovery, sealing, retention) and
/// serves the HTTP API: native and OTLP/HTTP ingest, health checks.
@main
struct Llmtraced {
    static let usage = """
    llmtraced: the LLMTrace collector and store.

    USAGE
      llmtraced [--listen HOST:PORT] [--data DIR] [--config FILE] [options]

    Opens (or creates) the data directory and recovers it (replays the write-ahead log, truncating a
    torn tail with a warning), then serves HTTP on --listen:
      POST /v1/traces   OTLP/HTTP, application/x-protobuf or application/json, gzip or deflate
      POST /v1/spans    native spans (schemas/span.schema.json): a JSON array or JSON lines
      GET  /healthz     alive;  GET /readyz: store open and WAL writable
      POST /api/query, GET /api/traces, /api/traces/ID, /api/sessions/ID, /api/tail   reads
      GET  /api/anomalies, /api/alerts, /api/drift; GET|POST /api/silences   detectors
      GET  /metrics     Prometheus
    A request is answered 200 only after its spans are fsynced (--fsync). Spans that fail validation
    are reported (OTLP partial_success, or the "errors" list) and the valid ones stored. SIGINT or
    SIGTERM stops accepting, finishes in-flight requests, seals the head and exits.

    OPTIONS (each also as an environment variable; flags win over the environment, which wins over --config)
      --listen HOST:PORT     LLMTRACE_LISTEN         default 127.0.0.1:4318 (the OTLP/HTTP port)
      --grpc-listen HOST:PORT LLMTRACE_GRPC_LISTEN   also take OTLP over gRPC there, e.g. 127.0.0.1:4317 (default: off)
      --data DIR             LLMTRACE_DATA           data directory (default ./llmtrace-data)
      --config FILE          LLMTRACE_CONFIG         JSON config: settings below and projects with keys
      --log-format FORMAT    LLMTRACE_LOG_FORMAT     text (default) or json, one line per event on stderr
      --access-log on|off    LLMTRACE_ACCESS_LOG     a line per request (default on)
      --fsync POLICY         LLMTRACE_FSYNC          always (default) or interval=Nms
      --seal-spans N         LLMTRACE_SEAL_SPANS     seal the head at N spans (default 65536)
      --seal-age S           LLMTRACE_SEAL_AGE       ...or when it is S seconds old (default 300)
      --retention D          LLMTRACE_RETENTION      drop segments older than D: 30d, 12h, 90m (default: keep)
      --dedup-window D       LLMTRACE_DEDUP_WINDOW   a span re-sent within D of ingest is stored once (default 24h)
      --dedup-max-spans N    LLMTRACE_DEDUP_MAX_SPANS  keys the window holds, about 7 bytes each (default 20000000)
      --compression C        LLMTRACE_COMPRESSION    segment blocks: lz4 (default, fast), zlib[:1-9]
                                                     (segments ~18% smaller, ~1.7x the sealing CPU) or none
      --max-body-bytes N     LLMTRACE_MAX_BODY_BYTES request body limit (default 16777216; 413 beyond)
      --max-connections N    LLMTRACE_MAX_CONNECTIONS
      --workers N            LLMTRACE_WORKERS        handler threads (default 8)
      --queue-depth N        LLMTRACE_QUEUE_DEPTH    requests waiting for a worker before 429 (default 64)
      --conventions FILE     LLMTRACE_CONVENTIONS    attribute mapping (default: built-in schemas/conventions.json)
      --pricing FILE         LLMTRACE_PRICING        model prices (default: built-in schemas/pricing.json)
      --metrics on|off       LLMTRACE_METRICS        Prometheus /metrics and the span metrics behind it (default on)
      --metrics-max-series N LLMTRACE_METRICS_MAX_SERIES  label sets per /metrics family before new ones
                                                     fold into an __overflow__ series (default 10000)
      --detectors on|off     LLMTRACE_DETECTORS      anomaly detectors, online evaluators and alerts (default on)
      --evaluators LIST      LLMTRACE_EVALUATORS     all (default), none, or a comma list of
                                                     \(OnlineEvaluators.Name.allCases.map(\.rawValue).joined(separator: ", "))
      --alert-for N          LLMTRACE_ALERT_FOR      minutes an anomaly must last before its alert fires (default 1)
      --alert-webhook URLS   LLMTRACE_ALERT_WEBHOOK  POST firing and resolved alerts (Alertmanager's webhook JSON)
      --alertmanager URLS    LLMTRACE_ALERTMANAGER   push alerts to Alertmanager's v2 API (http://host:9093)
      --clickhouse URL       LLMTRACE_CLICKHOUSE     forward every span and score to ClickHouse (default: off):
                                                     http://HOST:8123[,http://HOST2:8123][?cluster=NAME&database=llmtrace
                                                     &user=U&password=P&compress=auto|gzip|none]; create the tables
                                                     first with `tracectl clickhouse init` (README "Scaling out")
      --clickhouse-budget SIZE LLMTRACE_CLICKHOUSE_BUDGET  disk retention keeps for spans ClickHouse has not
                                                     confirmed, e.g. 10G (default), 500M
      --clickhouse-defer D   LLMTRACE_CLICKHOUSE_DEFER  while ingest is saturated, forwarding waits until the
                                                     oldest span ClickHouse lacks is this old (or the outbox holds
                                                     half the budget): 60s (default), 5m, 0 = never wait
      --query-memory SIZE    LLMTRACE_QUERY_MEMORY   what one query may hold (match sets, trace rows, groups,
                                                     result rows) before it stops with an error (default 512M)
      --query-engine E       LLMTRACE_QUERY_ENGINE   what answers /api/query, /api/traces and trace lookups with
                                                     --clickhouse: local (default; this collector's store),
                                                     clickhouse (the cluster: every collector's spans), or auto
                                                     (the store for its own window, the cluster further back and
                                                     for traces it lacks); a request may say engine=E
                             LLMTRACE_INGEST_KEYS    project=key,... ingest keys (added to --config's)
                             LLMTRACE_READ_KEYS      project=key,... read keys

    KEYS
      With keys configured, every request needs 'Authorization: Bearer KEY' or 'x-api-key: KEY', and an
      ingest key stores spans in its own project. With none, llmtraced listens on loopback only.

    EXAMPLES
      llmtraced
      llmtraced --data /var/lib/llmtrace --retention 30d --log-format json
      LLMTRACE_INGEST_KEYS=chat=lt_ingest_0123456789abcdef llmtraced --listen 0.0.0.0:4318
      OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 python my_app.py   # any OTel SDK
    """

    static func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// Parses 30d, 12h, 90m, 45s into nanoseconds.
    static func duration(_ s: String) -> Int64? {
        guard let unit = s.last, let n = Int64(s.dropLast()), n > 0 else { return nil }
        switch unit {
        case "d": return n * 86_400_000_000_000
        case "h": return n * 3_600_000_000_000
        case "m": return n * 60_000_000_000
        case "s": return n * 1_000_000_000
        default: return nil
        }
    }

    static func main() {
        signal(SIGPIPE, SIG_IGN)
        // glibc gives each thread that mallocs its own arena; with 8 handler threads building
        // megabyte-sized batches that fragments into hundreds of MB of RSS. Two arenas keep the
        // heap compact at a small cost in lock contention.
        _ = mallopt(M_ARENA_MAX, 2)
        // A fixed mmap threshold: blocks of 2 MiB and more (a seal's sorted rows and columns, a
        // head's arrays, postings being written) are mapped and unmapped whole. Left to glibc, the
        // threshold rises to the largest block ever freed (up to 32 MiB), after which those blocks
        // come from the arenas and leave them fragmented: peak RSS at full ingest 405-411 MB, with
        // 4 MiB 367 MB (1 MiB: 332 MB but 10% slower, every ~1 MB request body then being mapped
        // afresh). 2 MiB keeps request bodies in the arenas: 250/252 -> 238/239 MB at the same
        // rate in alternated 60 s runs (llmtrace-bench ingest --spawn).
        _ = mallopt(M_MMAP_THRESHOLD, 2 << 20)
        do {
            exit(try run(Array(CommandLine.arguments.dropFirst())))
        } catch let e as UsageError {
            Terminal.error("llmtraced: \(e)")
            exit(2)
        } catch let e as ConfigError {
            Terminal.error("llmtraced: \(e)")
            exit(2)
        } catch {
            Terminal.error("llmtraced: \(error)")
            exit(1)
        }
    }

    static let flagNames: [String] = ["listen", "grpc-listen", "data", "config", "log-format", "access-log", "fsync", "seal-spans", "seal-age",
                                      "retention", "compression", "max-body-bytes", "max-connections", "workers", "queue-depth",
                                      "conventions", "pricing", "event-loops", "metrics-max-series", "metrics",
                                      "dedup-window", "dedup-max-spans", "detectors", "evaluators", "alert-webhook",
                                      "alertmanager", "alert-for", "clickhouse", "clickhouse-budget", "clickhouse-defer", "query-engine", "query-memory"]

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: Set(flagNames), flags: ["help", "version"])
        if a.has("help") { Terminal.print(usage); return 0 }
        if a.has("version") { Terminal.print("llmtraced \(LLMTraceVersion.string)"); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("unexpected argument '\(a.positionals[0])'; see llmtraced --help") }

        var config = CollectorConfig()
        if let path = a.value("config") ?? env("LLMTRACE_CONFIG") {
            guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError("cannot read config file \(path)") }
            config = try CollectorConfig(json: Array(data), path: path)
        }
        try config.addKeys(ingest: env("LLMTRACE_INGEST_KEYS"), read: env("LLMTRACE_READ_KEYS"))
        /// Flag, then environment, then config file.
        func opt(_ name: String) -> String? {
            let envName = "LLMTRACE_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
            return a.value(name) ?? env(envName) ?? config.settings[name.replacingOccurrences(of: "-", with: "_")]
        }
        func int(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let v = opt(name) else { return nil }
            guard let n = Int(v), range.contains(n) else { throw UsageError("--\(name) expects an integer in \(range.lowerBound)...\(range.upperBound), got '\(v)'") }
            return n
        }
        func onOff(_ name: String, default d: Bool) throws -> Bool {
            switch opt(name) {
            case nil: return d
            case "on", "true", "1": return true
            case "off", "false", "0": return false
            case let v?: throw UsageError("--\(name) expects on or off, got '\(v)'")
            }
        }

        var opts = StoreOptions(directory: opt("data") ?? DataDirectory.defaultPath)
        if let f = opt("fsync") {
            guard let p = FsyncPolicy(parsing: f) else { throw UsageError("--fsync expects always or interval=Nms, got '\(f)'") }
            opts.fsync = p
        }
        if let n = try int("seal-spans", 1...100_000_000) { opts.sealSpanCount = n }
        if let n = try int("seal-age", 1...86_400 * 365) { opts.sealAgeNanos = Int64(n) * 1_000_000_000 }
        if let v = opt("dedup-window") {
            guard let d = duration(v) else { throw UsageError("--dedup-window expects a duration like 24h or 90m, got '\(v)'") }
            opts.dedupWindowNanos = d
        }
        if let n = try int("dedup-max-spans", 1024...2_000_000_000) { opts.dedupMaxSpans = n }
        if let v = opt("retention") {
            guard let d = duration(v) else { throw UsageError("--retention expects a duration like 30d, 12h or 90m, got '\(v)'") }
            opts.retentionNanos = d
        }
        if let v = opt("compression") {
            guard let c = SegmentCompression(parsing: v) else {
                throw UsageError("--compression expects lz4, zlib, zlib:1...zlib:9 or none, got '\(v)'")
            }
            opts.compression = c
        }

        let format: LogSink.Format
        switch opt("log-format") ?? "text" {
        case "text": format = .text
        case "json": format = .json
        case let f: throw UsageError("--log-format expects text or json, got '\(f)'")
        }
        let accessLog = try onOff("access-log", default: true)
        let log = LogSink(format: format, accessLog: accessLog)
        opts.log = { level, line in
            switch level {
            case .info: log.info(line)
            case .warning: log.warn(line)
            case .error: log.error(line)
            }
        }
        var clickhouse: ClickHouseEndpoint? = nil
        var sinkSettings = ClickHouseSink.Settings()
        if let v = opt("clickhouse") {
            do { clickhouse = try ClickHouseEndpoint(parsing: v) } catch { throw UsageError("\(error)") }
            var budget = 10 << 30
            if let b = opt("clickhouse-budget") {
                guard let n = ArgumentParser.byteSize(b) else { throw UsageError("--clickhouse-budget expects a size like 10G or 500M, got '\(b)'") }
                budget = n
            }
            opts.outbox = OutboxOptions(name: "clickhouse", budgetBytes: budget)
            sinkSettings.maxDeferBytes = budget / 2
            if let d = opt("clickhouse-defer") {
                if d == "0" {
                    sinkSettings.maxDeferNanos = 0
                } else {
                    guard let n = duration(d) else { throw UsageError("--clickhouse-defer expects a duration like 60s or 5m, or 0, got '\(d)'") }
                    sinkSettings.maxDeferNanos = n
                }
            }
        }
        // Two malloc arenas (set in main) keep the heap compact; no trims, which stall allocations.
        opts.trimMemoryAfterSeal = false

        var server = HTTPServer.Configuration()
        let listen = try CollectorConfig.parseListen(opt("listen") ?? "127.0.0.1:4318")
        server.host = listen.host
        server.port = listen.port
        if let n = try int("max-body-bytes", 1024...1 << 30) { server.limits.maxBodyBytes = n }
        if let n = try int("max-connections", 1...1_000_000) { server.maxConnections = n }
        if let n = try int("workers", 1...1024) { server.workers = n }
        if let n = try int("queue-depth", 1...1_000_000) { server.queueDepth = n }
        if let n = try int("event-loops", 1...64) { server.eventLoops = n }
        var collectorOptions = Collector.Options()
        if let n = try int("metrics-max-series", 1...10_000_000) { collectorOptions.metricsMaxSeries = n }
        if let e = opt("query-engine") {
            guard let engine = ReadEngine(rawValue: e) else { throw UsageError("--query-engine expects local, clickhouse or auto, got '\(e)'") }
            guard clickhouse != nil || engine == .local else { throw UsageError("--query-engine \(e) needs --clickhouse URL (the cluster to read from)") }
            collectorOptions.readEngine = engine
        }
        if let clickhouse { collectorOptions.clickhouse = ClickHouseQueryEngine(client: ClickHouseClient(clickhouse)) }
        if let m = opt("query-memory") {
            guard let n = ArgumentParser.byteSize(m), n >= 1 << 20 else { throw UsageError("--query-memory expects a size of at least 1M, like 512M or 2G, got '\(m)'") }
            collectorOptions.queryMemoryBytes = n
        }
        collectorOptions.metricsEnabled = try onOff("metrics", default: true)

        let conventions: Conventions
        if let path = opt("conventions") {
            guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError("cannot read conventions file \(path)") }
            conventions = try Conventions(json: Array(data))
        } else {
            conventions = Conventions.builtIn()
        }
        let pricing: Pricing
        if let path = opt("pricing") {
            guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError("cannot read pricing file \(path)") }
            pricing = try Pricing(json: Array(data))
        } else {
            pricing = Pricing.builtIn()
        }
        var detectorSettings: DetectorService.Settings? = nil
        var scoreBox: ScoreSinkBox? = nil
        if try onOff("detectors", default: true) {
            var d = DetectorService.Settings()
            do {
                if let v = opt("evaluators") { d.evaluators.enabled = try OnlineEvaluators.Settings.parseList(v) }
                for (project, list) in config.projectEvaluators { d.evaluators.projects[project] = try OnlineEvaluators.Settings.parseList(list) }
            } catch {
                throw UsageError("--evaluators: \(error)")
            }
            func urls(_ name: String) throws -> [String] {
                guard let v = opt(name) else { return [] }
                let list = v.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                for u in list {
                    do { _ = try HTTPClient(endpoint: u) } catch { throw UsageError("--\(name): \(error)") }
                }
                return list
            }
            d.notifier.webhooks = try urls("alert-webhook")
            d.notifier.alertmanagers = try urls("alertmanager")
            d.notifier.externalURL = "http://\(server.host):\(server.port)"
            if let n = try int("alert-for", 0...1440) { d.alerts.forMinutes = n }
            detectorSettings = d
        }
        let keys = KeyRing(projects: config.projects)
        if keys.isOpen && !CollectorConfig.isLoopback(server.host) {
            log.warn("no API keys are configured, so llmtraced listens on 127.0.0.1 only (asked for \(server.host)); configure projects with keys (--config or LLMTRACE_INGEST_KEYS) to accept other hosts")
            server.host = "127.0.0.1"
        }
        var grpcConfig: GRPCServer.Configuration? = nil
        if let g = opt("grpc-listen") {
            let at = try CollectorConfig.parseListen(g)
            var c = GRPCServer.Configuration()
            c.host = keys.isOpen && !CollectorConfig.isLoopback(at.host) ? "127.0.0.1" : at.host
            c.port = at.port
            c.workers = server.workers
            c.queueDepth = server.queueDepth
            c.limits.maxBodyBytes = server.limits.maxBodyBytes
            c.overloaded = GRPCReply(status: .resourceExhausted, message: "the ingest queue is full; retry after \(server.retryAfterSeconds)s",
                                     trailers: Collector.retryTrailers(seconds: server.retryAfterSeconds, message: "the ingest queue is full"))
            grpcConfig = c
        }

        // Block the shutdown signals before any thread starts, then wait for them here.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)

        let started = monotonicNanos()
        let store: Store
        do {
            store = try Store.open(opts)
        } catch {
            // In the log's own format: under --log-format json a plain line would not parse.
            log.error("cannot open the data directory", [("dir", opts.directory), ("reason", "\(error)")])
            return 1
        }
        let r = store.recovery
        log.info("data directory opened", [("dir", opts.directory), ("segments", "\(r.segmentsOpened)"),
                                             ("replayed_spans", "\(r.walSpansReplayed)"), ("wal_files", "\(r.walFilesReplayed)"),
                                             ("ms", TraceRenderer.fixed(Double(monotonicNanos() - started) / 1e6, 1))])
        let fanout = SpanFanout()
        var detectors: DetectorService? = nil
        if detectorSettings != nil {
            do {
                // The collector is made below; its metrics count the evaluators' scores through this box.
                let box = ScoreSinkBox()
                detectors = try DetectorService(fanout: fanout, statePath: opts.directory + "/detectors.db", settings: detectorSettings!) { scores in
                    _ = try store.index.addScores(scores)
                    box.metrics?.record(scores)
                }
                scoreBox = box
            } catch {
                try? store.close(seal: false)
                log.error("cannot open the detector state", [("file", opts.directory + "/detectors.db"), ("reason", "\(error)")])
                return 1
            }
        }
        let collector = Collector(store: store, keys: keys, conventions: conventions, pricing: pricing, fanout: fanout,
                                  options: collectorOptions, log: log, detectors: detectors)
        let metrics = collector.metrics
        scoreBox?.metrics = metrics
        detectors?.start()
        var sink: ClickHouseSink? = nil
        if let clickhouse {
            let load = collector.ingestLoad
            let s = ClickHouseSink(store: store, endpoint: clickhouse, settings: sinkSettings, ingestBusy: { load.saturated },
                                   log: { log.warn($0) })
            metrics.watch(sink: s, budgetBytes: opts.outbox?.budgetBytes ?? 0)
            s.start()
            sink = s
            let c = store.outboxConfirmed
            log.info("forwarding to ClickHouse", [("endpoint", clickhouse.redacted), ("table", clickhouse.spansTable),
                                                  ("from", c.map { "\($0.position)" } ?? "")])
        }
        // Every answered request is counted for /metrics; the access log line is optional.
        let access: @Sendable (HTTPServer.AccessLogEntry) -> Void = { (e: HTTPServer.AccessLogEntry) in
            metrics.request(target: e.target, status: e.status, durationNanos: e.durationNanos)
            guard accessLog else { return }
            let ms = TraceRenderer.fixed(Double(e.durationNanos) / 1e6, 2)
            log.info("request", [("method", e.method), ("path", e.target), ("status", String(e.status)),
                                 ("in_bytes", String(e.requestBytes)), ("out_bytes", String(e.responseBytes)),
                                 ("ms", ms), ("remote", e.remote)])
        }
        let handler: HTTPServer.Handler = { collector.handle($0) }
        let inline: HTTPServer.InlineHandler = { collector.inline($0) }
        let http = HTTPServer(configuration: server, handler: handler, inline: inline, accessLog: access, errorLog: { log.error($0) })
        metrics.watch(store: store, ingestLoad: collector.ingestLoad) {
            let s = http.currentStats
            return (s.queueDepth, s.openConnections, s.overloadRejections)
        }
        let port: Int
        do {
            port = try http.start()
        } catch {
            try? store.close(seal: false)
            log.error("cannot listen", [("address", "\(server.host):\(server.port)"), ("reason", "\(error)")])
            return 1
        }
        var grpc: GRPCServer? = nil
        if let c = grpcConfig {
            let g = GRPCServer(configuration: c, handler: { collector.grpc($0) }, log: { log.warn($0) })
            do {
                let p = try g.start()
                log.info("listening for OTLP over gRPC", [("address", "\(c.host):\(p)")])
                grpc = g
            } catch {
                http.shutdown()
                try? store.close(seal: false)
                log.error("cannot listen for gRPC", [("address", "\(c.host):\(c.port)"), ("reason", "\(error)")])
                return 1
            }
        }
        log.info("listening", [("address", "\(server.host):\(port)"), ("fsync", "\(opts.fsync)"),
                               ("keys", keys.isOpen ? "none (open, loopback only)" : "\(keys.projects.count) project(s)"),
                               ("pricing_models", "\(pricing.models.count)"), ("workers", "\(server.workers)"),
                               ("event_loops", "\(server.eventLoops)")])

        var sig: Int32 = 0
        sigwait(&set, &sig)
        log.info("shutting down", [("signal", "\(sig)")])
        grpc?.shutdown()
        http.shutdown()
        detectors?.stop()
        sink?.stop()
        let totals = collector.totals
        do {
            try store.close(seal: true)
        } catch {
            // Nothing is lost: the unsealed spans stay in the write-ahead log for the next start.
            log.error("stopped without sealing the newest spans; the next start replays them from the write-ahead log",
                      [("reason", "\(error)"), ("accepted_spans", "\(totals.accepted)")])
            return 0
        }
        log.info("stopped cleanly", [("accepted_spans", "\(totals.accepted)"), ("rejected_spans", "\(totals.rejected)")])
        return 0
    }
}

/// Lets the detectors' score sink, made before the collector, count into the collector's metrics.
final class ScoreSinkBox: @unchecked Sendable {
    var metrics: CollectorMetrics?
}
