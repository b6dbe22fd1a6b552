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

    /// The exact two-sided p-value of the two-sample Smirnov statistic for samples of sizes `n`
    /// and `m` (what `scipy.stats.ks_2samp` computes with `method='exact'`, treating the data as
    /// untied): P(D ≥ d) under the null. nil when the lattice is too large to walk (n·m past
    /// Int32's range once divided by their gcd, as scipy declines too).
    ///
    /// The method, after Hodges (1958), walks the lattice paths from (0, 0) to (n, m), all equally
    /// likely, column by column: a cell is inside when |x·m/g − y·n/g| < h, with g = gcd(n, m),
    /// h = round(d · lcm(n, m)). It keeps, for each inside cell, the probability that a path to it
    /// has already left the band — Viehmann's recursion (arXiv 2102.08037) for 1 − p, which needs
    /// no subtraction, so p-values down to ~1e-300 keep their digits: B(x, y) = (x·B(x−1, y) +
    /// y·B(x, y−1)) / (x + y), with B = 1 outside the band. Only a window of one column is held.
    static func smirnovTwoSidedPValue(_ n: Int, _ m: Int, d: Double) -> Double? {
        let (a, b) = n >= m ? (n, m) : (m, n)  // a ≥ b: columns are the longer side
        guard b > 0 else { return nil }
        func gcd(_ x: Int, _ y: Int) -> Int { y == 0 ? x : gcd(y, x % y) }
        let g = gcd(a, b)
        let ag = a / g, bg = b / g
        guard ag < Int(Int32.max) / bg else { return nil }
        let lcm = ag * b
        let h = Int((d * Double(lcm)).rounded(.toNearestOrEven))
        if h == 0 { return 1 }
        // Column x is inside for minj ≤ y < maxj.
        var minj = 0
        var maxj = min((h + ag - 1) / ag, b + 1)
        var window = [Double](repeating: 1, count: min(2 * maxj + 2, b + 1))
        for k in 0..<maxj { window[k] = 0 }
        var length = maxj - minj
        for x in 1...a {
            let lastMin = minj, lastLength = length
            // y > (bg·x − h) / ag and y < (bg·x + h) / ag.
            minj = min(max(Self.floorDiv(bg * x - h, ag) + 1, 0), b)
            maxj = min(Self.ceilDiv(bg * x + h, ag), b + 1)
            if maxj <= minj { return 1 }
            length = maxj - minj
            if window.count < length + 1 { window += [Double](repeating: 1, count: length + 1 - window.count) }
            var below = minj == 0 ? 0.0 : 1.0  // B(x, minj − 1): outside, unless there is no such cell
            for k in 0..<length {
                let y = k + minj
                let left = k + minj - lastMin < window.count ? window[k + minj - lastMin] : 1  // B(x − 1, y)
                below = (left * Double(x) + below * Double(y)) / Double(x + y)
                window[k] = below
            }
            // Cells of the last column's window beyond this one's are outside from now on.
            if lastLength > length {
                for k in length..<min(lastLength, window.count) { window[k] = 1 }
            }
        }
        return window[length - 1]
    }

    /// ⌊x / y⌋ and ⌈x / y⌉ for y > 0 (Swift's `/` truncates towards zero).
    @inline(__always) static func floorDiv<T: FixedWidthInteger & SignedInteger>(_ x: T, _ y: T) -> T {
        let q = x / y
        return q * y == x || x >= 0 ? q : q - 1
    }
    @inline(__always) static func ceilDiv<T: FixedWidthInteger & SignedInteger>(_ x: T, _ y: T) -> T {
        let q = x / y
        return q * y == x || x < 0 ? q : q + 1
    }
}
