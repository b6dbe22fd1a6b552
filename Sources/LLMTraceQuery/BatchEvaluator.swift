import LLMTraceModel
/// Evaluates bound expressions over one batch, a whole column at a time. Columns are read once per
/// batch and shared by every expression that names them. The fast paths (numbers against numbers,
/// dictionary columns against constants) never touch a value per row; everything else falls back to
/// `Ops` row by row, which defines the semantics.
final class BatchEvaluator {
    let batch: ScanBatch
    let n: Int
    private var cache: [ColumnRef: Vec] = [:]
    /// Set once the filter has chosen the rows (`restrict`): columns read after it need only those.
    private var selected: [Int32]?

    init(_ batch: ScanBatch) {
        self.batch = batch
        self.n = batch.rowCount
    }

    /// The query's `attr[...]` columns: the first one read reads them all (`loadAttributes`).
    var attributes: [ColumnRef] = []

    func column(_ c: ColumnRef) throws -> Vec {
        if let v = cache[c] { return v }
        if case .attr = c, attributes.count > 1, attributes.contains(c) {
            let vs = try batch.loadAttributes(attributes, rows: selected)
            for (a, v) in zip(attributes, vs) { cache[a] = v }
            if let v = cache[c] { return v }
        }
        let v = try selected.map { try batch.load(c, rows: $0) } ?? batch.load(c)
        cache[c] = v
        return v
    }

    /// From now on only `rows` are read of columns not read yet (the filter's rows: no later
    /// expression looks at another).
    func restrict(to rows: [Int32]?) { selected = rows }

    /// Rows where the condition is true (nil: every row).
    func selection(_ filter: Bound?) throws -> [Int32]? {
        guard let filter else { return nil }
        let v = try eval(filter)
        if case .const(let c) = v { return Ops.truth(c) == 1 ? nil : [] }
        let b = v.bools(n)
        // Both passes branch-free: a selective filter's true rows are scattered, and a branch per
        // row mispredicted often enough to make this a tenth of a scan.
        // `? 1 : 0` compiled to a branch that a 50% filter mispredicted half the time; the truth
        // bit as arithmetic (`Tri.isTrue`) has none.
        var count = 0
        b.withUnsafeBufferPointer { p in for i in 0..<n { count &+= Int(Tri.isTrue(p[i])) } }
        if count == n { return nil }
        // One spare slot: the last non-matching rows write past the matches.
        let out = [Int32](unsafeUninitializedCapacity: count + 1) { buf, initialized in
            var k = 0
            b.withUnsafeBufferPointer { p in
                let o = buf.baseAddress!
                for i in 0..<n {
                    o[k] = Int32(truncatingIfNeeded: i)
                    k &+= Int(Tri.isTrue(p[i]))
                }
            }
            initialized = k
        }
        return out
    }

