/// A protobuf wire-format reader over a byte buffer: varints, fixed 32/64, length-delimited fields.
/// It never allocates; strings and nested messages are returned as sub-buffers. Every read is bounds
/// checked and malformed input throws (a truncated varint, a length past the end, a bad wire type).
struct ProtoReader {
    let base: UnsafeRawBufferPointer
    private(set) var pos: Int
    let end: Int

    init(_ b: UnsafeRawBufferPointer) {
        base = b
        pos = 0
        end = b.count
    }

    init(_ b: UnsafeRawBufferPointer, range: Range<Int>) {
        base = b
        pos = range.lowerBound
        end = range.upperBound
    }

    var isAtEnd: Bool { pos >= end }

    /// The next field's number and wire type, or nil at the end.
    mutating func nextTag() throws(OTLPDecodeError) -> (field: Int, wire: Int)? {
        if pos >= end { return nil }
        let t = try varint()
        let field = Int(t >> 3)
        guard field > 0 else { throw OTLPDecodeError("invalid field number 0 at byte \(pos)") }
        return (field, Int(t & 7))
    }

    mutating func varint() throws(OTLPDecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < end else { throw OTLPDecodeError("truncated varint at byte \(pos)") }
            let b = base[pos]
            pos += 1
            if shift == 63 && b > 1 { throw OTLPDecodeError("varint overflow at byte \(pos)") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw OTLPDecodeError("varint overflow at byte \(pos)") }
        }
    }

    mutating func fixed64() throws(OTLPDecodeError) -> UInt64 {
        guard end - pos >= 8 else { throw OTLPDecodeError("truncated fixed64 at byte \(pos)") }
        let v = base.loadUnaligned(fromByteOffset: pos, as: UInt64.self)
        pos += 8
        return UInt64(littleEndian: v)
    }

    mutating func fixed32() throws(OTLPDecodeError) -> UInt32 {
        guard end - pos >= 4 else { throw OTLPDecodeError("truncated fixed32 at byte \(pos)") }
        let v = base.loadUnaligned(fromByteOffset: pos, as: UInt32.self)
        pos += 4
        return UInt32(littleEndian: v)
    }

    /// A length-delimited field's byte range.
    mutating func lengthDelimited() throws(OTLPDecodeError) -> Range<Int> {
        let n = try varint()
        guard n <= UInt64(end - pos) else { throw OTLPDecodeError("length \(n) at byte \(pos) runs past the end of its message") }
        let r = pos..<(pos + Int(n))
        pos += Int(n)
        return r
    }

    mutating func string() throws(OTLPDecodeError) -> String {
        let r = try lengthDelimited()
        return String(decoding: UnsafeRawBufferPointer(rebasing: base[r]), as: UTF8.self)
    }

    mutating func bytes() throws(OTLPDecodeError) -> UnsafeRawBufferPointer {
        let r = try lengthDelimited()
        return UnsafeRawBufferPointer(rebasing: base[r])
    }

    /// A nested message reader over a length-delimited field.
    mutating func message() throws(OTLPDecodeError) -> ProtoReader {
        ProtoReader(base, range: try lengthDelimited())
    }

    mutating func skip(wire: Int) throws(OTLPDecodeError) {
        switch wire {
        case 0: _ = try varint()
        case 1: _ = try fixed64()
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw OTLPDecodeError("unsupported wire type \(wire) at byte \(pos)")
        }
    }

    /// Checks that the wire type is what the schema says for a field.
    func expect(_ wire: Int, _ want: Int, _ what: StaticString) throws(OTLPDecodeError) {
        if wire != want { throw OTLPDecodeError("\(what): wrong wire type \(wire) at byte \(pos)") }
    }
}

/// A malformed OTLP payload (the whole request is refused with 400).
public struct OTLPDecodeError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// A protobuf writer (for responses, and for the benchmark's and tests' OTLP client side).
public struct ProtoWriter {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func tag(_ field: Int, _ wire: Int) { varint(UInt64(field << 3 | wire)) }

    public mutating func varintField(_ field: Int, _ v: UInt64) {
        tag(field, 0)
        varint(v)
    }

    public mutating func fixed64Field(_ field: Int, _ v: UInt64) {
        tag(field, 1)
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func doubleField(_ field: Int, _ v: Double) { fixed64Field(field, v.bitPattern) }

    public mutating func bytesField(_ field: Int, _ b: some Collection<UInt8>) {
        tag(field, 2)
        varint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    public mutating func stringField(_ field: Int, _ s: String) { bytesField(field, s.utf8) }

    /// A span id (8 bytes) or, with `lo`, a trace id (16), big-endian as OTLP carries them.
    public mutating func idField(_ field: Int, _ hi: UInt64, _ lo: UInt64? = nil) {
        tag(field, 2)
        bytes.append(lo == nil ? 8 : 16)
        withUnsafeBytes(of: hi.bigEndian) { bytes.append(contentsOf: $0) }
        if let lo { withUnsafeBytes(of: lo.bigEndian) { bytes.append(contentsOf: $0) } }
    }

    /// A nested message, written by `body` in place after a one-byte length slot; a body of 128
    /// bytes or more moves right by the extra length bytes (no scratch buffer per message: an
    /// attribute costs no allocation).
    public mutating func messageField(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
        tag(field, 2)
        let slot = bytes.count
        bytes.append(0)
        body(&self)
        var len = bytes.count - slot - 1
        if len < 0x80 {
            bytes[slot] = UInt8(len)
            return
        }
        var extra = 0
        var v = len >> 7
        while v > 0 { extra += 1; v >>= 7 }
        bytes.insert(contentsOf: repeatElement(0, count: extra), at: slot + 1)
        var i = slot
        while len >= 0x80 {
            bytes[i] = UInt8(truncatingIfNeeded: len) | 0x80
            len >>= 7
            i += 1
        }
        bytes[i] = UInt8(len)
    }
}
