import LLMTraceModel

/// JSON with the byte offset of every value, so that an error in a user's file names its line and
/// column, not only its field.
indirect enum LocatedJSON {
    case object([(key: String, value: Located)])
    case array([Located])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    struct Located {
        var value: LocatedJSON
        var offset: Int

        subscript(key: String) -> Located? {
            if case .object(let members) = value { return members.last { $0.key == key }?.value }
            return nil
        }
    }

    static func parse(_ bytes: [UInt8]) throws(JSONError) -> Located {
        try bytes.withUnsafeBufferPointer { b throws(JSONError) -> Located in
            var r = JSONReader(b)
            let v = try read(&r, depth: 0)
            try r.expectEnd()
            return v
        }
    }

    private static func read(_ r: inout JSONReader, depth: Int) throws(JSONError) -> Located {
        guard depth < 64 else { throw r.error("nesting deeper than 64") }
        guard let c = r.peek() else { throw r.error("unexpected end of input") }
        let at = r.pos
        switch c {
        case UInt8(ascii: "{"):
            try r.beginObject()
            var members: [(String, Located)] = []
            var first = true
            while let k = try r.nextKey(first: &first) {
                members.append((k.string, try read(&r, depth: depth + 1)))
            }
            return Located(value: .object(members), offset: at)
        case UInt8(ascii: "["):
            try r.beginArray()
            var items: [Located] = []
            var first = true
            while try r.nextElement(first: &first) { items.append(try read(&r, depth: depth + 1)) }
            return Located(value: .array(items), offset: at)
        case UInt8(ascii: "\""):
            return Located(value: .string(try r.readString()), offset: at)
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            return Located(value: .bool(try r.readBool()), offset: at)
        case UInt8(ascii: "n"):
            guard r.consumeNull() else { throw r.error("expected null") }
            return Located(value: .null, offset: at)
        default:
            return Located(value: .number(try r.readDouble()), offset: at)
        }
    }

    /// 1-based line and column of a byte offset.
    static func lineAndColumn(_ bytes: [UInt8], _ offset: Int) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for b in bytes.prefix(max(0, min(offset, bytes.count))) {
            if b == 0x0A { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return (line, column)
    }
}
