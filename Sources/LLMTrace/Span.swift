import Foundation
import LLMTraceModel

/// A span being recorded: what `withSpan` hands its body. Thread-safe (a body may hand it to other
/// tasks); every setter is a no-op once the span has ended. Shaped like swift-distributed-tracing's
/// `Span`: `attributes`, `setStatus`, `addEvent`, `recordError`, `end()`; the LLM fields have their
/// own setters, which write LLMTrace's fields and are exported under the OpenTelemetry GenAI
/// attribute names.
public final class Span: @unchecked Sendable {
    public let context: SpanContext
    private let tracer: Tracer
    /// The span every `withSpan` and `startSpan` hands out while the SDK is not bootstrapped: one
    /// object, never recording, so that instrumented code costs next to nothing with tracing off.
    let isNoop: Bool

    /// The lock, whether the span has ended, and the record, in one allocation; reached through a
    /// pointer (no lock object per span, no dynamic exclusivity checks on the caller's path).
    private struct State {
        var lock: SpanLock.Primitive
        var ended: Bool
        var record: LLMTraceModel.Span
    }
    private let state: UnsafeMutablePointer<State>
    private static let lockOffset = MemoryLayout<State>.offset(of: \State.lock)!
    private static let endedOffset = MemoryLayout<State>.offset(of: \State.ended)!
    private static let recordOffset = MemoryLayout<State>.offset(of: \State.record)!

    @inline(__always) private var lockPointer: UnsafeMutablePointer<SpanLock.Primitive> {
        (UnsafeMutableRawPointer(state) + Self.lockOffset).assumingMemoryBound(to: SpanLock.Primitive.self)
    }

    init(context: SpanContext, parent: SpanID, name: String, kind: SpanKind, start: Int64, tracer: Tracer, noop: Bool = false) {
        self.context = context
        self.tracer = tracer
        isNoop = noop
        state = .allocate(capacity: 1)
        let raw = UnsafeMutableRawPointer(state)
        (raw + Self.endedOffset).initializeMemory(as: Bool.self, to: false)
        let record = (raw + Self.recordOffset).bindMemory(to: LLMTraceModel.Span.self, capacity: 1)
        record.initialize(to: LLMTraceModel.Span(traceID: context.traceID, spanID: context.spanID, parentSpanID: parent,
                                                 project: tracer.configuration.project, service: tracer.configuration.serviceName,
                                                 name: name, kind: kind, startNanos: start, endNanos: start))
        if let e = tracer.configuration.environment { record.pointee.environment = e }
        SpanLock.initialize(lockPointer)
    }

    deinit {
        SpanLock.destroy(lockPointer)
        state.deinitialize(count: 1)
        state.deallocate()
    }

    @inline(__always) private func locked<T>(_ f: (inout State) -> T) -> T {
        SpanLock.lock(lockPointer)
        defer { SpanLock.unlock(lockPointer) }
        return f(&state.pointee)
    }

    @inline(__always) private func edit(_ f: (inout LLMTraceModel.Span) -> Void) {
        if isNoop { return }
        locked { s in if !s.ended { f(&s.record) } }
    }

    @inline(__always) private func read<T>(_ f: (LLMTraceModel.Span) -> T) -> T {
        locked { f($0.record) }
    }

    public var operationName: String {
        get { read { $0.name } }
        set { edit { $0.name = newValue } }
    }

    /// Attributes by key; setting a key again replaces its value, nil removes it. (A set appends;
    /// the earlier values of a key are dropped on the export thread, off the caller's path.)
    public subscript(attribute key: String) -> AttributeValue? {
        get { read { $0.attributes.last { $0.key == key }?.value } }
        set {
            edit { s in
                if let v = newValue {
                    if s.attributes.capacity == 0 { s.attributes.reserveCapacity(12) }
                    s.attributes.append(Attribute(key, v))
                } else {
                    s.attributes.removeAll { $0.key == key }
                }
            }
        }
    }

    /// `span.attributes["key"] = 200`, as swift-distributed-tracing writes it.
    public var attributes: Attributes { Attributes(span: self) }

    public struct Attributes: Sendable {
        let span: Span
        public subscript(key: String) -> AttributeValue? {
            get { span[attribute: key] }
            nonmutating set { span[attribute: key] = newValue }
        }
    }

    public func setAttribute(_ key: String, _ value: String) { self[attribute: key] = .string(value) }
    public func setAttribute(_ key: String, _ value: Int) { self[attribute: key] = .int(Int64(value)) }
    public func setAttribute(_ key: String, _ value: Double) { self[attribute: key] = .double(value) }
    public func setAttribute(_ key: String, _ value: Bool) { self[attribute: key] = .bool(value) }

