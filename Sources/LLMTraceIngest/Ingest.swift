import LLMTraceModel
import LLMTraceOTLP

/// Every limit a span is held to on its way in, whichever way it arrives. The README's limits
/// table lists these with the server's own (body size, query length).
public struct IngestLimits: Sendable {
    /// A longer string (an attribute value, a message or document content: a 10 MB prompt pasted
    /// by mistake) rejects its span.
    public var maxStringBytes = 4 * 1024 * 1024
    /// Attributes on one span (its events' attributes not counted).
    public var maxAttributes = 4096
    public init() {}
}

/// Why a span was refused: a fixed class (the `reason` label of
/// `llmtrace_spans_rejected_total`, never the span's own text) and the reason in words.
public struct SpanRejection: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case invalidID = "invalid_id", invalidTime = "invalid_time", attributes, unknownField = "unknown_field"
        case invalidSpan = "invalid_span"
    }

    public var kind: Kind
    public var reason: String
    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    /// A native JSON span the decoder refused, classed by the field it names.
    public init(_ e: SpanDecodingError) {
        let f = e.field
        let kind: Kind
        if e.reason.hasPrefix("unknown field") { kind = .unknownField }
        else if f == "trace_id" || f == "span_id" || f == "parent_span_id" { kind = .invalidID }
        else if f == "start_ns" || f == "end_ns" { kind = .invalidTime }
        else if f.hasPrefix("attributes") || f.hasPrefix("events") { kind = .attributes }
        else { kind = .invalidSpan }
        self.init(kind, "\(e)")
    }

    public var description: String { reason }
}

/// The one way a span enters LLMTrace: `POST /v1/traces` (OTLP protobuf and JSON),
/// `POST /v1/spans` (native JSON), `tracectl import` and the SDK all come through here, so the same
/// span gets the same answer and the same enrichment whichever way it arrives.
///
/// `admit` holds the rules every route shares: the project an ingest key confines spans to, times
/// (a start after the epoch, an end not before it), counts that cannot be negative (a negative
/// token count would make a Prometheus counter go down), the attribute limits, the kind (a span
/// that names a model and says nothing more specific is an `llm` call) and the cost from the price
/// table when the span carries none. OTLP attributes are first mapped onto the span model by the
/// conventions (`schemas/conventions.json`).
public struct Ingest: Sendable {
    public var conventions: Conventions
    public var pricing: Pricing
    public var limits: IngestLimits

    public init(conventions: Conventions = .builtIn(), pricing: Pricing = .builtIn(), limits: IngestLimits = IngestLimits()) {
        self.conventions = conventions
        self.pricing = pricing
        self.limits = limits
    }

    /// Checks `s` and fills in what it did not say; nil when it may be stored. With `project`
    /// (an ingest key's), the span is stored there whatever it says.
    public func admit(_ s: inout Span, project: String? = nil) -> SpanRejection? {
        if let project { s.project = project }
        guard !s.traceID.isZero else { return SpanRejection(.invalidID, "trace_id must not be all zero") }
        guard !s.spanID.isZero else { return SpanRejection(.invalidID, "span_id must not be all zero") }
        guard s.startNanos > 0 else { return SpanRejection(.invalidTime, "the start time is missing or not after 1970-01-01") }
        guard s.endNanos >= s.startNanos else { return SpanRejection(.invalidTime, "the end time is before the start time") }
        guard !s.name.isEmpty else { return SpanRejection(.invalidSpan, "name must not be empty") }
        guard !s.project.isEmpty else { return SpanRejection(.invalidSpan, "project must not be empty") }
        // Hot path (every span): plain checks, no array per span.
        func negative(_ v: Int64?, _ field: StaticString) -> SpanRejection? {
            guard let v, v < 0 else { return nil }
            return SpanRejection(.invalidSpan, "\(field) must not be negative (got \(v))")
        }
        func finite(_ v: Double?, _ field: StaticString) -> SpanRejection? {
            guard let v, !v.isFinite else { return nil }
            return SpanRejection(.invalidSpan, "\(field) must be a finite number")
        }
        if let r = negative(s.inputTokens, "input_tokens") ?? negative(s.outputTokens, "output_tokens")
            ?? negative(s.cachedTokens, "cached_tokens") ?? negative(s.reasoningTokens, "reasoning_tokens")
            ?? negative(s.maxTokens, "max_tokens") ?? negative(s.timeToFirstTokenNanos, "time_to_first_token")
            ?? finite(s.costUSD, "cost_usd") ?? finite(s.temperature, "temperature") ?? finite(s.topP, "top_p") { return r }
        if let c = s.costUSD, c < 0 { return SpanRejection(.invalidSpan, "cost_usd must not be negative (got \(c))") }
        if let why = attributeProblem(s) { return SpanRejection(.attributes, why) }
        if let why = oversizedText(s) { return SpanRejection(.invalidSpan, why) }
        if s.kind == .other && (s.requestModel != nil || s.responseModel != nil) { s.kind = .llm }
        if s.costUSD == nil { s.costUSD = pricing.cost(of: s) }
        return nil
    }

