import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LLMTraceModel
import LLMTraceOTLP

/// Exports over HTTP to `configuration.endpoint`: spans as OTLP/HTTP protobuf to `/v1/traces`
/// (which any OpenTelemetry Collector and `llmtraced` accept) or as LLMTrace's native JSON lines to
/// `/v1/spans`; scores as JSON lines to `/v1/scores` (`llmtraced` only). Optionally gzip.
///
/// A batch is retried — connection refused, 429, 502, 503, 504 — with exponential backoff and full
/// jitter (0.5 s doubling to 8 s), a `Retry-After` in seconds honoured, for at most
/// `exportTimeoutSeconds`; other answers (400, 401, 413) are final and counted as failed.
public final class HTTPExporter: SpanExporter, @unchecked Sendable {
    private let base: String
    private let tracesURL: URL?
    private let headers: [String: String]
    private let timeout: Double
    private let gzip: Bool
    private let format: LLMTrace.ExportFormat
    private let session: URLSession
    private let sdk = OTLPEncoder.SDK(name: "llmtrace-swift", version: LLMTrace.version)

    public init(_ configuration: LLMTrace.Configuration) {
        var b = configuration.endpoint
        while b.hasSuffix("/") { b.removeLast() }
        if b.hasSuffix("/v1/traces") { b.removeLast("/v1/traces".count) }
        base = b
        format = configuration.format
        tracesURL = URL(string: b + (configuration.format == .otlpProtobuf ? "/v1/traces" : "/v1/spans"))
        headers = configuration.headers
        timeout = configuration.exportTimeoutSeconds
        gzip = configuration.gzip
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = min(10, configuration.exportTimeoutSeconds)
        session = URLSession(configuration: c)
    }

    /// The request body for `spans` in the configured format, before compression.
    public func body(_ spans: [SpanRecord]) -> (bytes: [UInt8], contentType: String) {
        switch format {
        case .otlpProtobuf:
            return (OTLPEncoder.encode(spans, sdk: sdk).bytes, "application/x-protobuf")
        case .nativeJSON:
            var w = JSONWriter()
            for s in spans {
                s.encodeJSON(into: &w)
                w.bytes.append(0x0A)
            }
            return (w.bytes, "application/x-ndjson")
        }
    }

    public func export(_ spans: [SpanRecord]) -> Bool {
        guard let url = tracesURL, !spans.isEmpty else { return spans.isEmpty }
        let (bytes, type) = body(spans)
        return post(url, bytes, type)
    }

    public func export(scores: [Score]) -> Bool {
        guard let url = URL(string: base + "/v1/scores"), !scores.isEmpty else { return scores.isEmpty }
        var w = JSONWriter()
        for s in scores {
            s.encodeJSON(into: &w)
            w.bytes.append(0x0A)
        }
        return post(url, w.bytes, "application/x-ndjson")
    }

    private func post(_ url: URL, _ bytes: [UInt8], _ contentType: String) -> Bool {
        let body = Data(gzip ? Gzip.compress(bytes) : bytes)
        let deadline = Date(timeIntervalSinceNow: timeout)
        var backoff = 0.5
        while true {
            var request = URLRequest(url: url)
            request.httpMethod = "POST"
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
            if gzip { request.setValue("gzip", forHTTPHeaderField: "Content-Encoding") }
            request.setValue("llmtrace-swift/\(LLMTrace.version)", forHTTPHeaderField: "User-Agent")
            for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
            request.httpBody = body
            let (status, retryAfter) = send(request)
            if (200..<300).contains(status) { return true }
            let retryable = status == 0 || status == 429 || status == 502 || status == 503 || status == 504
            guard retryable else { return false }
            let wait = retryAfter.map { min($0, 60) } ?? Double.random(in: 0...backoff)
            backoff = min(8, backoff * 2)
            if Date(timeIntervalSinceNow: wait) >= deadline { return false }
            Thread.sleep(forTimeInterval: wait)
        }
    }

    /// The status (0: no answer) and a `Retry-After` in seconds.
    private func send(_ request: URLRequest) -> (Int, Double?) {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        session.dataTask(with: request) { _, response, _ in
            if let h = response as? HTTPURLResponse {
                result.set(h.statusCode, (h.value(forHTTPHeaderField: "Retry-After")).flatMap(Double.init))
            }
            done.signal()
        }.resume()
        done.wait()
        return result.get()
    }

    public func shutdown() { session.finishTasksAndInvalidate() }

    private final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var status = 0
        private var retryAfter: Double?
        func set(_ s: Int, _ r: Double?) { lock.lock(); status = s; retryAfter = r; lock.unlock() }
        func get() -> (Int, Double?) { lock.lock(); defer { lock.unlock() }; return (status, retryAfter) }
    }
}

extension LLMTrace {
    public static let version = "0.1.0"
}
