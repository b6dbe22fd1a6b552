import Testing
import Foundation
import LLMTraceModel
import LLMTraceSynthetic
@testable import LLMTraceStore

@Suite struct StoreRoundTripTests {
    /// Every field survives WAL -> head -> segment -> read, and WAL -> (restart) replay -> segment.
    @Test func everyFieldRoundTripsThroughEveryLayer() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let spans = [fullSpan(1), fullSpan(2), minimalSpan(trace: 9, span: 9)]
        let later = [fullSpan(3), fullSpan(4)]
        var store = try Store.open(testOptions(dir.path))
        try store.append(spans)
        #expect(try store.trace(spans[0].traceID) == [spans[0]], "head read")
        #expect(store.headSpans().sorted { $0.spanID < $1.spanID } == spans.sorted { $0.spanID < $1.spanID })
        let segID = try store.sealNow()
        #expect(segID != nil)
        #expect(store.headCount == 0)
        #expect(try store.trace(spans[0].traceID) == [spans[0]], "segment read")
        #expect(try store.trace(spans[2].traceID) == [spans[2]])
        try store.append(later)
        try store.close()

        // Read-only opens (tracectl) see WAL spans without changing anything.
        var ro = testOptions(dir.path)
        ro.readOnly = true
        let reader = try Store.open(ro)
        #expect(try reader.trace(later[0].traceID) == [later[0]], "read-only replay")
        try reader.close()

        store = try Store.open(testOptions(dir.path))
        #expect(store.recovery.walSpansReplayed == 2, "only the unsealed batch is replayed")
        #expect(try store.trace(later[1].traceID) == [later[1]], "replayed, then sealed at recovery")
        try store.close()

        store = try Store.open(testOptions(dir.path))
        #expect(store.recovery.walSpansReplayed == 0, "sealed spans are not replayed again")
        let all = try allSpans(store).sorted { $0.spanID < $1.spanID }
        #expect(all == (spans + later).sorted { $0.spanID < $1.spanID })
        try store.close()
    }

    @Test func syntheticTracesReadBackFromSegmentsAndIndex() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var opts = testOptions(dir.path)
        opts.sealSpanCount = 2000
        let store = try Store.open(opts)
        var gen = SyntheticWorkload(seed: 11)
        var traces: [TraceID: [Span]] = [:]
        for _ in 0..<10 {
            let batch = gen.nextBatch(count: 500)
            for s in batch { traces[s.traceID, default: []].append(s) }
            try store.append(batch)
            if store.headCount >= 2000 { try store.sealNow() }
        }
        try store.sealNow()
        #expect(store.segmentReaders.count >= 2)
        #expect(try store.indexPendingTexts() == store.segmentReaders.count)
        #expect(try store.indexPendingTexts() == 0, "each segment's texts are indexed once")
        for (id, expected) in traces {
            let got = try store.trace(id)
            #expect(got == expected.sorted { ($0.startNanos, $0.spanID) < ($1.startNanos, $1.spanID) })
        }
        // Sessions, users, trace runs and full text reach the index.
        let one = traces.values.first!.first!
        #expect(try store.index.traces(session: one.sessionID!, project: one.project).contains(one.traceID))
        #expect(try store.index.traces(user: one.userID!, project: one.project).contains(one.traceID))
        #expect(try store.index.traces(session: one.sessionID!, project: "other-project").isEmpty)
        // Every session and user of every trace (segments of ~300 traces: several 64-row insert
        // statements and a shorter last one each).
        for s in traces.values.flatMap({ $0 }) {
            if let sid = s.sessionID { #expect(try store.index.traces(session: sid, project: s.project).contains(s.traceID)) }
            if let uid = s.userID { #expect(try store.index.traces(user: uid, project: s.project).contains(s.traceID)) }
        }
        for s in traces.values.flatMap({ $0 }).prefix(200) {
            let locs = try store.index.traceLocations(s.traceID)
            #expect(locs.count == 1)
            let reader = try #require(store.segmentReaders.first { $0.id == locs[0].segment })
            #expect(try reader.spans(rows: locs[0].firstRow..<(locs[0].firstRow + locs[0].rowCount)).contains(s))
        }
        let llm = traces.values.flatMap { $0 }.first { $0.kind == .llm && !$0.outputMessages.isEmpty }!
        #expect(try store.index.isTextIndexed(llm.outputMessages[0].content))
        #expect(try !store.index.matchTexts("reference").isEmpty)
        let report = StoreVerifier.verify(directory: dir.path)
        #expect(report.ok, "\(report.errors)")
        #expect(report.segmentSpans == traces.values.reduce(0) { $0 + $1.count })
        try store.close()
    }

    @Test func segmentsDeduplicateRepeatedText() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        let prompt = String(repeating: "You are a careful assistant. Follow the policy exactly. ", count: 60)  // ~3.4 KB
        var spans: [Span] = []
        for i in 0..<2000 {
            var s = minimalSpan(trace: UInt64(i + 1), span: UInt64(i + 1))
            s.inputMessages = [Message(role: "system", content: prompt), Message(role: "user", content: "question \(i)")]
            spans.append(s)
        }
        try store.append(spans)
        try store.sealNow()
        let size = store.segmentReaders[0].fileSize
        // 2,000 copies of a 3.4 KB prompt are 6.8 MB raw; stored once, the segment is a small fraction.
        let raw = spans.reduce(0) { $0 + $1.jsonBytes().count }
        #expect(size * 20 < raw, "segment is \(size) bytes for \(raw) bytes of JSON")
        try store.close()
    }

    @Test func indexSchemaFileMatchesCode() throws {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let file = try String(contentsOf: url.appendingPathComponent("schemas/index.sql"), encoding: .utf8)
        #expect(file == IndexSchema.sql)
    }

    @Test func secondProcessCannotOpenTheSameDirectory() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let a = try Store.open(testOptions(dir.path))
        // flock is per open file description, so a second open in this process also conflicts.
        #expect(throws: StoreError.self) { _ = try Store.open(testOptions(dir.path)) }
        try a.close()
    }
}

