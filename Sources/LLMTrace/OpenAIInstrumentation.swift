import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LLMTraceModel

extension LLMTrace {
    /// Traces the OpenAI-compatible calls (chat completions, responses, embeddings; whole or
    /// streamed) of every `URLSession` made with `configuration` afterwards, with no change to the
    /// code that makes the requests:
    ///
    ///     let config = URLSessionConfiguration.default
    ///     LLMTrace.instrumentOpenAI(config)
    ///     let session = URLSession(configuration: config)   // as before, from here on
    ///
    /// Each call becomes an LLM (or embedding) span, a child of the span current where the request
    /// was made: model, provider, messages and tool calls in and out, parameters, token usage,
    /// finish reason, the response id and, for streamed replies, the time to first token. The
    /// request leaves with a `traceparent` header. Other requests pass through untouched.
    public static func instrumentOpenAI(_ configuration: URLSessionConfiguration) {
        var classes = configuration.protocolClasses ?? []
        guard !classes.contains(where: { $0 == OpenAIURLProtocol.self }) else { return }
        classes.insert(OpenAIURLProtocol.self, at: 0)
        configuration.protocolClasses = classes
    }

    /// A session like `URLSession(configuration:)`, its OpenAI-compatible calls traced.
    public static func instrumentedSession(configuration: URLSessionConfiguration = .default) -> URLSession {
        instrumentOpenAI(configuration)
        return URLSession(configuration: configuration)
    }
}

/// The URLProtocol behind `instrumentOpenAI`: it sends the request itself (through a session of
/// its own, the request marked so that it is not traced twice), hands every piece of the answer
/// to the caller as it arrives (streams stay streams), and reads a copy.
final class OpenAIURLProtocol: URLProtocol {
    private static let handledKey = "llmtrace.openai.handled"
    /// Answers larger than this are passed on but not read for the span.
    private static let readLimit = 8 << 20

    /// The span current where each request was made: URLSession asks `canInit` on the caller's
    /// task, but makes the protocol elsewhere. Kept by URL and body (two calls at once to the same
    /// endpoint carry different messages), first in first out for identical requests; a request
    /// whose body canInit cannot see (a stream) is kept by URL alone.
    private static let handoffLock = NSLock()
    nonisolated(unsafe) private static var handoff: [String: [(context: SpanContext, at: Date)]] = [:]

