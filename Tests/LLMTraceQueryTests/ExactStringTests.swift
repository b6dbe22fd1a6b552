import Testing
import LLMTraceModel
import LLMTraceStore
@testable import LLMTraceQuery

/// Stored strings are the bytes that were sent: "café" as one code point (NFC) and as "e" plus a
/// combining accent (NFD) are two services everywhere, as they are in SQLite, in the head and in
/// segments alike.
@Suite struct ExactStringTests {
    static let nfc = "caf\u{E9}"
    static let nfd = "cafe\u{301}"

    @Test func twoSpellingsStayTwo() throws {
        #expect(Self.nfc == Self.nfd, "Swift's String == says they are one")
        #expect(!ExactString.equal(Self.nfc, Self.nfd))
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        var spans = RandomSpans.make(600, seed: 21)
        for i in spans.indices { spans[i].service = i % 3 == 0 ? Self.nfc : (i % 3 == 1 ? Self.nfd : "other") }
        // Interleaved, so each segment and the head see both spellings in both orders.
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 3)
        defer { try? store.close() }
        let engine = QueryEngine(store: store)
        let sqlite = try SQLiteSpans(spans)
        for q in ["SELECT service, count(*) FROM spans GROUP BY service",
                  "SELECT count(DISTINCT service) FROM spans",
                  "SELECT count(*) FROM spans WHERE service = '\(Self.nfc)'",
                  "SELECT count(*) FROM spans WHERE service = '\(Self.nfd)'",
                  "SELECT count(*) FROM spans WHERE service IN ('\(Self.nfd)')",
                  "SELECT count(*) FROM spans WHERE service < '\(Self.nfc)'",
                  "SELECT service FROM spans ORDER BY service, span_id LIMIT 450"] {
            let ours = try engine.run(q).rows, theirs = try sqlite.query(q)
            #expect(sameRows(canonicalOrder(ours), canonicalOrder(theirs)), "\(q)\nours:   \(ours.prefix(4))\nsqlite: \(theirs.prefix(4))")
        }
        let groups = try engine.run("SELECT service, count(*) FROM spans GROUP BY service").rows
        #expect(groups.count == 3)
        // What comes back is what was sent, byte for byte.
        for s in spans.prefix(40) {
            let back = try #require(try store.trace(s.traceID).first { $0.spanID == s.spanID })
            #expect(Array(back.service.utf8) == Array(s.service.utf8))
        }
    }

    /// `ExactString.less` is SQLite's BINARY order: the UTF-8 bytes, compared as unsigned, a
    /// prefix first. Swift's `<` orders by Unicode scalars after normalisation instead.
    @Test func lessIsByteOrder() {
        var x: UInt64 = 42
        func next() -> UInt64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
        let pieces = ["a", "b", "é", "e\u{301}", "z", "\u{10FFFF}", "ß", "", "ab", "A", "日本"]
        var words: [String] = [Self.nfc, Self.nfd, "", "caf", "cafe"]
        for _ in 0..<300 {
            words.append((0..<Int(next() % 4)).map { _ in pieces[Int(next() % UInt64(pieces.count))] }.joined())
        }
        for a in words {
            for b in words.prefix(60) {
                #expect(ExactString.less(a, b) == Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)), "\(a.debugDescription) < \(b.debugDescription)")
            }
        }
        #expect(ExactString.less(Self.nfd, Self.nfc), "'e' (0x65) sorts before the first byte of 'é' (0xC3)")
        #expect(!ExactString.less(Self.nfc, Self.nfc))
    }
}
