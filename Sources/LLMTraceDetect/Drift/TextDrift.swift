import LLMTraceModel

/// How the wording of prompts, retrieved documents or completions moved between two windows: the
/// Jensen-Shannon distance (log base 2) between the two distributions of word n-grams, and the
/// share of the current window's n-grams never seen in the baseline (a new topic, a new template,
/// a language switch). N-grams are words and word pairs; a word is a run of letters or digits,
/// lower-cased; each n-gram is kept as its stable 64-bit `TextHash` (two n-grams sharing a hash,
/// ~n²/2^65, count as one).
public struct TextDrift: Sendable, Equatable {
    /// N-gram occurrences in each window.
    public var baselineNGrams: Int
    public var currentNGrams: Int
    /// Jensen-Shannon distance between the n-gram distributions, in [0, 1].
    public var jensenShannon: Double
    /// Share of the current window's n-gram occurrences whose n-gram the baseline never had.
    public var novelShare: Double

    public init<B: Sequence, C: Sequence>(baseline: B, current: C) where B.Element == String, C.Element == String {
        let b = Self.counts(baseline), c = Self.counts(current)
        baselineNGrams = b.values.reduce(0, +)
        currentNGrams = c.values.reduce(0, +)
        var novel = 0
        for (k, n) in c where b[k] == nil { novel += n }
        novelShare = currentNGrams == 0 ? 0 : Double(novel) / Double(currentNGrams)
        // Both distributions over the union of n-grams, in one order.
        var keys = Array(Set(b.keys).union(c.keys))
        keys.sort()
        jensenShannon = Divergence.jensenShannon(keys.map { b[$0] ?? 0 }, keys.map { c[$0] ?? 0 })
    }

    /// Counts of word and word-pair hashes over `texts`.
    static func counts<S: Sequence>(_ texts: S) -> [UInt64: Int] where S.Element == String {
        var out: [UInt64: Int] = [:]
        for text in texts {
            var previous: String?
            for word in words(text) {
                out[UInt64(bitPattern: TextHash.hash(word)), default: 0] += 1
                if let p = previous { out[UInt64(bitPattern: TextHash.hash(p + " " + word)), default: 0] += 1 }
                previous = word
            }
        }
        return out
    }

    /// Runs of letters or digits, lower-cased.
    static func words(_ text: String) -> [String] {
        text.split { !($0.isLetter || $0.isNumber) }.map { $0.lowercased() }
    }
}
