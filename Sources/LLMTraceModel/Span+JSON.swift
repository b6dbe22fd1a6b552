/// The native JSON form of a span (`schemas/span.schema.json`): decoding with validation and encoding.
///
/// Decoding is strict about types and unknown fields (a typo must not silently drop data) and lenient
/// where clients differ: nanosecond times may be JSON numbers or decimal strings (JavaScript cannot hold
/// 19-digit integers), and `null` means absent for every optional field.
extension Span {
    /// Decodes one span object at the reader's position.
    public static func decodeJSON(_ r: inout JSONReader) throws(SpanDecodingError) -> Span {
        var d = SpanJSONDecoder()
        return try d.decode(&r)
    }

    /// Decodes a whole document holding one span object.
    public static func decodeJSON(_ bytes: [UInt8]) throws(SpanDecodingError) -> Span {
        let result: Result<Span, SpanDecodingError> = bytes.withUnsafeBufferPointer { p in
            var r = JSONReader(p)
            do throws(SpanDecodingError) {
                let s = try decodeJSON(&r)
                do throws(JSONError) { try r.expectEnd() } catch {
                    throw SpanDecodingError(field: "", reason: error.message, offset: error.offset)
                }
                return .success(s)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Encodes the span in native JSON. Optional fields that are nil and empty lists are left out.
    /// `contents: false` writes every message's and document's content as "" (a store that keeps
    /// the contents in a column of their own, in order: input messages, output messages, documents).
    public func encodeJSON(into w: inout JSONWriter, contents: Bool = true) {
        w.beginObject()
        w.key(ascii: "trace_id"); w.string(traceID)
        w.key(ascii: "span_id"); w.string(spanID)
        if !parentSpanID.isZero { w.key(ascii: "parent_span_id"); w.string(parentSpanID) }
        w.key(ascii: "project"); w.string(project)
        w.key(ascii: "service"); w.string(service)
        w.key(ascii: "name"); w.string(name)
        w.key(ascii: "kind"); w.string(kind.rawValue)
        w.key(ascii: "start_ns"); w.int(startNanos)
        w.key(ascii: "end_ns"); w.int(endNanos)
        w.key(ascii: "status"); w.string(status.rawValue)
        if let v = statusMessage { w.key(ascii: "status_message"); w.string(v) }
        if let v = provider { w.key(ascii: "provider"); w.string(v) }
        if let v = requestModel { w.key(ascii: "request_model"); w.string(v) }
        if let v = responseModel { w.key(ascii: "response_model"); w.string(v) }
        if let v = inputTokens { w.key(ascii: "input_tokens"); w.int(v) }
        if let v = outputTokens { w.key(ascii: "output_tokens"); w.int(v) }
        if let v = cachedTokens { w.key(ascii: "cached_tokens"); w.int(v) }
        if let v = reasoningTokens { w.key(ascii: "reasoning_tokens"); w.int(v) }
        if let v = costUSD { w.key(ascii: "cost_usd"); w.double(v) }
        if let v = timeToFirstTokenNanos { w.key(ascii: "time_to_first_token_ns"); w.int(v) }
        if let v = temperature { w.key(ascii: "temperature"); w.double(v) }
        if let v = maxTokens { w.key(ascii: "max_tokens"); w.int(v) }
        if let v = topP { w.key(ascii: "top_p"); w.double(v) }
        if let v = finishReason { w.key(ascii: "finish_reason"); w.string(v) }
        if !inputMessages.isEmpty { w.key(ascii: "input_messages"); Span.encodeMessages(inputMessages, &w, contents: contents) }
        if !outputMessages.isEmpty { w.key(ascii: "output_messages"); Span.encodeMessages(outputMessages, &w, contents: contents) }
        if !documents.isEmpty {
            w.key(ascii: "documents")
            w.beginArray()
            for doc in documents {
                w.beginObject()
                if let id = doc.id { w.key(ascii: "id"); w.string(id) }
                w.key(ascii: "content"); w.string(contents ? doc.content : "")
                if let s = doc.score { w.key(ascii: "score"); w.double(s) }
                w.endObject()
            }
            w.endArray()
        }
        if let v = promptName { w.key(ascii: "prompt_name"); w.string(v) }
        if let v = promptVersion { w.key(ascii: "prompt_version"); w.string(v) }
        if let v = sessionID { w.key(ascii: "session_id"); w.string(v) }
        if let v = userID { w.key(ascii: "user_id"); w.string(v) }
        if let v = environment { w.key(ascii: "environment"); w.string(v) }
        if !tags.isEmpty {
            w.key(ascii: "tags")
            w.beginArray()
            for t in tags { w.string(t) }
            w.endArray()
        }
        if !attributes.isEmpty { w.key(ascii: "attributes"); Span.encodeAttributes(attributes, &w) }
        if !events.isEmpty {
            w.key(ascii: "events")
            w.beginArray()
            for e in events {
                w.beginObject()
                w.key(ascii: "name"); w.string(e.name)
                w.key(ascii: "time_ns"); w.int(e.timeNanos)
                if !e.attributes.isEmpty { w.key(ascii: "attributes"); Span.encodeAttributes(e.attributes, &w) }
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
    }

    /// Compact native JSON bytes for this span.
    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        encodeJSON(into: &w)
        return w.bytes
    }

    static func encodeMessages(_ ms: [Message], _ w: inout JSONWriter, contents: Bool = true) {
        w.beginArray()
        for m in ms {
            w.beginObject()
            w.key(ascii: "role"); w.string(m.role)
            w.key(ascii: "content"); w.string(contents ? m.content : "")
            if !m.toolCalls.isEmpty {
                w.key(ascii: "tool_calls")
                w.beginArray()
                for c in m.toolCalls {
                    w.beginObject()
                    if let id = c.id { w.key(ascii: "id"); w.string(id) }
                    w.key(ascii: "name"); w.string(c.name)
                    w.key(ascii: "arguments"); w.string(c.arguments)
                    w.endObject()
                }
                w.endArray()
            }
            if let id = m.toolCallID { w.key(ascii: "tool_call_id"); w.string(id) }
            w.endObject()
        }
        w.endArray()
    }

    static func encodeAttributes(_ attrs: [Attribute], _ w: inout JSONWriter) {
        w.beginObject()
        for a in attrs {
            w.key(a.key)
            encodeValue(a.value, &w)
        }
        w.endObject()
    }

    /// An attribute value as JSON (a string quoted, an array as a JSON array).
    public static func encodeValue(_ v: AttributeValue, _ w: inout JSONWriter) {
        switch v {
        case .string(let s): w.string(s)
        case .int(let i): w.int(i)
        case .double(let d): w.double(d)
        case .bool(let b): w.bool(b)
        case .array(let items):
            w.beginArray()
            for i in items { encodeValue(i, &w) }
            w.endArray()
        }
    }
}

/// Field-by-field decoder. Kept separate so error helpers can carry the current path.
struct SpanJSONDecoder {
    private func fail(_ field: String, _ reason: String, _ r: JSONReader) -> SpanDecodingError {
        SpanDecodingError(field: field, reason: reason, offset: r.pos)
    }

    private func wrap<T>(_ field: String, _ r: inout JSONReader, _ body: (inout JSONReader) throws(JSONError) -> T) throws(SpanDecodingError) -> T {
        do {
            return try body(&r)
        } catch {
            throw SpanDecodingError(field: field, reason: error.message, offset: error.offset)
        }
    }

    private func string(_ f: String, _ r: inout JSONReader) throws(SpanDecodingError) -> String {
        try wrap(f, &r) { (r: inout JSONReader) throws(JSONError) in try r.readString() }
    }

    private func optString(_ f: String, _ r: inout JSONReader) throws(SpanDecodingError) -> String? {
        if r.consumeNull() { return nil }
        return try string(f, &r)
    }

    private func optInt(_ f: String, _ r: inout JSONReader, nonNegative: Bool = true) throws(SpanDecodingError) -> Int64? {
        if r.consumeNull() { return nil }
        let v = try nanos(f, &r)
        if nonNegative && v < 0 { throw fail(f, "must not be negative", r) }
        return v
    }

    private func optDouble(_ f: String, _ r: inout JSONReader) throws(SpanDecodingError) -> Double? {
        if r.consumeNull() { return nil }
        let v = try wrap(f, &r) { (r: inout JSONReader) throws(JSONError) in try r.readDouble() }
        guard v.isFinite else { throw fail(f, "must be a finite number", r) }
        return v
    }

    /// An integer given as a JSON number or a decimal string.
    private func nanos(_ f: String, _ r: inout JSONReader) throws(SpanDecodingError) -> Int64 {
        if r.peek() == UInt8(ascii: "\"") {
            let s = try string(f, &r)
            guard let v = Int64(s) else {
                let digits = !s.isEmpty && s.drop { $0 == "-" }.allSatisfy { $0.isASCII && $0.isNumber }
                throw fail(f, digits ? "integer out of range (the largest is 9223372036854775807)" : "expected an integer, got the string \"\(s.prefix(40))\"", r)
            }
            return v
        }
        return try wrap(f, &r) { (r: inout JSONReader) throws(JSONError) in try r.readInt64() }
    }

    private func hexID(_ f: String, _ r: inout JSONReader, bytes: Int) throws(SpanDecodingError) -> (UInt64, UInt64) {
        let s = try string(f, &r)
        if bytes == 16 {
            guard let t = TraceID(hex: s) else { throw fail(f, "expected 32 hex digits, got \"\(s.prefix(40))\"", r) }
            return (t.hi, t.lo)
        }
        guard let id = SpanID(hex: s) else { throw fail(f, "expected 16 hex digits, got \"\(s.prefix(40))\"", r) }
        return (0, id.value)
    }

    mutating func decode(_ r: inout JSONReader) throws(SpanDecodingError) -> Span {
        var span = Span(traceID: TraceID(hi: 0, lo: 0), spanID: SpanID(0), name: "", startNanos: 0, endNanos: 0)
        var seenTrace = false, seenSpan = false, seenName = false, seenStart = false, seenEnd = false
        try wrap("", &r) { (r: inout JSONReader) throws(JSONError) in
            guard r.peek() == UInt8(ascii: "{") else { throw r.error("expected a span object") }
            try r.beginObject()
        }
        var first = true
        while let key = try wrap("", &r, { (r: inout JSONReader) throws(JSONError) in try r.nextKey(first: &first) }) {
            if key == "trace_id" {
                let (h, l) = try hexID("trace_id", &r, bytes: 16)
                span.traceID = TraceID(hi: h, lo: l)
                seenTrace = true
            } else if key == "span_id" {
                span.spanID = SpanID(try hexID("span_id", &r, bytes: 8).1)
                seenSpan = true
            } else if key == "parent_span_id" {
                if r.consumeNull() { continue }
                if r.peek() == UInt8(ascii: "\"") {
                    // An empty string is how several SDKs spell "no parent".
                    let s = try string("parent_span_id", &r)
                    if s.isEmpty { continue }
                    guard let id = SpanID(hex: s) else { throw fail("parent_span_id", "expected 16 hex digits, got \"\(s.prefix(40))\"", r) }
                    span.parentSpanID = id
                } else {
                    throw fail("parent_span_id", "expected a hex string", r)
                }
            } else if key == "project" {
                // null is absent (the schema's rule for every optional field): the default.
                span.project = try optString("project", &r) ?? Span.defaultProject
            } else if key == "service" {
                span.service = try optString("service", &r) ?? Span.defaultService
            } else if key == "name" {
                span.name = try string("name", &r)
                seenName = true
            } else if key == "kind" {
                let s = try string("kind", &r)
                guard let k = SpanKind(rawValue: s) else {
                    throw fail("kind", "unknown kind \"\(s.prefix(40))\"; expected one of \(SpanKind.allCases.map(\.rawValue).joined(separator: ", "))", r)
                }
                span.kind = k
            } else if key == "start_ns" {
                span.startNanos = try nanos("start_ns", &r)
                seenStart = true
            } else if key == "end_ns" {
                span.endNanos = try nanos("end_ns", &r)
                seenEnd = true
            } else if key == "status" {
                let s = try string("status", &r)
                guard let st = SpanStatus(rawValue: s) else { throw fail("status", "unknown status \"\(s.prefix(40))\"; expected unset, ok or error", r) }
                span.status = st
            } else if key == "status_message" {
                span.statusMessage = try optString("status_message", &r)
            } else if key == "provider" {
                span.provider = try optString("provider", &r)
            } else if key == "request_model" {
                span.requestModel = try optString("request_model", &r)
            } else if key == "response_model" {
                span.responseModel = try optString("response_model", &r)
            } else if key == "input_tokens" {
                span.inputTokens = try optInt("input_tokens", &r)
            } else if key == "output_tokens" {
                span.outputTokens = try optInt("output_tokens", &r)
            } else if key == "cached_tokens" {
                span.cachedTokens = try optInt("cached_tokens", &r)
            } else if key == "reasoning_tokens" {
                span.reasoningTokens = try optInt("reasoning_tokens", &r)
            } else if key == "cost_usd" {
                span.costUSD = try optDouble("cost_usd", &r)
                if let c = span.costUSD, c < 0 { throw fail("cost_usd", "must not be negative", r) }
            } else if key == "time_to_first_token_ns" {
                span.timeToFirstTokenNanos = try optInt("time_to_first_token_ns", &r)
            } else if key == "temperature" {
                span.temperature = try optDouble("temperature", &r)
            } else if key == "max_tokens" {
                span.maxTokens = try optInt("max_tokens", &r)
            } else if key == "top_p" {
                span.topP = try optDouble("top_p", &r)
            } else if key == "finish_reason" {
                span.finishReason = try optString("finish_reason", &r)
            } else if key == "input_messages" {
                span.inputMessages = try messages("input_messages", &r)
            } else if key == "output_messages" {
                span.outputMessages = try messages("output_messages", &r)
            } else if key == "documents" {
                span.documents = try documents(&r)
            } else if key == "prompt_name" {
                span.promptName = try optString("prompt_name", &r)
            } else if key == "prompt_version" {
                span.promptVersion = try optString("prompt_version", &r)
            } else if key == "session_id" {
                span.sessionID = try optString("session_id", &r)
            } else if key == "user_id" {
                span.userID = try optString("user_id", &r)
            } else if key == "environment" {
                span.environment = try optString("environment", &r)
            } else if key == "tags" {
                if r.consumeNull() { continue }
                try wrap("tags", &r) { (r: inout JSONReader) throws(JSONError) in
                    guard r.peek() == UInt8(ascii: "[") else { throw r.error("expected an array of strings") }
                    try r.beginArray()
                    var f = true
                    while try r.nextElement(first: &f) { span.tags.append(try r.readString()) }
                }
            } else if key == "attributes" {
                span.attributes = try attributes("attributes", &r)
            } else if key == "events" {
                span.events = try events(&r)
            } else {
                throw fail(key.string, "unknown field", r)
            }
        }
        if !seenTrace { throw fail("trace_id", "required field missing", r) }
        if !seenSpan { throw fail("span_id", "required field missing", r) }
        if !seenName { throw fail("name", "required field missing", r) }
        if !seenStart { throw fail("start_ns", "required field missing", r) }
        if !seenEnd { throw fail("end_ns", "required field missing", r) }
        if span.traceID.isZero { throw fail("trace_id", "must not be all zeros", r) }
        if span.spanID.isZero { throw fail("span_id", "must not be all zeros", r) }
        if span.name.isEmpty { throw fail("name", "must not be empty", r) }
        if span.project.isEmpty { throw fail("project", "must not be empty", r) }
        if span.endNanos < span.startNanos { throw fail("end_ns", "is before start_ns", r) }
        return span
    }

    /// `null` (none) or an array, each element read by `element` with its path (`f[k]`).
    /// `expecting` completes "expected …" when the value is not an array.
    private func list<T>(_ f: String, _ r: inout JSONReader, expecting: String,
                         _ element: (String, inout JSONReader) throws(SpanDecodingError) -> T) throws(SpanDecodingError) -> [T] {
        if r.consumeNull() { return [] }
        var out: [T] = []
        try wrap(f, &r) { (r: inout JSONReader) throws(JSONError) in
            guard r.peek() == UInt8(ascii: "[") else { throw r.error("expected " + expecting) }
            try r.beginArray()
        }
        var firstEl = true
        while try wrap(f, &r, { (r: inout JSONReader) throws(JSONError) in try r.nextElement(first: &firstEl) }) {
            out.append(try element("\(f)[\(out.count)]", &r))
        }
        return out
    }

    /// The object at `path`, each member passed to `field` with its key. `expecting` completes
    /// "expected …" when the value is not an object.
    private func members(_ path: String, _ r: inout JSONReader, expecting: String,
                         _ field: (JSONKey, inout JSONReader) throws(SpanDecodingError) -> Void) throws(SpanDecodingError) {
        try wrap(path, &r) { (r: inout JSONReader) throws(JSONError) in
            guard r.peek() == UInt8(ascii: "{") else { throw r.error("expected " + expecting) }
            try r.beginObject()
        }
        var first = true
        while let k = try wrap(path, &r, { (r: inout JSONReader) throws(JSONError) in try r.nextKey(first: &first) }) {
            try field(k, &r)
        }
    }

    private func messages(_ f: String, _ r: inout JSONReader) throws(SpanDecodingError) -> [Message] {
        try list(f, &r, expecting: "an array of {role, content} objects") { (path, r) throws(SpanDecodingError) -> Message in
            var role: String? = nil
            var m = Message(role: "", content: "")
            try members(path, &r, expecting: "a {role, content} object") { (k, r) throws(SpanDecodingError) in
                if k == "role" {
                    role = try string(path + ".role", &r)
                } else if k == "content" {
                    m.content = try optString(path + ".content", &r) ?? ""
                } else if k == "tool_calls" {
                    m.toolCalls = try toolCalls(path + ".tool_calls", &r)
                } else if k == "tool_call_id" {
                    m.toolCallID = try optString(path + ".tool_call_id", &r)
                } else {
                    throw fail(path + "." + k.string, "unknown field", r)
                }
            }
            guard let role else { throw fail(path + ".role", "required field missing", r) }
            m.role = role
            return m
        }
    }

    /// `[{"id", "name", "arguments"}]`, or OpenAI's own shape `[{"id", "type": "function",
    /// "function": {"name", "arguments"}}]` pasted as is. Arguments are a string (as OpenAI sends
    /// them) or any JSON value, kept as its JSON text.
    private func toolCalls(_ f: String, _ r: inout JSONReader) throws(SpanDecodingError) -> [ToolCall] {
        try list(f, &r, expecting: "an array of {id, name, arguments} objects") { (path, r) throws(SpanDecodingError) -> ToolCall in
            var call = ToolCall(name: "")
            var named = false
            try callFields(path, &r, into: &call, named: &named, nested: false)
            guard named else { throw fail(path + ".name", "required field missing", r) }
            return call
        }
    }

    private func callFields(_ path: String, _ r: inout JSONReader, into call: inout ToolCall, named: inout Bool,
                            nested: Bool) throws(SpanDecodingError) {
        try members(path, &r, expecting: "an {id, name, arguments} object") { (k, r) throws(SpanDecodingError) in
            if k == "id", !nested {
                call.id = try optString(path + ".id", &r)
            } else if k == "name" {
                call.name = try string(path + ".name", &r)
                named = true
            } else if k == "arguments" {
                if r.peek() == UInt8(ascii: "\"") {
                    call.arguments = try string(path + ".arguments", &r)
                } else {
                    call.arguments = try wrap(path + ".arguments", &r) { (r: inout JSONReader) throws(JSONError) -> String in
                        let start = r.pos
                        try r.skipValue()
                        return String(decoding: UnsafeBufferPointer(rebasing: r.bytes[start..<r.pos]), as: UTF8.self)
                    }
                }
            } else if k == "type", !nested {
                _ = try optString(path + ".type", &r)
            } else if k == "function", !nested {
                try callFields(path + ".function", &r, into: &call, named: &named, nested: true)
            } else {
                throw fail(path + "." + k.string, "unknown field", r)
            }
        }
    }

    private func documents(_ r: inout JSONReader) throws(SpanDecodingError) -> [RetrievedDocument] {
        try list("documents", &r, expecting: "an array of {id, content, score} objects") { (path, r) throws(SpanDecodingError) -> RetrievedDocument in
            var doc = RetrievedDocument(content: "")
            try members(path, &r, expecting: "an {id, content, score} object") { (k, r) throws(SpanDecodingError) in
                if k == "id" {
                    doc.id = try optString(path + ".id", &r)
                } else if k == "content" {
                    doc.content = try optString(path + ".content", &r) ?? ""
                } else if k == "score" {
                    doc.score = try optDouble(path + ".score", &r)
                } else {
                    throw fail(path + "." + k.string, "unknown field", r)
                }
            }
            return doc
        }
    }

    private func events(_ r: inout JSONReader) throws(SpanDecodingError) -> [SpanEvent] {
        try list("events", &r, expecting: "an array of {name, time_ns, attributes} objects") { (path, r) throws(SpanDecodingError) -> SpanEvent in
            var ev = SpanEvent(name: "", timeNanos: 0)
            var seenName = false, seenTime = false
            try members(path, &r, expecting: "a {name, time_ns, attributes} object") { (k, r) throws(SpanDecodingError) in
                if k == "name" {
                    ev.name = try string(path + ".name", &r); seenName = true
                } else if k == "time_ns" {
                    ev.timeNanos = try nanos(path + ".time_ns", &r); seenTime = true
                } else if k == "attributes" {
                    ev.attributes = try attributes(path + ".attributes", &r)
                } else {
                    throw fail(path + "." + k.string, "unknown field", r)
                }
            }
            if !seenName { throw fail(path + ".name", "required field missing", r) }
            if !seenTime { throw fail(path + ".time_ns", "required field missing", r) }
            return ev
        }
    }

    private func attributes(_ f: String, _ r: inout JSONReader) throws(SpanDecodingError) -> [Attribute] {
        if r.consumeNull() { return [] }
        var out: [Attribute] = []
        try members(f, &r, expecting: "an object of key/value pairs") { (k, r) throws(SpanDecodingError) in
            let key = k.string
            guard let v = try attributeValue(f + "." + key, &r, allowArray: true) else { return }
            out.append(Attribute(key, v))
        }
        return out
    }

    /// A scalar or an array of scalars. `null` drops the attribute.
    private func attributeValue(_ f: String, _ r: inout JSONReader, allowArray: Bool) throws(SpanDecodingError) -> AttributeValue? {
        guard let c = r.peek() else { throw fail(f, "unexpected end of input", r) }
        switch c {
        case UInt8(ascii: "\""): return .string(try string(f, &r))
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            return .bool(try wrap(f, &r) { (r: inout JSONReader) throws(JSONError) in try r.readBool() })
        case UInt8(ascii: "n"):
            guard r.consumeNull() else { throw fail(f, "invalid literal", r) }
            return nil
        case UInt8(ascii: "["):
            guard allowArray else { throw fail(f, "nested arrays are not allowed in attributes", r) }
            var items: [AttributeValue] = []
            try wrap(f, &r) { (r: inout JSONReader) throws(JSONError) in try r.beginArray() }
            var first = true
            while try wrap(f, &r, { (r: inout JSONReader) throws(JSONError) in try r.nextElement(first: &first) }) {
                if let v = try attributeValue("\(f)[\(items.count)]", &r, allowArray: false) { items.append(v) }
            }
            return .array(items)
        case UInt8(ascii: "{"):
            throw fail(f, "objects are not allowed as attribute values; flatten to dotted keys", r)
        default:
            let n = try wrap(f, &r) { (r: inout JSONReader) throws(JSONError) in try r.readNumber() }
            switch n {
            case .int(let i): return .int(i)
            case .double(let d):
                guard d.isFinite else { throw fail(f, "must be a finite number", r) }
                return .double(d)
            }
        }
    }
}
