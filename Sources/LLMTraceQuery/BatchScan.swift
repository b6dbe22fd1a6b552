/// What one batch contributes to a query: partial groups for an aggregate query, candidate rows for
/// a plain one.
struct BatchPartial: Sendable {
    var groups: [[QueryValue]: [Accumulator]] = [:]
    /// Plain queries: output values followed by the ORDER BY values, per row.
    var rows: [[QueryValue]] = []
    /// More rows matched than were kept (the row limit cut them).
    var more = false
    var rowsScanned = 0
}

/// Runs a plan over one batch.
enum BatchScan {
    static func run(_ plan: QueryPlan, _ batch: ScanBatch, maxRows: Int, maxGroups: Int, memory: QueryMemory? = nil) throws -> BatchPartial {
        let ev = BatchEvaluator(batch)
        ev.attributes = plan.columns.filter { if case .attr = $0 { return true }; return false }.sorted { $0.name < $1.name }
        let sel = try ev.selection(plan.filter)
        ev.restrict(to: sel)
        var out = BatchPartial()
        out.rowsScanned = batch.rowCount
        if plan.isAggregate {
            out.groups = try aggregate(plan, ev, sel, maxGroups: maxGroups)
            if let memory {
                var bytes = 0
                for (key, accs) in out.groups { bytes += groupBytes(key, accs) }
                try memory.charge(bytes, for: "\(out.groups.count) groups of one segment")
            }
        } else {
            (out.rows, out.more) = try collect(plan, ev, sel, maxRows: maxRows)
            if let memory {
                var bytes = 0
                for r in out.rows { bytes += QueryMemory.valuesBytes(r) }
                try memory.charge(bytes, for: "\(out.rows.count) rows of one segment")
            }
        }
        return out
    }

    /// What one group holds: its slot, key values and accumulators (`QueryMemory`).
    static func groupBytes(_ key: [QueryValue], _ accs: [Accumulator]) -> Int {
        var n = (MemoryLayout<[QueryValue]>.stride + MemoryLayout<[Accumulator]>.stride) * 4 / 3 + QueryMemory.valuesBytes(key) + 32
        for a in accs { n += a.approximateBytes }
        return n
    }

    // MARK: Grouping

    /// Local codes 0..<values.count for a key column over the selected rows, and the value of each code.
    /// `step`: the values are multiples of it (time buckets), so a wide range can still be dense.
    private static func localCodes(_ v: Vec, _ t: QueryType, _ sel: [Int32]?, _ n: Int, step: Int64 = 1) -> (codes: [Int32], values: [QueryValue]) {
        let m = sel?.count ?? n
        var codes = [Int32](repeating: 0, count: m)
        @inline(__always) func row(_ k: Int) -> Int { sel.map { Int($0[k]) } ?? k }
        switch v {
        case .const(let c):
            return (codes, [c])
        case .dict(let raw, let values):
            for k in 0..<m { codes[k] = Int32(raw[row(k)]) }
            return (codes, [.null] + values.map { .string($0) })
        case .bools(let b):
            for k in 0..<m { codes[k] = Int32(b[row(k)]) }
            return (codes, [.bool(false), .bool(true), .null])
        case .ints(let a, let valid):
            var values: [QueryValue] = []
            var lo = Int64.max, hi = Int64.min
            for k in 0..<m where valid?[row(k)] ?? true { lo = min(lo, a[row(k)]); hi = max(hi, a[row(k)]) }
            var nullCode: Int32 = -1
            if lo <= hi, hi &- lo >= 0, (hi &- lo) / step < 1 << 16 {
                var table = [Int32](repeating: -1, count: Int((hi - lo) / step) + 1)
                for k in 0..<m {
                    let r = row(k)
                    if let valid, !valid[r] {
                        if nullCode < 0 { nullCode = Int32(values.count); values.append(.null) }
                        codes[k] = nullCode
                        continue
                    }
                    let slot = Int((a[r] - lo) / step)
                    if table[slot] < 0 { table[slot] = Int32(values.count); values.append(v.value(r, t)) }
                    codes[k] = table[slot]
                }
            } else {
                var map: [Int64: Int32] = [:]
                for k in 0..<m {
                    let r = row(k)
                    if let valid, !valid[r] {
                        if nullCode < 0 { nullCode = Int32(values.count); values.append(.null) }
                        codes[k] = nullCode
                        continue
                    }
                    if let c = map[a[r]] { codes[k] = c; continue }
                    let c = Int32(values.count)
                    map[a[r]] = c
                    values.append(v.value(r, t))
                    codes[k] = c
                }
            }
            return (codes, values)
        default:
            var map: [QueryValue: Int32] = [:]
            var values: [QueryValue] = []
            for k in 0..<m {
                var x = v.value(row(k), t)
                if case .double(let d) = x, d == 0 { x = .double(0) } // -0.0 and 0.0 are one group
                if let c = map[x] { codes[k] = c; continue }
                let c = Int32(values.count)
                map[x] = c
                values.append(x)
                codes[k] = c
            }
            return (codes, values)
        }
    }

