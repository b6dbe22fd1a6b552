/// How a categorical field (model, finish reason, status, tool name, kind) moved between two
/// windows, from counts per category. Categories with no count on either side are dropped first.
public struct CategoricalDrift: Sendable, Equatable {
    public var categories: [String]
    public var baselineCounts: [Int]
    public var currentCounts: [Int]
    /// Pearson's chi-square on the 2 × K table (no continuity correction): expected counts are
    /// row total × column total / grand total (`scipy.stats.chi2_contingency(correction=False)`).
    public var chiSquare: Double
    public var degreesOfFreedom: Int
    /// Survival function of chi-square with `degreesOfFreedom` at `chiSquare`; 0 once it
    /// underflows (below ~1e-308); 1 when fewer than two categories remain.
    public var pValue: Double
    /// Jensen-Shannon distance (log base 2) between the category shares.
    public var jensenShannon: Double
    /// Population stability index between the category shares (a zero share taken as 1e-4).
    public var psi: Double

    public init(categories: [String], baseline: [Int], current: [Int]) {
        precondition(categories.count == baseline.count && baseline.count == current.count, "one count per category on each side")
        let keep = categories.indices.filter { baseline[$0] != 0 || current[$0] != 0 }
        self.categories = keep.map { categories[$0] }
        baselineCounts = keep.map { baseline[$0] }
        currentCounts = keep.map { current[$0] }
        let rb = Double(baselineCounts.reduce(0, +)), rc = Double(currentCounts.reduce(0, +))
        let total = rb + rc
        var chi = 0.0
        if rb > 0 && rc > 0 {
            for k in keep.indices {
                let col = Double(baselineCounts[k] + currentCounts[k])
                for (observed, row) in [(Double(baselineCounts[k]), rb), (Double(currentCounts[k]), rc)] {
                    let expected = row * col / total
                    chi += (observed - expected) * (observed - expected) / expected
                }
            }
        }
        chiSquare = chi
        degreesOfFreedom = max(0, keep.count - 1)
        pValue = degreesOfFreedom > 0 ? SpecialFunctions.gammaQ(Double(degreesOfFreedom) / 2, chi / 2) : 1
        jensenShannon = Divergence.jensenShannon(baselineCounts, currentCounts)
        psi = Divergence.psi(baseline: baselineCounts, current: currentCounts)
    }
}
