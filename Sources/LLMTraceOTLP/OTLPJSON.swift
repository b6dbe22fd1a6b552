import LLMTraceModel

/// OTLP/HTTP JSON (the protobuf JSON mapping as the OTLP spec pins it down): hex trace and span
/// ids, enum values as numbers (names accepted too), 64-bit integers as strings or numbers, bytes as
/// base64. Field names in lowerCamelCase, with the proto's snake_case accepted as well.
public enum OTLPJSON {
    public static func decode(_ body: [UInt8]) throws(OTLPDecodeError) -> OTLPTraces {
        do {
            return try body.withUnsafeBufferPointer { b throws(JSONError) -> OTLPTraces in
                var r = JSONReader(b)
                var out = OTLPTraces()
                try r.beginObject()
                var first = true
                while let k = try r.nextKey(first: &first) {
                    if k == "resourceSpans" || k == "resource_spans" {
                        try eachElement(&r) { r throws(JSONError) in out.resources.append(try resourceSpans(&r, &out.keys)) }
                    } else {
                        try r.skipValue()
                    }
                }
                try r.expectEnd()
                return out
            }
        } catch {
            throw OTLPDecodeError("invalid OTLP JSON: \(error)")
        }
    }

    private static func eachElement(_ r: inout JSONReader, _ body: (inout JSONReader) throws(JSONError) -> Void) throws(JSONError) {
        if r.consumeNull() { return }
        try r.beginArray()
        var first = true
        while try r.nextElement(first: &first) { try body(&r) }
    }

    private static func resourceSpans(_ r: inout JSONReader, _ keys: inout KeyTable) throws(JSONError) -> OTLPResource {
        var res = OTLPResource()
        try r.beginObject()
        var first = true
        while let k = try r.nextKey(first: &first) {
            if k == "resource" {
                if r.consumeNull() { continue }
                try r.beginObject()
                var f2 = true
                while let k2 = try r.nextKey(first: &f2) {
                    if k2 == "attributes" { res.attributes = try attributes(&r, depth: 0) } else { try r.skipValue() }
                }
            } else if k == "scopeSpans" || k == "scope_spans" {
                try eachElement(&r) { r throws(JSONError) in res.scopes.append(try scopeSpans(&r, &keys)) }
            } else {
                try r.skipValue()
            }
        }
        return res
    }

    private static func scopeSpans(_ r: inout JSONReader, _ keys: inout KeyTable) throws(JSONError) -> OTLPScope {
        var scope = OTLPScope()
        try r.beginObject()
        var first = true
        while let k = try r.nextKey(first: &first) {
            if k == "scope" {
                if r.consumeNull() { continue }
                try r.beginObject()
                var f2 = true
                while let k2 = try r.nextKey(first: &f2) {
                    if k2 == "name" { scope.name = try r.readString() }
                    else if k2 == "version" { scope.version = try r.readString() }
                    else { try r.skipValue() }
                }
            } else if k == "spans" {
                try eachElement(&r) { r throws(JSONError) in scope.spans.append(try span(&r, &keys)) }
            } else {
                try r.skipValue()
            }
        }
        return scope
    }