    /// Why the span's attributes cannot be stored, or nil.
    func attributeProblem(_ s: Span) -> String? {
        if s.attributes.count > limits.maxAttributes {
            return "\(s.attributes.count) attributes, over the limit of \(limits.maxAttributes)"
        }
        if let why = oversized(s.attributes) { return why }
        for i in s.events.indices {
            if let why = oversized(s.events[i].attributes) { return why }
        }
        return nil
    }

    /// A string attribute over the size limit, or a number that is not finite (infinity or NaN,
    /// which OTLP can carry but JSON cannot spell: stored, it would read back as null), or nil.
    func oversized(_ attributes: [Attribute]) -> String? {
        func notFinite(_ v: AttributeValue) -> Bool {
            switch v {
            case .double(let d): return !d.isFinite
            case .array(let items): return items.contains(where: notFinite)
            default: return false
            }
        }
        for a in attributes {
            if case .string(let v) = a.value, v.utf8.count > limits.maxStringBytes {
                return "attribute '\(a.key.prefix(200))' is \(v.utf8.count) bytes, over the limit of \(limits.maxStringBytes)"
            }
            if notFinite(a.value) { return "attribute '\(a.key.prefix(200))' is not a finite number" }
        }
        return nil
    }

    /// A message or document content over the string limit (over OTLP they arrive as attributes
    /// the conventions map, natively as fields: the same limit either way).
    func oversizedText(_ s: Span) -> String? {
        let limit = limits.maxStringBytes
        func check(_ contents: some Collection<String>, _ what: String) -> String? {
            for (i, c) in contents.enumerated() where c.utf8.count > limit {
                return "\(what) \(i) is \(c.utf8.count) bytes, over the limit of \(limit)"
            }
            return nil
        }
        return check(s.inputMessages.lazy.map(\.content), "input message") ?? check(s.outputMessages.lazy.map(\.content), "output message")
            ?? check(s.documents.lazy.map(\.content), "document")
    }

    /// A native JSON span (one element of `POST /v1/spans`, one line of `tracectl import`),
    /// decoded and admitted.
    public func native(_ json: [UInt8], project: String? = nil) -> Result<Span, SpanRejection> {
        var s: Span
        do { s = try Span.decodeJSON(json) } catch { return .failure(SpanRejection(error)) }
        if let r = admit(&s, project: project) { return .failure(r) }
        return .success(s)
    }

    /// Every span of a decoded OTLP export, mapped by the conventions and admitted, in order:
    /// `each` gets the result and the span's position in the request.
    public func otlp(_ traces: inout OTLPTraces, project: String? = nil, _ each: (Result<Span, SpanRejection>, Int) -> Void) {
        conventions.mapAll(&traces, project: project ?? Span.defaultProject) { result, shared, index in
            switch result {
            case .success(var s):
                if let r = admit(&s, project: project) {
                    each(.failure(r), index)
                } else if let why = oversized(shared) {
                    each(.failure(SpanRejection(.attributes, "resource \(why)")), index)
                } else {
                    s.attributes.append(contentsOf: shared)
                    each(.success(s), index)
                }
            case .failure(let r):
                each(.failure(r), index)
            }
        }
    }

    /// An OTLP protobuf request, decoded, mapped and admitted (tools and tests; the collector
    /// decodes itself to answer in the request's encoding).
    public func spans(protobuf body: [UInt8]) throws(OTLPDecodeError) -> (spans: [Span], rejected: [SpanRejection]) {
        var t = try OTLPProtobuf.decode(body)
        return collect(&t)
    }

    /// The same for OTLP/JSON.
    public func spans(json body: [UInt8]) throws(OTLPDecodeError) -> (spans: [Span], rejected: [SpanRejection]) {
        var t = try OTLPJSON.decode(body)
        return collect(&t)
    }

    private func collect(_ t: inout OTLPTraces) -> (spans: [Span], rejected: [SpanRejection]) {
        var out: [Span] = []
        var rejected: [SpanRejection] = []
        otlp(&t) { r, _ in
            switch r {
            case .success(let s): out.append(s)
            case .failure(let e): rejected.append(e)
            }
        }
        return (out, rejected)
    }
}