@Suite struct ParagraphSplitTests {
    /// Long contents are stored as paragraphs; every arrangement of blank lines must come back exactly.
    @Test(arguments: [
        "\n\nleading separator", "trailing separator\n\n", "a\n\n\nb (three newlines)", "a\n\n\n\nb (four)",
        "\n\n\n\n", "windows\r\n\r\nline ends", "no separator at all",
    ])
    func contentRoundTripsExactly(tail: String) throws {
        let chunk = String(repeating: "retrieved chunk text ", count: 20)
        let content = chunk + "\n\n" + tail + "\n\n" + chunk
        var s = minimalSpan(trace: 1, span: 1)
        s.inputMessages = [Message(role: "user", content: content), Message(role: "user", content: tail)]
        s.documents = [RetrievedDocument(content: content + tail)]
        var w = ByteWriter()
        var t = TextInterner()
        SpanBinaryCodec.encode(s, into: &w, texts: &t)
        let back = w.bytes.withUnsafeBytes { p -> Span? in
            var r = ByteReader(p)
            return SpanBinaryCodec.decode(&r, texts: t.strings)
        }
        #expect(back == s)
        #expect(t.strings.contains(chunk), "the repeated chunk is one text")
    }
}

@Suite struct LiveTextIndexTests {
    /// Text of spans still in the head is searchable within seconds, without waiting for a seal.
    @Test func headTextIsSearchableWithoutASeal() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var opts = testOptions(dir.path)
        opts.backgroundSealing = true  // starts the full-text thread; the head stays far below a seal
        let store = try Store.open(opts)
        var s = minimalSpan(trace: 42, span: 42)
        s.outputMessages = [Message(role: "assistant", content: "the quokka refund was approved")]
        try store.append([s])
        let deadline = monotonicNanos() + 10_000_000_000
        var found = false
        while !found && monotonicNanos() < deadline {
            found = try !store.index.matchTexts("quokka").isEmpty
            if !found { usleep(100_000) }
        }
        #expect(found, "head text not searchable within 10 s")
        #expect(store.headCount == 1, "found without sealing")
        // The segment pass later records the segment; retention can then remove it.
        try store.sealNow()
        try store.indexPendingTexts()  // waits for the background pass if it is running
        #expect(try store.index.segmentsPendingTextIndex().isEmpty)
        #expect(try !store.index.matchTexts("quokka").isEmpty)
        try store.close()
    }

    @Test func livePassCoversOnlyNewRows() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        var gen = SyntheticWorkload(seed: 8)
        try store.append(gen.nextBatch(count: 100))
        let first = try store.indexHeadTexts()
        #expect(first >= 100)
        #expect(try store.indexHeadTexts() == 0)
        try store.append(gen.nextBatch(count: 10))
        #expect(try store.indexHeadTexts() >= 10)
        try store.close()
    }
}

