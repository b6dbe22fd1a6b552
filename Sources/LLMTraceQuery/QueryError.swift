/// A query that cannot run: a parse or type error (with the 1-based character position it refers
/// to), a limit hit, or a failure reading the store.
public struct QueryError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure, which decides the HTTP status a route answers with (never the text).
    public enum Kind: Sendable, Equatable {
        /// The query is wrong or asks too much (parse, type, group or row limits): 400.
        case invalid
        /// It ran past its time limit: 503, retry narrower or later.
        case timeLimit
        /// It needs more than its memory budget (`QueryEngine.Limits.maxMemoryBytes`): 400, like
        /// the group limit — the same query over the same spans needs the same again.
        case memoryLimit
    }

    public var message: String
    /// 1-based character position in the query text, when the error points at one.
    public var position: Int?
    public var kind: Kind

    public init(_ message: String, at position: Int? = nil, kind: Kind = .invalid) {
        self.message = message
        self.position = position
        self.kind = kind
    }

    /// The status an HTTP route answers this error with.
    public var httpStatus: Int {
        switch kind {
        case .invalid, .memoryLimit: return 400
        case .timeLimit: return 503
        }
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
