/// One unit of work in an LLM application: a model call, a retrieval, a tool call, an agent step.
///
/// This is the single span model every ingest format (native JSON, OTLP with the GenAI, OpenInference
/// and OpenLLMetry conventions) maps onto, and the unit the store persists. Times are nanoseconds since
/// the Unix epoch. Optional numeric fields are nil when the sender did not say, never zero-by-default,
/// so "0 tokens" and "unknown" stay distinct.
public struct Span: Sendable, Hashable {
    public var traceID: TraceID
    public var spanID: SpanID
    /// Zero when the span is a root.
    public var parentSpanID: SpanID
    public var project: String
    public var service: String
    public var name: String
    public var kind: SpanKind
    public var startNanos: Int64
    public var endNanos: Int64
    public var status: SpanStatus
    public var statusMessage: String?

    public var provider: String?
    public var requestModel: String?
    public var responseModel: String?
    public var inputTokens: Int64?
    public var outputTokens: Int64?
    public var cachedTokens: Int64?
    public var reasoningTokens: Int64?
    public var costUSD: Double?
    public var timeToFirstTokenNanos: Int64?
    public var temperature: Double?
    public var maxTokens: Int64?
    public var topP: Double?
    /// Why the model stopped, as the provider said it ("stop", "length" = truncated at the token
    /// limit, "tool_calls", "content_filter", ...): of the first choice when there were several.
    public var finishReason: String?

    public var inputMessages: [Message]
    public var outputMessages: [Message]
    public var documents: [RetrievedDocument]

    public var promptName: String?
    public var promptVersion: String?
    public var sessionID: String?
    public var userID: String?
    public var environment: String?
    public var tags: [String]
    public var attributes: [Attribute]
    public var events: [SpanEvent]

    public init(
        traceID: TraceID, spanID: SpanID, parentSpanID: SpanID = SpanID(0),
        project: String = Span.defaultProject, service: String = Span.defaultService, name: String,
        kind: SpanKind = .other, startNanos: Int64, endNanos: Int64,
        status: SpanStatus = .unset, statusMessage: String? = nil
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.project = project
        self.service = service
        self.name = name
        self.kind = kind
        self.startNanos = startNanos
        self.endNanos = endNanos
        self.status = status
        self.statusMessage = statusMessage
        self.inputMessages = []
        self.outputMessages = []
        self.documents = []
        self.tags = []
        self.attributes = []
        self.events = []
    }

    public static let defaultProject = "default"
    public static let defaultService = "unknown_service"

    public var durationNanos: Int64 { endNanos &- startNanos }
    public var isRoot: Bool { parentSpanID.isZero }
}

extension Span {
    /// The value of the first attribute named `key`, if the span has one.
    public func attribute(_ key: String) -> AttributeValue? {
        attributes.first { $0.key == key }?.value
    }
}
