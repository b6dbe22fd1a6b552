#if canImport(Glibc)
import Glibc
#endif

/// A string compared and hashed by its UTF-8 bytes, as SQLite compares text.
///
/// Swift's `String ==` and hashing follow Unicode canonical equivalence: "café" written with one
/// code point and "cafe" + a combining accent are equal. Stored data must not merge them (a
/// service written two ways is two services, as sent), so dictionaries, group keys and
/// comparisons over stored strings go through this type or `ExactString.equal`.
public struct ExactString: Hashable, Sendable, CustomStringConvertible {
    public let string: String

    @inline(__always)
    public init(_ s: String) { string = s }

    public var description: String { string }

    @inline(__always)
    public static func == (a: ExactString, b: ExactString) -> Bool { equal(a.string, b.string) }

    public func hash(into h: inout Hasher) {
        var s = string
        s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Byte order of two strings' UTF-8 (SQLite's BINARY collation): negative, zero or positive.
    /// Not Swift's `<`, which compares normalised Unicode scalars (and is much slower outside
    /// ASCII). The same storage (an interned text met twice) is equal without reading it.
    @inline(__always)
    public static func compare(_ a: String, _ b: String) -> Int {
        let r: Int?? = a.utf8.withContiguousStorageIfAvailable { p in
            b.utf8.withContiguousStorageIfAvailable { q -> Int in
                if p.baseAddress == q.baseAddress && p.count == q.count { return 0 }
                let n = min(p.count, q.count)
                let c = n == 0 ? 0 : Int(memcmp(p.baseAddress!, q.baseAddress!, n))
                return c != 0 ? c : p.count - q.count
            }
        }
        if let r, let r { return r }
        let x = Array(a.utf8), y = Array(b.utf8)
        return x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
    }

    @inline(__always)
    public static func less(_ a: String, _ b: String) -> Bool { compare(a, b) < 0 }

    /// Byte equality of two strings' UTF-8 (native strings: a length check and a memcmp, or
    /// nothing when both are the same storage).
    @inline(__always)
    public static func equal(_ a: String, _ b: String) -> Bool {
        if a.utf8.count != b.utf8.count { return false }
        return compare(a, b) == 0
    }
}
