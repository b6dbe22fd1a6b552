#if canImport(Glibc)
import Glibc
#endif

/// Distances between two histograms over the same bins or categories.
public enum Divergence {
    /// PSI's stand-in for a proportion that is exactly 0 (no renormalisation).
    public static let psiEpsilon = 1e-4

    /// Jensen-Shannon distance with log base 2, in [0, 1]: √(½ KL(p‖m) + ½ KL(q‖m)), m = (p+q)/2,
    /// 0·log 0 = 0, over the proportions of each count vector (as `scipy.spatial.distance.jensenshannon`
    /// computes it: natural logs, divided by ln 2).
    public static func jensenShannon(_ a: [Int], _ b: [Int]) -> Double {
        precondition(a.count == b.count, "histograms over different bins")
        let na = Double(a.reduce(0, +)), nb = Double(b.reduce(0, +))
        guard na > 0, nb > 0 else { return 0 }
        var left = 0.0, right = 0.0
        for i in a.indices {
            let p = Double(a[i]) / na, q = Double(b[i]) / nb
            let m = (p + q) / 2
            if p > 0 { left += p * log(p / m) }
            if q > 0 { right += q * log(q / m) }
        }
        return max(0, (left + right) / log(2.0) / 2).squareRoot()
    }

    /// Population stability index: Σ (c − b) · ln(c / b) over proportions, natural log, a zero
    /// proportion taken as `psiEpsilon`; a bin empty in both adds 0.
    public static func psi(baseline: [Int], current: [Int]) -> Double {
        precondition(baseline.count == current.count, "histograms over different bins")
        let nb = Double(baseline.reduce(0, +)), nc = Double(current.reduce(0, +))
        guard nb > 0, nc > 0 else { return 0 }
        var sum = 0.0
        for i in baseline.indices {
            var b = Double(baseline[i]) / nb, c = Double(current[i]) / nc
            if b == 0 { b = psiEpsilon }
            if c == 0 { c = psiEpsilon }
            sum += (c - b) * log(c / b)
        }
        return sum
    }
}
