import Foundation
import LLMTraceModel

public typealias SpanKind = LLMTraceModel.SpanKind
public typealias TraceID = LLMTraceModel.TraceID
public typealias SpanID = LLMTraceModel.SpanID
public typealias Message = LLMTraceModel.Message
public typealias ToolCall = LLMTraceModel.ToolCall
public typealias RetrievedDocument = LLMTraceModel.RetrievedDocument
public typealias AttributeValue = LLMTraceModel.AttributeValue
public typealias Score = LLMTraceModel.Score
public typealias Attribute = LLMTraceModel.Attribute
public typealias SpanEvent = LLMTraceModel.SpanEvent
/// A finished span as exporters receive it.
public typealias SpanRecord = LLMTraceModel.Span

/// LLMTrace's Swift SDK. Bootstrap once at start-up; until then every span is a no-op (recorded
/// nowhere), so libraries can instrument unconditionally.
///
///     LLMTrace.bootstrap(.fromEnvironment())
///     let answer = try await LLMTrace.withSpan("chat", ofKind: .llm) { span in
///         span.setModel("gpt-4o-mini", provider: "openai")
///         return try await client.chat(messages)
///     }
public enum LLMTrace {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var _tracer = Tracer(configuration: Configuration(), processor: nil)

    static var tracer: Tracer {
        lock.lock(); defer { lock.unlock() }
        return _tracer
    }

    /// Starts exporting: spans go through a batch processor to `exporter` (by default OTLP/HTTP
    /// protobuf to `configuration.endpoint`). A second bootstrap replaces the first, after flushing it.
    public static func bootstrap(_ configuration: Configuration = .fromEnvironment(), exporter: (any SpanExporter)? = nil) {
        let processor = BatchSpanProcessor(exporter: exporter ?? HTTPExporter(configuration), configuration: configuration)
        let old: Tracer
        lock.lock()
        old = _tracer
        _tracer = Tracer(configuration: configuration, processor: processor)
        lock.unlock()
        old.processor?.shutdown(timeoutSeconds: 5)
    }

    /// Spans exported so far, given up, and dropped from a full queue (the oldest go first); after
    /// `shutdown`, the final figures of the processor it stopped.
    public static var stats: BatchSpanProcessor.Stats {
        if let p = tracer.processor { return p.stats }
        lock.lock(); defer { lock.unlock() }
        return finalStats
    }
    nonisolated(unsafe) private static var finalStats = BatchSpanProcessor.Stats()

    /// Exports everything ended so far; false when `timeoutSeconds` passed first.
    @discardableResult
    public static func forceFlush(timeoutSeconds: Double = 30) -> Bool { tracer.processor?.forceFlush(timeoutSeconds: timeoutSeconds) ?? true }

    /// The same with a deadline, as swift-service-lifecycle's services shut down.
    @discardableResult
    public static func shutdown(deadline: Date) -> Bool { shutdown(timeoutSeconds: max(0, deadline.timeIntervalSinceNow)) }

    /// Flushes and stops exporting; later spans are no-ops. Call before the process exits.
    @discardableResult
    public static func shutdown(timeoutSeconds: Double = 30) -> Bool {
        lock.lock()
        let old = _tracer
        _tracer = Tracer(configuration: Configuration(), processor: nil)
        lock.unlock()
        let flushed = old.processor?.shutdown(timeoutSeconds: timeoutSeconds) ?? true
        if let p = old.processor {
            let s = p.stats
            lock.lock(); finalStats = s; lock.unlock()
        }
        return flushed
    }

    /// Attaches a score to a trace, or to one of its spans: a user's thumbs-up (`1`/`0`), an
    /// evaluator's 0.82, a reviewer's label (`.category("hallucination")`). By default about the
    /// current span (`SpanContext.current`); exported with the spans to the collector's `/v1/scores`.
    /// Returns false when there is no trace to attach it to or the SDK is not bootstrapped.
    @discardableResult
    public static func score(_ name: String, _ value: Score.Value, source: Score.Source = .user, comment: String? = nil,
                             context: SpanContext? = SpanContext.current, wholeTrace: Bool = false) -> Bool {
        let t = tracer
        guard let context, let processor = t.processor else { return false }
        processor.onScore(Score(project: t.configuration.project, traceID: context.traceID, spanID: wholeTrace ? nil : context.spanID,
                                name: name, value: value, source: source, comment: comment, timeNanos: t.clock.now()))
        return true
    }