    func eval(_ b: Bound) throws -> Vec {
        switch b {
        case .column(let c): return try column(c)
        case .const(let v, _): return .const(v)
        case .agg, .key: throw QueryError("internal: grouped value in a row expression")
        case .match(let k): return .bools(try batch.matchRows(k))
        case .arith(let op, let l, let r, let t):
            return arith(op, try eval(l), try eval(r), t)
        case .negate(let e, let t):
            return arith("-", .const(t == .double ? .double(0) : .int(0)), try eval(e), t)
        case .compare(let op, .column(.span(.start)), .const(let v, _)):
            if let known = startFolded(op, v) { return known }
            return compare(op, try column(.span(.start)), .time, .const(v), .time)
        case .compare(let op, .const(let v, _), .column(.span(.start))):
            if let known = startFolded(Self.flip(op), v) { return known }
            return compare(op, .const(v), .time, try column(.span(.start)), .time)
        case .compare(let op, let l, let r):
            return compare(op, try eval(l), l.type, try eval(r), r.type)
        case .and(let l, let r):
            let lv = try eval(l)
            if case .const(let c) = lv {
                let t = Ops.truth(c)
                if t == 0 { return .const(.bool(false)) }
                if t == 1 { return .bools(try eval(r).bools(n)) }
            }
            let rv = try eval(r)
            if case .const(let c) = rv {
                let t = Ops.truth(c)
                if t == 0 { return .const(.bool(false)) }
                if t == 1 { return .bools(lv.bools(n)) }
            }
            return .bools(Tri.combine(lv.bools(n), rv.bools(n), Tri.and))
        case .or(let l, let r):
            let lv = try eval(l)
            if case .const(let c) = lv {
                let t = Ops.truth(c)
                if t == 1 { return .const(.bool(true)) }
                if t == 0 { return .bools(try eval(r).bools(n)) }
            }
            let rv = try eval(r)
            if case .const(let c) = rv {
                let t = Ops.truth(c)
                if t == 1 { return .const(.bool(true)) }
                if t == 0 { return .bools(lv.bools(n)) }
            }
            return .bools(Tri.combine(lv.bools(n), rv.bools(n), Tri.or))
        case .not(let e):
            return .bools(try eval(e).bools(n).map { Ops.not($0) })
        case .isNull(let e, let neg):
            return .bools(try eval(e).nulls(n).map { $0 != neg ? 1 : 0 })
        case .inList(let e, let list, let neg):
            return try inList(try eval(e), e.type, list, neg)
        case .like(let e, let pattern, let neg):
            let v = try eval(e)
            if case .dict(let codes, let values) = v {
                let table: [UInt8] = [2] + values.map { Ops.like($0, pattern) != neg ? 1 : 0 }
                return .bools(codes.map { table[Int($0)] })
            }
            return generic(.bool) { i in
                guard case .string(let s) = v.value(i, .string) else { return .null }
                return .bool(Ops.like(s, pattern) != neg)
            }
        case .call(let name, let args, let t):
            let vs = try args.map { try eval($0) }
            if name == "bucket", let w = args[1].constant?.asInt {
                let (a, valid) = vs[0].ints(n)
                return .ints(a.map { Ops.bucket($0, w) }, valid)
            }
            if name == "lower" || name == "upper", case .dict(let codes, let values) = vs[0] {
                return .dict(codes, values.map(name == "lower" ? Ops.lowerASCII : Ops.upperASCII))
            }
            let types = args.map(\.type)
            var failure: QueryError? = nil
            let out = generic(t) { i in
                do throws(QueryError) { return try Ops.call(name, (0..<vs.count).map { vs[$0].value(i, types[$0]) }, t) } catch {
                    failure = failure ?? error
                    return .null
                }
            }
            if let failure { throw failure }
            return out
        }
    }

    /// `start op v` decided for every row from the batch's start range, when it can be.
    private func startFolded(_ op: String, _ v: QueryValue) -> Vec? {
        guard let (lo, hi) = batch.startRange, let x = v.asInt, !v.isNull, n > 0 else { return nil }
        if case .double = v { return nil }
        let all: Bool?
        switch op {
        case ">": all = lo > x ? true : hi <= x ? false : nil
        case ">=": all = lo >= x ? true : hi < x ? false : nil
        case "<": all = hi < x ? true : lo >= x ? false : nil
        case "<=": all = hi <= x ? true : lo > x ? false : nil
        case "=": all = (lo == x && hi == x) ? true : (x < lo || x > hi) ? false : nil
        case "!=": all = (x < lo || x > hi) ? true : (lo == x && hi == x) ? false : nil
        default: all = nil
        }
        return all.map { .const(.bool($0)) }
    }

    private func generic(_ t: QueryType, _ f: (Int) -> QueryValue) -> Vec {
        if t == .bool {
            var out = [UInt8](repeating: 0, count: n)
            for i in 0..<n { out[i] = Ops.truth(f(i)) }
            return .bools(out)
        }
        var out: [QueryValue] = []
        out.reserveCapacity(n)
        for i in 0..<n { out.append(f(i)) }
        return .values(out)
    }