    private static func span(_ r: inout JSONReader, _ keys: inout KeyTable) throws(JSONError) -> OTLPSpan {
        var s = OTLPSpan()
        try r.beginObject()
        var first = true
        while let k = try r.nextKey(first: &first) {
            if k == "traceId" || k == "trace_id" { s.traceID = RawID(hexID(try r.readString(), 16, "traceId", &s.idError)) }
            else if k == "spanId" || k == "span_id" { s.spanID = RawID(hexID(try r.readString(), 8, "spanId", &s.idError)) }
            else if k == "parentSpanId" || k == "parent_span_id" { s.parentSpanID = RawID(hexID(try r.readString(), 8, "parentSpanId", &s.idError, allowEmpty: true)) }
            else if k == "name" { s.name = try r.readString() }
            else if k == "kind" { s.kind = try enumValue(&r, names: ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"]) }
            else if k == "startTimeUnixNano" || k == "start_time_unix_nano" { s.startNanos = try uint64(&r) }
            else if k == "endTimeUnixNano" || k == "end_time_unix_nano" { s.endNanos = try uint64(&r) }
            else if k == "attributes" {
                s.attributes = try attributes(&r, depth: 0)
                s.keyIDs = s.attributes.map { keys.intern($0.key) }
            } else if k == "events" {
                try eachElement(&r) { r throws(JSONError) in
                    var e = SpanEvent(name: "", timeNanos: 0)
                    try r.beginObject()
                    var f2 = true
                    while let k2 = try r.nextKey(first: &f2) {
                        if k2 == "name" { e.name = try r.readString() }
                        else if k2 == "timeUnixNano" || k2 == "time_unix_nano" { e.timeNanos = Int64(bitPattern: try uint64(&r)) }
                        else if k2 == "attributes" { e.attributes = try attributes(&r, depth: 0) }
                        else { try r.skipValue() }
                    }
                    s.events.append(e)
                }
            } else if k == "status" {
                if r.consumeNull() { continue }
                try r.beginObject()
                var f2 = true
                while let k2 = try r.nextKey(first: &f2) {
                    if k2 == "code" { s.statusCode = try enumValue(&r, names: ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]) }
                    else if k2 == "message" { s.statusMessage = try r.readString() }
                    else { try r.skipValue() }
                }
            } else {
                try r.skipValue()
            }
        }
        return s
    }

    private static func hexID(_ s: String, _ n: Int, _ field: String, _ err: inout String?, allowEmpty: Bool = false) -> [UInt8] {
        if s.isEmpty && allowEmpty { return [] }
        let u = Array(s.utf8)
        guard u.count == 2 * n else {
            if err == nil { err = "\(field) must be \(2 * n) hex digits, got \(u.count) characters" }
            return []
        }
        var out = [UInt8](repeating: 0, count: n)
        for i in 0..<n {
            guard let h = hexDigit(u[2 * i]), let l = hexDigit(u[2 * i + 1]) else {
                if err == nil { err = "\(field) is not hex" }
                return []
            }
            out[i] = h << 4 | l
        }
        return out
    }

    private static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - 55
        default: return nil
        }
    }

    /// An enum as its number or its proto name.
    private static func enumValue(_ r: inout JSONReader, names: [String]) throws(JSONError) -> Int {
        if r.peek() == UInt8(ascii: "\"") {
            let at = r.pos
            let s = try r.readString()
            guard let i = names.firstIndex(of: s) else { throw JSONError(offset: at, "unknown enum value '\(s)'") }
            return i
        }
        let v = try r.readInt64()
        return Int(truncatingIfNeeded: v)
    }

    /// A 64-bit integer sent as a JSON string (the OTLP rule) or as a number.
    private static func uint64(_ r: inout JSONReader) throws(JSONError) -> UInt64 {
        if r.peek() == UInt8(ascii: "\"") {
            let at = r.pos
            let s = try r.readString()
            guard let v = UInt64(s) else { throw JSONError(offset: at, "expected an unsigned integer string, got '\(s)'") }
            return v
        }
        let v = try r.readInt64()
        guard v >= 0 else { throw r.error("expected a non-negative integer") }
        return UInt64(v)
    }

    private static func int64(_ r: inout JSONReader) throws(JSONError) -> Int64 {
        if r.peek() == UInt8(ascii: "\"") {
            let at = r.pos
            let s = try r.readString()
            guard let v = Int64(s) else { throw JSONError(offset: at, "expected an integer string, got '\(s)'") }
            return v
        }
        return try r.readInt64()
    }

    private static func attributes(_ r: inout JSONReader, depth: Int) throws(JSONError) -> [Attribute] {
        var out: [Attribute] = []
        try eachElement(&r) { r throws(JSONError) in
            var key = ""
            var value = AttributeValue.string("")
            try r.beginObject()
            var first = true
            while let k = try r.nextKey(first: &first) {
                if k == "key" { key = try r.readString() }
                else if k == "value" { value = try anyValue(&r, depth: depth + 1) }
                else { try r.skipValue() }
            }
            out.append(Attribute(key, value))
        }
        return out
    }

    private static func anyValue(_ r: inout JSONReader, depth: Int) throws(JSONError) -> AttributeValue {
        guard depth < 32 else { throw r.error("attribute values nested deeper than 32 levels") }
        var v = AttributeValue.string("")
        if r.consumeNull() { return v }
        try r.beginObject()
        var first = true
        while let k = try r.nextKey(first: &first) {
            if k == "stringValue" || k == "string_value" { v = .string(try r.readString()) }
            else if k == "boolValue" || k == "bool_value" { v = .bool(try r.readBool()) }
            else if k == "intValue" || k == "int_value" { v = .int(try int64(&r)) }
            else if k == "doubleValue" || k == "double_value" {
                if r.peek() == UInt8(ascii: "\"") {
                    // NaN / Infinity / -Infinity are strings in the protobuf JSON mapping.
                    let at = r.pos
                    let s = try r.readString()
                    guard let d = Double(s) else { throw JSONError(offset: at, "expected a number, got '\(s)'") }
                    v = .double(d)
                } else {
                    v = .double(try r.readDouble())
                }
            } else if k == "arrayValue" || k == "array_value" {
                var items: [AttributeValue] = []
                try r.beginObject()
                var f2 = true
                while let k2 = try r.nextKey(first: &f2) {
                    if k2 == "values" { try eachElement(&r) { r throws(JSONError) in items.append(try anyValue(&r, depth: depth + 1)) } }
                    else { try r.skipValue() }
                }
                v = AttributeValue.normalizedArray(items)
            } else if k == "kvlistValue" || k == "kvlist_value" {
                var pairs: [Attribute] = []
                try r.beginObject()
                var f2 = true
                while let k2 = try r.nextKey(first: &f2) {
                    if k2 == "values" { pairs = try attributes(&r, depth: depth + 1) } else { try r.skipValue() }
                }
                v = .string(AttributeValue.jsonObject(pairs))
            } else if k == "bytesValue" || k == "bytes_value" {
                let at = r.pos
                let s = try r.readString()
                guard Base64.decode(s) != nil else { throw JSONError(offset: at, "bytesValue is not base64") }
                v = .string(s)
            } else {
                try r.skipValue()
            }
        }
        return v
    }

    /// `ExportTraceServiceResponse` in JSON.
    public static func response(rejected: Int, message: String) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        if rejected > 0 || !message.isEmpty {
            w.key("partialSuccess")
            w.beginObject()
            w.key("rejectedSpans")
            w.string(String(rejected))
            w.key("errorMessage")
            w.string(message)
            w.endObject()
        }
        w.endObject()
        return w.bytes
    }
}
