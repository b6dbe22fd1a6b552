/// A stable 64-bit hash of text (not Swift's per-process seeded `Hasher`): the key of the full-text
/// index, so it must not change between runs or versions. Processes 8 bytes a step with a
/// multiply-xorshift mix (wyhash-style constants); collisions only cost a spurious search candidate,
/// which the query re-checks against the stored text.
public enum TextHash {
    public static func hash(_ s: String) -> Int64 {
        // In place when the bytes are contiguous (always, for native strings): no copy to retain.
        if let h = s.utf8.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) { return h }
        var s = s
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    public static func hash(_ b: UnsafeRawBufferPointer) -> Int64 {
        let k0: UInt64 = 0xa076_1d64_78bd_642f
        let k1: UInt64 = 0xe703_7ed1_a0b4_28db
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(b.count)
        var i = 0
        let n = b.count
        while i + 8 <= n {
            let w = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            h = mix(h ^ w, k0)
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(b[i]) << shift
            shift += 8
            i += 1
        }
        h = mix(h ^ tail, k1)
        h ^= h >> 29
        return Int64(bitPattern: h)
    }

    @inline(__always)
    private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let m = a.multipliedFullWidth(by: b)
        return m.high ^ m.low
    }
}
