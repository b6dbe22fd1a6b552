/// A chat message sent to or received from a model. An assistant turn that calls tools carries
/// the calls (its content is often empty); the tool's answer is a message (role "tool") naming the
/// call it answers in `toolCallID`.
public struct Message: Sendable, Hashable {
    public var role: String
    public var content: String
    public var toolCalls: [ToolCall]
    public var toolCallID: String?

    public init(role: String, content: String, toolCalls: [ToolCall] = [], toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }
}

/// A function call a model asked for: its id (what the tool's answer refers to), the function's
/// name and its arguments as sent (usually a JSON object, kept as text).
public struct ToolCall: Sendable, Hashable {
    public var id: String?
    public var name: String
    public var arguments: String

    public init(id: String? = nil, name: String, arguments: String = "") {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// A document returned by a retriever, with its relevance score when the retriever gives one.
public struct RetrievedDocument: Sendable, Hashable {
    public var id: String?
    public var content: String
    public var score: Double?

    public init(id: String? = nil, content: String, score: Double? = nil) {
        self.id = id
        self.content = content
        self.score = score
    }
}

/// A timestamped event inside a span (an exception, the first streamed token, ...).
public struct SpanEvent: Sendable, Hashable {
    public var name: String
    public var timeNanos: Int64
    public var attributes: [Attribute]

    public init(name: String, timeNanos: Int64, attributes: [Attribute] = []) {
        self.name = name
        self.timeNanos = timeNanos
        self.attributes = attributes
    }
}