    private static func mergeValid(_ a: [Bool]?, _ b: [Bool]?) -> [Bool]? {
        guard let a else { return b }
        guard let b else { return a }
        return zip(a, b).map { $0 && $1 }
    }

    private func arith(_ op: String, _ l: Vec, _ r: Vec, _ t: QueryType) -> Vec {
        if t == .double {
            let (a, va) = l.doubles(n), (b, vb) = r.doubles(n)
            var out = [Double](repeating: 0, count: n)
            var valid = Self.mergeValid(va, vb)
            switch op {
            case "+": for i in 0..<n { out[i] = a[i] + b[i] }
            case "-": for i in 0..<n { out[i] = a[i] - b[i] }
            case "*": for i in 0..<n { out[i] = a[i] * b[i] }
            default:
                var ok = valid ?? [Bool](repeating: true, count: n)
                for i in 0..<n where ok[i] {
                    if let x = Ops.double(op, a[i], b[i]) { out[i] = x } else { ok[i] = false }
                }
                valid = ok
            }
            return .doubles(out, valid)
        }
        let (a, va) = l.ints(n), (b, vb) = r.ints(n)
        var out = [Int64](repeating: 0, count: n)
        var valid = Self.mergeValid(va, vb)
        var overflow: UInt8 = 0
        switch op {
        case "+": for i in 0..<n { let (r, o) = a[i].addingReportingOverflow(b[i]); out[i] = r; overflow |= o ? 1 : 0 }
        case "-": for i in 0..<n { let (r, o) = a[i].subtractingReportingOverflow(b[i]); out[i] = r; overflow |= o ? 1 : 0 }
        case "*": for i in 0..<n { let (r, o) = a[i].multipliedReportingOverflow(by: b[i]); out[i] = r; overflow |= o ? 1 : 0 }
        default:
            var ok = valid ?? [Bool](repeating: true, count: n)
            for i in 0..<n where ok[i] {
                if let x = Ops.int(op, a[i], b[i]) { out[i] = x } else { ok[i] = false }
            }
            valid = ok
        }
        if overflow != 0 && t != .time {
            // Rare: some row overflowed, and SQLite makes that row's result a real. Row by row.
            return .values((0..<n).map { i in
                if let valid, !valid[i] { return .null }
                return Ops.overflowed(op, a[i], b[i]).map { .double($0) } ?? .int(out[i])
            })
        }
        return .ints(out, valid)
    }

    private static func flip(_ op: String) -> String {
        switch op {
        case "<": return ">"
        case "<=": return ">="
        case ">": return "<"
        case ">=": return "<="
        default: return op
        }
    }

    private func compare(_ op: String, _ l: Vec, _ lt: QueryType, _ r: Vec, _ rt: QueryType) -> Vec {
        if lt == .string || rt == .string {
            if case .dict(let codes, let values) = l, case .const(let c) = r { return dictCompare(op, codes, values, c) }
            if case .const(let c) = l, case .dict(let codes, let values) = r { return dictCompare(Self.flip(op), codes, values, c) }
            return generic(.bool) { i in Ops.bool(Ops.compare(op, l.value(i, lt), r.value(i, rt))) }
        }
        if lt == .null || rt == .null { return .const(.null) }
        var out = [UInt8](repeating: 0, count: n)
        if lt == .double || rt == .double {
            let (a, va) = l.doubles(n)
            if case .const(let c) = r, let y = c.asDouble {
                Self.compareLoop(op, a, y, &out)
            } else {
                let (b, vb) = r.doubles(n)
                Self.compareLoop(op, a, b, &out)
                if let vb { for i in 0..<n where !vb[i] { out[i] = 2 } }
            }
            if let va { for i in 0..<n where !va[i] { out[i] = 2 } }
        } else {
            let (a, va) = l.ints(n)
            if case .const(let c) = r, let y = c.asInt {
                Self.compareLoop(op, a, y, &out)
            } else {
                let (b, vb) = r.ints(n)
                Self.compareLoop(op, a, b, &out)
                if let vb { for i in 0..<n where !vb[i] { out[i] = 2 } }
            }
            if let va { for i in 0..<n where !va[i] { out[i] = 2 } }
        }
        return .bools(out)
    }

