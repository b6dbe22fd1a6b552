/// A chat message sent to or received from a model.
public struct Message: Sendable, Hashable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
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
