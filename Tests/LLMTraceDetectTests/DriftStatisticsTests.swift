import Foundation
import Testing
import LLMTraceModel
@testable import LLMTraceDetect

/// Every drift statistic against `Tests/Fixtures/drift/vectors.json` (scipy 1.17.1 / numpy 2.4.6;
/// its README defines each one): the tolerances are the README's — exact bins and edges, 1e-12
/// for D, 1e-9 relative for W1, JS, PSI and χ² — and 1e-9 for the p-values too (the README allows
/// 1e-6 for a p-value of the same method; the exact KS ones agree to 1e-11).
/// Parsed with LLMTrace's own JSON reader: Foundation's JSONSerialization reads some 17-digit
/// numbers an ulp off (112.66740000000001 came back as 112.6674), which moved bin edges.
@Suite struct DriftStatisticsTests {
    static let vectors: JSONValue = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
        let data = try! Data(contentsOf: URL(fileURLWithPath: root + "/Fixtures/drift/vectors.json"))
        return try! JSONValue.parse(Array(data))
    }()

    static func cases(_ key: String) -> [JSONValue] { vectors[key]!.array! }
    static func doubles(_ v: JSONValue?) -> [Double] { v!.array!.map { $0.double! } }
    static func ints(_ v: JSONValue?) -> [Int] { v!.array!.map { Int($0.int!) } }
    static func number(_ e: JSONValue, _ key: String) -> Double { e[key]!.double! }

    func close(_ a: Double, _ b: Double, relative: Double) -> Bool {
        if a == b { return true }
        return abs(a - b) <= relative * max(abs(a), abs(b))
    }

    @Test func numericCasesMatchScipy() {
        let cases = Self.cases("numeric_cases")
        #expect(cases.count == 18)
        for c in cases {
            let name = c["name"]!.string!
            let e = c["expected"]!
            let d = NumericDrift(baseline: Self.doubles(c["baseline"]), current: Self.doubles(c["current"]))
            #expect(d.binning.edges == Self.doubles(e["bin_edges"]), "\(name): edges")
            #expect(d.baselineBinCounts == Self.ints(e["baseline_bin_counts"]), "\(name): baseline bins")
            #expect(d.currentBinCounts == Self.ints(e["current_bin_counts"]), "\(name): current bins")
            let ks = Self.number(e, "ks_statistic")
            #expect(abs(d.ksStatistic - ks) <= 1e-12, "\(name): D \(d.ksStatistic) vs \(ks)")
            for (ours, key) in [(d.wasserstein1, "wasserstein_1"), (d.jensenShannon, "js_distance_base2"), (d.psi, "psi"),
                                (d.baselineMean, "baseline_mean"), (d.currentMean, "current_mean")] {
                let want = Self.number(e, key)
                #expect(close(ours, want, relative: 1e-9), "\(name): \(key) \(ours) vs \(want)")
            }
            let limit = Self.number(e, "ks_pvalue_kolmogorov_limit")
            #expect(close(d.ksPValueLimit, limit, relative: 1e-9) || (d.ksPValueLimit < 1e-300 && limit < 1e-300),
                    "\(name): Kolmogorov p \(d.ksPValueLimit) vs \(limit)")
            let exact = Self.number(e, "ks_pvalue")
            #expect(d.ksPValueIsExact)
            #expect(close(d.ksPValue, exact, relative: 1e-9) || (d.ksPValue < 1e-300 && exact < 1e-300),
                    "\(name): exact p \(d.ksPValue) vs \(exact)")
        }
    }

    /// The Kolmogorov limit is another approximation than scipy's exact small-sample p-value: the
    /// README asks for the same decisions at 0.05 and 0.01, not the same digits.
    @Test func ksDecisionsAgreeWithTheExactPValue() {
        for c in Self.cases("numeric_cases") {
            let e = c["expected"]!
            let exact = Self.number(e, "ks_pvalue")
            let d = NumericDrift(baseline: Self.doubles(c["baseline"]), current: Self.doubles(c["current"]))
            for alpha in [0.05, 0.01] {
                #expect((d.ksPValueLimit < alpha) == (exact < alpha), "\(c["name"]!.string!): p \(d.ksPValueLimit) vs exact \(exact) at \(alpha)")
            }
        }
    }

    @Test func categoricalCasesMatchScipy() {
        let cases = Self.cases("categorical_cases")
        #expect(cases.count == 5)
        for c in cases {
            let name = c["name"]!.string!
            let e = c["expected"]!
            let d = CategoricalDrift(categories: c["categories"]!.strings!, baseline: Self.ints(c["baseline_counts"]),
                                     current: Self.ints(c["current_counts"]))
            #expect(d.categories == e["categories_used"]!.strings!, "\(name): categories")
            #expect(d.degreesOfFreedom == Int(e["chi2_dof"]!.int!), "\(name): dof")
            for (ours, key) in [(d.chiSquare, "chi2_statistic"), (d.jensenShannon, "js_distance_base2"), (d.psi, "psi")] {
                let want = Self.number(e, key)
                #expect(close(ours, want, relative: 1e-9), "\(name): \(key) \(ours) vs \(want)")
            }
            let p = Self.number(e, "chi2_pvalue")
            #expect(close(d.pValue, p, relative: 1e-9) || (d.pValue < 1e-300 && p < 1e-300), "\(name): p \(d.pValue) vs \(p)")
        }
    }

    /// Chi-square tails against closed forms: 1 dof is erfc(√(x/2)), 2 dof is e^(−x/2), across the
    /// series/continued-fraction switch at x = a + 1.
    @Test func chiSquareTailsMatchClosedForms() {
        for x in stride(from: 0.05, through: 200, by: 0.37) {
            #expect(close(SpecialFunctions.gammaQ(0.5, x / 2), erfc((x / 2).squareRoot()), relative: 1e-12), "1 dof at \(x)")
            #expect(close(SpecialFunctions.gammaQ(1, x / 2), exp(-x / 2), relative: 1e-12), "2 dof at \(x)")
        }
        #expect(SpecialFunctions.gammaQ(2, 0) == 1)
    }

    @Test func integerFloorAndCeilingDivision() {
        for x in -50...50 {
            for y in 1...7 {
                #expect(SpecialFunctions.floorDiv(x, y) == Int((Double(x) / Double(y)).rounded(.down)), "⌊\(x)/\(y)⌋")
                #expect(SpecialFunctions.ceilDiv(x, y) == Int((Double(x) / Double(y)).rounded(.up)), "⌈\(x)/\(y)⌉")
                #expect(SpecialFunctions.floorDiv(Int64(x), Int64(y)) == Int64(SpecialFunctions.floorDiv(x, y)))
            }
        }
    }

    @Test func degenerateSamples() {
        let same = NumericDrift(baseline: [5, 5, 5], current: [5, 5])
        #expect(same.ksStatistic == 0 && same.ksPValue == 1 && same.ksPValueLimit == 1 && same.wasserstein1 == 0 && same.wasserstein1Normalised == 0)
        #expect(same.psi == 0 && same.jensenShannon == 0)
        let moved = NumericDrift(baseline: [5, 5, 5], current: [6])
        #expect(moved.ksStatistic == 1 && moved.wasserstein1 == 1 && moved.wasserstein1Normalised == .infinity)
        let one = CategoricalDrift(categories: ["a", "b"], baseline: [3, 0], current: [4, 0])
        #expect(one.categories == ["a"] && one.degreesOfFreedom == 0 && one.pValue == 1 && one.chiSquare == 0)
    }
}
