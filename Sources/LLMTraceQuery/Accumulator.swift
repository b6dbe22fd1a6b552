/// The running state of one aggregate for one group: what survives a batch and merges with the
/// same group's state from other batches.
struct Accumulator: Sendable {
    /// Rows counted (count, count(*)), or non-NULL inputs (sum, avg, min, max, rate(x)).
    var count: Int64 = 0
    var sumInt: Int64 = 0
    var sumDouble: Double = 0
    /// min or max so far.
    var best: QueryValue = .null
    var sketch: QuantileSketch?
    var distinct: Set<QueryValue>?
    /// The integer sum overflowed while merging batches (SQLite: "integer overflow").
    var overflowed = false

    /// Its size with what it holds (a quantile sketch's buckets, a distinct set's values).
    var approximateBytes: Int {
        var n = MemoryLayout<Accumulator>.stride
        if let sketch { n += sketch.approximateBytes }
        if let distinct { n += QueryMemory.setBytes(distinct.count, of: QueryValue.self) }
        return n
    }

    mutating func merge(_ o: Accumulator, _ spec: AggregateSpec) {
        count += o.count
        let (s, ovf) = sumInt.addingReportingOverflow(o.sumInt)
        sumInt = s
        overflowed = overflowed || ovf || o.overflowed
        sumDouble += o.sumDouble
        switch spec.kind {
        case .min: if !o.best.isNull, best.isNull || Ops.order(o.best, best) < 0 { best = o.best }
        case .max: if !o.best.isNull, best.isNull || Ops.order(o.best, best) > 0 { best = o.best }
        case .quantile:
            if let s = o.sketch {
                if sketch == nil { sketch = s } else { sketch!.merge(s) }
            }
        case .countDistinct:
            if let d = o.distinct {
                if distinct == nil { distinct = d } else { distinct!.formUnion(d) }
            }
        default: break
        }
    }

    func result(_ spec: AggregateSpec, rateSeconds: Double?) -> QueryValue {
        switch spec.kind {
        case .countRows, .count: return .int(count)
        case .sum:
            guard count > 0 else { return .null }
            return spec.type == .int ? .int(sumInt) : .double(sumDouble)
        case .avg:
            guard count > 0 else { return .null }
            return .double(sumDouble / Double(count))
        case .min, .max: return best
        case .quantile(let q): return sketch?.quantile(q).map { .double($0) } ?? .null
        case .countDistinct: return .int(Int64(distinct?.count ?? 0))
        case .rate:
            let secs = rateSeconds ?? 1
            if spec.arg == nil { return .double(Double(count) / secs) }
            guard count > 0 else { return .null }  // as sum(x): no non-NULL value, no rate
            let total = spec.arg!.type == .double ? sumDouble : Double(sumInt)
            return .double(total / secs)
        }
    }
}