    private static func aggregate(_ plan: QueryPlan, _ ev: BatchEvaluator, _ sel: [Int32]?, maxGroups: Int) throws -> [[QueryValue]: [Accumulator]] {
        let n = ev.n
        let m = sel?.count ?? n
        @inline(__always) func row(_ k: Int) -> Int { sel.map { Int($0[k]) } ?? k }

        var vecs = [Vec?](repeating: nil, count: plan.keys.count)
        if plan.keys.count == 1, !plan.keys[0].isBucket {
            let v = try ev.eval(plan.keys[0])
            // (Not for a large dictionary under a selective filter: an accumulator a code.)
            if case .dict(let raw, let values) = v, values.count < max(1024, sel?.count ?? ev.n) {
                return try aggregateByDictionary(plan, ev, sel, raw, values)
            }
            vecs[0] = v
        }
        if let dense = try aggregateDense(plan, ev, sel, &vecs, maxGroups: maxGroups) { return dense }
        // Group ids per selected row, built one key at a time.
        var gids = [Int32](repeating: 0, count: m)
        var groupCount = 1
        var keyCodes: [[Int32]] = []
        var keyValues: [[QueryValue]] = []
        var representative: [Int] = m > 0 ? [0] : []
        for (i, key) in plan.keys.enumerated() {
            var step: Int64 = 1
            if case .call("bucket", let args, _) = key, let w = args[1].constant?.asInt { step = w }
            let vec = try vecs[i] ?? ev.eval(key)
            let (codes, values) = localCodes(vec, key.type, sel, n, step: step)
            keyCodes.append(codes)
            keyValues.append(values)
            let card = values.count
            var next: [Int] = []
            var newCount = 0
            if groupCount * card <= 1 << 22 {
                var table = [Int32](repeating: -1, count: groupCount * card)
                for k in 0..<m {
                    let slot = Int(gids[k]) * card + Int(codes[k])
                    if table[slot] < 0 { table[slot] = Int32(newCount); newCount += 1; next.append(k) }
                    gids[k] = table[slot]
                }
            } else {
                var map: [Int: Int32] = [:]
                for k in 0..<m {
                    let slot = Int(gids[k]) * card + Int(codes[k])
                    if let g = map[slot] { gids[k] = g; continue }
                    map[slot] = Int32(newCount)
                    gids[k] = Int32(newCount)
                    newCount += 1
                    next.append(k)
                }
            }
            groupCount = newCount
            representative = next
            guard groupCount <= maxGroups else {
                throw QueryError("the query makes more than \(maxGroups) groups; group by fewer or coarser keys (bucket(start, 1h) instead of start)")
            }
        }
        if m == 0 { groupCount = plan.keys.isEmpty ? 1 : 0 }

        var accs = [[Accumulator]](repeating: [Accumulator](repeating: Accumulator(), count: plan.aggregates.count), count: groupCount)
        for (a, spec) in plan.aggregates.enumerated() {
            try accumulate(spec, a, ev, sel, gids, groupCount, &accs)
        }

        var out: [[QueryValue]: [Accumulator]] = [:]
        for g in 0..<groupCount {
            let key: [QueryValue] = plan.keys.isEmpty ? [] : (0..<plan.keys.count).map { keyValues[$0][Int(keyCodes[$0][representative[g]])] }
            if var existing = out[key] {
                for (a, spec) in plan.aggregates.enumerated() { existing[a].merge(accs[g][a], spec) }
                out[key] = existing
            } else {
                out[key] = accs[g]
            }
        }
        _ = row
        return out
    }

