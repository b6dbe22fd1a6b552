/// The interner's hash: fast, in-process only, never stored (the full-text index keys on the
/// stable `TextHash`, which must not change; this one may, with any release).
///
/// Follows the structure of wyhash (public-domain algorithm by Wang Yi): each 64×64→128-bit
/// multiply folds 16 input bytes, and texts over 48 bytes run three independent lanes, so the
/// multiplies overlap in the CPU instead of waiting on each other as `TextHash`'s single 8-byte
/// chain does (measured with `llmtrace-bench codec`: hashing was the largest item of WAL
/// encoding). Quality only decides how often two texts share a hash; the interner compares bytes
/// before it calls two texts equal.
enum InternHash {
    private static let s0: UInt64 = 0xa076_1d64_78bd_642f
    private static let s1: UInt64 = 0xe703_7ed1_a0b4_28db
    private static let s2: UInt64 = 0x8ebc_6af0_9c88_c6e3
    private static let s3: UInt64 = 0x5899_65cc_7537_4cc3

    @inline(__always)
    private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let m = a.multipliedFullWidth(by: b)
        return m.high ^ m.low
    }

    @inline(__always)
    private static func r8(_ p: UnsafeRawPointer) -> UInt64 { UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) }
    @inline(__always)
    private static func r4(_ p: UnsafeRawPointer) -> UInt64 { UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))) }

    @inline(__always)
    static func hash(_ b: UnsafeRawBufferPointer) -> UInt64 {
        let n = b.count
        var seed = s0 ^ UInt64(truncatingIfNeeded: n) &* s3
        var a: UInt64 = 0, c: UInt64 = 0
        if let p = b.baseAddress, n > 0 {
            if n <= 16 {
                if n >= 4 {
                    // Two overlapping 4-byte reads from each end cover every byte of 4...16.
                    let off = (n >> 3) << 2
                    a = (r4(p) << 32) | r4(p + off)
                    c = (r4(p + n - 4) << 32) | r4(p + n - 4 - off)
                } else {
                    a = (UInt64(b[0]) << 16) | (UInt64(b[n >> 1]) << 8) | UInt64(b[n - 1])
                }
            } else {
                var q = p
                var i = n
                if i > 48 {
                    var l1 = seed, l2 = seed
                    repeat {
                        seed = mix(r8(q) ^ s1, r8(q + 8) ^ seed)
                        l1 = mix(r8(q + 16) ^ s2, r8(q + 24) ^ l1)
                        l2 = mix(r8(q + 32) ^ s3, r8(q + 40) ^ l2)
                        q += 48
                        i -= 48
                    } while i > 48
                    seed ^= l1 ^ l2
                }
                while i > 16 {
                    seed = mix(r8(q) ^ s1, r8(q + 8) ^ seed)
                    q += 16
                    i -= 16
                }
                // The last 16 bytes (overlapping what came before when fewer remain).
                a = r8(q + i - 16)
                c = r8(q + i - 8)
            }
        }
        let m = (a ^ s1).multipliedFullWidth(by: c ^ seed)
        return mix(m.low ^ s0 ^ UInt64(truncatingIfNeeded: n), m.high ^ s1)
    }
}