    static func handoffKey(_ url: URL, body: [UInt8]?) -> String {
        guard let body else { return url.absoluteString }
        var h: UInt64 = 0xcbf29ce484222325
        for b in body { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return url.absoluteString + "#" + String(h, radix: 16) + "/" + String(body.count)
    }

    override class func canInit(with request: URLRequest) -> Bool {
        guard request.httpMethod == "POST", let url = request.url, let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https",
              OpenAICall.operation(path: url.path) != nil,
              property(forKey: handledKey, in: request) == nil,
              LLMTrace.tracer.processor != nil else { return false }
        if let c = SpanContext.current { remember(c, key: handoffKey(url, body: request.httpBody.map { Array($0) })) }
        return true
    }

    static func remember(_ c: SpanContext, key: String) {
        handoffLock.lock()
        defer { handoffLock.unlock() }
        let now = Date()
        var list = handoff[key, default: []].filter { now.timeIntervalSince($0.at) < 30 }
        // URLSession may ask canInit more than once for one request: the same context twice in a
        // row is one request.
        if list.last?.context != c, list.count < 256 { list.append((c, now)) }
        handoff[key] = list
        if handoff.count > 256 { handoff = handoff.filter { !$0.value.isEmpty } }
    }

    override class func canonicalRequest(for request: URLRequest) -> URLRequest { request }

    /// The context remembered for this request: by URL and body, else by URL alone.
    static func takeContext(for url: URL, body: [UInt8]) -> SpanContext? {
        handoffLock.lock()
        defer { handoffLock.unlock() }
        for key in [handoffKey(url, body: body), handoffKey(url, body: nil)] {
            guard var list = handoff[key], !list.isEmpty else { continue }
            let first = list.removeFirst()
            handoff[key] = list.isEmpty ? nil : list
            if Date().timeIntervalSince(first.at) < 30 { return first.context }
        }
        return nil
    }

    private let lock = NSLock()
    private var call: OpenAICall?
    private var span: Span?
    private var status = 0
    private var answer: [UInt8] = []
    private var streaming = false
    private var innerTask: URLSessionDataTask?
    private var finished = false

    override func startLoading() {
        guard let url = request.url, let op = OpenAICall.operation(path: url.path) else {
            client?.urlProtocol(self, didFailWithError: URLError(.unsupportedURL))
            return
        }
        let body = Self.body(of: request)
        let call = OpenAICall(operation: op, path: url.path, body: body)
        // An explicit traceparent on the request wins over the task-local handoff.
        let parent = request.value(forHTTPHeaderField: "traceparent").flatMap(SpanContext.init(traceparent:)) ?? Self.takeContext(for: url, body: body)
        let span = LLMTrace.startSpan(call.spanName, context: parent, ofKind: op == .embeddings ? .embedding : .llm)
        if let m = call.requestModel { span.setModel(m, provider: OpenAICall.provider(host: url.host ?? "")) }
        span.setInput(call.input)
        span.setRequestParameters(temperature: call.temperature, maxTokens: call.maxTokens.map(Int.init), topP: call.topP)
        if let h = url.host { span.setAttribute("server.address", h) }
        if let p = url.port { span.setAttribute("server.port", p) }
        if call.stream { span.setAttribute("gen_ai.request.stream", true) }

        // The request as sent: marked as handled (not traced twice), its body as data, the span's
        // traceparent for the server.
        guard let outgoing = (request as NSURLRequest).mutableCopy() as? NSMutableURLRequest else {
            span.end()
            client?.urlProtocol(self, didFailWithError: URLError(.badURL))
            return
        }
        URLProtocol.setProperty(true, forKey: Self.handledKey, in: outgoing)
        outgoing.httpBodyStream = nil
        outgoing.httpBody = Data(body)
        outgoing.setValue(span.context.traceparent, forHTTPHeaderField: "traceparent")
        lock.lock()
        self.call = call
        self.span = span
        lock.unlock()

        var sent = outgoing as URLRequest
        if request.timeoutInterval > 0 { sent.timeoutInterval = request.timeoutInterval }
        // Not from here: Foundation on Linux calls startLoading on the queue that making a task
        // waits for (a task made here would wait for itself).
        let request = sent
        let me = Handle(self)
        DispatchQueue.global().async { me.protocol.send(request) }
    }

    private func send(_ request: URLRequest) {
        let task = Self.inner.session.dataTask(with: request)
        lock.lock()
        let stopped = finished
        innerTask = task
        lock.unlock()
        if stopped { return }
        Self.inner.router.add(task, self)
        task.resume()
    }

    /// The protocol, for the queue that sends its request (its state is behind its lock).
    private struct Handle: @unchecked Sendable {
        let `protocol`: OpenAIURLProtocol
        init(_ p: OpenAIURLProtocol) { self.protocol = p }
    }

    override func stopLoading() {
        lock.lock()
        let t = innerTask
        lock.unlock()
        if let t {
            Self.inner.router.remove(t)
            t.cancel()
        }
        finish(error: URLError(.cancelled))
    }

    /// The session that sends the traced requests (one for all of them, without this protocol),
    /// and the delegate that hands each task's events to its protocol.
    private static let inner: (session: URLSession, router: Router) = {
        let config = URLSessionConfiguration.ephemeral
        config.protocolClasses = (config.protocolClasses ?? []).filter { $0 != OpenAIURLProtocol.self }
        config.timeoutIntervalForRequest = 600
        let router = Router()
        return (URLSession(configuration: config, delegate: router, delegateQueue: nil), router)
    }()

    /// The request's body, whether it came as data or as a stream.
    private static func body(of request: URLRequest) -> [UInt8] {
        if let d = request.httpBody { return Array(d) }
        guard let stream = request.httpBodyStream else { return [] }
        stream.open()
        defer { stream.close() }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while stream.hasBytesAvailable {
            let n = stream.read(&buf, maxLength: buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    fileprivate func received(_ response: URLResponse) {
        lock.lock()
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let type = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.lowercased() ?? ""
        streaming = type.hasPrefix("text/event-stream")
        lock.unlock()
        client?.urlProtocol(self, didReceive: response, cacheStoragePolicy: .notAllowed)
    }

    fileprivate func received(_ data: Data) {
        lock.lock()
        if streaming && status < 400 {
            if call?.readStream(data) == true { span?.markFirstToken() }
        } else if answer.count + data.count <= Self.readLimit {
            answer.append(contentsOf: data)
        }
        lock.unlock()
        client?.urlProtocol(self, didLoad: data)
    }

    fileprivate func completed(_ error: (any Error)?) {
        finish(error: error)
        if let error { client?.urlProtocol(self, didFailWithError: error) } else { client?.urlProtocolDidFinishLoading(self) }
    }

    private func finish(error: (any Error)?) {
        lock.lock()
        guard !finished, var call, let span else { lock.unlock(); return }
        finished = true
        if streaming && status < 400 { call.finishStream() } else { call.readResponse(status: status, body: answer) }
        lock.unlock()
        if status > 0 { span.setAttribute("http.response.status_code", status) }
        if let m = call.responseModel { span.setResponseModel(m) }
        if let id = call.responseID { span.setAttribute("gen_ai.response.id", id) }
        if !call.output.isEmpty { span.setOutput(call.output) }
        span.setUsage(inputTokens: call.inputTokens.map(Int.init), outputTokens: call.outputTokens.map(Int.init),
                      cachedTokens: call.cachedTokens.map(Int.init), reasoningTokens: call.reasoningTokens.map(Int.init))
        if let f = call.finishReason { span.setFinishReason(f) }
        if let error {
            span.recordError(error)
        } else if let message = call.errorMessage {
            span.setStatus(.error, message: message)
        }
        span.end()
    }

    /// The inner session's delegate: each task's events to the protocol that sent it.
    private final class Router: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        private let lock = NSLock()
        private var owners: [Int: OpenAIURLProtocol] = [:]

        func add(_ task: URLSessionTask, _ owner: OpenAIURLProtocol) {
            lock.lock(); owners[task.taskIdentifier] = owner; lock.unlock()
        }

        func remove(_ task: URLSessionTask) {
            lock.lock(); owners[task.taskIdentifier] = nil; lock.unlock()
        }

        private func owner(_ task: URLSessionTask) -> OpenAIURLProtocol? {
            lock.lock(); defer { lock.unlock() }
            return owners[task.taskIdentifier]
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
            owner(dataTask)?.received(response)
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            owner(dataTask)?.received(data)
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            let o = owner(task)
            remove(task)
            o?.completed(error)
        }
    }
}
