/// Appends little-endian integers, LEB128 varints and raw bytes to a growable buffer.
///
/// Hot path: every WAL record and segment column is written through here.
public struct ByteWriter {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    @inline(__always) public mutating func u8(_ v: UInt8) { bytes.append(v) }

    @inline(__always) public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    @inline(__always) public mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always) public mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always) public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    @inline(__always) public mutating func f64(_ v: Double) { u64(v.bitPattern) }

    /// Unsigned LEB128: 7 bits a byte, low group first.
    @inline(__always) public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inline(__always) public mutating func varint(_ v: Int) { varint(UInt64(v)) }

    /// Zigzag then LEB128, so small negative deltas stay small.
    @inline(__always) public mutating func svarint(_ v: Int64) {
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    @inline(__always) public mutating func raw(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }
    @inline(__always) public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// Length-prefixed UTF-8.
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { u in
            varint(u.count)
            bytes.append(contentsOf: u)
        }
    }

    /// Overwrites 4 bytes at `offset` (for lengths and CRCs written after their payload).
    public mutating func patchU32(_ v: UInt32, at offset: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt32.self) }
    }
}
