#if canImport(Glibc)
import Glibc
#endif

/// An error from the store that says what failed and where: the file, for corruption the offset,
/// and for a failed system call its errno (so a full disk can be told from a broken one).
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var path: String?
    public var offset: Int?
    public var errno: Int32?

    public init(_ message: String, path: String? = nil, offset: Int? = nil, errno: Int32? = nil) {
        self.message = message
        self.path = path
        self.offset = offset
        self.errno = errno
    }

    /// The file system is full (or the quota is used up): freeing space fixes it.
    public var isOutOfSpace: Bool { errno == ENOSPC || errno == EDQUOT }

    public var description: String {
        var s = message
        if let path { s += " (\(path)" + (offset.map { " at offset \($0)" } ?? "") + ")" }
        return s
    }
}
