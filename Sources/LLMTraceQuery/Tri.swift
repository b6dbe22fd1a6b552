/// Three-valued truth as the evaluator's bool vectors hold it (0 false, 1 true, 2 NULL), combined
/// with arithmetic instead of branches: over a filter that holds for about half the rows, a
/// branch per row mispredicted every other row. `Ops.and`/`Ops.or` define the same logic one
/// value at a time; `TriTests` checks every pair against them.
enum Tri {
    /// 1 when `t` is true, else 0 (false and NULL alike).
    @inline(__always) static func isTrue(_ t: UInt8) -> UInt8 { t & ~(t >> 1) & 1 }

    /// SQL AND: false if either is false, else NULL if either is NULL, else true.
    @inline(__always) static func and(_ a: UInt8, _ b: UInt8) -> UInt8 {
        let notFalse = ((a | a >> 1) & (b | b >> 1)) & 1
        let null = ((a | b) >> 1) & 1
        return notFalse &* (1 &+ null)
    }

    /// SQL OR: true if either is true, else NULL if either is NULL, else false.
    @inline(__always) static func or(_ a: UInt8, _ b: UInt8) -> UInt8 {
        let t = isTrue(a) | isTrue(b)
        let null = ((a | b) >> 1) & 1
        return t | ((null & ~t & 1) << 1)
    }

    @inline(__always) static func combine(_ a: [UInt8], _ b: [UInt8], _ f: (UInt8, UInt8) -> UInt8) -> [UInt8] {
        let n = min(a.count, b.count)
        return [UInt8](unsafeUninitializedCapacity: n) { out, initialized in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    for i in 0..<n { out[i] = f(a[i], b[i]) }
                }
            }
            initialized = n
        }
    }
}
