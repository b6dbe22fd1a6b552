import Foundation

extension LLMTrace {
    /// How the SDK names the service and where and how it exports. `fromEnvironment()` reads the
    /// OpenTelemetry variables, so a service configured for any OTel SDK is configured for this one.
    public enum ExportFormat: String, Sendable { case otlpProtobuf = "otlp", nativeJSON = "native" }

    public struct Configuration: Sendable {
        public var serviceName = "unknown_service"
        /// The project spans go to when the collector has no keys; with keys, the key decides.
        public var project = "default"
        public var environment: String? = nil
        /// OTLP/HTTP base URL (`/v1/traces` is appended), as `OTEL_EXPORTER_OTLP_ENDPOINT`.
        public var endpoint = "http://127.0.0.1:4318"
        /// Sent with every export (an API key: `authorization=Bearer …`).
        public var headers: [String: String] = [:]
        /// Share of root traces kept (children follow their parent's decision).
        public var samplingRatio = 1.0
        /// Spans that end in error are exported even when their trace was not sampled.
        public var keepErrors = true
        /// Batch processor: the OpenTelemetry defaults (`OTEL_BSP_*`).
        public var scheduleDelaySeconds = 5.0
        public var maxQueueSize = 2048
        public var maxExportBatchSize = 512
        /// How long one export may keep retrying (429, 503, connection refused) before its batch is
        /// given up and counted as dropped.
        public var exportTimeoutSeconds = 30.0
        /// Compress each export (`Content-Encoding: gzip`), as `OTEL_EXPORTER_OTLP_COMPRESSION=gzip`.
        public var gzip = false
        /// What an export is: OTLP/HTTP protobuf to `/v1/traces` (any OpenTelemetry Collector takes
        /// it), or LLMTrace's native JSON lines to `/v1/spans` (`LLMTRACE_EXPORT_FORMAT=native`).
        public var format = ExportFormat.otlpProtobuf
        /// Runs on the export thread on each finished span before it is encoded: edit what must not
        /// leave the process (prompts, e-mail addresses), or return false to drop the span.
        public var redact: (@Sendable (inout SpanRecord) -> Bool)? = nil

        public init(serviceName: String = "unknown_service") { self.serviceName = serviceName }

        /// The OpenTelemetry variables: `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`
        /// (`service.name`, `deployment.environment[.name]`, `llmtrace.project`),
        /// `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,…`, values
        /// percent-decoded), `OTEL_EXPORTER_OTLP[_TRACES]_COMPRESSION` (`gzip`), `OTEL_TRACES_SAMPLER_ARG`,
        /// `LLMTRACE_EXPORT_FORMAT` (`otlp`, `native`),
        /// `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`,
        /// `OTEL_BSP_EXPORT_TIMEOUT` (milliseconds). Unreadable values keep the defaults.
        public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Configuration {
            var c = Configuration()
            for (k, v) in pairs(env["OTEL_RESOURCE_ATTRIBUTES"] ?? "") {
                switch k {
                case "service.name": c.serviceName = v
                case "deployment.environment", "deployment.environment.name": c.environment = v
                case "llmtrace.project": c.project = v
                default: break
                }
            }
            if let v = env["OTEL_SERVICE_NAME"], !v.isEmpty { c.serviceName = v }
            if let v = env["OTEL_EXPORTER_OTLP_ENDPOINT"], !v.isEmpty { c.endpoint = v }
            for (k, v) in pairs(env["OTEL_EXPORTER_OTLP_HEADERS"] ?? "") { c.headers[k] = v }
            if let v = env["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"] ?? env["OTEL_EXPORTER_OTLP_COMPRESSION"] { c.gzip = v == "gzip" }
            if let v = env["LLMTRACE_EXPORT_FORMAT"].flatMap(ExportFormat.init(rawValue:)) { c.format = v }
            if let v = env["OTEL_TRACES_SAMPLER_ARG"].flatMap(Double.init), (0...1).contains(v) { c.samplingRatio = v }
            if let v = env["OTEL_BSP_SCHEDULE_DELAY"].flatMap(Double.init), v >= 0 { c.scheduleDelaySeconds = v / 1000 }
            if let v = env["OTEL_BSP_MAX_QUEUE_SIZE"].flatMap(Int.init), v > 0 { c.maxQueueSize = v }
            if let v = env["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"].flatMap(Int.init), v > 0 { c.maxExportBatchSize = v }
            if let v = env["OTEL_BSP_EXPORT_TIMEOUT"].flatMap(Double.init), v > 0 { c.exportTimeoutSeconds = v / 1000 }
            c.maxExportBatchSize = min(c.maxExportBatchSize, c.maxQueueSize)
            return c
        }

        /// `k=v,k2=v2` (W3C baggage-like, as the OTel variables are), values percent-decoded.
        static func pairs(_ s: String) -> [(String, String)] {
            s.split(separator: ",").compactMap { item in
                let kv = item.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { return nil }
                let k = kv[0].trimmingCharacters(in: .whitespaces)
                let v = kv[1].trimmingCharacters(in: .whitespaces)
                return k.isEmpty ? nil : (k, v.removingPercentEncoding ?? v)
            }
        }
    }
}
