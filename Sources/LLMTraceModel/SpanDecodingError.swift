/// Why a native JSON span was rejected: the field, the reason and where in the input.
public struct SpanDecodingError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Dotted path of the offending field (`input_messages[2].role`), empty for syntax errors.
    public var field: String
    public var reason: String
    /// Byte offset into the decoded document.
    public var offset: Int

    public init(field: String, reason: String, offset: Int) {
        self.field = field
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        field.isEmpty ? "\(reason) (byte \(offset))" : "field '\(field)': \(reason) (byte \(offset))"
    }
}
