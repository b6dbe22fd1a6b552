import LLMTraceModel

/// How the wording of prompts, retrieved documents or completions moved between two windows: the
/// Jensen-Shannon distance (log base 2) between the two distributions of word n-grams, and the
/// share of the current window's n-grams never seen in the baseline (a new topic, a new template,
/// a language switch). N-grams are words and word pairs; a word is a run of letters or digits,
/// lower-cased; each n-gram is kept as a 64-bit hash (two n-grams sharing a hash, ~n²/2^65,
/// count as one).
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

    /// Counts of word and word-pair hashes over `texts`: a word is hashed (FNV-1a, 64 bits) over
    /// its lower-cased UTF-8 bytes, a pair by mixing its two words' hashes, so no string is built
    /// per n-gram.
    static func counts<S: Sequence>(_ texts: S) -> [UInt64: Int] where S.Element == String {
        var out: [UInt64: Int] = [:]
        for text in texts {
            var previous: UInt64?
            func word(_ h: UInt64) {
                out[h, default: 0] += 1
                if let p = previous { out[pair(p, h), default: 0] += 1 }
                previous = h
            }
            if text.utf8.allSatisfy({ $0 < 0x80 }) {
                // ASCII: words cut and hashed byte by byte.
                var h = fnvBasis, inWord = false
                for b in text.utf8 {
                    if (b | 0x20) &- 0x61 < 26 || b &- 0x30 < 10 {
                        h = (h ^ UInt64(b &- 0x41 < 26 ? b | 0x20 : b)) &* fnvPrime
                        inWord = true
                    } else if inWord {
                        word(h)
                        h = fnvBasis
                        inWord = false
                    }
                }
                if inWord { word(h) }
            } else {
                for w in words(text) {
                    var h = fnvBasis
                    for b in w.utf8 { h = (h ^ UInt64(b)) &* fnvPrime }
                    word(h)
                }
            }
        }
        return out
    }

    static let fnvBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    static let fnvPrime: UInt64 = 0x100_0000_01b3
    /// A pair's hash from its words' (order matters; never equal to a word's own hash in practice).
    @inline(__always) static func pair(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var x = a &* 0x9E37_79B9_7F4A_7C15 ^ (b &+ 0x632B_E59B_D9B4_E019)
        x = (x ^ (x >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return x ^ (x >> 29)
    }

    /// Runs of letters or digits, lower-cased (Unicode letter and number properties).
    static func words(_ text: String) -> [String] {
        text.split { !($0.isLetter || $0.isNumber) }.map { $0.lowercased() }
    }
}
