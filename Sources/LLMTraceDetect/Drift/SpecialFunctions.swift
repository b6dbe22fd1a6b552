#if canImport(Glibc)
import Glibc
#endif

/// The distribution tails the drift tests need, in double precision, without a numerics library.
enum SpecialFunctions {
    /// The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a): the chi-square
    /// survival function is Q(dof / 2, χ² / 2). A power series for P = 1 − Q below x < a + 1,
    /// Lentz's continued fraction above (both converge to ~1e-15 relative; the prefactor is taken
    /// in logs, so results stay exact down to where they underflow below ~1e-308, which is 0).
    static func gammaQ(_ a: Double, _ x: Double) -> Double {
        precondition(a > 0, "gammaQ needs a > 0")
        if x <= 0 { return 1 }
        let logPrefactor = -x + a * log(x) - lgamma(a)
        if x < a + 1 {
            // P(a, x) = e^-x x^a / Γ(a) · Σ x^n / (a (a+1) … (a+n))
            var term = 1 / a, sum = term, ap = a
            for _ in 0..<10_000 {
                ap += 1
                term *= x / ap
                sum += term
                if abs(term) < abs(sum) * 1e-17 { break }
            }
            return max(0, 1 - exp(logPrefactor) * sum)
        }
        // Q(a, x) = e^-x x^a / Γ(a) · 1 / (x + 1 - a - 1·(1-a) / (x + 3 - a - 2·(2-a) / (x + 5 - a - …)))
        let tiny = 1e-300
        var b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d
        for i in 1..<10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return exp(logPrefactor) * h
    }

    /// Kolmogorov's limiting distribution, survival side: Q(t) = P(K > t) =
    /// 2 Σ_{k≥1} (−1)^(k−1) e^(−2k²t²) (what `scipy.stats.kstwobign.sf` gives). Below t = 1 that series
    /// converges slowly and cancels, so there the complement comes from the dual (Jacobi theta) form
    /// P(K ≤ t) = √(2π) / t · Σ_{k≥1} e^(−(2k−1)²π² / (8t²)).
    static func kolmogorovQ(_ t: Double) -> Double {
        if t <= 0 { return 1 }
        if t < 1 {
            var sum = 0.0
            for k in 1...20 {
                let j = Double(2 * k - 1)
                let term = exp(-j * j * Double.pi * Double.pi / (8 * t * t))
                sum += term
                if term < sum * 1e-17 { break }
            }
            return max(0, 1 - (2 * Double.pi).squareRoot() / t * sum)
        }
        var sum = 0.0
        for k in 1...100 {
            let kk = Double(k)
            let term = exp(-2 * kk * kk * t * t)
            sum += (k % 2 == 1 ? term : -term)
            if term < 1e-300 || term < abs(sum) * 1e-17 { break }
        }
        return min(1, max(0, 2 * sum))
    }
}