    private static func compareLoop<T: Comparable>(_ op: String, _ a: [T], _ y: T, _ out: inout [UInt8]) {
        let n = a.count
        a.withUnsafeBufferPointer { a in
            out.withUnsafeMutableBufferPointer { o in
                switch op {
                case "=": for i in 0..<n { o[i] = a[i] == y ? 1 : 0 }
                case "!=": for i in 0..<n { o[i] = a[i] != y ? 1 : 0 }
                case "<": for i in 0..<n { o[i] = a[i] < y ? 1 : 0 }
                case "<=": for i in 0..<n { o[i] = a[i] <= y ? 1 : 0 }
                case ">": for i in 0..<n { o[i] = a[i] > y ? 1 : 0 }
                default: for i in 0..<n { o[i] = a[i] >= y ? 1 : 0 }
                }
            }
        }
    }

    private static func compareLoop<T: Comparable>(_ op: String, _ a: [T], _ b: [T], _ out: inout [UInt8]) {
        let n = a.count
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { o in
                    switch op {
                    case "=": for i in 0..<n { o[i] = a[i] == b[i] ? 1 : 0 }
                    case "!=": for i in 0..<n { o[i] = a[i] != b[i] ? 1 : 0 }
                    case "<": for i in 0..<n { o[i] = a[i] < b[i] ? 1 : 0 }
                    case "<=": for i in 0..<n { o[i] = a[i] <= b[i] ? 1 : 0 }
                    case ">": for i in 0..<n { o[i] = a[i] > b[i] ? 1 : 0 }
                    default: for i in 0..<n { o[i] = a[i] >= b[i] ? 1 : 0 }
                    }
                }
            }
        }
    }

    private func dictCompare(_ op: String, _ codes: [UInt32], _ values: [String], _ c: QueryValue) -> Vec {
        guard case .string(let s) = c else { return .const(.null) }
        var table: [UInt8] = [2]
        table.reserveCapacity(values.count + 1)
        for v in values { table.append(Ops.test(op, Ops.compareStrings(v, s)) ? 1 : 0) }
        return .bools(Self.lookup(codes, table))
    }

    static func lookup(_ codes: [UInt32], _ table: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: codes.count)
        codes.withUnsafeBufferPointer { c in
            table.withUnsafeBufferPointer { t in
                out.withUnsafeMutableBufferPointer { o in
                    for i in 0..<c.count { o[i] = t[Int(c[i])] }
                }
            }
        }
        return out
    }

    private func inList(_ v: Vec, _ t: QueryType, _ list: [QueryValue], _ neg: Bool) throws -> Vec {
        let hasNull = list.contains(where: \.isNull)
        if !hasNull, case .dict(let codes, let values) = v {
            var set = Set<ExactString>()
            for x in list { if case .string(let s) = x { set.insert(ExactString(s)) } }
            let table: [UInt8] = [2] + values.map { set.contains(ExactString($0)) != neg ? 1 : 0 }
            return .bools(Self.lookup(codes, table))
        }
        if !hasNull, case .ints(let a, let valid) = v, list.allSatisfy({ if case .double = $0 { return false }; return $0.asInt != nil }) {
            let set = Set(list.compactMap(\.asInt))
            var out = [UInt8](repeating: 0, count: n)
            for i in 0..<n { out[i] = (valid?[i] ?? true) ? (set.contains(a[i]) != neg ? 1 : 0) : 2 }
            return .bools(out)
        }
        return generic(.bool) { i in Ops.bool(Ops.inList(v.value(i, t), list, negated: neg)) }
    }
}
