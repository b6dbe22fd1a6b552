/// Appends JSON to a byte buffer, escaping per RFC 8259 and placing commas itself.
///
/// Usage: `w.beginObject(); w.key("a"); w.int(1); w.endObject()`. Hot path for `tracectl trace --json`
/// and the query API: no Foundation, no intermediate strings.
public struct JSONWriter {
    public var bytes: [UInt8]
    /// One entry per open container: whether it already holds an element.
    private var hasElement: [Bool] = []
    private var afterKey = false
    /// Indentation step; 0 writes compact JSON.
    private let indent: Int

    public init(capacity: Int = 1024, indent: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
        self.indent = indent
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    private mutating func newline() {
        guard indent > 0 else { return }
        bytes.append(0x0A)
        for _ in 0..<(hasElement.count * indent) { bytes.append(0x20) }
    }

    /// Comma and indentation before a value or key, unless the value follows its key.
    @inline(__always)
    private mutating func prefix() {
        if afterKey { afterKey = false; return }
        guard !hasElement.isEmpty else { return }
        if hasElement[hasElement.count - 1] { bytes.append(UInt8(ascii: ",")) }
        hasElement[hasElement.count - 1] = true
        newline()
    }

    public mutating func beginObject() {
        prefix()
        bytes.append(UInt8(ascii: "{"))
        hasElement.append(false)
    }

    public mutating func endObject() {
        if hasElement.removeLast() { newline() }
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        prefix()
        bytes.append(UInt8(ascii: "["))
        hasElement.append(false)
    }

    public mutating func endArray() {
        if hasElement.removeLast() { newline() }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func key(_ k: String) {
        prefix()
        appendEscaped(k)
        bytes.append(UInt8(ascii: ":"))
        if indent > 0 { bytes.append(0x20) }
        afterKey = true
    }

    public mutating func string(_ s: String) {
        prefix()
        appendEscaped(s)
    }

    public mutating func int(_ v: Int64) {
        prefix()
        appendInt(v)
    }

    /// Non-finite doubles have no JSON spelling and are written as null.
    public mutating func double(_ d: Double) {
        prefix()
        if d.isFinite {
            bytes.append(contentsOf: d.description.utf8)
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
    }

    public mutating func bool(_ b: Bool) {
        prefix()
        bytes.append(contentsOf: (b ? "true" : "false").utf8)
    }

    public mutating func null() {
        prefix()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Writes pre-encoded JSON as one value.
    public mutating func raw(_ json: [UInt8]) {
        prefix()
        bytes.append(contentsOf: json)
    }

    private mutating func appendInt(_ v: Int64) {
        if v == 0 { bytes.append(UInt8(ascii: "0")); return }
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        var u = v.magnitude
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of stack scratch
        withUnsafeMutableBytes(of: &tmp) { buf in
            var i = 24
            while u > 0 {
                i -= 1
                buf[i] = UInt8(ascii: "0") + UInt8(u % 10)
                u /= 10
            }
            bytes.append(contentsOf: buf[i..<24])
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Hot loop: copies runs of safe bytes at once and escapes the rest.
    private mutating func appendEscaped(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { u in
            var runStart = 0
            for i in 0..<u.count {
                let c = u[i]
                if c >= 0x20 && c != 0x22 && c != 0x5C { continue }
                if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<i])) }
                runStart = i + 1
                switch c {
                case 0x22: bytes.append(0x5C); bytes.append(0x22)
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                              JSONWriter.hex[Int(c >> 4)], JSONWriter.hex[Int(c & 0xF)]])
                }
            }
            if runStart < u.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<u.count])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
