import Foundation
import Testing
import LLMTraceModel
import LLMTraceSynthetic
@testable import LLMTraceStore

/// A sealed head builds its dictionary columns from the WAL's text ids; recovery and tests build
/// them from the rows' strings. Both must write the same dictionaries and codes for the same rows:
/// bytes as sent (NFC and NFD apart), nulls, first-use order, codes wider than a byte.
@Suite struct DictionaryBuilderTests {
    @Test func headIDsAndRowStringsGiveTheSameColumns() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var gen = SyntheticWorkload(seed: 31)
        var spans = gen.nextBatch(count: 3000)
        for i in spans.indices {
            // Over 255 distinct users (two-byte codes), nulls, and two spellings of one name.
            spans[i].userID = i % 7 == 0 ? nil : "user-\(i % 400)"
            if i % 5 == 0 { spans[i].service = i % 10 == 0 ? "caf\u{E9}" : "cafe\u{301}" }
            if i % 3 == 0 { spans[i].finishReason = ["stop", "length", "tool_calls"][i % 9 / 3] }
            if i % 11 == 0 { spans[i].kind = .tool; spans[i].status = .error; spans[i].statusMessage = "failed \(i % 4)" }
        }
        let store = try Store.open(testOptions(dir.path + "/store"))
        try store.append(spans)
        let id = try #require(try store.sealNow())
        try store.close()
        let viaHead = try SegmentReader(path: dir.path + "/store/segments/" + SegmentFormat.name(id))

        try FileManager.default.createDirectory(atPath: dir.path + "/direct", withIntermediateDirectories: true)
        let summary = try SegmentWriter().write(spans: spans, id: 1, maxWALFile: 0, directory: dir.path + "/direct")
        let viaStrings = try SegmentReader(path: summary.path)

        var checked = 0
        for c in SegmentFormat.Column.allCases where SegmentFormat.encoding(of: c) == .dictionary {
            let a = try viaHead.dictColumn(c), b = try viaStrings.dictColumn(c)
            #expect(a.values.map { Array($0.utf8) } == b.values.map { Array($0.utf8) }, "dictionary of \(c)")
            #expect(a.codes == b.codes, "codes of \(c)")
            checked += 1
        }
        #expect(checked == 15)
        #expect(try viaHead.dictColumn(.service).values.filter { $0.hasPrefix("caf") }.count == 2)
        #expect(try viaHead.dictColumn(.userID).values.count == 400)
    }
}
