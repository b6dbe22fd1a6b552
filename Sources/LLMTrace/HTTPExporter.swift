import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LLMTraceModel
import LLMTraceOTLP

/// Exports over HTTP to `configuration.endpoint`: spans as OTLP/HTTP protobuf to `/v1/traces`
/// (which any OpenTelemetry Collector and `llmtraced` accept) or as LLMTrace's native JSON lines to
/// `/v1/spans`; scores as a JSON array to `/v1/scores` (`llmtraced` only). Optionally gzip.
///
/// A batch is retried — connection refused, 429, 502, 503, 504 — with exponential backoff and full
/// jitter (0.5 s doubling to 8 s), a `Retry-After` in seconds honoured, for at most
/// `exportTimeoutSeconds`; other answers (400, 401, 413) are final and counted as failed.
public final class HTTPExporter: SpanExporter, @unchecked Sendable {
    private let base: String
    private let tracesPath: String
    private let headers: [(String, String)]
    private let timeout: Double
    private let gzip: Bool
    private let format: LLMTrace.ExportFormat
    private let sdk = OTLPEncoder.SDK(name: "llmtrace-swift", version: LLMTrace.version)
    /// `http://` endpoints: one keep-alive connection of our own, on the export thread.
    private let plain: PlainHTTPClient?
    /// `https://` (and anything else): URLSession.
    private let session: URLSession?
    /// Kept between exports, so a batch's buffer is allocated once (export runs on one thread).
    private var writer = ProtoWriter()

    public init(_ configuration: LLMTrace.Configuration) {
        var b = configuration.endpoint
        while b.hasSuffix("/") { b.removeLast() }
        if b.hasSuffix("/v1/traces") { b.removeLast("/v1/traces".count) }
        base = b
        format = configuration.format
        tracesPath = configuration.format == .otlpProtobuf ? "/v1/traces" : "/v1/spans"
        // A header name or value with a control character would split the request: left out.
        headers = configuration.headers.sorted { $0.key < $1.key }.filter { k, v in
            !k.isEmpty && !(k + v).unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7f }
        }
        timeout = configuration.exportTimeoutSeconds
        gzip = configuration.gzip
        plain = PlainHTTPClient(url: b, timeoutSeconds: min(10, configuration.exportTimeoutSeconds))
        if plain == nil {
            let c = URLSessionConfiguration.ephemeral
            c.timeoutIntervalForRequest = min(10, configuration.exportTimeoutSeconds)
            session = URLSession(configuration: c)
        } else {
            session = nil
        }
    }

    /// The request body for `spans` in the configured format, before compression.
    public func body(_ spans: [SpanRecord]) -> (bytes: [UInt8], contentType: String) {
        var w = ProtoWriter()
        return (body(spans, &w), contentType)
    }

    private var contentType: String { format == .otlpProtobuf ? "application/x-protobuf" : "application/x-ndjson" }

    private func body(_ spans: [SpanRecord], _ w: inout ProtoWriter) -> [UInt8] {
        switch format {
        case .otlpProtobuf:
            w.bytes.removeAll(keepingCapacity: true)
            OTLPEncoder.encode(spans, sdk: sdk, into: &w)
            return w.bytes
        case .nativeJSON:
            var j = JSONWriter(capacity: w.bytes.capacity)
            for s in spans {
                s.encodeJSON(into: &j)
                j.bytes.append(0x0A)
            }
            return j.bytes
        }
    }

    public func export(_ spans: [SpanRecord]) -> Bool {
        guard !spans.isEmpty else { return true }
        let bytes = body(spans, &writer)
        return post(tracesPath, bytes, contentType)
    }

    public func export(scores: [Score]) -> Bool {
        guard !scores.isEmpty else { return true }
        var w = JSONWriter()
        w.beginArray()
        for s in scores { s.encodeJSON(into: &w) }
        w.endArray()
        return post("/v1/scores", w.bytes, "application/json")
    }

    private func post(_ path: String, _ bytes: [UInt8], _ contentType: String) -> Bool {
        let body = gzip ? Gzip.compress(bytes) : bytes
        var requestHeaders = [("Content-Type", contentType), ("User-Agent", "llmtrace-swift/\(LLMTrace.version)")]
        if gzip { requestHeaders.append(("Content-Encoding", "gzip")) }
        requestHeaders += headers
        let deadline = Date(timeIntervalSinceNow: timeout)
        var backoff = 0.5
        while true {
            let (status, retryAfter) = send(path, requestHeaders, body)
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
    private func send(_ path: String, _ headers: [(String, String)], _ body: [UInt8]) -> (Int, Double?) {
        if let plain {
            // The endpoint's own path (a proxy's prefix) before the route.
            let r = plain.post(path: (plain.path == "/" ? "" : plain.path) + path, headers: headers, body: body)
            return (r.status, r.retryAfter)
        }
        guard let session, let url = URL(string: base + path) else { return (0, nil) }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        request.httpBody = Data(body)
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

    public func shutdown() {
        plain?.disconnect()
        session?.finishTasksAndInvalidate()
    }

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
