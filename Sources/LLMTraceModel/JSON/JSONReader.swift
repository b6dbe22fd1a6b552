#if canImport(Glibc)
import Glibc
#endif

/// A pull parser over UTF-8 bytes: the caller walks the document and asks for the value it expects.
///
/// Hot path: every ingested native span goes through here. It never builds an intermediate tree,
/// strings without escapes are created straight from the input bytes, numbers are parsed in place,
/// and keys are compared as bytes (`JSONKey`) without allocating. The input buffer must outlive the reader.
public struct JSONReader {
    public let bytes: UnsafeBufferPointer<UInt8>
    public private(set) var pos: Int = 0
    /// Escaped strings are decoded into this scratch buffer, reused across calls.
    private var scratch: [UInt8] = []
    /// Nesting bound: deeper documents are rejected rather than risking the stack in `skipValue`.
    public static let maxDepth = 128

    public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    public var isAtEnd: Bool { pos >= bytes.count }

    public func error(_ message: String) -> JSONError { JSONError(offset: pos, message) }

    @inline(__always)
    public mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, without consuming it.
    @inline(__always)
    public mutating func peek() -> UInt8? {
        skipWhitespace()
        return pos < bytes.count ? bytes[pos] : nil
    }

    @inline(__always)
    public mutating func expect(_ c: UInt8) throws(JSONError) {
        skipWhitespace()
        guard pos < bytes.count else { throw error("unexpected end of input, expected '\(Character(Unicode.Scalar(c)))'") }
        guard bytes[pos] == c else { throw error("expected '\(Character(Unicode.Scalar(c)))', found \(describeByte(bytes[pos]))") }
        pos += 1
    }

    func describeByte(_ b: UInt8) -> String {
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x" + String(b, radix: 16)
    }

    // MARK: Objects and arrays

    /// Starts an object. Iterate with `nextKey`.
    public mutating func beginObject() throws(JSONError) { try expect(UInt8(ascii: "{")) }

    /// The next key of the current object, or nil at its closing brace. `first` tracks comma handling.
    public mutating func nextKey(first: inout Bool) throws(JSONError) -> JSONKey? {
        skipWhitespace()
        guard pos < bytes.count else { throw error("unexpected end of input inside an object") }
        if bytes[pos] == UInt8(ascii: "}") { pos += 1; return nil }
        if first {
            first = false
        } else {
            guard bytes[pos] == UInt8(ascii: ",") else { throw error("expected ',' or '}' in object, found \(describeByte(bytes[pos]))") }
            pos += 1
            skipWhitespace()
        }
        let key = try readKey()
        try expect(UInt8(ascii: ":"))
        return key
    }

    public mutating func beginArray() throws(JSONError) { try expect(UInt8(ascii: "[")) }

    /// True when another element follows; false after consuming the closing bracket.
    public mutating func nextElement(first: inout Bool) throws(JSONError) -> Bool {
        skipWhitespace()
        guard pos < bytes.count else { throw error("unexpected end of input inside an array") }
        if bytes[pos] == UInt8(ascii: "]") { pos += 1; return false }
        if first {
            first = false
        } else {
            guard bytes[pos] == UInt8(ascii: ",") else { throw error("expected ',' or ']' in array, found \(describeByte(bytes[pos]))") }
            pos += 1
        }
        return true
    }

    /// Consumes `null` if it is next.
    public mutating func consumeNull() -> Bool {
        skipWhitespace()
        if pos + 4 <= bytes.count, bytes[pos] == UInt8(ascii: "n"), bytes[pos + 1] == UInt8(ascii: "u"),
           bytes[pos + 2] == UInt8(ascii: "l"), bytes[pos + 3] == UInt8(ascii: "l") {
            pos += 4
            return true
        }
        return false
    }

    // MARK: Scalars

    public mutating func readBool() throws(JSONError) -> Bool {
        skipWhitespace()
        if matchLiteral("true") { return true }
        if matchLiteral("false") { return false }
        throw error("expected true or false")
    }

    private mutating func matchLiteral(_ lit: StaticString) -> Bool {
        let n = lit.utf8CodeUnitCount
        guard pos + n <= bytes.count else { return false }
        let p = lit.utf8Start
        for i in 0..<n where bytes[pos + i] != p[i] { return false }
        pos += n
        return true
    }

