/// How much of a completion is supported by the documents retrieved for it: the share of the
/// completion's word pairs (ASCII case-folded, punctuation dropped) that also occur in the
/// documents. 1 means every pair of adjacent words of the answer is in the context; an answer
/// that says something the context never does scores near 0. A completion of fewer than
/// `minimumWords` words is not scored (too short to mean anything).
public struct Groundedness: Sendable {
    public var minimumWords = 8
    public init() {}

    public func score(completion: String, documents: [String]) -> Double? {
        var context = Set<UInt64>()
        for d in documents { Self.pairs(d) { context.insert($0) } }
        guard !context.isEmpty else { return nil }
        var total = 0, found = 0
        Self.pairs(completion) { h in
            total += 1
            if context.contains(h) { found += 1 }
        }
        guard total + 1 >= minimumWords else { return nil }
        return Double(found) / Double(total)
    }

    /// Calls `body` with a hash of each pair of adjacent words.
    static func pairs(_ text: String, _ body: (UInt64) -> Void) {
        var prev: UInt64 = 0, cur: UInt64 = 0xcbf2_9ce4_8422_2325
        var inWord = false, havePrev = false
        func endWord() {
            if havePrev { body(prev &* 0x9E37_79B9_7F4A_7C15 ^ cur) }
            prev = cur
            havePrev = true
            cur = 0xcbf2_9ce4_8422_2325
            inWord = false
        }
        for b in text.utf8 {
            if TextScan.isAlnum(b) || b >= 0x80 || b == 0x27 {
                cur = (cur ^ UInt64(TextScan.lower(b))) &* 0x100_0000_01b3
                inWord = true
            } else if inWord {
                endWord()
            }
        }
        if inWord { endWord() }
    }
}
