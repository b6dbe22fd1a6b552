import LLMTraceModel

/// The in-memory head: spans acknowledged since the last seal, readable at once.
///
/// It keeps each span's fixed fields as a `HeadRow` (numbers, and text ids for the strings), plus
/// the details exactly as the WAL encoded them, all as ids into the WAL file's `SharedTextTable`.
/// That is a fraction of the memory of full spans, holds no references (adding a row retains
/// nothing), and sealing copies those bytes and that table into the segment instead of encoding
/// everything again.
///
/// Not thread-safe on its own; the `Store` guards it.
final class Head {
    let texts: SharedTextTable
    private(set) var rows: [HeadRow] = []
    private(set) var details: [UInt8] = []
    /// Start and length of each row's details in `details`.
    private(set) var detailRanges: [(start: UInt32, count: UInt32)] = []
    /// Each row's trace id, contiguous: a lookup scans them (~0.1 ms for a full head), which costs
    /// ingest nothing, where a trace id → rows dictionary cost a hash and an array per span.
    private var traceIDs: [TraceID] = []
    /// WAL files whose records are all in this head (and nowhere else).
    var walFiles: [UInt64]
    let createdNanos: Int64
    private(set) var minStart = Int64.max
    private(set) var maxStart = Int64.min

    /// `expectedRows` and `expectedDetailBytes` (what the previous head held) are reserved at once.
    init(texts: SharedTextTable, walFiles: [UInt64], expectedRows: Int = 0, expectedDetailBytes: Int = 0,
         createdNanos: Int64 = monotonicNanos()) {
        self.texts = texts
        self.walFiles = walFiles
        self.createdNanos = createdNanos
        // Reserve once for the expected size: growing by doubling would copy the rows and briefly
        // hold both copies.
        rows.reserveCapacity(expectedRows)
        detailRanges.reserveCapacity(expectedRows)
        traceIDs.reserveCapacity(expectedRows)
        details.reserveCapacity(expectedDetailBytes)
    }

    /// Bytes of details per row so far (what the next head reserves for its rows).
    var detailBytesPerRow: Double { rows.isEmpty ? 0 : Double(details.count) / Double(rows.count) }

    /// Makes room for `extra` more elements growing by an eighth, not by doubling: a head fills a
    /// few batches past its seal threshold (appends in flight while the seal is swapped in), and
    /// doubling 12 MB of rows for those was 12 MB more at the collector's peak, twice (the head
    /// filling and the head sealing).
    @inline(__always)
    private static func makeRoom<T>(_ a: inout [T], _ extra: Int) {
        let needed = a.count + extra
        if needed > a.capacity { a.reserveCapacity(max(needed, a.capacity + a.capacity / 8)) }
    }

    var count: Int { rows.count }

    /// Adds an acknowledged batch: its rows and details as the WAL encoded them.
    /// When each appended batch was acknowledged (wall clock), by its first row: how long the
    /// oldest span an outbox consumer lacks has waited.
    private(set) var acknowledged: [(row: Int, nanos: Int64)] = []

    /// The acknowledgement time of row `i` (its batch's).
    func acknowledgedNanos(row i: Int) -> Int64? {
        var lo = 0, hi = acknowledged.count - 1, found: Int64? = nil
        while lo <= hi {
            let mid = (lo + hi) / 2
            if acknowledged[mid].row <= i { found = acknowledged[mid].nanos; lo = mid + 1 } else { hi = mid - 1 }
        }
        return found
    }

    func add(_ appended: WAL.Appended) {
        precondition(appended.table === texts, "a head holds the spans of one WAL file")
        acknowledged.append((rows.count, wallNanos()))
        let n = appended.rows.count
        Self.makeRoom(&rows, n)
        Self.makeRoom(&detailRanges, n)
        Self.makeRoom(&traceIDs, n)
        Self.makeRoom(&details, appended.details.reduce(0) { $0 + $1.count })
        rows.append(contentsOf: appended.rows)
        appended.body.withUnsafeBytes { body in
            for k in appended.rows.indices {
                let start = appended.rows[k].startNanos
                traceIDs.append(appended.rows[k].traceID)
                if start < minStart { minStart = start }
                if start > maxStart { maxStart = start }
                let r = appended.details[k]
                detailRanges.append((UInt32(details.count), UInt32(r.count)))
                details.append(contentsOf: UnsafeRawBufferPointer(rebasing: body[r]))
            }
        }
    }