    /// The same with a number (a boolean is 1 or 0).
    @discardableResult
    public static func score(_ name: String, _ value: Double, source: Score.Source = .user, comment: String? = nil,
                             context: SpanContext? = SpanContext.current, wholeTrace: Bool = false) -> Bool {
        score(name, .number(value), source: source, comment: comment, context: context, wholeTrace: wholeTrace)
    }

    /// A span that the caller ends (`span.end()`), child of `context` (by default the current one).
    public static func startSpan(_ name: String, context: SpanContext? = SpanContext.current, ofKind kind: SpanKind = .other) -> Span {
        tracer.start(name, kind: kind, parent: context)
    }

    /// Runs `body` in a new span, the current span inside it (and in the tasks it starts), ending
    /// it when `body` returns or throws; a thrown error is recorded and rethrown.
    public static func withSpan<T>(_ name: String, context: SpanContext? = SpanContext.current, ofKind kind: SpanKind = .other,
                                   _ body: (Span) throws -> T) rethrows -> T {
        let span = startSpan(name, context: context, ofKind: kind)
        if span.isNoop { return try body(span) }
        defer { span.end() }
        do {
            return try SpanContext.$current.withValue(span.context) { try body(span) }
        } catch {
            span.recordError(error)
            throw error
        }
    }

    /// The same for an async body: spans opened across its `await`s, in its child tasks and task
    /// groups, are its children.
    public static func withSpan<T>(_ name: String, context: SpanContext? = SpanContext.current, ofKind kind: SpanKind = .other,
                                   isolation: isolated (any Actor)? = #isolation,
                                   _ body: (Span) async throws -> T) async rethrows -> T {
        let span = startSpan(name, context: context, ofKind: kind)
        if span.isNoop { return try await body(span) }
        defer { span.end() }
        do {
            return try await SpanContext.$current.withValue(span.context) { try await body(span) }
        } catch {
            span.recordError(error)
            throw error
        }
    }
}

/// Makes spans and hands the finished ones to the processor.
final class Tracer: @unchecked Sendable {
    let configuration: LLMTrace.Configuration
    let processor: BatchSpanProcessor?
    let clock = SpanClock()
    let ids = IDGenerator()
    private let threshold: UInt64

    init(configuration: LLMTrace.Configuration, processor: BatchSpanProcessor?) {
        self.configuration = configuration
        self.processor = processor
        let r = min(1, max(0, configuration.samplingRatio))
        threshold = r >= 1 ? .max : UInt64(r * Double(UInt64.max >> 11)) << 11
    }

    /// What spans are while the SDK is not bootstrapped (all-zero ids: nothing to propagate), made
    /// once for the process with a tracer of its own.
    static let noopSpan = Span(context: SpanContext(traceID: TraceID(hi: 0, lo: 0), spanID: SpanID(0), sampled: false), parent: SpanID(0),
                               name: "", kind: .other, start: 0, tracer: Tracer(configuration: LLMTrace.Configuration(), processor: nil), noop: true)

    func start(_ name: String, kind: SpanKind, parent: SpanContext?) -> Span {
        guard processor != nil else { return Self.noopSpan }
        let context: SpanContext
        if let parent, !parent.traceID.isZero {
            context = SpanContext(traceID: parent.traceID, spanID: ids.spanID(), sampled: parent.sampled)
        } else {
            let (t, s) = ids.rootIDs()
            // A root's decision from its trace id: every service sampling at the same ratio keeps
            // the same traces.
            let sampled = processor != nil && (threshold == .max || t.lo <= threshold)
            context = SpanContext(traceID: t, spanID: s, sampled: sampled)
        }
        return Span(context: context, parent: parent?.spanID ?? SpanID(0), name: name, kind: kind, start: clock.now(), tracer: self)
    }

    func finished(_ s: Span, sampled: Bool, isError: Bool) {
        guard let processor else { return }
        if sampled || (configuration.keepErrors && isError) { processor.onEnd(s) }
    }
}