    public enum StatusCode: Sendable { case ok, error }

    public func setStatus(_ code: StatusCode, message: String? = nil) {
        edit { s in
            s.status = code == .ok ? .ok : .error
            s.statusMessage = message
        }
    }

    public func addEvent(_ name: String, attributes: [String: AttributeValue] = [:], at time: Int64? = nil) {
        let t = time ?? tracer.clock.now()
        edit { $0.events.append(SpanEvent(name: name, timeNanos: t, attributes: attributes.sorted { $0.key < $1.key }.map { Attribute($0.key, $0.value) })) }
    }

    /// Records `error` as an `exception` event (type and message, as OpenTelemetry names them) and
    /// sets the status to error.
    public func recordError(_ error: any Error) {
        let message = String(describing: error)
        addEvent("exception", attributes: ["exception.type": .string(String(reflecting: type(of: error))), "exception.message": .string(message)])
        setStatus(.error, message: message)
    }

    // MARK: LLM fields

    /// The model and provider of an LLM call (`gen_ai.request.model`, `gen_ai.system`).
    public func setModel(_ model: String, provider: String? = nil) {
        edit { s in
            s.requestModel = model
            if let provider { s.provider = provider }
        }
    }

    /// The model that answered, when the provider names it (`gen_ai.response.model`).
    public func setResponseModel(_ model: String) { edit { $0.responseModel = model } }

    public func setInput(_ messages: [Message]) { edit { $0.inputMessages = messages } }
    public func setOutput(_ messages: [Message]) { edit { $0.outputMessages = messages } }
    public func setDocuments(_ documents: [RetrievedDocument]) { edit { $0.documents = documents } }

    public func setUsage(inputTokens: Int? = nil, outputTokens: Int? = nil, cachedTokens: Int? = nil, reasoningTokens: Int? = nil) {
        edit { s in
            if let v = inputTokens { s.inputTokens = Int64(v) }
            if let v = outputTokens { s.outputTokens = Int64(v) }
            if let v = cachedTokens { s.cachedTokens = Int64(v) }
            if let v = reasoningTokens { s.reasoningTokens = Int64(v) }
        }
    }

    /// The request's sampling parameters (`gen_ai.request.temperature`, `…max_tokens`, `…top_p`).
    public func setRequestParameters(temperature: Double? = nil, maxTokens: Int? = nil, topP: Double? = nil) {
        edit { s in
            if let v = temperature { s.temperature = v }
            if let v = maxTokens { s.maxTokens = Int64(v) }
            if let v = topP { s.topP = v }
        }
    }

    public func setCost(usd: Double) { edit { $0.costUSD = usd } }
    public func setFinishReason(_ reason: String) { edit { $0.finishReason = reason } }
    public func setPrompt(name: String, version: String? = nil) { edit { $0.promptName = name; $0.promptVersion = version } }
    public func setSession(_ id: String) { edit { $0.sessionID = id } }
    public func setUser(_ id: String) { edit { $0.userID = id } }

    /// Marks now as the time the first token arrived (time to first token, of a streamed reply).
    /// Only the first call counts.
    public func markFirstToken() {
        let t = tracer.clock.now()
        edit { s in if s.timeToFirstTokenNanos == nil { s.timeToFirstTokenNanos = max(0, t - s.startNanos) } }
    }

    /// Ends the span (at `time`, or now) and hands it to the exporter; later calls do nothing.
    public func end(at time: Int64? = nil) {
        if isNoop { return }
        let t = time ?? tracer.clock.now()
        let isError: Bool? = locked { s in
            if s.ended { return nil }
            s.ended = true
            s.record.endNanos = max(s.record.startNanos, t)
            return s.record.status == .error
        }
        if let isError { tracer.finished(self, sampled: context.sampled, isError: isError) }
    }

    /// The span as it stands (for tests and for users' own processors).
    public var snapshot: LLMTraceModel.Span { read { $0 } }

    /// The ended span as exported: one value per attribute key, the last one set, in the order the
    /// keys were first set. Called on the export thread.
    var exportRecord: LLMTraceModel.Span {
        var r = snapshot
        let a = r.attributes
        if a.count > 1 {
            var duplicate = false
            outer: for i in 1..<a.count { for j in 0..<i where a[j].key == a[i].key { duplicate = true; break outer } }
            if duplicate {
                var out: [Attribute] = []
                out.reserveCapacity(a.count)
                for x in a {
                    if let k = out.firstIndex(where: { $0.key == x.key }) { out[k].value = x.value } else { out.append(x) }
                }
                r.attributes = out
            }
        }
        return r
    }
}