    /// The details bytes of row `i`.
    func withDetails<T>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let r = detailRanges[i]
        return try details.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[Int(r.start)..<Int(r.start + r.count)])) }
    }

    /// Row `i` as a whole span.
    func span(_ i: Int, texts table: [String]) -> Span {
        var s = rows[i].span(table)
        guard detailRanges[i].count > 0 else { return s }
        let ok = withDetails(i) { p -> Bool in
            var r = ByteReader(p)
            return SpanBinaryCodec.decodeDetails(&r, texts: table, into: &s)
        }
        precondition(ok, "head details do not decode: the WAL encoding and the head disagree")
        return s
    }

    func traceIDs(_ prefix: TraceIDPrefix) -> [TraceID] { Array(Set(traceIDs.filter(prefix.matches))) }

    func trace(_ id: TraceID) -> [Span] {
        let idx = traceIDs.indices.filter { traceIDs[$0] == id }
        guard !idx.isEmpty else { return [] }
        return texts.withTexts { t in idx.map { span($0, texts: t) } }
    }

    /// The distinct message and document paragraphs of rows `from..<count` (for the live
    /// full-text pass), and the row count they cover.
    func contentTexts(from: Int, limit: Int) -> (texts: [String], upTo: Int) {
        let upTo = min(rows.count, from + limit)
        guard from < upTo else { return ([], upTo) }
        var ids = Set<UInt32>()
        for i in from..<upTo where detailRanges[i].count > 0 {
            withDetails(i) { p in
                var r = ByteReader(p)
                _ = SpanBinaryCodec.contentTextIDs(&r, into: &ids)
            }
        }
        let texts = self.texts.withTexts { t in ids.compactMap { Int($0) < t.count && !t[Int($0)].isEmpty ? t[Int($0)] : nil } }
        return (texts, upTo)
    }

    /// Full-text hash of each text id, extended as texts arrive (the table only grows), so a text
    /// match under the store lock hashes each paragraph once, not once per query.
    private var textHashes: [Int64] = []

    /// Each content paragraph's terms (FTS5's tokenizer), as sorted term hashes by text id:
    /// filled on a plain-word match's first use and kept while the head lives.
    private var paragraphTerms: [UInt32: [Int64]] = [:]

    /// 1 for every row holding a message or document paragraph that `match` matches: by its terms
    /// for plain words (no FTS5: paragraphs not yet tokenized are, once), else by FTS5's hashes
    /// (asked for before the store lock is taken).
    func rows(matching match: TextMatch) -> [UInt8] {
        guard let terms = match.terms, let tokenizer = FTSTokenizer.shared else {
            return rows(matching: (try? match.hashes()) ?? [])
        }
        let wanted = Array(Set(terms.map { t in t.withUnsafeBytes { TextHash.hash($0) } }))
        return texts.withTexts { t in
            rows(whereParagraph: { id in
                let have: [Int64]
                if let known = paragraphTerms[id] {
                    have = known
                } else {
                    var hs: [Int64] = []
                    if Int(id) < t.count {
                        var text = t[Int(id)]
                        text.withUTF8 { u in tokenizer.forEachTerm(UnsafeRawBufferPointer(u)) { hs.append(TextHash.hash($0)) } }
                    }
                    have = Array(Set(hs)).sorted()
                    paragraphTerms[id] = have
                }
                return wanted.allSatisfy { Self.sortedContains(have, $0) }
            })
        }
    }

    private static func sortedContains(_ a: [Int64], _ x: Int64) -> Bool {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if a[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo < a.count && a[lo] == x
    }

    /// 1 for every row holding a message or document paragraph whose hash is in `set`.
    func rows(matching set: Set<Int64>) -> [UInt8] {
        texts.withTexts { t in
            if textHashes.count < t.count {
                textHashes.reserveCapacity(t.count)
                for k in textHashes.count..<t.count { textHashes.append(TextHash.hash(t[k])) }
            }
        }
        var matched = Set<UInt32>()
        for (k, h) in textHashes.enumerated() where set.contains(h) { matched.insert(UInt32(k)) }
        guard !matched.isEmpty else { return [UInt8](repeating: 0, count: rows.count) }
        return rows(whereParagraph: { matched.contains($0) })
    }

    /// 1 for every row with a message or document paragraph (by text id) that `matches`.
    private func rows(whereParagraph matches: (UInt32) -> Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows.count)
        var ids = Set<UInt32>()
        for i in rows.indices where detailRanges[i].count > 0 {
            ids.removeAll(keepingCapacity: true)
            withDetails(i) { p in
                var r = ByteReader(p)
                _ = SpanBinaryCodec.contentTextIDs(&r, into: &ids)
            }
            if ids.contains(where: matches) { out[i] = 1 }
        }
        return out
    }

    /// Attribute `key` of every row (nil where a row has none), read from the details without
    /// decoding the rest: what `attr['key']` reads of the head.
    func attributes(_ key: String) -> [AttributeValue?] {
        texts.withTexts { t in
            var out = [AttributeValue?](repeating: nil, count: rows.count)
            guard let id = t.firstIndex(of: key) else { return out }
            for i in rows.indices where detailRanges[i].count > 0 {
                let v = withDetails(i) { p -> AttributeValue?? in
                    var r = ByteReader(p)
                    return SpanBinaryCodec.attribute(&r, key: UInt32(id), texts: t)
                }
                precondition(v != nil, "head details do not decode: the WAL encoding and the head disagree")
                out[i] = v!
            }
            return out
        }
    }

    var allSpans: [Span] {
        texts.withTexts { t in rows.indices.map { span($0, texts: t) } }
    }

    /// Every row's fixed fields as a span with empty details (what a scan reads of the head).
    var fixedSpans: [Span] {
        texts.withTexts { t in rows.map { $0.span(t) } }
    }
}
