import CLinux

/// One `KeySet` shard's older keys, packed: the 56 bits of each mixed key below the shard's, sorted
/// and cut into 2^b buckets by their top b bits (b ≥ 8, about 8-16 keys a bucket). A bucket's keys
/// are stored as their remaining 56 - b ≤ 48 bits, 6 bytes each, one after another in key order;
/// `offsets[i]` is the index of bucket i's first key (2^b + 1 entries). Nothing is lost: the
/// bucket and the shard give back the bits not stored.
///
/// A lookup reads one offset pair and scans its bucket with unaligned 8-byte loads (masked to 48
/// bits; two bytes of padding after the last key keep the load inside the buffer), stopping at the
/// first larger key. Adding keys is a merge into a new packing (`merge`); removing one (a batch
/// whose WAL write failed) packs again without it. Both are the rare paths.
struct PackedKeys {
    /// The bits a packed value has: the mixed key below its shard's 8.
    static let valueBits = 56
    static let valueMask: UInt64 = (1 << 56) - 1
    private static let stride = 6
    private static let remainderMask: UInt64 = (1 << 48) - 1

    private(set) var count = 0
    private var bucketBits = 8
    private var offsets: [UInt32] = []
    private var bytes6: [UInt8] = []

    /// Bytes held: the packed keys and the offsets.
    var bytes: Int { bytes6.capacity + offsets.capacity * 4 }

    /// Asks for the cache line of `v`'s bucket offsets (`KeySet.prefetch`, first stage).
    @inline(__always) func prefetchOffsets(_ v: UInt64) {
        guard count > 0 else { return }
        let b = Int(truncatingIfNeeded: v >> UInt64(Self.valueBits - bucketBits))
        offsets.withUnsafeBufferPointer { clinux_prefetch($0.baseAddress! + b) }
    }

    /// Asks for the cache line where `v`'s bucket starts (second stage: reads the offsets the
    /// first stage asked for).
    @inline(__always) func prefetchBucket(_ v: UInt64) {
        guard count > 0 else { return }
        let b = Int(truncatingIfNeeded: v >> UInt64(Self.valueBits - bucketBits))
        let i = offsets.withUnsafeBufferPointer { Int($0[b]) }
        bytes6.withUnsafeBytes { clinux_prefetch($0.baseAddress! + i &* Self.stride) }
    }

    func contains(_ v: UInt64) -> Bool {
        guard count > 0 else { return false }
        let shift = UInt64(Self.valueBits - bucketBits)
        let b = Int(truncatingIfNeeded: v >> shift)
        let r = v & ((1 << shift) - 1)
        return offsets.withUnsafeBufferPointer { o in
            bytes6.withUnsafeBytes { p in
                var i = Int(o[b])
                let end = Int(o[b + 1])
                while i < end {
                    let x = p.loadUnaligned(fromByteOffset: i &* Self.stride, as: UInt64.self) & Self.remainderMask
                    if x >= r { return x == r }
                    i &+= 1
                }
                return false
            }
        }
    }

    /// Every value, in order.
    func values() -> [UInt64] {
        var out = [UInt64]()
        out.reserveCapacity(count)
        guard count > 0 else { return out }
        let shift = UInt64(Self.valueBits - bucketBits)
        offsets.withUnsafeBufferPointer { o in
            bytes6.withUnsafeBytes { p in
                for b in 0..<(o.count - 1) {
                    let high = UInt64(b) << shift
                    for i in Int(o[b])..<Int(o[b + 1]) {
                        out.append(high | p.loadUnaligned(fromByteOffset: i * Self.stride, as: UInt64.self) & Self.remainderMask)
                    }
                }
            }
        }
        return out
    }

