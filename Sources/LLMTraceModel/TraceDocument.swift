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

    /// Reads the document back (what `tracectl trace --endpoint` does with the answer).
    public static func decodeJSON(_ bytes: [UInt8]) throws(SpanDecodingError) -> TraceDocument {
        let doc: JSONValue
        do { doc = try JSONValue.parse(bytes) } catch { throw SpanDecodingError(field: "", reason: error.message, offset: error.offset) }
        guard let hex = doc["trace_id"]?.string, let id = TraceID(hex: hex) else {
            throw SpanDecodingError(field: "trace_id", reason: "expected 32 hex digits", offset: 0)
        }
        var spans: [Span] = []
        for (k, v) in (doc["spans"]?.array ?? []).enumerated() {
            do { spans.append(try Span.decodeJSON(Array(v.jsonString.utf8))) } catch {
                throw SpanDecodingError(field: "spans[\(k)].\(error.field)", reason: error.reason, offset: 0)
            }
        }
        var scores: [Score] = []
        for (k, v) in (doc["scores"]?.array ?? []).enumerated() {
            do { scores.append(try Score.decodeJSON(v, now: 0)) } catch {
                throw SpanDecodingError(field: "scores[\(k)].\(error.field)", reason: error.reason, offset: 0)
            }
        }
        return TraceDocument(traceID: id, spans: spans, scores: scores)
    }
}
