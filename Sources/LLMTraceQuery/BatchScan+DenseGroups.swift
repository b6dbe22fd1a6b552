/// Grouping when every key has few values in the batch: dictionary columns (their codes), bools,
/// constants, and time buckets (`bucket(start, 1m)`, whose range in a segment is known from its
/// start range). Each key becomes a code 0..<card per selected row without hashing or a branch
/// per row, the codes combine into one composite id (key 1 × card 2 + key 2 …), and the ids
/// that occur are numbered in one pass. The general path in `aggregate` numbers each key's values
/// as it meets them; it stays for wide or computed keys.
extension BatchScan {
    /// At most this many composite ids (the product of the keys' cardinalities).
    static let denseGroupLimit = 1 << 16

    struct DenseKey {
        var codes: [Int32]
        var card: Int
        var value: (Int) -> QueryValue
    }

    /// nil when some key is not dense or the product of cardinalities is too large; `vecs`
    /// receives the keys evaluated on the way, for the general path to reuse.
    static func aggregateDense(_ plan: QueryPlan, _ ev: BatchEvaluator, _ sel: [Int32]?, _ vecs: inout [Vec?],
                               maxGroups: Int) throws -> [[QueryValue]: [Accumulator]]? {
        let m = sel?.count ?? ev.n
        var keys: [DenseKey] = []
        var product = 1
        for (i, key) in plan.keys.enumerated() {
            guard let k = try denseKey(key, ev, sel, m, &vecs[i]) else { return nil }
            product *= max(1, k.card)
            guard product <= denseGroupLimit else { return nil }
            keys.append(k)
        }
        guard !keys.isEmpty else { return nil }
        // Composite ids, then the rows of each.
        var gids = keys[0].codes
        var counts = [Int32](repeating: 0, count: product)
        gids.withUnsafeMutableBufferPointer { g in
            for key in keys.dropFirst() {
                let card = Int32(key.card)
                key.codes.withUnsafeBufferPointer { c in
                    for k in 0..<m { g[k] = g[k] &* card &+ c[k] }
                }
            }
            counts.withUnsafeMutableBufferPointer { counts in
                for k in 0..<m { counts[Int(g[k])] &+= 1 }
            }
        }
        // The ids that occur, numbered in id order.
        var table = [Int32](repeating: -1, count: product)
        var present: [Int] = []
        for id in 0..<product where counts[id] > 0 {
            table[id] = Int32(present.count)
            present.append(id)
        }
        guard present.count <= maxGroups else {
            throw QueryError("the query makes more than \(maxGroups) groups; group by fewer or coarser keys (bucket(start, 1h) instead of start)")
        }
        gids.withUnsafeMutableBufferPointer { g in
            table.withUnsafeBufferPointer { t in
                for k in 0..<m { g[k] = t[Int(g[k])] }
            }
        }
        let groups = present.count
        var accs = [[Accumulator]](repeating: [Accumulator](repeating: Accumulator(), count: plan.aggregates.count), count: groups)
        for (a, spec) in plan.aggregates.enumerated() {
            if spec.kind == .countRows || (spec.kind == .rate && spec.arg == nil) {
                for g in 0..<groups { accs[g][a].count = Int64(counts[present[g]]) }
            } else {
                try accumulate(spec, a, ev, sel, gids, groups, &accs)
            }
        }
        var out: [[QueryValue]: [Accumulator]] = [:]
        out.reserveCapacity(groups)
        for g in 0..<groups {
            var id = present[g]
            var key = [QueryValue](repeating: .null, count: keys.count)
            for i in keys.indices.reversed() {
                key[i] = keys[i].value(id % keys[i].card)
                id /= keys[i].card
            }
            out[key] = accs[g]
        }
        return out
    }

