import Testing
import LLMTraceModel
@testable import LLMTraceStore

/// The WAL's text table: one id per distinct byte string, whatever the length, however the bytes
/// arrive (a whole `String` or a paragraph inside a longer one).
@Suite struct TextInternerTests {
    /// Bytes 0...255 in a fixed pseudo-random order, so every length has varied content.
    static func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var x = seed &+ 0x9E37_79B9_7F4A_7C15
        return (0..<n).map { _ in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return UInt8(truncatingIfNeeded: x % 94 + 32)  // printable ASCII: valid UTF-8
        }
    }

    @Test func everyLengthAndEveryByteCounts() {
        var t = TextInterner()
        var ids: [UInt32: String] = [:]
        // The hash reads 4-, 8- and 16-byte words, overlapping tails and three 16-byte lanes past
        // 48 bytes; equality has a word path for 8...16 bytes: a byte changed anywhere, at any
        // length, must give another text.
        for n in 0...150 {
            let base = Self.bytes(n, seed: UInt64(n))
            let s = String(decoding: base, as: UTF8.self)
            let id = t.intern(s)
            #expect(t.intern(s) == id, "same text, same id (length \(n))")
            #expect(t.intern(String(decoding: base, as: UTF8.self)) == id, "an equal copy, same id")
            ids[id] = s
            for i in 0..<n {
                var other = base
                other[i] = other[i] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
                let o = String(decoding: other, as: UTF8.self)
                let oid = t.intern(o)
                #expect(oid != id, "length \(n), byte \(i) changed")
                ids[oid] = o
            }
        }
        #expect(t.count == ids.count, "one id per distinct text")
        for (id, s) in ids { #expect(Array(t.strings[Int(id)].utf8) == Array(s.utf8)) }
        #expect(t.totalBytes == t.strings.reduce(0) { $0 + $1.utf8.count })
    }

    /// Equal bytes give equal hashes whatever the alignment; every byte, at every length, moves
    /// the hash (a hash that skipped bytes would still intern correctly, only slowly).
    @Test func internHashReadsEveryByte() {
        var seen = Set<UInt64>()
        for n in 0...150 {
            let base = Self.bytes(n + 3, seed: UInt64(n) &* 7)
            let h = base.withUnsafeBytes { InternHash.hash(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            let shifted = base.withUnsafeBytes { all -> UInt64 in
                var copy = [UInt8](repeating: 0, count: n + 3)
                copy.replaceSubrange(3..<(n + 3), with: all[0..<n])
                return copy.withUnsafeBytes { InternHash.hash(UnsafeRawBufferPointer(rebasing: $0[3...])) }
            }
            #expect(h == shifted, "alignment must not matter (length \(n))")
            seen.insert(h)
            for i in 0..<n {
                var other = Array(base[0..<n])
                other[i] ^= 0x01
                seen.insert(other.withUnsafeBytes { InternHash.hash($0) })
            }
        }
        let texts = 151 + (0...150).reduce(0, +)
        #expect(seen.count == texts, "\(texts - seen.count) collisions among \(texts) texts")
    }

    @Test func canonicallyEquivalentSpellingsAreTwoTexts() {
        var t = TextInterner()
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        #expect(nfc == nfd, "Swift's == calls them equal")
        #expect(t.intern(nfc) != t.intern(nfd))
        #expect(t.intern("a longer text: \(nfc) and more") != t.intern("a longer text: \(nfd) and more"))
    }

    @Test func aParagraphAndTheSameStandaloneTextShareAnID() {
        var t = TextInterner()
        let whole = "first paragraph\n\nsecond paragraph"
        let id = whole.utf8.withContiguousStorageIfAvailable { u in
            t.intern(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(u)[17...])) { "second paragraph" }
        }
        #expect(id != nil)
        #expect(t.intern("second paragraph") == id)
        #expect(t.count == 1)
    }

    @Test func truncateForgetsAndReissues() {
        var t = TextInterner()
        for i in 0..<1000 { _ = t.intern("text \(i)") }
        t.commit()
        #expect(t.staged.isEmpty)
        for i in 1000..<1500 { _ = t.intern("text \(i)") }
        #expect(t.staged.count == 500)
        t.truncate(to: 1000)
        #expect(t.count == 1000)
        #expect(t.totalBytes == t.strings.reduce(0) { $0 + $1.utf8.count })
        #expect(t.intern("text 999") == 999)
        #expect(t.intern("text 1200") == 1000, "a forgotten text gets the next id again")
    }
}