@Suite struct OlderFormatTests {
    /// Tests/Fixtures/v1-store was written before the message extras and the finish_reason
    /// column: its segment and its WAL still read, and new spans go in beside them.
    @Test func dataFromBeforeToolCallsStillReads() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
        let fm = FileManager.default
        try fm.removeItem(atPath: dir.path)
        try fm.copyItem(atPath: root + "/Fixtures/v1-store", toPath: dir.path)
        var store = try Store.open(testOptions(dir.path))
        #expect(store.recovery.walSpansReplayed == 2)
        var all = try allSpans(store).sorted { $0.inputTokens! < $1.inputTokens! }
        #expect(all.count == 5)
        #expect(all.map(\.inputTokens) == [100, 101, 102, 103, 104])
        #expect(all.allSatisfy { $0.finishReason == nil && $0.service == "support-bot" && $0.requestModel == "gpt-4o-mini" })
        #expect(all.map { $0.outputMessages.first?.content } == ["answer 0", "answer 1", "answer 2", "answer 3", "answer 4"])
        #expect(all.allSatisfy { $0.inputMessages.count == 1 && $0.inputMessages[0].toolCalls.isEmpty })
        #expect(all[4].attribute("n") == .int(4))

        let new = fullSpan(77)
        try store.append([new])
        try store.sealNow()
        try store.close()
        store = try Store.open(testOptions(dir.path))
        all = try allSpans(store)
        #expect(all.count == 6)
        #expect(all.first { $0.spanID == new.spanID } == new)
        try store.close()
    }
}

