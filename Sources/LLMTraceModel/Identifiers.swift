/// A 16-byte trace identifier, as in W3C Trace Context and OTLP.
///
/// Stored as two big-endian halves so that ordering by `(hi, lo)` equals ordering by the bytes,
/// which is the sort order of segment rows.
public struct TraceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var hi: UInt64
    public var lo: UInt64

    public init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
    }

    /// Parses 32 hex digits (either case). Returns nil on any other input.
    public init?(hex: some StringProtocol) {
        var utf8 = Array(hex.utf8)
        guard utf8.count == 32 else { return nil }
        guard let h = HexCodec.parseUInt64(&utf8, from: 0), let l = HexCodec.parseUInt64(&utf8, from: 16) else { return nil }
        self.hi = h
        self.lo = l
    }

    /// Reads 16 bytes, most significant first.
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= 16)
        self.hi = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        self.lo = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    public var isZero: Bool { hi == 0 && lo == 0 }

    /// The 16 bytes, most significant first.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        out.withUnsafeMutableBytes {
            $0.storeBytes(of: hi.bigEndian, toByteOffset: 0, as: UInt64.self)
            $0.storeBytes(of: lo.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return out
    }

    public var hex: String { HexCodec.hex(hi) + HexCodec.hex(lo) }
    public var description: String { hex }

    public static func < (a: TraceID, b: TraceID) -> Bool { a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo }
}

/// The first hex digits of a trace id, as people copy them from a log line: 8 to 32 digits. Its
/// ids are the range `low...high` (the digits padded with 0s, then with fs).
public struct TraceIDPrefix: Sendable, CustomStringConvertible {
    public let digits: String
    public let low: TraceID
    public let high: TraceID
    public static let minimumDigits = 8

    public init?(_ text: some StringProtocol) {
        let d = String(text).lowercased()
        guard d.utf8.count >= Self.minimumDigits, d.utf8.count <= 32,
              d.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }),
              let lo = TraceID(hex: d + String(repeating: "0", count: 32 - d.utf8.count)),
              let hi = TraceID(hex: d + String(repeating: "f", count: 32 - d.utf8.count)) else { return nil }
        digits = d
        low = lo
        high = hi
    }

    public func matches(_ id: TraceID) -> Bool { id >= low && id <= high }
    public var description: String { digits }
}

/// An 8-byte span identifier. Zero means "no span" (OTLP treats an all-zero id as invalid).
public struct SpanID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) { self.value = value }

    /// Parses 16 hex digits (either case).
    public init?(hex: some StringProtocol) {
        var utf8 = Array(hex.utf8)
        guard utf8.count == 16, let v = HexCodec.parseUInt64(&utf8, from: 0) else { return nil }
        self.value = v
    }

    public var isZero: Bool { value == 0 }
    public var hex: String { HexCodec.hex(value) }
    public var description: String { hex }
    public static func < (a: SpanID, b: SpanID) -> Bool { a.value < b.value }
}

/// Hex helpers shared by the identifier types and the JSON codec.
enum HexCodec {
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    @inline(__always)
    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    static func parseUInt64(_ bytes: inout [UInt8], from start: Int) -> UInt64? {
        var v: UInt64 = 0
        for i in start..<(start + 16) {
            guard let n = nibble(bytes[i]) else { return nil }
            v = (v << 4) | UInt64(n)
        }
        return v
    }

    static func parseUInt64(_ p: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard p.count == 16 else { return nil }
        var v: UInt64 = 0
        for c in p {
            guard let n = nibble(c) else { return nil }
            v = (v << 4) | UInt64(n)
        }
        return v
    }

    static func hex(_ v: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { buf in
            for i in 0..<16 {
                buf[i] = digits[Int((v >> UInt64(60 - 4 * i)) & 0xF)]
            }
            return 16
        }
    }
}