    private static func denseKey(_ key: Bound, _ ev: BatchEvaluator, _ sel: [Int32]?, _ m: Int, _ vec: inout Vec?) throws -> DenseKey? {
        if case .call("bucket", let args, _) = key, let w = args[1].constant?.asInt, w > 0,
           args[0].type == .time || args[0].type == .int {
            return try bucketKey(args[0], w, key.type, ev, sel, m)
        }
        let v = try vec ?? ev.eval(key)
        vec = v
        var codes = [Int32](repeating: 0, count: m)
        switch v {
        case .const(let c):
            return DenseKey(codes: codes, card: 1, value: { _ in c })
        case .dict(let raw, let values):
            guard values.count < denseGroupLimit else { return nil }
            copyCodes(raw, sel, into: &codes)
            return DenseKey(codes: codes, card: values.count + 1, value: { $0 == 0 ? .null : .string(values[$0 - 1]) })
        case .bools(let b):
            copyCodes(b, sel, into: &codes)
            return DenseKey(codes: codes, card: 3, value: { $0 == 2 ? .null : .bool($0 == 1) })
        default:
            return nil
        }
    }

    private static func copyCodes<T: BinaryInteger>(_ raw: [T], _ sel: [Int32]?, into codes: inout [Int32]) {
        let m = codes.count
        raw.withUnsafeBufferPointer { raw in
            codes.withUnsafeMutableBufferPointer { out in
                if let sel {
                    sel.withUnsafeBufferPointer { sel in for k in 0..<m { out[k] = Int32(truncatingIfNeeded: raw[Int(sel[k])]) } }
                } else {
                    for k in 0..<m { out[k] = Int32(truncatingIfNeeded: raw[k]) }
                }
            }
        }
    }

    /// `bucket(arg, w)`: code = (x − first bucket) / w, found by a multiply and a correction
    /// rather than a division per row; NULL is the last code.
    private static func bucketKey(_ arg: Bound, _ w: Int64, _ type: QueryType, _ ev: BatchEvaluator, _ sel: [Int32]?, _ m: Int) throws -> DenseKey? {
        guard case .ints(let a, let valid) = try ev.eval(arg) else { return nil }
        var lo = Int64.max, hi = Int64.min
        if case .column(.span(.start)) = arg, let range = ev.batch.startRange {
            (lo, hi) = range
        } else {
            for k in 0..<m {
                let r = sel.map { Int($0[k]) } ?? k
                if valid?[r] ?? true { lo = min(lo, a[r]); hi = max(hi, a[r]) }
            }
        }
        var slots = 0
        var base: Int64 = 0
        if lo <= hi {
            base = Ops.bucket(lo, w)
            let (width, o) = Ops.bucket(hi, w).subtractingReportingOverflow(base)
            guard !o, width / w < Int64(denseGroupLimit) else { return nil }
            slots = Int(width / w) + 1
            // Every q × w below stays in range (the correction multiplies up to slots + 1).
            guard !Int64(slots + 1).multipliedReportingOverflow(by: w).overflow else { return nil }
        }
        let card = slots + (valid == nil ? 0 : 1)
        guard card > 0 else { return nil }
        var codes = [Int32](repeating: Int32(slots), count: m)
        let inv = 1.0 / Double(w)
        let top = Int64(slots)
        var outside = false
        a.withUnsafeBufferPointer { a in
            codes.withUnsafeMutableBufferPointer { out in
                for k in 0..<m {
                    let r = sel.map { Int($0[k]) } ?? k
                    if let valid, !valid[r] { continue }
                    let d = a[r] &- base
                    var q = Int64(Double(d) * inv)
                    q &-= q &* w > d ? 1 : 0
                    q &+= (q &+ 1) &* w <= d ? 1 : 0
                    outside = outside || q < 0 || q >= top
                    out[k] = Int32(truncatingIfNeeded: q)
                }
            }
        }
        // A row outside the batch's start range would be a store bug; the general path copes.
        if outside { return nil }
        return DenseKey(codes: codes, card: card, value: { code in
            code == slots ? .null : Vec.ints([base &+ Int64(code) &* w], nil).value(0, type)
        })
    }
}
