import Foundation
import LLMTraceModel
import Testing
import LLMTraceSynthetic
@testable import LLMTraceStore

/// Plain-word text matches answered from term postings (segments) and tokenized paragraphs (the
/// head) without FTS5 must find exactly the rows FTS5's answer finds.
@Suite struct TermPostingsTests {
    static let words = ["refund", "Refund", "REFUND", "policy", "résumé", "resume", "Straße", "naïve", "ÉCOLE", "école",
                        "invoice", "ship_ping", "delay", "x1", "42", "日本語", "Ελληνικά", "emoji🙂", "policy,", "(refund)"]

    static func spans(_ n: Int, seed: UInt64, base: UInt64) -> [Span] {
        var rng = SplitMix64(seed: seed)
        func sentence(_ k: Int) -> String { (0..<k).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ") }
        return (0..<n).map { i in
            let k = base + UInt64(i)
            var s = Span(traceID: TraceID(hi: k, lo: k), spanID: SpanID(k), parentSpanID: SpanID(0), service: "chat", name: "llm",
                         kind: .llm, startNanos: 1_700_000_000_000_000_000 + Int64(k), endNanos: 1_700_000_000_000_000_000 + Int64(k) + 1_000, status: .ok)
            s.inputMessages = [Message(role: "user", content: sentence(3))]
            if i % 3 == 0 {
                let long = (0..<3).map { _ in sentence(50) }.joined(separator: "\n\n")
                s.documents = [RetrievedDocument(id: "d\(i)", content: long)]
            }
            if i % 4 == 0 { s.outputMessages = [Message(role: "assistant", content: sentence(2))] }
            return s
        }
    }

    static let queries = ["refund", "refund policy", "REFUND Policy", "resume", "résumé", "strasse", "straße", "naive", "ecole",
                          "x1 42", "日本語", "ελληνικα", "emoji", "delay invoice refund", "zeppelin", "refund zeppelin", "policy policy"]

    @Test func theTokenizerIsFTS5s() throws {
        let t = try #require(FTSTokenizer.shared)
        #expect(t.terms("Our REFUND-policy: Résumé, naïve!") == ["our", "refund", "policy", "resume", "naive"].map { Array($0.utf8) })
        #expect(TextMatch.plainTerms("refund policy")?.count == 2)
        #expect(TextMatch.plainTerms("Résumé")?.first == Array("resume".utf8))
        for q in ["refund OR policy", "\"refund policy\"", "ref*", "ship_ping", "NOT x", "a NEAR b", "text:refund", "", "  ", "-", "(refund)"] {
            #expect(TextMatch.plainTerms(q) == nil, "\(q) is FTS5 syntax or not one term a word")
        }
    }

    /// Segments (term postings) and the head (tokenized on first use) against FTS5's answer.
    @Test func termsFindWhatFTS5Finds() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        try store.append(Self.spans(400, seed: 5, base: 1))
        try store.sealNow()
        try store.append(Self.spans(300, seed: 6, base: 10_000))
        try store.sealNow()
        try store.indexPendingTexts()
        try store.append(Self.spans(200, seed: 7, base: 20_000))
        while try store.indexHeadTexts() > 0 {}
        let segments = store.segmentReaders
        #expect(segments.count == 2)
        for s in segments { #expect(s.postingsFile()?.hasTerms == true) }
        for q in Self.queries {
            let m = try store.textMatch(q)
            #expect(m.terms != nil, "\(q) is plain words")
            let fts = try store.matchingTextHashes(q)
            for s in segments {
                let viaTerms = try s.rows(matching: m)
                let viaFTS = try s.rows(matchingParagraphs: fts)
                let same = viaTerms == viaFTS
                #expect(same, "segment \(s.id), '\(q)': \(viaTerms.reduce(0) { $0 + Int($1) }) rows by terms, \(viaFTS.reduce(0) { $0 + Int($1) }) by FTS5")
            }
            let head = store.scanSnapshot(Store.ScanRequest(matching: [m])).headMatches[0]
            let headFTS = store.scanSnapshot(Store.ScanRequest(matching: [TextMatch(query: q, hashes: fts)])).headMatches[0]
            let sameHead = head == headFTS
            #expect(sameHead, "head, '\(q)'")
            #expect(!m.hasHashes, "'\(q)' was answered without FTS5")
        }
        // Some queries match, some do not: the comparison is not vacuous.
        let hits = try store.matchingTextHashes("refund policy").count
        let misses = try store.matchingTextHashes("zeppelin").count
        #expect(hits > 0 && misses == 0)
    }

    /// Segments FTS5 has not reached yet (it is duty-cycled under a flood) get their postings ahead
    /// of it: a plain-word match on them reads terms, and finds what it finds once FTS5 has them.
    @Test func segmentsWaitingForFTS5HaveTheirTermsAhead() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        for (k, seed) in [11, 12, 13].enumerated() {
            try store.append(Self.spans(200, seed: UInt64(seed), base: UInt64(1 + k * 10_000)))
            try store.sealNow()
        }
        let segments = store.segmentReaders.sorted { $0.id < $1.id }
        #expect(segments.count == 3)
        // Nobody has searched yet: nothing is written ahead.
        store.writePostingsAhead(of: segments[0].id)
        for s in segments { #expect(s.postingsFile() == nil) }
        // Before any file is written, a plain-word match builds the file in memory, without FTS5
        // (which holds none of these paragraphs yet); that search starts the writing ahead.
        let early = try store.textMatch("refund policy")
        let earlyRows = try segments[2].rows(matching: early)
        #expect(!early.hasHashes, "FTS5 was not asked")
        #expect(segments[2].postingsFile() == nil)
        store.writePostingsAhead(of: segments[0].id)
        #expect(segments[0].postingsFile() == nil, "the segment being indexed writes its own")
        for s in segments.dropFirst() { #expect(s.postingsFile()?.hasTerms == true) }
        #expect(try store.index.segmentsPendingTextIndex().count == 3, "FTS5 has indexed none of them")
        let queries = ["refund", "refund policy", "résumé", "日本語", "zeppelin"]
        var before: [[UInt8]] = []
        for q in queries {
            let m = try store.textMatch(q)
            for s in segments.dropFirst() { before.append(try s.rows(matching: m)) }
        }
        #expect(try store.indexPendingTexts() == 3)
        var after: [[UInt8]] = []
        for q in queries {
            let fts = try store.matchingTextHashes(q)
            for s in segments.dropFirst() { after.append(try s.rows(matchingParagraphs: fts)) }
        }
        #expect(before == after)
        // The file written ahead answers as the one built in memory did.
        #expect(try segments[2].rows(matchingParagraphs: try store.matchingTextHashes("refund policy")) == earlyRows)
        #expect(segments[2].verify().isEmpty)
        #expect(before.contains { $0.contains(1) } && before.contains { !$0.contains(1) })
    }

    /// A version 1 file (no terms) still answers by hashes, and the indexer rewrites it with terms.
    @Test func aFileWithoutTermsIsRewritten() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        try store.append(Self.spans(100, seed: 8, base: 1))
        try store.sealNow()
        try store.indexPendingTexts()
        let seg = try #require(store.segmentReaders.first)
        let inputs = try seg.textIndexInputs()
        let bare = TextPostingsFile.encode(inputs.postings, texts: [], segmentID: seg.id, rowCount: seg.rowCount, tokenizer: nil)
        try FileIO.replaceFile(TextPostingsFile.path(ofSegment: seg.path), with: bare)
        try seg.writePostings(inputs)  // resets the mapping; then put the bare file back
        try FileIO.replaceFile(TextPostingsFile.path(ofSegment: seg.path), with: bare)
        let reopened = try TextPostingsFile(path: TextPostingsFile.path(ofSegment: seg.path))
        #expect(!reopened.hasTerms)
        let m = try store.textMatch("refund")
        let byTerms = try seg.rows(matching: m), byHashes = try seg.rows(matchingParagraphs: try store.matchingTextHashes("refund"))
        #expect(byTerms == byHashes)
        #expect(try store.writeMissingPostings(), "the file without terms is written again")
        let upgraded = try TextPostingsFile(path: TextPostingsFile.path(ofSegment: seg.path))
        #expect(upgraded.hasTerms && upgraded.termCount > 5)
        #expect(seg.verify().isEmpty)
    }
}
