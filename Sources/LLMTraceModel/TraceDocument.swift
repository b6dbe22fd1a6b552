/// One trace as `GET /api/traces/{id}` answers it and `tracectl trace --json` prints it:
/// `{"trace_id", "span_count", "spans": [native spans, in start order], "scores": [scores]}`.
public struct TraceDocument: Sendable {
    public var traceID: TraceID
    public var spans: [Span]
    public var scores: [Score]

    public init(traceID: TraceID, spans: [Span], scores: [Score] = []) {
        self.traceID = traceID
        self.spans = spans
        self.scores = scores
    }

    public func encodeJSON(into w: inout JSONWriter) {
        w.beginObject()
        w.key("trace_id"); w.string(traceID.hex)
        w.key("span_count"); w.int(Int64(spans.count))
        w.key("spans")
        w.beginArray()
        for s in spans { s.encodeJSON(into: &w) }
        w.endArray()
        w.key("scores")
        w.beginArray()
        for s in scores { s.encodeJSON(into: &w) }
        w.endArray()
        w.endObject()
    }

    /// Reads the document back (what `tracectl trace --endpoint` does with the answer): spans are
    /// decoded in place by the native decoder, scores from their JSON values.
    public static func decodeJSON(_ bytes: [UInt8]) throws(SpanDecodingError) -> TraceDocument {
        let result: Result<TraceDocument, SpanDecodingError> = bytes.withUnsafeBufferPointer { p in
            var r = JSONReader(p)
            do throws(SpanDecodingError) { return .success(try read(&r)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private static func read(_ r: inout JSONReader) throws(SpanDecodingError) -> TraceDocument {
        func json<T>(_ field: String, _ body: (inout JSONReader) throws(JSONError) -> T) throws(SpanDecodingError) -> T {
            do { return try body(&r) } catch { throw SpanDecodingError(field: field, reason: error.message, offset: error.offset) }
        }
        var id: TraceID? = nil
        var spans: [Span] = []
        var scores: [Score] = []
        try json("") { (r: inout JSONReader) throws(JSONError) in try r.beginObject() }
        var first = true
        while let k = try json("", { (r: inout JSONReader) throws(JSONError) in try r.nextKey(first: &first) }) {
            if k == "trace_id" {
                id = TraceID(hex: try json("trace_id") { (r: inout JSONReader) throws(JSONError) in try r.readString() })
            } else if k == "spans" || k == "scores" {
                let field = k.string
                try json(field) { (r: inout JSONReader) throws(JSONError) in try r.beginArray() }
                var firstEl = true
                while try json(field, { (r: inout JSONReader) throws(JSONError) in try r.nextElement(first: &firstEl) }) {
                    if field == "spans" {
                        do { spans.append(try Span.decodeJSON(&r)) } catch {
                            throw SpanDecodingError(field: "spans[\(spans.count)].\(error.field)", reason: error.reason, offset: error.offset)
                        }
                    } else {
                        let v = try json(field) { (r: inout JSONReader) throws(JSONError) in try JSONValue.read(&r, depth: 1) }
                        do { scores.append(try Score.decodeJSON(v, now: 0)) } catch {
                            throw SpanDecodingError(field: "scores[\(scores.count)].\(error.field)", reason: error.reason, offset: error.offset)
                        }
                    }
                }
            } else {
                try json(k.string) { (r: inout JSONReader) throws(JSONError) in try r.skipValue() }
            }
        }
        guard let id else { throw SpanDecodingError(field: "trace_id", reason: "expected 32 hex digits", offset: r.pos) }
        return TraceDocument(traceID: id, spans: spans, scores: scores)
    }
}
