/// A bounds-checked reader over bytes that someone else keeps alive (a mapped file, an array).
///
/// Reads past the end or malformed varints set a sticky `failed` flag and return zero, so a decoder
/// checks once per record instead of after every field (the Prometheus TSDB decode-buffer pattern).
public struct ByteReader {
    public let base: UnsafeRawBufferPointer
    public var pos: Int
    public private(set) var failed = false

    public init(_ base: UnsafeRawBufferPointer, at pos: Int = 0) {
        self.base = base
        self.pos = pos
    }

    /// Bytes left; 0 once `pos` was moved past the end (callers may set `pos` directly).
    public var remaining: Int { max(0, base.count - pos) }
    public var isAtEnd: Bool { pos >= base.count }

    public mutating func fail() { failed = true; pos = base.count }

    @inline(__always) public mutating func u8() -> UInt8 {
        guard pos < base.count else { fail(); return 0 }
        let v = base[pos]
        pos += 1
        return v
    }

    @inline(__always) public mutating func u16() -> UInt16 {
        guard pos + 2 <= base.count else { fail(); return 0 }
        let v = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt16.self))
        pos += 2
        return v
    }

    @inline(__always) public mutating func u32() -> UInt32 {
        guard pos + 4 <= base.count else { fail(); return 0 }
        let v = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
        pos += 4
        return v
    }

    @inline(__always) public mutating func u64() -> UInt64 {
        guard pos + 8 <= base.count else { fail(); return 0 }
        let v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
        pos += 8
        return v
    }

    @inline(__always) public mutating func i64() -> Int64 { Int64(bitPattern: u64()) }
    @inline(__always) public mutating func f64() -> Double { Double(bitPattern: u64()) }

    @inline(__always) public mutating func varint() -> UInt64 {
        // Fast path for column scans: with 10 bytes left no byte needs a bounds check, and small
        // values (token counts) end at the first byte.
        if base.count - pos >= 10 {
            let p = base.baseAddress! + pos
            let b0 = p.load(as: UInt8.self)
            if b0 < 0x80 { pos += 1; return UInt64(b0) }
            var result = UInt64(b0 & 0x7F)
            var i = 1
            while i < 10 {
                let b = p.load(fromByteOffset: i, as: UInt8.self)
                if i == 9 && b > 1 { break }
                result |= UInt64(b & 0x7F) << UInt64(7 * i)
                i += 1
                if b < 0x80 { pos += i; return result }
            }
            pos += i
            fail()
            return 0
        }
        return varintNearEnd()
    }

    /// The checked decoder, for the last bytes of a buffer.
    @inline(never) mutating func varintNearEnd() -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while pos < base.count {
            let b = base[pos]
            pos += 1
            if shift == 63 && b > 1 { fail(); return 0 }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { fail(); return 0 }
        }
        fail()
        return 0
    }

    /// A varint that must fit a non-negative Int no larger than `limit` (lengths, counts).
    @inline(__always) public mutating func count(limit: Int = Int(Int32.max)) -> Int {
        let v = varint()
        guard v <= UInt64(limit) else { fail(); return 0 }
        return Int(v)
    }

    @inline(__always) public mutating func svarint() -> Int64 {
        let u = varint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// Moves past `n` bytes; failed when fewer remain.
    public mutating func skip(_ n: Int) {
        guard n >= 0, n <= remaining else { fail(); return }
        pos += n
    }

    /// `n` bytes in place; empty and failed when fewer remain.
    public mutating func bytes(_ n: Int) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else { fail(); return UnsafeRawBufferPointer(start: nil, count: 0) }
        let s = UnsafeRawBufferPointer(rebasing: base[pos..<(pos + n)])
        pos += n
        return s
    }

    /// Length-prefixed UTF-8 (invalid sequences are repaired, never trusted).
    public mutating func string() -> String {
        let n = count(limit: remaining)
        let b = bytes(n)
        return String(decoding: b, as: UTF8.self)
    }
}