/// Segments of every compression read back span for span, whatever the store writes now: the
/// codec is in each segment's header, so a directory may mix them (a user changing
/// `--compression`, or segments from before version 2, which were zlib).
@Suite struct SegmentCompressionTests {
    @Test func everyCompressionReadsBackInAnyStore() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var gen = SyntheticWorkload(seed: 21)
        var written: [Span] = []
        var sizes: [String: Int] = [:]
        var rng = SplitMix64(seed: 5)
        for (i, c) in [SegmentCompression.lz4, .zlib(level: 6), .none, .zlib(level: 1)].enumerated() {
            var o = testOptions(dir.path)
            o.compression = c
            let store = try Store.open(o)
            var spans = gen.nextBatch(count: 1500)
            // Text that does not compress: its text block is stored as it is.
            var noise = fullSpan(UInt64(1000 + i))
            noise.outputMessages = [Message(role: "assistant", content: String(decoding: (0..<40_000).map { _ in UInt8(33 + rng.next() % 90) }, as: UTF8.self))]
            spans.append(noise)
            try store.append(spans)
            let id = try #require(try store.sealNow())
            let bytes = try FileIO.readFile(dir.path + "/segments/" + SegmentFormat.name(id))
            #expect(Array(bytes[4..<8]) == [UInt8(SegmentFormat.version), 0, UInt8(c.codecID), 0], "version \(SegmentFormat.version), codec of \(c)")
            sizes["\(c)"] = bytes.count
            written += spans
            try store.close()
        }
        #expect(sizes["lz4"]! < sizes["none"]! * 6 / 10, "\(sizes)")
        #expect(sizes["zlib:6"]! < sizes["lz4"]!, "\(sizes)")
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        let back = try allSpans(store)
        #expect(back.count == written.count)
        let byID = Dictionary(uniqueKeysWithValues: back.map { ($0.spanID, $0) })
        for s in written { #expect(byID[s.spanID] == s) }
        for s in written.prefix(50) { #expect(try store.trace(s.traceID).contains(s)) }
    }

    @Test func parsesTheSetting() {
        #expect(SegmentCompression(parsing: "lz4") == .lz4)
        #expect(SegmentCompression(parsing: "none") == SegmentCompression.none)
        #expect(SegmentCompression(parsing: "zlib") == .zlib(level: 1))
        #expect(SegmentCompression(parsing: "zlib:9") == .zlib(level: 9))
        #expect(SegmentCompression(parsing: "6") == .zlib(level: 6))
        for bad in ["zlib:0", "zlib:10", "lz5", "", "zstd", "zlib:"] { #expect(SegmentCompression(parsing: bad) == nil, "\(bad)") }
    }
}

/// An attribute column read for some rows only equals the whole column at those rows, across
/// details blocks, with blocks holding none of them skipped.
@Suite struct SelectedAttributeReadTests {
    @Test func selectedRowsReadTheSameValuesAsTheWholeColumn() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        var spans: [Span] = []
        for i in 0..<9_000 {
            var s = minimalSpan(trace: UInt64(i / 3 + 1), span: UInt64(i + 1), start: 1_000 + Int64(i))
            if i % 7 == 0 { s.attributes = [Attribute("db.system", .string(i % 2 == 0 ? "redis" : "postgres")), Attribute("n", .int(Int64(i)))] }
            if i % 11 == 0 { s.inputMessages = [Message(role: "user", content: "row \(i)")] }
            spans.append(s)
        }
        try store.append(spans)
        _ = try store.sealNow()
        let seg = try #require(store.segmentReaders.first)
        #expect(seg.rowCount == 9_000)
        let whole = try seg.attributeColumn("db.system")
        #expect(whole.compactMap { $0 }.count == 9_000 / 7 + 1)
        // Rows in the first and third of five 2,048-row blocks only, some with the attribute.
        let picked: [Int32] = [3, 7, 14, 700, 2047, 4096, 4097, 5000, 6139, 6143]
        let some = try seg.attributeColumn("db.system", rows: picked)
        for r in picked { #expect(some[Int(r)] == whole[Int(r)], "row \(r)") }
        #expect(some.enumerated().allSatisfy { picked.contains(Int32($0.offset)) || $0.element == nil })
        #expect(try seg.attributeColumn("db.system", rows: []).allSatisfy { $0 == nil })
        #expect(try seg.attributeColumn("n", rows: [8_995, 8_999])[8_995] == .int(8_995))
    }

    /// A point read asks the kernel for its text blocks up front: the blocks named from the
    /// details are exactly those the decode then inflates.
    @Test func pointReadsNameTheTextBlocksTheyRead() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        // Long distinct texts, so the text store has many blocks and a row's texts sit in few.
        let spans = (1...300).map { n -> Span in
            var s = fullSpan(UInt64(n))
            s.documents = [RetrievedDocument(id: "d\(n)", content: String(repeating: "chunk \(n) of the manual. ", count: 200))]
            return s
        }
        try store.append(spans)
        try store.sealNow()
        let seg = try #require(store.segmentReaders.first)
        #expect(seg.textBlocks.count > 20)
        for rows in [0..<1, 17..<19, 150..<160, 299..<300] {
            seg.lock.withLock { seg.textBlockCache.removeAll(); seg.textCacheOrder.removeAll() }
            let named = seg.textBlocks(namedBy: try seg.decodeBlobs(rows))
            let read = try seg.spans(rows: rows)
            #expect(read.count == rows.count)
            let inflated = seg.lock.withLock { Set(seg.textBlockCache.keys) }
            #expect(named == inflated, "rows \(rows)")
            #expect(named.count < seg.textBlocks.count / 2)
        }
    }
}
