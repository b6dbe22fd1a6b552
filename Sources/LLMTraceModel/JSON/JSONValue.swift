/// A parsed JSON document as a tree: for configuration files and small embedded JSON values
/// (message lists inside attributes). The ingest hot paths use `JSONReader` directly instead.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    /// Members in document order (duplicates kept; `self[key]` returns the first).
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { b throws(JSONError) -> JSONValue in
            var r = JSONReader(b)
            let v = try read(&r, depth: 0)
            try r.expectEnd()
            return v
        }
    }

    public static func parse(_ text: String) throws(JSONError) -> JSONValue { try parse(Array(text.utf8)) }

    public static func read(_ r: inout JSONReader, depth: Int) throws(JSONError) -> JSONValue {
        guard depth < JSONReader.maxDepth else { throw r.error("nesting deeper than \(JSONReader.maxDepth)") }
        guard let c = r.peek() else { throw r.error("unexpected end of input, expected a value") }
        switch c {
        case UInt8(ascii: "{"):
            try r.beginObject()
            var members: [(String, JSONValue)] = []
            var first = true
            while let k = try r.nextKey(first: &first) {
                let key = k.string
                members.append((key, try read(&r, depth: depth + 1)))
            }
            return .object(members)
        case UInt8(ascii: "["):
            try r.beginArray()
            var items: [JSONValue] = []
            var first = true
            while try r.nextElement(first: &first) { items.append(try read(&r, depth: depth + 1)) }
            return .array(items)
        case UInt8(ascii: "\""): return .string(try r.readString())
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool(try r.readBool())
        case UInt8(ascii: "n"):
            guard r.consumeNull() else { throw r.error("expected null") }
            return .null
        default: return .number(try r.readNumber())
        }
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let m) = self else { return nil }
        return m.first { $0.0 == key }?.1
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var object: [(String, JSONValue)]? { if case .object(let o) = self { return o }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var double: Double? {
        switch self {
        case .number(.int(let i)): return Double(i)
        case .number(.double(let d)): return d
        default: return nil
        }
    }
    public var int: Int64? {
        switch self {
        case .number(.int(let i)): return i
        case .number(.double(let d)) where d == d.rounded() && abs(d) < 9e18: return Int64(d)
        default: return nil
        }
    }
    /// The strings of an array of strings (nil if any element is not a string).
    public var strings: [String]? {
        guard let a = array else { return nil }
        var out: [String] = []
        for v in a { guard let s = v.string else { return nil }; out.append(s) }
        return out
    }

    /// Serializes back to compact JSON.
    public func write(_ w: inout JSONWriter) {
        switch self {
        case .null: w.null()
        case .bool(let b): w.bool(b)
        case .number(.int(let i)): w.int(i)
        case .number(.double(let d)): w.double(d)
        case .string(let s): w.string(s)
        case .array(let a):
            w.beginArray()
            for v in a { v.write(&w) }
            w.endArray()
        case .object(let m):
            w.beginObject()
            for (k, v) in m { w.key(k); v.write(&w) }
            w.endObject()
        }
    }

    public var jsonString: String {
        var w = JSONWriter()
        write(&w)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
