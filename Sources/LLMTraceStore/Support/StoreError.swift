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

    /// What a client of the server may be told: the message and the errno's name, never a path
    /// of the data directory (that goes to the server's log).
    public var publicDescription: String {
        guard let e = errno else { return message }
        return message + " (" + String(cString: strerror(e)) + ")"
    }

    /// `publicDescription` of a store error; a generic sentence for any other error.
    public static func publicDescription(of error: Error) -> String {
        (error as? StoreError)?.publicDescription ?? "an internal error (logged by the server)"
    }

    public var description: String {
        var s = message
        if let path { s += " (\(path)" + (offset.map { " at offset \($0)" } ?? "") + ")" }
        return s
    }
}