    /// One key that is a dictionary column (model, service, kind, …): its codes are the group ids
    /// as they are (code 0 is NULL), so the rows are counted per code in one pass, and the
    /// accumulators of the other aggregates run over those ids; codes no selected row has are left out.
    private static func aggregateByDictionary(_ plan: QueryPlan, _ ev: BatchEvaluator, _ sel: [Int32]?,
                                              _ raw: [UInt32], _ values: [String]) throws -> [[QueryValue]: [Accumulator]] {
        let groups = values.count + 1
        let m = sel?.count ?? ev.n
        var rows = [Int64](repeating: 0, count: groups)
        var gids = [Int32](repeating: 0, count: m)
        var bad = false
        raw.withUnsafeBufferPointer { raw in
            rows.withUnsafeMutableBufferPointer { rows in
                gids.withUnsafeMutableBufferPointer { gids in
                    if let sel {
                        sel.withUnsafeBufferPointer { sel in
                            for k in 0..<m {
                                let c = Int(raw[Int(sel[k])])
                                if c >= groups { bad = true; break }
                                gids[k] = Int32(truncatingIfNeeded: c)
                                rows[c] &+= 1
                            }
                        }
                    } else {
                        // Four histograms, rows taken in turn: with a few groups, one counter
                        // incremented row after row waited on its own previous store.
                        var top: UInt32 = 0
                        for k in 0..<m { top = max(top, raw[k]); gids[k] = Int32(truncatingIfNeeded: raw[k]) }
                        if Int(top) >= groups { bad = true; return }
                        let h = UnsafeMutablePointer<Int64>.allocate(capacity: 4 * groups)
                        h.initialize(repeating: 0, count: 4 * groups)
                        defer { h.deallocate() }
                        var k = 0
                        while k + 4 <= m {
                            h[Int(raw[k])] &+= 1
                            h[groups + Int(raw[k + 1])] &+= 1
                            h[2 * groups + Int(raw[k + 2])] &+= 1
                            h[3 * groups + Int(raw[k + 3])] &+= 1
                            k += 4
                        }
                        while k < m { h[Int(raw[k])] &+= 1; k += 1 }
                        for g in 0..<groups { rows[g] = h[g] &+ h[groups + g] &+ h[2 * groups + g] &+ h[3 * groups + g] }
                    }
                }
            }
        }
        guard !bad else { throw QueryError("internal: a dictionary code past its dictionary") }
        var accs = [[Accumulator]](repeating: [Accumulator](repeating: Accumulator(), count: plan.aggregates.count), count: groups)
        for (a, spec) in plan.aggregates.enumerated() {
            if spec.kind == .countRows || (spec.kind == .rate && spec.arg == nil) {
                for g in 0..<groups { accs[g][a].count = rows[g] }
            } else {
                try accumulate(spec, a, ev, sel, gids, groups, &accs)
            }
        }
        var out: [[QueryValue]: [Accumulator]] = [:]
        out.reserveCapacity(min(groups, m))
        for g in 0..<groups where rows[g] > 0 {
            out[[g == 0 ? .null : .string(values[g - 1])]] = accs[g]
        }
        return out
    }