    private mutating func readKey() throws(JSONError) -> JSONKey {
        guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw error("expected a string key") }
        let start = pos + 1
        var i = start
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                pos = i + 1
                return JSONKey(UnsafeBufferPointer(rebasing: bytes[start..<i]))
            }
            if c == UInt8(ascii: "\\") || c < 0x20 { break }
            i += 1
        }
        // Rare: an escaped key. Decode it to an owned buffer that lives as long as the reader's input.
        let s = try readString()
        return JSONKey(owned: Array(s.utf8))
    }

    /// Reads a string value. Strings without escapes are created directly from the input bytes.
    public mutating func readString() throws(JSONError) -> String {
        skipWhitespace()
        guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else {
            throw error(pos < bytes.count ? "expected a string, found \(describeByte(bytes[pos]))" : "expected a string, found end of input")
        }
        let start = pos + 1
        var i = start
        let n = bytes.count
        // Hot loop: scan for the closing quote.
        while i < n {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                pos = i + 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { pos = i; throw error("control character in string") }
            i += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
        while i < n {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                pos = i + 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if c < 0x20 { pos = i; throw error("control character in string") }
            if c != UInt8(ascii: "\\") {
                scratch.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < n else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): scratch.append(0x22)
            case UInt8(ascii: "\\"): scratch.append(0x5C)
            case UInt8(ascii: "/"): scratch.append(0x2F)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                pos = i
                var scalar = try readHex4(at: i)
                i += 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // High surrogate: a low surrogate escape must follow.
                    if i + 6 <= n, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        pos = i + 2
                        let low = try readHex4(at: i + 2)
                        if low >= 0xDC00 && low < 0xE000 {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                        } else {
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    scalar = 0xFFFD
                }
                appendUTF8(scalar)
            default:
                pos = i - 1
                throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        pos = n
        throw error("unterminated string")
    }

    private func readHex4(at i: Int) throws(JSONError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for k in 0..<4 {
            guard let d = HexCodec.nibble(bytes[i + k]) else { throw error("invalid \\u escape") }
            v = (v << 4) | UInt32(d)
        }
        return v
    }

    private mutating func appendUTF8(_ s: UInt32) {
        switch s {
        case 0..<0x80:
            scratch.append(UInt8(s))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (s >> 6)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (s >> 12)))
            scratch.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (s >> 18)))
            scratch.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        }
    }

    /// Reads any JSON number. Integers without fraction or exponent that fit in Int64 come back as `.int`.
    public mutating func readNumber() throws(JSONError) -> JSONNumber {
        skipWhitespace()
        let start = pos
        var i = pos
        let n = bytes.count
        var negative = false
        if i < n && bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        guard i < n, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") else {
            throw error(i < n ? "expected a number, found \(describeByte(bytes[i]))" : "expected a number, found end of input")
        }
        if bytes[i] == UInt8(ascii: "0"), i + 1 < n, bytes[i + 1] >= UInt8(ascii: "0"), bytes[i + 1] <= UInt8(ascii: "9") {
            pos = i
            throw error("leading zero in number")
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var overflow = false
        while i < n, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            let d = UInt64(bytes[i] &- UInt8(ascii: "0"))
            let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(d)
            if o1 || o2 { overflow = true } else { mantissa = m2 }
            digits += 1
            i += 1
        }
        var isFloat = false
        var fracDigits = 0
        if i < n, bytes[i] == UInt8(ascii: ".") {
            isFloat = true
            i += 1
            let fs = i
            while i < n, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
                if !overflow && digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- UInt8(ascii: "0"))
                    fracDigits += 1
                    digits += 1
                } else {
                    overflow = true
                }
                i += 1
            }
            guard i > fs else { pos = i; throw error("expected digits after decimal point") }
        }
        var exp = 0
        if i < n, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            isFloat = true
            i += 1
            var eneg = false
            if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { eneg = bytes[i] == UInt8(ascii: "-"); i += 1 }
            let es = i
            while i < n, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
                if exp < 100_000 { exp = exp * 10 + Int(bytes[i] &- UInt8(ascii: "0")) }
                i += 1
            }
            guard i > es else { pos = i; throw error("expected digits in exponent") }
            if eneg { exp = -exp }
        }
        pos = i
        if !isFloat && !overflow {
            if negative {
                if mantissa <= UInt64(Int64.max) + 1 { return .int(mantissa == UInt64(Int64.max) + 1 ? Int64.min : -Int64(mantissa)) }
            } else if mantissa <= UInt64(Int64.max) {
                return .int(Int64(mantissa))
            }
        }
        // Clinger's fast path: exact when the mantissa and the power of ten are both exact doubles.
        let e10 = exp - fracDigits
        if !overflow && mantissa < (1 << 53) && e10 >= -22 && e10 <= 22 {
            var d = Double(mantissa)
            if e10 < 0 { d /= JSONReader.powersOfTen[-e10] } else { d *= JSONReader.powersOfTen[e10] }
            return .double(negative ? -d : d)
        }
        return .double(slowDouble(from: start, to: i))
    }

    private static let powersOfTen: [Double] = (0...22).map { e in
        var d = 1.0
        for _ in 0..<e { d *= 10 }
        return d
    }

    private func slowDouble(from start: Int, to end: Int) -> Double {
        var tmp = [CChar](repeating: 0, count: end - start + 1)
        for k in start..<end { tmp[k - start] = CChar(bitPattern: bytes[k]) }
        return tmp.withUnsafeBufferPointer { strtod($0.baseAddress!, nil) }
    }

    public mutating func readInt64() throws(JSONError) -> Int64 {
        let at = pos
        switch try readNumber() {
        case .int(let v): return v
        case .double(let d):
            if d == d.rounded(), abs(d) < 9.2e18 { return Int64(d) }
            pos = at
            // A whole number too large for 64 bits (a time in nanoseconds past 2262) says so.
            throw error(d == d.rounded() && d.isFinite ? "integer out of range (the largest is 9223372036854775807)" : "expected an integer")
        }
    }

    public mutating func readDouble() throws(JSONError) -> Double {
        switch try readNumber() {
        case .int(let v): return Double(v)
        case .double(let d): return d
        }
    }

    /// Skips one value of any type.
    public mutating func skipValue(depth: Int = 0) throws(JSONError) {
        guard depth < JSONReader.maxDepth else { throw error("nesting deeper than \(JSONReader.maxDepth)") }
        guard let c = peek() else { throw error("unexpected end of input, expected a value") }
        switch c {
        case UInt8(ascii: "\""): _ = try readString()
        case UInt8(ascii: "{"):
            pos += 1
            var first = true
            while try nextKey(first: &first) != nil { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            pos += 1
            var first = true
            while try nextElement(first: &first) { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try readBool()
        case UInt8(ascii: "n"):
            guard consumeNull() else { throw error("expected null") }
        default: _ = try readNumber()
        }
    }

    /// Fails unless only whitespace remains.
    public mutating func expectEnd() throws(JSONError) {
        skipWhitespace()
        if pos < bytes.count { throw error("unexpected data after the JSON value") }
    }
}

/// A JSON number as read: integers that fit in Int64 stay exact.
public enum JSONNumber: Sendable, Equatable {
    case int(Int64)
    case double(Double)
}

/// An object key as raw bytes; compares against string literals without allocating.
public struct JSONKey {
    private let raw: UnsafeBufferPointer<UInt8>?
    private let owned: [UInt8]?

    init(_ raw: UnsafeBufferPointer<UInt8>) {
        self.raw = raw
        self.owned = nil
    }

    init(owned: [UInt8]) {
        self.raw = nil
        self.owned = owned
    }

    @inline(__always)
    public static func == (key: JSONKey, literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        if n == 0 { return key.string.isEmpty }
        if let raw = key.raw {
            guard raw.count == n else { return false }
            return memcmp(raw.baseAddress!, literal.utf8Start, n) == 0
        }
        let o = key.owned!
        guard o.count == n else { return false }
        return o.withUnsafeBufferPointer { memcmp($0.baseAddress!, literal.utf8Start, n) == 0 }
    }

    public var string: String {
        if let raw { return String(decoding: raw, as: UTF8.self) }
        return String(decoding: owned!, as: UTF8.self)
    }
}
