import LLMTraceModel

/// OTLP/HTTP protobuf: `ExportTraceServiceRequest` decoding and `ExportTraceServiceResponse`
/// encoding, by hand from the opentelemetry-proto field numbers (trace/v1, common/v1,
/// collector/trace/v1). Unknown fields are skipped, as protobuf requires.
public enum OTLPProtobuf {
    public static func decode(_ body: [UInt8]) throws(OTLPDecodeError) -> OTLPTraces {
        var out = OTLPTraces()
        var failure: OTLPDecodeError?
        body.withUnsafeBytes { b in
            do throws(OTLPDecodeError) {
                var r = ProtoReader(b)
                while let (f, w) = try r.nextTag() {
                    if f == 1 {
                        try r.expect(w, 2, "resource_spans")
                        var m = try r.message()
                        out.resources.append(try resourceSpans(&m, &out.keys))
                    } else {
                        try r.skip(wire: w)
                    }
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return out
    }

    private static func resourceSpans(_ r: inout ProtoReader, _ keys: inout KeyTable) throws(OTLPDecodeError) -> OTLPResource {
        var res = OTLPResource()
        while let (f, w) = try r.nextTag() {
            switch f {
            case 1:  // Resource
                try r.expect(w, 2, "resource")
                var m = try r.message()
                while let (f2, w2) = try m.nextTag() {
                    if f2 == 1 {
                        try m.expect(w2, 2, "resource.attributes")
                        var kv = try m.message()
                        var id: Int32 = -1
                        res.attributes.append(try keyValue(&kv, depth: 0, keys: &keys, id: &id))
                    } else { try m.skip(wire: w2) }
                }
            case 2:  // ScopeSpans
                try r.expect(w, 2, "scope_spans")
                var m = try r.message()
                res.scopes.append(try scopeSpans(&m, &keys))
            default:
                try r.skip(wire: w)
            }
        }
        return res
    }

    private static func scopeSpans(_ r: inout ProtoReader, _ keys: inout KeyTable) throws(OTLPDecodeError) -> OTLPScope {
        var scope = OTLPScope()
        while let (f, w) = try r.nextTag() {
            switch f {
            case 1:
                try r.expect(w, 2, "scope")
                var m = try r.message()
                while let (f2, w2) = try m.nextTag() {
                    switch f2 {
                    case 1: try m.expect(w2, 2, "scope.name"); scope.name = try m.string()
                    case 2: try m.expect(w2, 2, "scope.version"); scope.version = try m.string()
                    default: try m.skip(wire: w2)
                    }
                }
            case 2:
                try r.expect(w, 2, "spans")
                var m = try r.message()
                scope.spans.append(try span(&m, &keys))
            default:
                try r.skip(wire: w)
            }
        }
        return scope
    }

    private static func span(_ r: inout ProtoReader, _ keys: inout KeyTable) throws(OTLPDecodeError) -> OTLPSpan {
        var s = OTLPSpan()
        while let (f, w) = try r.nextTag() {
            switch f {
            case 1: try r.expect(w, 2, "span.trace_id"); s.traceID = RawID(try r.bytes())
            case 2: try r.expect(w, 2, "span.span_id"); s.spanID = RawID(try r.bytes())
            case 4: try r.expect(w, 2, "span.parent_span_id"); s.parentSpanID = RawID(try r.bytes())
            case 5: try r.expect(w, 2, "span.name"); s.name = try r.string()
            case 6: try r.expect(w, 0, "span.kind"); s.kind = Int(truncatingIfNeeded: try r.varint())
            case 7: try r.expect(w, 1, "span.start_time_unix_nano"); s.startNanos = try r.fixed64()
            case 8: try r.expect(w, 1, "span.end_time_unix_nano"); s.endNanos = try r.fixed64()
            case 9:
                try r.expect(w, 2, "span.attributes")
                var m = try r.message()
                var id: Int32 = -1
                s.attributes.append(try keyValue(&m, depth: 0, keys: &keys, id: &id))
                s.keyIDs.append(id)
            case 11:
                try r.expect(w, 2, "span.events")
                var m = try r.message()
                var e = SpanEvent(name: "", timeNanos: 0)
                while let (f2, w2) = try m.nextTag() {
                    switch f2 {
                    case 1: try m.expect(w2, 1, "event.time_unix_nano"); e.timeNanos = Int64(bitPattern: try m.fixed64())
                    case 2: try m.expect(w2, 2, "event.name"); e.name = try m.string()
                    case 3:
                        try m.expect(w2, 2, "event.attributes")
                        var kv = try m.message()
                        var id: Int32 = -1
                        e.attributes.append(try keyValue(&kv, depth: 0, keys: &keys, id: &id))
                    default: try m.skip(wire: w2)
                    }
                }
                s.events.append(e)
            case 15:
                try r.expect(w, 2, "span.status")
                var m = try r.message()
                while let (f2, w2) = try m.nextTag() {
                    switch f2 {
                    case 2: try m.expect(w2, 2, "status.message"); s.statusMessage = try m.string()
                    case 3: try m.expect(w2, 0, "status.code"); s.statusCode = Int(truncatingIfNeeded: try m.varint())
                    default: try m.skip(wire: w2)
                    }
                }
            default:
                try r.skip(wire: w)
            }
        }
        return s
    }

    /// A KeyValue. Every key goes through the request's key table (no String per repeated key);
    /// `id` is its id there (span attributes keep it for the mapping). A KeyValue without a key
    /// field (proto3 omits an empty string) has the empty key, so `id` is always valid on return.
    private static func keyValue(_ r: inout ProtoReader, depth: Int, keys: inout KeyTable, id: inout Int32) throws(OTLPDecodeError) -> Attribute {
        id = -1
        var value = AttributeValue.string("")
        while let (f, w) = try r.nextTag() {
            switch f {
            case 1:
                try r.expect(w, 2, "key")
                id = keys.intern(try r.bytes())
            case 2:
                try r.expect(w, 2, "value")
                var m = try r.message()
                value = try anyValue(&m, depth: depth + 1, keys: &keys)
            default: try r.skip(wire: w)
            }
        }
        if id < 0 { id = keys.intern(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return Attribute(keys.keys[Int(id)], value)
    }

    /// AnyValue. Arrays of scalars stay arrays; maps (kvlist), nested arrays and bytes become JSON or
    /// base64 strings, since span attributes hold scalars and scalar arrays.
    private static func anyValue(_ r: inout ProtoReader, depth: Int, keys: inout KeyTable) throws(OTLPDecodeError) -> AttributeValue {
        guard depth < 32 else { throw OTLPDecodeError("attribute values nested deeper than 32 levels") }
        var v = AttributeValue.string("")
        while let (f, w) = try r.nextTag() {
            switch f {
            case 1: try r.expect(w, 2, "string_value"); v = .string(try r.string())
            case 2: try r.expect(w, 0, "bool_value"); v = .bool(try r.varint() != 0)
            case 3: try r.expect(w, 0, "int_value"); v = .int(Int64(bitPattern: try r.varint()))
            case 4: try r.expect(w, 1, "double_value"); v = .double(Double(bitPattern: try r.fixed64()))
            case 5:
                try r.expect(w, 2, "array_value")
                var m = try r.message()
                var items: [AttributeValue] = []
                while let (f2, w2) = try m.nextTag() {
                    if f2 == 1 {
                        try m.expect(w2, 2, "array_value.values")
                        var e = try m.message()
                        items.append(try anyValue(&e, depth: depth + 1, keys: &keys))
                    } else { try m.skip(wire: w2) }
                }
                v = AttributeValue.normalizedArray(items)
            case 6:
                try r.expect(w, 2, "kvlist_value")
                var m = try r.message()
                var pairs: [Attribute] = []
                while let (f2, w2) = try m.nextTag() {
                    if f2 == 1 {
                        try m.expect(w2, 2, "kvlist_value.values")
                        var kv = try m.message()
                        var id: Int32 = -1
                        pairs.append(try keyValue(&kv, depth: depth + 1, keys: &keys, id: &id))
                    } else { try m.skip(wire: w2) }
                }
                v = .string(AttributeValue.jsonObject(pairs))
            case 7: try r.expect(w, 2, "bytes_value"); v = .string(Base64.encode(try r.bytes()))
            default: try r.skip(wire: w)
            }
        }
        return v
    }

    /// A `google.rpc.Status` (an OTLP error reply's body): `code` 3 is INVALID_ARGUMENT.
    public static func status(code: Int, message: String) -> [UInt8] {
        var p = ProtoWriter()
        p.varintField(1, UInt64(code))
        p.stringField(2, message)
        return p.bytes
    }

    /// The message of a `google.rpc.Status` (field 2), or nil when the bytes are not one.
    public static func statusMessage(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { b -> String? in
            var r = ProtoReader(b)
            do {
                while let (field, wire) = try r.nextTag() {
                    if field == 2 && wire == 2 { return try r.string() }
                    try r.skip(wire: wire)
                }
            } catch {
                return nil
            }
            return nil
        }
    }

    /// `ExportTraceServiceResponse`: empty when everything was accepted, else `partial_success`.
    public static func response(rejected: Int, message: String) -> [UInt8] {
        var w = ProtoWriter()
        if rejected > 0 || !message.isEmpty {
            w.messageField(1) { p in
                if rejected > 0 { p.varintField(1, UInt64(rejected)) }
                if !message.isEmpty { p.stringField(2, message) }
            }
        }
        return w.bytes
    }
}

extension AttributeValue {
    /// Arrays hold scalars: an array containing arrays is kept as its JSON text.
    static func normalizedArray(_ items: [AttributeValue]) -> AttributeValue {
        if items.contains(where: { if case .array = $0 { return true } else { return false } }) {
            return .string(jsonArray(items))
        }
        return .array(items)
    }

    public static func jsonArray(_ items: [AttributeValue]) -> String {
        var w = JSONWriter()
        writeJSON(.array(items), &w)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func jsonObject(_ pairs: [Attribute]) -> String {
        var w = JSONWriter()
        w.beginObject()
        for p in pairs {
            w.key(p.key)
            writeJSON(p.value, &w)
        }
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func writeJSON(_ v: AttributeValue, _ w: inout JSONWriter) {
        switch v {
        case .string(let s): w.string(s)
        case .int(let i): w.int(i)
        case .double(let d): w.double(d)
        case .bool(let b): w.bool(b)
        case .array(let a):
            w.beginArray()
            for x in a { writeJSON(x, &w) }
            w.endArray()
        }
    }
}

/// Standard base64 (RFC 4648), for bytes attribute values.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ b: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((b.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= b.count {
            let v = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], alphabet[Int(v & 63)]]
            i += 3
        }
        if b.count - i == 1 {
            let v = UInt32(b[i]) << 16
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if b.count - i == 2 {
            let v = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        var acc: UInt32 = 0
        var bits = 0
        for c in s.utf8 {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - 48 + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): v = 63
            case UInt8(ascii: "="): continue
            default: return nil
            }
            acc = acc << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }
}
