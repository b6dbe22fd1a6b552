/// A column of values for every row of a batch (a segment or the head), in the cheapest form that
/// holds it: dictionary codes for strings, plain arrays for numbers, 0/1/2 bytes for conditions.
/// Operations run one whole column at a time; nothing is allocated per row.
enum Vec {
    /// The same value on every row.
    case const(QueryValue)
    /// Integers or times, with validity (nil when no row is NULL).
    case ints([Int64], [Bool]?)
    case doubles([Double], [Bool]?)
    /// Code 0 is NULL, code k is values[k-1].
    case dict([UInt32], [String])
    /// 0 false, 1 true, 2 NULL.
    case bools([UInt8])
    /// Anything else, one value per row (the slow path, for rare shapes).
    case values([QueryValue])

    @inline(__always)
    func value(_ i: Int, _ t: QueryType) -> QueryValue {
        switch self {
        case .const(let v): return v
        case .ints(let a, let valid):
            if let valid, !valid[i] { return .null }
            switch t {
            case .time: return .time(a[i])
            case .double: return .double(Double(a[i]))
            case .bool: return .bool(a[i] != 0)
            default: return .int(a[i])
            }
        case .doubles(let a, let valid):
            if let valid, !valid[i] { return .null }
            return .double(a[i])
        case .dict(let codes, let values):
            let c = codes[i]
            return c == 0 ? .null : .string(values[Int(c) - 1])
        case .bools(let b):
            return b[i] == 2 ? .null : .bool(b[i] == 1)
        case .values(let v): return v[i]
        }
    }

    /// As integers (times, bools and doubles converted) with validity.
    func ints(_ n: Int) -> ([Int64], [Bool]?) {
        switch self {
        case .ints(let a, let v): return (a, v)
        case .const(let c):
            if c.isNull { return ([Int64](repeating: 0, count: n), [Bool](repeating: false, count: n)) }
            return ([Int64](repeating: c.asInt ?? 0, count: n), nil)
        case .doubles(let a, let v): return (a.map { $0.isFinite && $0.magnitude < 9.2e18 ? Int64($0) : 0 }, v)
        case .bools(let b):
            let hasNull = b.contains(2)
            return (b.map { $0 == 1 ? 1 : 0 }, hasNull ? b.map { $0 != 2 } : nil)
        default:
            var out = [Int64](repeating: 0, count: n)
            var valid = [Bool](repeating: true, count: n)
            for i in 0..<n {
                let v = value(i, .int)
                if let x = v.asInt, !v.isNull { out[i] = x } else { valid[i] = false }
            }
            return (out, valid)
        }
    }

    func doubles(_ n: Int) -> ([Double], [Bool]?) {
        switch self {
        case .doubles(let a, let v): return (a, v)
        case .ints(let a, let v): return (a.map { Double($0) }, v)
        case .const(let c):
            if c.isNull { return ([Double](repeating: 0, count: n), [Bool](repeating: false, count: n)) }
            return ([Double](repeating: c.asDouble ?? 0, count: n), nil)
        case .bools(let b):
            let hasNull = b.contains(2)
            return (b.map { $0 == 1 ? 1 : 0 }, hasNull ? b.map { $0 != 2 } : nil)
        default:
            var out = [Double](repeating: 0, count: n)
            var valid = [Bool](repeating: true, count: n)
            for i in 0..<n {
                let v = value(i, .double)
                if let x = v.asDouble, !v.isNull { out[i] = x } else { valid[i] = false }
            }
            return (out, valid)
        }
    }

    /// As three-valued conditions.
    func bools(_ n: Int) -> [UInt8] {
        switch self {
        case .bools(let b): return b
        case .const(let c): return [UInt8](repeating: Ops.truth(c), count: n)
        case .ints(let a, let v):
            var out = [UInt8](repeating: 0, count: n)
            for i in 0..<n { out[i] = (v?[i] ?? true) ? (a[i] != 0 ? 1 : 0) : 2 }
            return out
        default:
            var out = [UInt8](repeating: 0, count: n)
            for i in 0..<n { out[i] = Ops.truth(value(i, .double)) }
            return out
        }
    }

    /// Null flags: true where the row is NULL.
    func nulls(_ n: Int) -> [Bool] {
        switch self {
        case .const(let c): return [Bool](repeating: c.isNull, count: n)
        case .ints(_, let v), .doubles(_, let v): return v.map { $0.map { !$0 } } ?? [Bool](repeating: false, count: n)
        case .dict(let codes, _): return codes.map { $0 == 0 }
        case .bools(let b): return b.map { $0 == 2 }
        case .values(let v): return v.map(\.isNull)
        }
    }
}
