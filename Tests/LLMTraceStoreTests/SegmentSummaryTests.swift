import Testing
import LLMTraceModel
@testable import LLMTraceStore

/// A seal's session and user keys reach the index in byte order (its B-tree order).
@Suite struct SegmentSummaryTests {
    @Test func rankedSortMatchesTheKeyOrder() {
        var x: UInt64 = 7
        func next() -> UInt64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
        let projects = ["default", "b", "caf\u{E9}", "cafe\u{301}", ""]
        let ids = (0..<300).map { i in i % 7 == 0 ? "s-caf\u{E9}-\(i % 5)" : (i % 7 == 1 ? "s-cafe\u{301}-\(i % 5)" : "session-\(i % 90)") }
        var keys: [SegmentWriter.SessionKey] = []
        for _ in 0..<3000 {
            keys.append(.init(project: projects[Int(next() % UInt64(projects.count))], id: ids[Int(next() % UInt64(ids.count))],
                              trace: TraceID(hi: next() % 4, lo: next())))
        }
        let ranked = SegmentWriter.byteOrder(keys)
        #expect(ranked == keys.sorted())
        #expect(SegmentWriter.byteOrder([]) == [])
        // Byte order, not Swift's: NFD "cafe\u{301}" (…65 CC 81) before NFC "caf\u{E9}" (…C3 A9).
        let firstCafe = ranked.first { $0.project.hasPrefix("caf") }!
        #expect(Array(firstCafe.project.utf8) == Array("cafe\u{301}".utf8))
    }
}