    static func accumulate(_ spec: AggregateSpec, _ a: Int, _ ev: BatchEvaluator, _ sel: [Int32]?,
                                   _ gids: [Int32], _ groups: Int, _ accs: inout [[Accumulator]]) throws {
        let m = gids.count
        let n = ev.n
        @inline(__always) func row(_ k: Int) -> Int { sel.map { Int($0[k]) } ?? k }
        if spec.kind == .countRows || (spec.kind == .rate && spec.arg == nil) {
            var counts = [Int64](repeating: 0, count: groups)
            for k in 0..<m { counts[Int(gids[k])] += 1 }
            for g in 0..<groups { accs[g][a].count = counts[g] }
            return
        }
        let arg = spec.arg!
        let v = try ev.eval(arg)
        switch spec.kind {
        case .count:
            let nulls = v.nulls(n)
            var counts = [Int64](repeating: 0, count: groups)
            for k in 0..<m where !nulls[row(k)] { counts[Int(gids[k])] += 1 }
            for g in 0..<groups { accs[g][a].count = counts[g] }
        case .sum, .avg, .rate:
            var counts = [Int64](repeating: 0, count: groups)
            // Rows with a NULL add 0 and count 0 rather than being skipped: a branch on validity
            // mispredicted on columns null in about half the rows (token counts of non-LLM spans).
            if arg.type == .double || spec.kind == .avg {
                let (x, valid) = v.doubles(n)
                var sums = [Double](repeating: 0, count: groups)
                x.withUnsafeBufferPointer { x in
                    sums.withUnsafeMutableBufferPointer { sums in
                        counts.withUnsafeMutableBufferPointer { counts in
                            gids.withUnsafeBufferPointer { gids in
                                if let valid {
                                    valid.withUnsafeBufferPointer { ok in
                                        for k in 0..<m {
                                            let r = row(k), g = Int(gids[k]), use = ok[r]
                                            sums[g] += use ? x[r] : 0
                                            counts[g] &+= use ? 1 : 0
                                        }
                                    }
                                } else if let sel {
                                    for k in 0..<m { let g = Int(gids[k]); sums[g] += x[Int(sel[k])]; counts[g] &+= 1 }
                                } else {
                                    for k in 0..<m { let g = Int(gids[k]); sums[g] += x[k]; counts[g] &+= 1 }
                                }
                            }
                        }
                    }
                }
                for g in 0..<groups { accs[g][a].sumDouble = sums[g]; accs[g][a].count = counts[g] }
            } else {
                let (x, valid) = v.ints(n)
                var sums = [Int64](repeating: 0, count: groups)
                var overflow: UInt8 = 0
                x.withUnsafeBufferPointer { x in
                    sums.withUnsafeMutableBufferPointer { sums in
                        counts.withUnsafeMutableBufferPointer { counts in
                            @inline(__always) func add(_ g: Int, _ v: Int64, _ use: Bool) {
                                let (s, o) = sums[g].addingReportingOverflow(use ? v : 0)
                                sums[g] = s
                                overflow |= o ? 1 : 0
                                counts[g] &+= use ? 1 : 0
                            }
                            if let valid {
                                valid.withUnsafeBufferPointer { ok in
                                    for k in 0..<m { let r = row(k); add(Int(gids[k]), x[r], ok[r]) }
                                }
                            } else if let sel {
                                for k in 0..<m { add(Int(gids[k]), x[Int(sel[k])], true) }
                            } else {
                                for k in 0..<m { add(Int(gids[k]), x[k], true) }
                            }
                        }
                    }
                }
                // SQLite's sum() of integers fails rather than wrap or turn real.
                if overflow != 0 && spec.kind == .sum { throw QueryError("integer overflow") }
                for g in 0..<groups { accs[g][a].sumInt = sums[g]; accs[g][a].count = counts[g] }
            }
        case .min, .max:
            let isMin = spec.kind == .min
            if arg.type == .double {
                let (x, valid) = v.doubles(n)
                let (best, seen) = extremes(x, valid, sel, gids, groups, min: isMin, zero: 0)
                for g in 0..<groups where seen[g] { accs[g][a].best = .double(best[g]) }
            } else if arg.type == .int || arg.type == .time || arg.type == .bool {
                let (x, valid) = v.ints(n)
                let (best, seen) = extremes(x, valid, sel, gids, groups, min: isMin, zero: 0)
                for g in 0..<groups where seen[g] {
                    accs[g][a].best = arg.type == .time ? .time(best[g]) : arg.type == .bool ? .bool(best[g] != 0) : .int(best[g])
                }
            } else {
                for k in 0..<m {
                    let x = v.value(row(k), arg.type)
                    if x.isNull { continue }
                    let g = Int(gids[k])
                    let cur = accs[g][a].best
                    if cur.isNull || (isMin ? Ops.order(x, cur) < 0 : Ops.order(x, cur) > 0) { accs[g][a].best = x }
                }
            }
        case .quantile:
            let (x, valid) = v.doubles(n)
            var sketches = [QuantileSketch](repeating: QuantileSketch(), count: groups)
            for k in 0..<m {
                let r = row(k)
                if let valid, !valid[r] { continue }
                sketches[Int(gids[k])].add(x[r])
            }
            for g in 0..<groups where sketches[g].count > 0 { accs[g][a].sketch = sketches[g] }
        case .countDistinct:
            let (codes, values) = localCodes(v, arg.type, sel, n)
            var seen = Set<Int64>()
            var sets = [Set<QueryValue>](repeating: [], count: groups)
            for k in 0..<m {
                let value = values[Int(codes[k])]
                if value.isNull { continue }
                if seen.insert(Int64(gids[k]) << 32 | Int64(codes[k])).inserted { sets[Int(gids[k])].insert(value) }
            }
            for g in 0..<groups { accs[g][a].distinct = sets[g] }
        case .countRows:
            break
        }
    }

