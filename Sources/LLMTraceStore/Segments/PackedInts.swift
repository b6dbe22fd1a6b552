/// Frame-of-reference bit packing for a block of integers (segment encodings 9 `packed` and 10
/// `nullablePacked`; FORMAT.md, "Segments"):
///
///     i64 base · u8 width (0…56, or 64) · ⌈count × width / 8⌉ bytes · 8 zero bytes
///
/// Row k's stored value is the `width` bits starting at bit k × width (least significant bit
/// first). `packed`: the row is base + stored. `nullablePacked`: stored 0 is null, else the row
/// is base + stored − 1. A width up to 56 bits is read with one unaligned 8-byte load and a
/// shift (the 8 trailing zero bytes make that load safe for the last row); wider ranges are
/// stored 64 bits a row (a nullable block then stores v − base, followed by a validity bitmap of
/// ⌈count / 8⌉ bytes, bit k set for a non-null row k). Any row decodes alone, so reading selected rows costs only those rows,
/// and a scan decodes without a branch per row (varints branched on every byte).
enum PackedInts {
    static let headerSize = 9
    static let padding = 8
    static let maxNarrowWidth = 56

    /// Bytes of a block of `count` rows at `width` bits, header and padding included.
    static func blockSize(count: Int, width: Int, nullable: Bool = false) -> Int {
        headerSize + (count * width + 7) / 8 + (nullable && width == 64 ? (count + 7) / 8 : 0) + padding
    }

    /// Appends one block of `values` (`nullable`: nil is null).
    static func encode(_ values: UnsafeBufferPointer<Int64>, valid: UnsafeBufferPointer<Bool>?, into w: inout ByteWriter) {
        var lo = Int64.max, hi = Int64.min
        for i in values.indices where valid?[i] ?? true {
            lo = min(lo, values[i])
            hi = max(hi, values[i])
        }
        let base: Int64 = lo <= hi ? lo : 0
        let span: UInt64 = lo <= hi ? UInt64(bitPattern: hi &- base) : 0
        // The largest stored value: hi − base (+1 for nullable); all-null blocks store only zeros.
        let top: UInt64 = lo <= hi ? span &+ (valid == nil ? 0 : 1) : 0
        var width = top == 0 ? 0 : 64 - top.leadingZeroBitCount
        if span >= UInt64(1) << UInt64(maxNarrowWidth) || width > maxNarrowWidth { width = 64 }
        // 64 bits a row leave no value free for null: the offsets as they are, then a bitmap.
        let offset: UInt64 = valid == nil || width == 64 ? 0 : 1
        w.i64(base)
        w.u8(UInt8(width))
        var acc: UInt64 = 0
        var bits = 0
        for i in values.indices {
            var u: UInt64 = 0
            if valid?[i] ?? true { u = UInt64(bitPattern: values[i] &- base) &+ offset }
            if width == 64 { w.u64(u); continue }
            if width == 0 { continue }
            acc |= u << UInt64(bits)
            bits += width
            if bits >= 64 {
                w.u64(acc)
                bits -= 64
                acc = bits == 0 ? 0 : u >> UInt64(width - bits)
            }
        }
        var tail = (bits + 7) / 8
        while tail > 0 { w.u8(UInt8(truncatingIfNeeded: acc)); acc >>= 8; tail -= 1 }
        if let valid, width == 64 {
            for byte in stride(from: 0, to: values.count, by: 8) {
                var b: UInt8 = 0
                for k in byte..<min(values.count, byte + 8) where valid[k] { b |= 1 << UInt8(k - byte) }
                w.u8(b)
            }
        }
        for _ in 0..<padding { w.u8(0) }
    }

    /// A block's header, checked against its length; nil when the block is malformed.
    static func header(_ block: UnsafeRawBufferPointer, count: Int, nullable: Bool) -> (base: Int64, width: Int)? {
        guard block.count >= headerSize else { return nil }
        let base = Int64(littleEndian: block.loadUnaligned(fromByteOffset: 0, as: Int64.self))
        let width = Int(block.load(fromByteOffset: 8, as: UInt8.self))
        guard width <= maxNarrowWidth || width == 64, block.count == blockSize(count: count, width: width, nullable: nullable) else { return nil }
        return (base, width)
    }

    /// Decodes `count` rows into `out` (`valid` non-nil: nullable, null rows read as 0; returns
    /// the number of nulls).
    /// The block must have passed `header`.
    @inline(__always)
    static func decode(_ block: UnsafeRawBufferPointer, count: Int, base: Int64, width: Int,
                       into out: UnsafeMutablePointer<Int64>, valid: UnsafeMutablePointer<Bool>?) -> Int {
        let p = block.baseAddress! + headerSize
        if let valid, width == 64 {
            var nulls = 0
            let bitmap = p + 8 * count
            for k in 0..<count {
                let ok = (bitmap.load(fromByteOffset: k >> 3, as: UInt8.self) >> UInt8(k & 7)) & 1 == 1
                nulls &+= ok ? 0 : 1
                valid[k] = ok
                out[k] = ok ? base &+ Int64(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self))) : 0
            }
            return nulls
        }
        if let valid {
            var nulls = 0
            let mask: UInt64 = (1 << UInt64(width)) &- 1
            for k in 0..<count {
                let u = load(p, bit: k &* width) & mask
                let isNull = u == 0
                nulls &+= isNull ? 1 : 0
                valid[k] = !isNull
                // Null rows read as 0 (callers add columns without looking at validity).
                out[k] = (base &+ Int64(bitPattern: u &- 1)) & (isNull ? 0 : -1)
            }
            return nulls
        }
        switch width {
        case 0:
            for k in 0..<count { out[k] = base }
        case 64:
            for k in 0..<count { out[k] = base &+ Int64(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self))) }
        default:
            let mask: UInt64 = (1 << UInt64(width)) &- 1
            var bit = 0
            for k in 0..<count {
                out[k] = base &+ Int64(bitPattern: load(p, bit: bit) & mask)
                bit &+= width
            }
        }
        return 0
    }

    /// Row k alone (nil: null, for a nullable block). The block must have passed `header`.
    @inline(__always)
    static func value(_ block: UnsafeRawBufferPointer, row k: Int, count: Int, base: Int64, width: Int, nullable: Bool) -> Int64? {
        let p = block.baseAddress! + headerSize
        let u: UInt64
        switch width {
        case 0: u = 0
        case 64:
            u = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self))
            if nullable {
                let ok = (p.load(fromByteOffset: 8 * count + (k >> 3), as: UInt8.self) >> UInt8(k & 7)) & 1 == 1
                return ok ? base &+ Int64(bitPattern: u) : nil
            }
        default: u = load(p, bit: k &* width) & ((1 << UInt64(width)) &- 1)
        }
        if nullable { return u == 0 ? nil : base &+ Int64(bitPattern: u &- 1) }
        return base &+ Int64(bitPattern: u)
    }

    @inline(__always) private static func load(_ p: UnsafeRawPointer, bit: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: bit >> 3, as: UInt64.self)) >> UInt64(bit & 7)
    }
}
