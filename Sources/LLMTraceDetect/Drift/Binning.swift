/// Bins from a baseline sample, shared by the Jensen-Shannon distance and PSI: interior edges at
/// the baseline's quantiles k/bins (numpy's default `linear` method, Hyndman-Fan type 7, in numpy's
/// own arithmetic), each bin closed on the left. Repeated edges are kept (tied or discrete data):
/// the bins between them are empty in both samples and add nothing.
public struct Binning: Sendable, Equatable {
    /// `bins − 1` interior edges, ascending (ties possible).
    public let edges: [Double]

    /// Edges from `sortedBaseline` (ascending, not empty).
    public init(sortedBaseline x: [Double], bins: Int = 10) {
        precondition(!x.isEmpty && bins >= 2, "binning needs a baseline value and two bins")
        edges = (1..<bins).map { k in Self.quantile(x, Double(k) / Double(bins)) }
    }

    public init(edges: [Double]) { self.edges = edges }

    public var count: Int { edges.count + 1 }

    /// Type-7 quantile of sorted `x` at `q`: h = (n−1)q, between x[⌊h⌋] and the next value,
    /// interpolated from the nearer end as numpy does (so the results are bit-identical).
    public static func quantile(_ x: [Double], _ q: Double) -> Double {
        let h = Double(x.count - 1) * q
        let f = h.rounded(.down)
        let t = h - f
        let a = x[Int(f)], b = x[min(Int(f) + 1, x.count - 1)]
        return t < 0.5 ? a + (b - a) * t : b - (b - a) * (1 - t)
    }

    /// The bin of `v`: how many edges are ≤ v (numpy's `searchsorted(edges, v, side='right')`).
    @inline(__always)
    public func bin(_ v: Double) -> Int {
        var lo = 0, hi = edges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if edges[mid] <= v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Counts per bin.
    public func counts(_ values: [Double]) -> [Int] {
        var c = [Int](repeating: 0, count: count)
        for v in values { c[bin(v)] += 1 }
        return c
    }
}
