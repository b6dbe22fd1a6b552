/// An error from the store that says what failed and where: the file, and for corruption the offset.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var path: String?
    public var offset: Int?

    public init(_ message: String, path: String? = nil, offset: Int? = nil) {
        self.message = message
        self.path = path
        self.offset = offset
    }

    public var description: String {
        var s = message
        if let path { s += " (\(path)" + (offset.map { " at offset \($0)" } ?? "") + ")" }
        return s
    }
}
