import LLMTraceModel

/// Full-text postings: which rows hold each message or document paragraph, from the postings
/// file beside the segment or built from the details and the text store.
extension SegmentReader {
    /// The distinct paragraphs of every message and document in the segment (the full-text units),
    /// read from the details column and the text store without decoding whole spans.
    public func searchableTexts() throws -> [String] { try textIndexInputs().texts }

    /// What the full-text indexer needs of a segment, from one pass over its details and text
    /// store: the searchable paragraphs, which rows hold each text, and every text (the postings
    /// file's terms come from them).
    public struct TextIndexInputs {
        /// The distinct paragraphs some row holds (what FTS5 indexes).
        public let texts: [String]
        public let postings: TextPostings
        /// The segment's texts, in `postings`' order.
        let allTexts: [String]
    }

    public func textIndexInputs() throws -> TextIndexInputs {
        let texts = try allTexts()
        let p = try buildPostings(texts)
        var out: [String] = []
        for k in texts.indices where p.offsets[k + 1] > p.offsets[k] && !texts[k].isEmpty { out.append(texts[k]) }
        return TextIndexInputs(texts: out, postings: p, allTexts: texts)
    }

    /// Writes the postings file of this segment (`TextPostingsFile`), and maps the new one on
    /// next use.
    public func writePostings(_ inputs: TextIndexInputs) throws {
        try TextPostingsFile.write(inputs.postings, texts: inputs.allTexts, for: self)
        lock.withLock {
            mappedPostings = nil
            postingsUnusable = false
        }
    }

    /// Rows holding a paragraph `match` matches (1, else 0): plain words from the postings file's
    /// terms when it has them (no FTS5), anything else through FTS5's hashes. A segment whose file
    /// is not written yet (under a flood, the newest one almost always) has the same file built in
    /// memory for plain words, used and dropped: FTS5 does not hold its paragraphs yet, and asking
    /// it for every paragraph a common word matches cost a collector's query a second under full
    /// ingest. (Not kept: after a long flood nobody searched, every segment FTS5 has not reached
    /// would stay in memory; the first search starts the postings being written ahead instead.)
    public func rows(matching match: TextMatch) throws -> [UInt8] {
        if let terms = match.terms {
            if let f = postingsFile() {
                if f.hasTerms { return try f.rows(matchingAllTerms: terms) }
            } else if let f = try builtTermPostings() {
                return try f.rows(matchingAllTerms: terms)
            }
        }
        return try rows(matchingParagraphs: try match.hashes())
    }

    /// The postings file this segment will have, built in memory; nil without FTS5's tokenizer.
    func builtTermPostings() throws -> TextPostingsFile? {
        guard let tokenizer = FTSTokenizer.shared else { return nil }
        let inputs = try textIndexInputs()
        let encoded = TextPostingsFile.encode(inputs.postings, texts: inputs.allTexts, for: self, tokenizer: tokenizer)
        return try TextPostingsFile(encoded: encoded, path: TextPostingsFile.path(ofSegment: path))
    }

    /// Rows holding a message or document paragraph whose hash is in `set` (1, else 0): from the
    /// postings file when the indexer has written it, else from postings built in memory.
    public func rows(matchingParagraphs set: Set<Int64>) throws -> [UInt8] {
        if let f = postingsFile() { return try f.rows(matching: set) }
        return try textPostings().rows(matching: set, rowCount: rowCount)
    }

    /// The postings file, once it exists. A corrupt one is set aside for this process (reported by
    /// `verify`): queries fall back to building postings in memory rather than failing.
    func postingsFile() -> TextPostingsFile? {
        if let f = lock.withLock({ mappedPostings }) { return f }
        let p = TextPostingsFile.path(ofSegment: path)
        guard lock.withLock({ !postingsUnusable }), FileIO.exists(p) else { return nil }
        do {
            let f = try TextPostingsFile(path: p)
            guard f.segmentID == id, f.rowCount == rowCount else { throw StoreError("postings are for segment \(f.segmentID) of \(f.rowCount) rows", path: p) }
            lock.withLock {
                mappedPostings = f
                postings = nil
            }
            return f
        } catch {
            lock.withLock { postingsUnusable = true }
            return nil
        }
    }

    /// Which rows hold which paragraph: the paragraph hashes of the segment's texts and, per text, the
    /// rows whose messages or documents use it. Built on first use (it inflates every details and
    /// text block once) and kept: a full-text query then costs a hash lookup per text.
    public struct TextPostings: Sendable {
        public let hashes: [Int64]
        /// Rows of text k are rows[offsets[k]..<offsets[k + 1]].
        let offsets: [Int32]
        let rows: [Int32]

        /// 1 for every row holding a paragraph whose hash is in `set`, else 0.
        public func rows(matching set: Set<Int64>, rowCount: Int) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: rowCount)
            for (k, h) in hashes.enumerated() where set.contains(h) {
                for i in Int(offsets[k])..<Int(offsets[k + 1]) { out[Int(rows[i])] = 1 }
            }
            return out
        }
    }

    public func textPostings() throws -> TextPostings {
        if let p = lock.withLock({ postings }) { return p }
        let p = try buildPostings(try allTexts())
        lock.withLock { postings = p }
        return p
    }

    func buildPostings(_ texts: [String]) throws -> TextPostings {
        let hashes = texts.map { TextHash.hash($0) }
        var counts = [Int32](repeating: 0, count: texts.count + 1)
        var pairs: [(UInt32, Int32)] = []
        var ids = Set<UInt32>()
        try forEachDetails { row, p in
            ids.removeAll(keepingCapacity: true)
            var r = ByteReader(p)
            guard SpanBinaryCodec.contentTextIDs(&r, into: &ids) else { return false }
            for id in ids {
                guard Int(id) < texts.count else { throw StoreError("corrupt segment: text id \(id) out of range", path: path) }
                pairs.append((id, Int32(row)))
                counts[Int(id) + 1] += 1
            }
            return true
        }
        for k in 0..<texts.count { counts[k + 1] += counts[k] }
        var fill = counts
        var rows = [Int32](repeating: 0, count: pairs.count)
        for (id, row) in pairs {
            rows[Int(fill[Int(id)])] = row
            fill[Int(id)] += 1
        }
        return TextPostings(hashes: hashes, offsets: counts, rows: rows)
    }
}
