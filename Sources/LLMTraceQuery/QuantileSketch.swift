import Foundation

/// A mergeable quantile sketch with relative accuracy, in the manner of DDSketch (Masson et al.,
/// VLDB 2019) with a log-linear bucket mapping (as HDR histograms use): every power-of-two range
/// [2^e, 2^(e+1)) is cut into 64 equal sub-buckets, taken straight from the exponent and the top six
/// mantissa bits of the IEEE 754 double, so adding a value costs no logarithm. A quantile is answered
/// with its bucket's midpoint, within 1/128 (0.78%) of the exact value of the same rank. Sketches from
/// different segments merge by adding bucket counts, so the bound holds for the whole query.
///
/// The rank answered is the lower nearest rank: for q the value at position ⌊q·(n−1)⌋ of the sorted
/// values. Values of magnitude under 1e-9 count as zero.
struct QuantileSketch: Sendable {
    /// Relative error bound of every answer.
    static let alpha = 1.0 / 128
    static let subBits = 6
    static let minMagnitude = 1e-9

    private var positive = Buckets()
    private var negative = Buckets()
    private var zeros: Int64 = 0

    /// The buckets' storage.
    var approximateBytes: Int { 64 + 8 * (positive.counts.count + negative.counts.count) }
    private(set) var count: Int64 = 0

    /// Counts of a dense run of bucket indexes.
    struct Buckets: Sendable {
        var offset = 0
        var counts: [Int64] = []

        @inline(__always)
        mutating func add(_ index: Int, _ n: Int64) {
            if counts.isEmpty {
                offset = index
                counts = [n]
                return
            }
            if index < offset {
                counts.insert(contentsOf: [Int64](repeating: 0, count: offset - index), at: 0)
                offset = index
            } else if index >= offset + counts.count {
                counts.append(contentsOf: [Int64](repeating: 0, count: index - offset - counts.count + 1))
            }
            counts[index - offset] += n
        }

        mutating func merge(_ o: Buckets) {
            for (k, n) in o.counts.enumerated() where n != 0 { add(o.offset + k, n) }
        }
    }

    /// Bucket of a positive magnitude: exponent and top mantissa bits.
    @inline(__always)
    static func index(_ magnitude: Double) -> Int { Int(truncatingIfNeeded: magnitude.bitPattern >> (52 - UInt64(subBits))) }

    /// The midpoint of a bucket.
    static func value(_ index: Int) -> Double {
        let lo = Double(bitPattern: UInt64(index) << (52 - UInt64(subBits)))
        let width = Double(sign: .plus, exponent: lo.exponent - subBits, significand: 1)
        return lo + width / 2
    }

    mutating func add(_ x: Double) {
        count += 1
        if x > Self.minMagnitude {
            positive.add(Self.index(x), 1)
        } else if x < -Self.minMagnitude {
            negative.add(Self.index(-x), 1)
        } else {
            zeros += 1
        }
    }

    mutating func merge(_ o: QuantileSketch) {
        positive.merge(o.positive)
        negative.merge(o.negative)
        zeros += o.zeros
        count += o.count
    }

    func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = Double(count - 1) * min(1, max(0, q))
        var seen: Int64 = 0
        // Most negative first: the largest magnitude of the negative buckets.
        for k in stride(from: negative.counts.count - 1, through: 0, by: -1) where negative.counts[k] > 0 {
            seen += negative.counts[k]
            if Double(seen) > rank { return -Self.value(negative.offset + k) }
        }
        seen += zeros
        if Double(seen) > rank { return 0 }
        for k in 0..<positive.counts.count where positive.counts[k] > 0 {
            seen += positive.counts[k]
            if Double(seen) > rank { return Self.value(positive.offset + k) }
        }
        return positive.counts.isEmpty ? 0 : Self.value(positive.offset + positive.counts.count - 1)
    }
}
