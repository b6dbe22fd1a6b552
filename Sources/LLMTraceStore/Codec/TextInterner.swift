#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel

/// Assigns dense ids to distinct strings, so repeated text (system prompts, retrieved chunks, model
/// names) is written once per WAL file or segment and referenced by a varint afterwards.
///
/// Hot path: every string of every acknowledged span is interned once in the WAL. Swift's
/// `Dictionary<String, _>` hashes with SipHash and allocates a `String` for every lookup key; this
/// table hashes UTF-8 bytes with `InternHash`, compares a candidate's bytes in place (word loads
/// for short texts, `memcmp` for long ones; no copy of the stored `String`, so no reference count
/// changes), and can look up a byte range (a paragraph of a longer text) without creating a
/// `String` unless the text is new.
///
/// Equality is byte equality: `café` in one code point and `cafe` + U+0301 are two texts, as
/// they were two different byte strings when sent.
///
/// Changes are staged: `commit()` marks the ids handed out so far as written (`staged` lists the
/// newer ones), and `truncate(to:)` forgets ids (used when a WAL write fails, so the table never references text that
/// is not on disk).
public struct TextInterner {
    /// Every string in id order.
    public private(set) var strings: [String] = []
    private var hashes: [UInt64] = []
    /// Open addressing, linear probing; -1 is empty. Capacity is a power of two, at most half full.
    private var slots: [Int32] = Array(repeating: -1, count: 256)
    private var committedCount = 0

    public init() {}

    public var count: Int { strings.count }
    /// Sum of UTF-8 lengths of all strings, to size segment text blocks.
    public private(set) var totalBytes = 0
    /// Strings added since the last commit, in id order.
    public var staged: ArraySlice<String> { strings[committedCount...] }

    /// The id of `s`, adding it when new.
    @inline(__always)
    public mutating func intern(_ s: String) -> UInt32 {
        // Non-mutating access to the bytes: `withUTF8` needs a `var` copy (a retain and a release).
        if let id = s.utf8.withContiguousStorageIfAvailable({ u in intern(UnsafeRawBufferPointer(u)) { s } }) { return id }
        var bridged = s
        return bridged.withUTF8 { u in intern(UnsafeRawBufferPointer(u)) { s } }
    }

    /// The id of the text in `bytes`, adding `make()` (a String with those bytes) when new.
    @inline(__always)
    public mutating func intern(_ bytes: UnsafeRawBufferPointer, make: () -> String) -> UInt32 {
        let h = InternHash.hash(bytes)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let id = slots[i]
            if id < 0 { break }
            if hashes[Int(id)] == h && equal(Int(id), bytes) { return UInt32(id) }
            i = (i + 1) & mask
        }
        let id = strings.count
        strings.append(make())
        hashes.append(h)
        totalBytes += bytes.count
        slots[i] = Int32(id)
        if strings.count * 2 > slots.count { rehash(slots.count * 2) }
        return UInt32(id)
    }

    @inline(__always)
    private func equal(_ id: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        strings[id].utf8.withContiguousStorageIfAvailable { u in
            let n = u.count
            guard n == bytes.count else { return false }
            guard n > 0 else { return true }
            let x = UnsafeRawPointer(u.baseAddress!), y = bytes.baseAddress!
            // Keys, roles, model names: two overlapping word loads instead of a call to memcmp.
            if n >= 8 && n <= 16 {
                return x.loadUnaligned(as: UInt64.self) == y.loadUnaligned(as: UInt64.self)
                    && x.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == y.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            }
            return memcmp(x, y, n) == 0
        } ?? Self.equalBridged(strings[id], bytes)
    }

    /// A string without contiguous UTF-8 (bridged; never made by this store's decoders).
    private static func equalBridged(_ s: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var s = s
        return s.withUTF8 { u in u.count == bytes.count && (u.count == 0 || memcmp(u.baseAddress!, bytes.baseAddress!, u.count) == 0) }
    }

    private mutating func rehash(_ capacity: Int) {
        slots = Array(repeating: -1, count: capacity)
        let mask = capacity - 1
        for (id, h) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: h) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(id)
        }
    }

    public mutating func commit() { committedCount = strings.count }

    /// Forgets every id from `count` on (texts of records that never reached the disk).
    public mutating func truncate(to count: Int) {
        guard count < strings.count else { return }
        for s in strings[count...] { totalBytes -= s.utf8.count }
        strings.removeSubrange(count...)
        hashes.removeSubrange(count...)
        committedCount = min(committedCount, count)
        rehash(slots.count)
    }
}

/// Resolves text ids back to strings while decoding.
public protocol TextLookup {
    func text(_ id: UInt32) -> String?
}

extension Array: TextLookup where Element == String {
    @inline(__always)
    public func text(_ id: UInt32) -> String? { Int(id) < count ? self[Int(id)] : nil }
}