    /// Per group, the smallest (or largest) non-NULL value of `x` over the selected rows.
    private static func extremes<T: Comparable>(_ x: [T], _ valid: [Bool]?, _ sel: [Int32]?, _ gids: [Int32], _ groups: Int,
                                                min isMin: Bool, zero: T) -> (best: [T], seen: [Bool]) {
        var best = [T](repeating: zero, count: groups)
        var seen = [Bool](repeating: false, count: groups)
        for k in 0..<gids.count {
            let r = sel.map { Int($0[k]) } ?? k
            if let valid, !valid[r] { continue }
            let g = Int(gids[k])
            if !seen[g] || (isMin ? x[r] < best[g] : x[r] > best[g]) { best[g] = x[r]; seen[g] = true }
        }
        return (best, seen)
    }

    // MARK: Plain rows

    private static func collect(_ plan: QueryPlan, _ ev: BatchEvaluator, _ sel: [Int32]?, maxRows: Int) throws -> ([[QueryValue]], Bool) {
        let m = sel?.count ?? ev.n
        @inline(__always) func row(_ k: Int) -> Int { sel.map { Int($0[k]) } ?? k }
        let keep = plan.offset + min(plan.limit ?? (maxRows + 1), maxRows + 1)
        let outputs = try plan.outputs.map { try ev.eval($0) }
        let types = plan.outputs.map(\.type)
        let orderVecs = try plan.order.map { try ev.eval($0.expr) }
        let orderTypes = plan.order.map(\.expr.type)
        var chosen: [Int] = []
        var more = false
        if plan.order.isEmpty {
            chosen = (0..<min(m, keep)).map(row)
            more = m > keep
        } else {
            let desc = plan.order.map(\.descending)
            // true when row a sorts before row b.
            func before(_ a: Int, _ b: Int) -> Bool {
                for k in 0..<orderVecs.count {
                    let c = Ops.sortOrder(orderVecs[k].value(a, orderTypes[k]), orderVecs[k].value(b, orderTypes[k]))
                    if c != 0 { return desc[k] ? c > 0 : c < 0 }
                }
                return a < b
            }
            var heap = BoundedHeap(capacity: keep, before: before)
            for k in 0..<m { heap.offer(row(k)) }
            more = m > keep
            chosen = heap.sorted()
        }
        var rows: [[QueryValue]] = []
        rows.reserveCapacity(chosen.count)
        for r in chosen {
            var values = (0..<outputs.count).map { outputs[$0].value(r, types[$0]) }
            for k in 0..<orderVecs.count { values.append(orderVecs[k].value(r, orderTypes[k])) }
            rows.append(values)
        }
        return (rows, more)
    }
}

/// Keeps the `capacity` rows that sort first, in O(log capacity) per offered row.
struct BoundedHeap {
    let capacity: Int
    let before: (Int, Int) -> Bool
    /// A max-heap by sort order: the root is the row that sorts last among those kept.
    private var items: [Int] = []

    init(capacity: Int, before: @escaping (Int, Int) -> Bool) {
        self.capacity = capacity
        self.before = before
    }

    mutating func offer(_ r: Int) {
        guard capacity > 0 else { return }
        if items.count < capacity {
            items.append(r)
            var c = items.count - 1
            while c > 0 {
                let p = (c - 1) / 2
                guard before(items[p], items[c]) else { break }
                items.swapAt(p, c)
                c = p
            }
        } else if before(r, items[0]) {
            items[0] = r
            var p = 0
            while true {
                let l = 2 * p + 1, rr = l + 1
                var m = p
                if l < items.count, before(items[m], items[l]) { m = l }
                if rr < items.count, before(items[m], items[rr]) { m = rr }
                if m == p { break }
                items.swapAt(p, m)
                p = m
            }
        }
    }

    func sorted() -> [Int] { items.sorted(by: before) }
}
