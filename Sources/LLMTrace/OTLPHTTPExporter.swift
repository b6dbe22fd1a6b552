import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LLMTraceOTLP

/// OTLP/HTTP protobuf to `<endpoint>/v1/traces`, which any OpenTelemetry Collector and
/// `llmtraced` accept. A batch is retried — connection refused, 429, 502, 503, 504 — with
/// exponential backoff and full jitter (0.5 s doubling to 8 s), a `Retry-After` in seconds
/// honoured, for at most `exportTimeoutSeconds`; other answers (400, 401, 413) are final.
public final class OTLPHTTPExporter: SpanExporter, @unchecked Sendable {
    private let url: URL?
    private let headers: [String: String]
    private let timeout: Double
    private let session: URLSession

    public init(_ configuration: LLMTrace.Configuration) {
        var base = configuration.endpoint
        while base.hasSuffix("/") { base.removeLast() }
        url = URL(string: base.hasSuffix("/v1/traces") ? base : base + "/v1/traces")
        headers = configuration.headers
        timeout = configuration.exportTimeoutSeconds
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = min(10, configuration.exportTimeoutSeconds)
        session = URLSession(configuration: c)
    }

    public func export(_ spans: [SpanRecord]) -> Bool {
        guard let url, !spans.isEmpty else { return spans.isEmpty }
        let body = OTLPEncoder.encode(spans, sdk: OTLPEncoder.SDK(name: "llmtrace-swift", version: LLMTrace.version)).bytes
        let deadline = Date(timeIntervalSinceNow: timeout)
        var backoff = 0.5
        while true {
            var request = URLRequest(url: url)
            request.httpMethod = "POST"
            request.setValue("application/x-protobuf", forHTTPHeaderField: "Content-Type")
            for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
            request.httpBody = Data(body)
            let (status, retryAfter) = send(request)
            if (200..<300).contains(status) { return true }
            let retryable = status == 0 || status == 429 || status == 502 || status == 503 || status == 504
            guard retryable else { return false }
            let wait = retryAfter ?? Double.random(in: 0...backoff)
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
