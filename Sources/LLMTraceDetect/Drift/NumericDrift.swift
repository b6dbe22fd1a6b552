/// How a numeric field (duration, TTFT, tokens, cost, scores) moved between a baseline sample and
/// a current one. Definitions follow scipy and numpy exactly (see `Tests/Fixtures/drift/README.md`):
/// every statistic here equals scipy's on the reference vectors to ~1e-12.
public struct NumericDrift: Sendable, Equatable {
    public var baselineCount: Int
    public var currentCount: Int
    /// Two-sample Kolmogorov-Smirnov D: max over every value x of both samples of |F_b(x) − F_c(x)|,
    /// with F_s(x) the share of s that is ≤ x (ties handled).
    public var ksStatistic: Double
    /// Two-sided p-value of D: exact (as `scipy.stats.ks_2samp` computes it by default) while both
    /// samples have at most `exactKSLimit` values, else `ksPValueLimit`.
    public var ksPValue: Double
    public var ksPValueIsExact: Bool
    /// Two-sided p-value of D from Kolmogorov's limiting distribution, Q(√(nm/(n+m)) · D)
    /// (`scipy.stats.kstwobign.sf`): close to the exact value from a few hundred values up, off in
    /// the second digit on small or very unequal samples.
    public var ksPValueLimit: Double
    /// Largest sample for the exact p-value (scipy's `auto` uses the same bound); the walk costs
    /// up to n·m steps.
    public static let exactKSLimit = 10_000
    /// Wasserstein-1 (earth mover's) distance, ∫ |F_b − F_c| dx, in the field's units.
    public var wasserstein1: Double
    /// `wasserstein1` over the baseline's standard deviation (population, as Evidently divides
    /// it); 0 when the baseline is constant and the samples agree, infinity when they do not.
    public var wasserstein1Normalised: Double
    public var binning: Binning
    public var baselineBinCounts: [Int]
    public var currentBinCounts: [Int]
    /// Jensen-Shannon distance (log base 2, in [0, 1]) over the baseline's decile bins.
    public var jensenShannon: Double
    /// Population stability index over the same bins.
    public var psi: Double
    public var baselineMean: Double
    public var currentMean: Double

    /// Compares two non-empty samples; `bins` bins cut at the baseline's quantiles. The exact
    /// p-value is computed while both samples have at most `exactLimit` values.
    public init(baseline: [Double], current: [Double], bins: Int = 10, exactLimit: Int = NumericDrift.exactKSLimit) {
        precondition(!baseline.isEmpty && !current.isEmpty, "drift needs a value on each side")
        let b = baseline.sorted(), c = current.sorted()
        let n = b.count, m = c.count
        baselineCount = n
        currentCount = m
        baselineMean = Self.mean(baseline)
        currentMean = Self.mean(current)

        // One merge walk over both sorted samples gives D and W1: after each distinct value x,
        // i and j count the values ≤ x on each side; W1 adds |F_b − F_c| over the gap from the
        // previous distinct value.
        var i = 0, j = 0
        var d = 0.0, w = 0.0
        let nd = Double(n), md = Double(m)
        var previous: (x: Double, diff: Double)?
        while i < n || j < m {
            let x = j == m || (i < n && b[i] <= c[j]) ? b[i] : c[j]
            if let p = previous { w += abs(p.diff) * (x - p.x) }
            while i < n && b[i] == x { i += 1 }
            while j < m && c[j] == x { j += 1 }
            let diff = Double(i) / nd - Double(j) / md
            d = max(d, abs(diff))
            previous = (x, diff)
        }
        ksStatistic = d
        ksPValueLimit = SpecialFunctions.kolmogorovQ((nd * md / (nd + md)).squareRoot() * d)
        let exact = max(n, m) <= exactLimit ? SpecialFunctions.smirnovTwoSidedPValue(n, m, d: d) : nil
        ksPValue = exact ?? ksPValueLimit
        ksPValueIsExact = exact != nil
        wasserstein1 = w
        let sd = Self.populationStandardDeviation(baseline, mean: baselineMean)
        wasserstein1Normalised = sd > 0 ? w / sd : (w == 0 ? 0 : .infinity)

        binning = Binning(sortedBaseline: b, bins: bins)
        baselineBinCounts = binning.counts(b)
        currentBinCounts = binning.counts(c)
        jensenShannon = Divergence.jensenShannon(baselineBinCounts, currentBinCounts)
        psi = Divergence.psi(baseline: baselineBinCounts, current: currentBinCounts)
    }

    static func mean(_ x: [Double]) -> Double {
        // Pairwise, as numpy sums: the order matters in the last bits.
        pairwiseSum(x[...]) / Double(x.count)
    }

    static func pairwiseSum(_ x: ArraySlice<Double>) -> Double {
        if x.count <= 8 { return x.reduce(0, +) }
        let mid = x.startIndex + x.count / 2
        return pairwiseSum(x[..<mid]) + pairwiseSum(x[mid...])
    }

    static func populationStandardDeviation(_ x: [Double], mean: Double) -> Double {
        (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)).squareRoot()
    }
}
