/// Appends JSON to a byte buffer, escaping per RFC 8259 and placing commas itself.
///
/// Usage: `w.beginObject(); w.key("a"); w.int(1); w.endObject()`. Hot path for `tracectl trace --json`
/// and the query API: no Foundation, no intermediate strings.
public struct JSONWriter {
    public var bytes: [UInt8]
    /// The document followed by a newline: how every API answer and JSON line ends.
    public var lineBytes: [UInt8] {
        var out = bytes
        out.append(0x0A)
        return out
    }
    /// Per open container, whether it already holds an element.
    private var levels = Levels()
    private var afterKey = false
    /// Writing a JSON document as the content of a JSON string (`beginNestedDocument`).
    private var nested = false
    private var outerLevels = Levels()

    /// A bit per open container for the first 64 levels (no array touched per value), an array
    /// past them.
    private struct Levels {
        var depth = 0
        var bits: UInt64 = 0
        var deeper: [Bool] = []

        /// Marks the innermost container as holding an element; whether it already did.
        @inline(__always) mutating func markInnermost() -> Bool {
            if depth <= 64 {
                let m: UInt64 = 1 << UInt64(depth - 1)
                defer { bits |= m }
                return bits & m != 0
            }
            defer { deeper[deeper.count - 1] = true }
            return deeper[deeper.count - 1]
        }

        @inline(__always) mutating func push() {
            depth += 1
            if depth <= 64 { bits &= ~(1 << UInt64(depth - 1)) } else { deeper.append(false) }
        }

        /// Closes the innermost container; whether it held an element.
        @inline(__always) mutating func pop() -> Bool {
            precondition(depth > 0, "JSONWriter: end without a begin")
            defer { depth -= 1 }
            if depth <= 64 { return bits & (1 << UInt64(depth - 1)) != 0 }
            return deeper.removeLast()
        }
    }
    /// Indentation step; 0 writes compact JSON.
    private let indent: Int

    public init(capacity: Int = 1024, indent: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
        self.indent = indent
    }

