/// A query that cannot run: a parse or type error (with the 1-based character position it refers
/// to), a limit hit, or a failure reading the store.
public struct QueryError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// 1-based character position in the query text, when the error points at one.
    public var position: Int?

    public init(_ message: String, at position: Int? = nil) {
        self.message = message
        self.position = position
    }

    public var description: String {
        if let position { return "at position \(position): \(message)" }
        return message
    }

    /// The query with a caret under the position, for terminals.
    public func pointing(into query: String) -> String {
        guard let position, position >= 1 else { return description }
        let line = query.replacingOccurrences(of: "\n", with: " ")
        return description + "\n  " + line + "\n  " + String(repeating: " ", count: min(position - 1, line.count)) + "^"
    }
}
