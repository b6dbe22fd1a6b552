/// A JSON syntax or shape error with the byte offset where it was found.
public struct JSONError: Error, Sendable, CustomStringConvertible, Equatable {
    public var offset: Int
    public var message: String

    public init(offset: Int, _ message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "\(message) at byte \(offset)" }
}