    /// Writes into `buffer`'s storage (emptied first): a writer refilled batch after batch keeps
    /// its pages instead of faulting in fresh megabytes each time.
    public init(reusing buffer: consuming [UInt8], capacity: Int = 1024, indent: Int = 0) {
        bytes = consume buffer
        bytes.removeAll(keepingCapacity: true)
        bytes.reserveCapacity(capacity)
        self.indent = indent
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    private mutating func newline() {
        guard indent > 0 && !nested else { return }
        bytes.append(0x0A)
        for _ in 0..<(levels.depth * indent) { bytes.append(0x20) }
    }

    /// Comma and indentation before a value or key, unless the value follows its key.
    @inline(__always)
    private mutating func prefix() {
        if afterKey { afterKey = false; return }
        guard levels.depth > 0 else { return }
        if levels.markInnermost() { bytes.append(UInt8(ascii: ",")) }
        newline()
    }

    public mutating func beginObject() {
        prefix()
        bytes.append(UInt8(ascii: "{"))
        levels.push()
    }

    public mutating func endObject() {
        if levels.pop() { newline() }
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        prefix()
        bytes.append(UInt8(ascii: "["))
        levels.push()
    }

    public mutating func endArray() {
        if levels.pop() { newline() }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func key(_ k: String) {
        prefix()
        appendEscaped(k)
        bytes.append(UInt8(ascii: ":"))
        if indent > 0 { bytes.append(0x20) }
        afterKey = true
    }

    /// A key fixed in the source that needs no escaping (checked in debug builds): written
    /// without the escape scan, for encoders that write the same keys millions of times.
    public mutating func key(ascii k: StaticString) {
        assert(k.withUTF8Buffer { !$0.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 >= 0x7F } }, "key(ascii:) needs escaping")
        prefix()
        let n = k.utf8CodeUnitCount
        if !nested && indent == 0 && n <= 60 {
            // Quote, key, quote and colon in one append.
            var tmp: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &tmp) { buf in
                buf[0] = 0x22
                UnsafeMutableRawPointer(buf.baseAddress! + 1).copyMemory(from: k.utf8Start, byteCount: n)
                buf[n + 1] = 0x22
                buf[n + 2] = UInt8(ascii: ":")
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[0..<(n + 3)]))
            }
            afterKey = true
            return
        }
        quoteMark()
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        quoteMark()
        bytes.append(UInt8(ascii: ":"))
        if indent > 0 { bytes.append(0x20) }
        afterKey = true
    }

    /// Starts a JSON document written as a string value of this one (ClickHouse's `span` column):
    /// what follows until `endNestedDocument` is written escaped in one pass, as `string(utf8:)`
    /// of the document written apart would give it. Not nestable further.
    public mutating func beginNestedDocument() {
        precondition(!nested, "a nested document inside a nested document")
        prefix()
        bytes.append(0x22)
        outerLevels = levels
        levels = Levels()
        nested = true
    }

    public mutating func endNestedDocument() {
        precondition(nested, "endNestedDocument without beginNestedDocument")
        nested = false
        levels = outerLevels
        outerLevels = Levels()
        bytes.append(0x22)
    }

    public mutating func string(_ s: String) {
        prefix()
        appendEscaped(s)
    }

    /// A string given as UTF-8 bytes (JSON text nested in a JSON string, say), escaped alike.
    public mutating func string(utf8 u: UnsafeBufferPointer<UInt8>) {
        prefix()
        appendEscaped(utf8: u)
    }

    /// An id as a string of lowercase hex digits (as `TraceID.hex` spells it), without making that
    /// string first.
    public mutating func string(_ id: TraceID) {
        prefix()
        quoteMark()
        appendHex(id.hi)
        appendHex(id.lo)
        quoteMark()
    }

    public mutating func string(_ id: SpanID) {
        prefix()
        quoteMark()
        appendHex(id.value)
        quoteMark()
    }

    private mutating func appendHex(_ v: UInt64) {
        var tmp: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &tmp) { buf in
            for k in 0..<16 { buf[k] = JSONWriter.hexDigits[Int(v >> UInt64(60 - 4 * k) & 0xF)] }
            bytes.append(contentsOf: buf[0..<16])
        }
    }

    public mutating func int(_ v: Int64) {
        prefix()
        appendInt(v)
    }

    /// Non-finite doubles have no JSON spelling and are written as null.
    public mutating func double(_ d: Double) {
        prefix()
        if d.isFinite {
            bytes.append(contentsOf: DecimalText.shortest(d).utf8)
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
        if nested {
            // The document's own bytes, escaped once as the string's content.
            nested = false
            json.withUnsafeBufferPointer { appendEscaped(utf8: $0, quoted: false) }
            nested = true
            return
        }
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

    /// Whether any of eight bytes is below 0x20, `"`, `\`, or 0x7F and above: exact for "none"
    /// (the usual SWAR has-zero and has-less tests; a true may be a false alarm only in which byte).
    @inline(__always)
    static func needsLook(_ x: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZero(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let below20 = (x &- 0x20 &* ones) & ~x & highs
        return (below20 | hasZero(x ^ (0x22 &* ones)) | hasZero(x ^ (0x5C &* ones)) | hasZero(x ^ (0x7F &* ones)) | (x & highs)) != 0
    }

    /// Whether any of `n` bytes needs the escape loop's look (as the 8-byte test, byte by byte at the end).
    @inline(__always)
    static func needsLook(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i + 8 <= n {
            if needsLook(UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)) { return true }
            i += 8
        }
        while i < n {
            let c = p[i]
            if c < 0x20 || c == 0x22 || c == 0x5C || c >= 0x7F { return true }
            i += 1
        }
        return false
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Hot loop: copies runs of safe bytes at once and escapes the rest. Besides what JSON
    /// requires (quote, backslash, C0 controls), DEL, the C1 controls (U+0080-U+009F) and the
    /// bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) are written as \u
    /// escapes: the same string, but one that cannot drive a terminal it is printed on.
    private mutating func appendEscaped(_ s: String) {
        var s = s
        s.withUTF8 { appendEscaped(utf8: $0) }
    }

    /// A quote: `"`, or `\"` inside a nested document.
    @inline(__always) private mutating func quoteMark() {
        if nested { bytes.append(0x5C) }
        bytes.append(0x22)
    }

    /// The backslash that starts an escape: doubled inside a nested document.
    @inline(__always) private mutating func backslash() {
        bytes.append(0x5C)
        if nested { bytes.append(0x5C) }
    }

    private mutating func appendEscaped(utf8 u: UnsafeBufferPointer<UInt8>, quoted: Bool = true) {
        // A short string that needs no escape (names, models, ids): quotes and text in one append.
        if quoted && !nested && u.count <= 60, let base = u.baseAddress, !JSONWriter.needsLook(base, u.count) {
            var tmp: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
            let n = u.count
            withUnsafeMutableBytes(of: &tmp) { buf in
                buf[0] = 0x22
                UnsafeMutableRawPointer(buf.baseAddress! + 1).copyMemory(from: base, byteCount: n)
                buf[n + 1] = 0x22
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[0..<(n + 2)]))
            }
            return
        }
        if quoted { quoteMark() }
        do {
            var runStart = 0
            var i = 0
            let n = u.count
            let base = u.baseAddress
            while i < n {
                // Eight bytes at a time while none of them is below 0x20, a quote, a backslash,
                // DEL or above it (prose and ids are mostly such runs).
                while i + 8 <= n, let base, !JSONWriter.needsLook(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) { i += 8 }
                guard i < n else { break }
                let c = u[i]
                if c >= 0x20 && c != 0x22 && c != 0x5C && c != 0x7F && c != 0xC2 && c != 0xE2 { i += 1; continue }
                // Two- and three-byte sequences that are controls; any other lead byte stays in the run.
                var len = 1
                var scalar = UInt32(c)
                if c == 0xC2 {
                    guard i + 1 < n, u[i + 1] >= 0x80, u[i + 1] <= 0x9F else { i += 1; continue }
                    len = 2
                    scalar = UInt32(u[i + 1])
                } else if c == 0xE2 {
                    guard i + 2 < n else { i += 1; continue }
                    let b1 = u[i + 1], b2 = u[i + 2]
                    guard (b1 == 0x80 && b2 >= 0xAA && b2 <= 0xAE) || (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9) else { i += 1; continue }
                    len = 3
                    scalar = 0x2000 | UInt32(b1 & 0x3F) << 6 | UInt32(b2 & 0x3F)
                }
                if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<i])) }
                backslash()
                switch scalar {
                case 0x22: quoteMark()
                case 0x5C: backslash()
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    let h = JSONWriter.hexDigits
                    bytes.append(UInt8(ascii: "u"))
                    bytes.append(h[Int(scalar >> 12 & 0xF)]); bytes.append(h[Int(scalar >> 8 & 0xF)])
                    bytes.append(h[Int(scalar >> 4 & 0xF)]); bytes.append(h[Int(scalar & 0xF)])
                }
                i += len
                runStart = i
            }
            if runStart < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<n])) }
        }
        if quoted { quoteMark() }
    }
}
