import Foundation
import Testing
@testable import LLMTraceDetect

@Suite struct TextDriftTests {
    @Test func sameWordingIsNoDrift() {
        let texts = ["Refund policy: items may be returned within 30 days.", "What is the refund policy?"]
        let d = TextDrift(baseline: texts, current: texts.reversed())
        #expect(d.jensenShannon == 0 && d.novelShare == 0)
        #expect(d.baselineNGrams == 26 && d.currentNGrams == 26)  // 9 + 5 words, 8 + 4 pairs
    }

    @Test func disjointWordingIsFullDrift() {
        let d = TextDrift(baseline: ["refund policy returns"], current: ["quantum chromodynamics lecture"])
        #expect(abs(d.jensenShannon - 1) < 1e-12)
        #expect(d.novelShare == 1)
    }

    /// Half of the current n-grams are new: the share says so exactly, and JS sits strictly between.
    @Test func aNewTopicShowsAsNovelNGrams() {
        let d = TextDrift(baseline: ["alpha beta"], current: ["alpha beta", "gamma delta"])
        // baseline: alpha, beta, "alpha beta" (3); current: those 3 plus gamma, delta, "gamma delta".
        #expect(d.baselineNGrams == 3 && d.currentNGrams == 6)
        #expect(d.novelShare == 0.5)
        #expect(d.jensenShannon > 0.5 && d.jensenShannon < 1)
        // JS of (1/3,1/3,1/3,0,0,0) against (1/6 × 6): each side's KL to the mixture, in closed form.
        let p = 1.0 / 3, q = 1.0 / 6, m1 = (p + q) / 2, m2 = q / 2
        let left = 3 * p * log2(p / m1), right = 3 * q * log2(q / m1) + 3 * q * log2(q / m2)
        #expect(abs(d.jensenShannon - ((left + right) / 2).squareRoot()) < 1e-12)
    }

    @Test func wordsAreLetterAndDigitRunsLowerCased() {
        #expect(TextDrift.words("Hello, WORLD! gpt-4o café 42") == ["hello", "world", "gpt", "4o", "café", "42"])
        #expect(TextDrift.words("") == [])
    }
}
