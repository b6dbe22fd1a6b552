import LLMTraceModel
import LLMTraceSupport

/// A full-text condition (`text MATCH 'query'`) as a scan reads it.
///
/// A query of plain words (`refund policy`: FTS5's implicit AND, each word one term) is answered
/// without FTS5 wherever the data can say it alone: segments whose postings file names each
/// paragraph's terms, the head (its paragraphs tokenized on first use and kept), replayed spans.
/// Anything else (phrases, OR, NOT, NEAR, prefixes, column filters) is FTS5's: its answer, the
/// hashes of the matching paragraphs, is asked for once and kept here; segments written before
/// term postings (until the indexer rewrites their files) use it too.
///
/// Both paths tokenize with FTS5's own tokenizer and treat a paragraph as FTS5's document, so they
/// agree (QueryAgreementTests). One difference: a segment's term postings exist as soon as the
/// indexer reaches it, a little before its paragraphs are committed to FTS5.
public final class TextMatch: @unchecked Sendable {
    public let query: String
    /// The query's terms when it is plain words (each tokenizing to one term), else nil.
    public let terms: [[UInt8]]?
    private let fts: () throws -> Set<Int64>
    private var answer: Set<Int64>?
    private let lock = Condition()

    /// The most words a plain-word query may have (more go to FTS5).
    public static let maxTerms = 32

    public init(query: String, terms: [[UInt8]]?, fts: @escaping () throws -> Set<Int64>) {
        self.query = query
        self.terms = terms
        self.fts = fts
    }

    /// A match known by its paragraph hashes only (FTS5's answer, or a test's).
    public convenience init(query: String, hashes: Set<Int64>) {
        self.init(query: query, terms: nil, fts: { hashes })
    }

    /// FTS5's answer: the hashes of the matching paragraphs (asked once, then kept).
    public func hashes() throws -> Set<Int64> {
        try lock.withLock {
            if let answer { return answer }
            let a = try fts()
            answer = a
            return a
        }
    }

    /// Whether FTS5 has been asked (and its answer is held).
    public var hasHashes: Bool { lock.withLock { answer != nil } }

    /// Whether one paragraph matches a plain-word query: it has every term.
    public func matches(paragraph: UnsafeRawBufferPointer, tokenizer: FTSTokenizer) -> Bool {
        guard let terms else { return false }
        var found = [Bool](repeating: false, count: terms.count)
        var left = terms.count
        tokenizer.forEachTerm(paragraph) { t in
            guard left > 0 else { return }
            for i in terms.indices where !found[i] && terms[i].elementsEqual(t) {
                found[i] = true
                left -= 1
            }
        }
        return left == 0
    }

    /// Whether `span` has a matching message or document paragraph.
    public func matches(_ span: Span) throws -> Bool {
        if terms != nil, let tokenizer = FTSTokenizer.shared {
            var hit = false
            for c in SpanBinaryCodec.searchableContents(of: span) where !hit {
                SpanBinaryCodec.forEachParagraph(c) { p in if !hit && matches(paragraph: p, tokenizer: tokenizer) { hit = true } }
            }
            return hit
        }
        return SpanBinaryCodec.hasParagraph(of: span, in: try hashes())
    }

    /// The terms of `query` when it is plain words in FTS5's syntax: barewords (ASCII letters,
    /// digits, `_`, bytes ≥ 0x80) separated by spaces, none of them an operator (AND, OR, NOT,
    /// NEAR), each one term for the tokenizer, at most `maxTerms`. Nil otherwise, and without a
    /// tokenizer.
    public static func plainTerms(_ query: String, tokenizer: FTSTokenizer? = FTSTokenizer.shared) -> [[UInt8]]? {
        guard let tokenizer else { return nil }
        var terms: [[UInt8]] = []
        for word in query.utf8.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            guard word.allSatisfy({ b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x1A || b >= 0x80
            }) else { return nil }
            let w = Array(word)
            if w == Array("AND".utf8) || w == Array("OR".utf8) || w == Array("NOT".utf8) || w == Array("NEAR".utf8) { return nil }
            var out: [[UInt8]] = []
            w.withUnsafeBytes { tokenizer.forEachTerm($0, query: true) { out.append(Array($0)) } }
            guard out.count == 1 else { return nil }
            terms.append(out[0])
        }
        guard !terms.isEmpty, terms.count <= maxTerms else { return nil }
        return terms
    }
}