    /// Adds `new` (sorted, none already held). While the bucket count stays (it follows the key
    /// count's power of two), the old keys' bytes are copied whole between the new keys' places
    /// and each bucket offset moves by the new keys before it; otherwise the packing is rebuilt
    /// around the merged values. (Decoding, merging and packing every key again was a third of
    /// the set's time at full ingest: a merge moves ~16 old keys per new one.)
    mutating func merge(sorted new: [UInt64]) {
        guard !new.isEmpty else { return }
        guard count > 0, Self.bucketBits(forCount: count + new.count) == bucketBits else {
            let old = values()
            var all = [UInt64]()
            all.reserveCapacity(old.count + new.count)
            var i = 0, j = 0
            while i < old.count && j < new.count {
                if old[i] <= new[j] { all.append(old[i]); i += 1 } else { all.append(new[j]); j += 1 }
            }
            all.append(contentsOf: old[i...])
            all.append(contentsOf: new[j...])
            self = PackedKeys(sorted: all)
            return
        }
        let shift = UInt64(Self.valueBits - bucketBits)
        let low: UInt64 = (1 << shift) - 1
        let total = count + new.count
        var out = [UInt8](repeating: 0, count: total * Self.stride + 2)
        offsets.withUnsafeMutableBufferPointer { o in
            bytes6.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    var copied = 0   // old keys copied so far
                    var added = 0    // new keys written so far
                    var bucket = 0   // offsets before this bucket are moved already
                    for v in new {
                        let b = Int(truncatingIfNeeded: v >> shift)
                        while bucket <= b { o[bucket] &+= UInt32(added); bucket += 1 }
                        let r = v & low
                        // Its place among its bucket's old keys (sorted, 8-16 of them).
                        var at = max(copied, Int(o[b]) - added)
                        let end = Int(o[b + 1])
                        while at < end, src.loadUnaligned(fromByteOffset: at &* Self.stride, as: UInt64.self) & Self.remainderMask < r { at += 1 }
                        if at > copied {
                            (dst.baseAddress! + (copied + added) * Self.stride).copyMemory(from: src.baseAddress! + copied * Self.stride, byteCount: (at - copied) * Self.stride)
                            copied = at
                        }
                        var le = r.littleEndian
                        withUnsafeBytes(of: &le) { (dst.baseAddress! + (copied + added) * Self.stride).copyMemory(from: $0.baseAddress!, byteCount: Self.stride) }
                        added += 1
                    }
                    while bucket < o.count { o[bucket] &+= UInt32(added); bucket += 1 }
                    if copied < count {
                        (dst.baseAddress! + (copied + added) * Self.stride).copyMemory(from: src.baseAddress! + copied * Self.stride, byteCount: (count - copied) * Self.stride)
                    }
                }
            }
        }
        bytes6 = out
        count = total
    }

    /// Removes `v`; false when it was not there.
    mutating func remove(_ v: UInt64) -> Bool {
        guard contains(v) else { return false }
        var all = values()
        if let i = all.firstIndex(of: v) { all.remove(at: i) }
        self = PackedKeys(sorted: all)
        return true
    }

    init() {}

    /// 2^b ≥ count / 16, b ≥ 8: 8-16 keys a bucket on average, 0.25-0.5 bytes of offsets a key.
    static func bucketBits(forCount count: Int) -> Int {
        max(8, Int.bitWidth - (max(1, count / 16) - 1).leadingZeroBitCount)
    }

    /// Packs `values` (sorted, each below 2^56).
    init(sorted values: [UInt64]) {
        count = values.count
        guard count > 0 else { return }
        bucketBits = Self.bucketBits(forCount: count)
        let shift = UInt64(Self.valueBits - bucketBits)
        let low: UInt64 = (1 << shift) - 1
        let bucketCount = 1 << bucketBits
        offsets = [UInt32](repeating: 0, count: bucketCount + 1)
        bytes6 = [UInt8](repeating: 0, count: count * Self.stride + 2)
        offsets.withUnsafeMutableBufferPointer { o in
            bytes6.withUnsafeMutableBytes { p in
                var b = 0
                for (i, v) in values.enumerated() {
                    let vb = Int(truncatingIfNeeded: v >> shift)
                    while b < vb { b += 1; o[b] = UInt32(i) }
                    var r = (v & low).littleEndian
                    withUnsafeBytes(of: &r) { p.baseAddress!.advanced(by: i * Self.stride).copyMemory(from: $0.baseAddress!, byteCount: Self.stride) }
                }
                while b < bucketCount { b += 1; o[b] = UInt32(count) }
            }
        }
    }
}
