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

    /// Byte order of two strings' UTF-8 (SQLite's BINARY collation), not Swift's `<`, which
    /// compares normalised Unicode scalars (and is much slower outside ASCII).
    @inline(__always)
    public static func less(_ a: String, _ b: String) -> Bool {
        if let r = a.utf8.withContiguousStorageIfAvailable({ p in
            b.utf8.withContiguousStorageIfAvailable { q -> Bool in
                let n = min(p.count, q.count)
                let c = n == 0 ? 0 : memcmp(p.baseAddress!, q.baseAddress!, n)
                return c < 0 || (c == 0 && p.count < q.count)
            }
        }), let r { return r }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Byte equality of two strings' UTF-8 (native strings: a length check and a memcmp).
    @inline(__always)
    public static func equal(_ a: String, _ b: String) -> Bool {
        if a.utf8.count != b.utf8.count { return false }
        var x = a, y = b
        return x.withUTF8 { p in
            y.withUTF8 { q in p.count == 0 || memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0 }
        }
    }
}
