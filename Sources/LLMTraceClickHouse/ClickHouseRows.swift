import LLMTraceModel

/// The rows the sink inserts (`INSERT INTO … FORMAT JSONEachRow`): one JSON object per line, one
/// member per column of `schemas/clickhouse/*.sql` that is not MATERIALIZED.
///
/// Spans: the fixed fields as their own columns (ids as lowercase hex; times as nanoseconds since
/// the epoch in `start_ns`/`end_ns`; optional fields null when the sender did not say; `ttft_ns`
/// the time to first token); `tags`; attributes as two parallel arrays `attr_keys`/`attr_values`
/// (a value as its text: strings as sent, numbers and booleans as JSON writes them, arrays as
/// JSON); `contents`, every input and output message's and document's content in that order (what
/// `MATCH` searches); and `span`, the rest of the span in LLMTrace's native JSON with those contents
/// left empty (`span(json:contents:)` puts them back: what a trace lookup returns).
/// Strings are written as JSON escapes of the stored UTF-8, so ClickHouse stores the same bytes.
///
/// Scores: `project`, `trace_id`, `span_id` (empty for a trace's score), `name`, `value` (null
/// for a category), `category`, `source`, `comment`, `time_ns`.
public enum ClickHouseRows {
    public static func spans(_ spans: [Span], into w: inout JSONWriter) {
        var scratch = JSONWriter(capacity: 2048)
        for i in spans.indices { row(spans[i], &w, &scratch) }
    }

    /// One span's row (borrowed: copying a span retains and releases each of its strings).
    private static func row(_ s: borrowing Span, _ w: inout JSONWriter, _ scratch: inout JSONWriter) {
        do {
            w.beginObject()
            w.key(ascii: "project"); w.string(s.project)
            w.key(ascii: "trace_id"); w.string(s.traceID)
            w.key(ascii: "span_id"); w.string(s.spanID)
            w.key(ascii: "parent_span_id"); if s.parentSpanID.isZero { w.string("") } else { w.string(s.parentSpanID) }
            w.key(ascii: "service"); w.string(s.service)
            w.key(ascii: "name"); w.string(s.name)
            w.key(ascii: "kind"); w.string(s.kind.rawValue)
            w.key(ascii: "status"); w.string(s.status.rawValue)
            optional("status_message", s.statusMessage, &w)
            optional("provider", s.provider, &w)
            optional("request_model", s.requestModel, &w)
            optional("response_model", s.responseModel, &w)
            optional("environment", s.environment, &w)
            optional("prompt_name", s.promptName, &w)
            optional("prompt_version", s.promptVersion, &w)
            optional("session_id", s.sessionID, &w)
            optional("user_id", s.userID, &w)
            optional("finish_reason", s.finishReason, &w)
            w.key(ascii: "start_ns"); w.int(s.startNanos)
            w.key(ascii: "end_ns"); w.int(s.endNanos)
            optional("input_tokens", s.inputTokens, &w)
            optional("output_tokens", s.outputTokens, &w)
            optional("cached_tokens", s.cachedTokens, &w)
            optional("reasoning_tokens", s.reasoningTokens, &w)
            optional("cost_usd", s.costUSD, &w)
            optional("ttft_ns", s.timeToFirstTokenNanos, &w)
            optional("temperature", s.temperature, &w)
            optional("max_tokens", s.maxTokens, &w)
            optional("top_p", s.topP, &w)
            w.key(ascii: "tags"); w.beginArray(); for t in s.tags { w.string(t) }; w.endArray()
            w.key(ascii: "attr_keys"); w.beginArray(); for a in s.attributes { w.string(a.key) }; w.endArray()
            w.key(ascii: "attr_values"); w.beginArray()
            for a in s.attributes {
                if case .string(let v) = a.value {
                    w.string(v)
                } else {
                    scratch.bytes.removeAll(keepingCapacity: true)
                    Span.encodeValue(a.value, &scratch)
                    scratch.bytes.withUnsafeBufferPointer { w.string(utf8: $0) }
                }
            }
            w.endArray()
            w.key(ascii: "contents"); w.beginArray()
            for m in s.inputMessages { w.string(m.content) }
            for m in s.outputMessages { w.string(m.content) }
            for d in s.documents { w.string(d.content) }
            w.endArray()
            w.key(ascii: "span")
            w.beginNestedDocument()
            s.encodeJSON(into: &w, contents: false)
            w.endNestedDocument()
            w.endObject()
            w.bytes.append(0x0A)
        }
    }

    public static func scores(_ scores: [Score], into w: inout JSONWriter) {
        for x in scores {
            w.beginObject()
            w.key(ascii: "project"); w.string(x.project)
            w.key(ascii: "trace_id"); w.string(x.traceID)
            w.key(ascii: "span_id"); w.string(x.spanID?.hex ?? "")
            w.key(ascii: "name"); w.string(x.name)
            switch x.value {
            case .number(let d): w.key(ascii: "value"); w.double(d); w.key(ascii: "category"); w.null()
            case .category(let c): w.key(ascii: "value"); w.null(); w.key(ascii: "category"); w.string(c)
            }
            w.key(ascii: "source"); w.string(x.source.rawValue)
            optional("comment", x.comment, &w)
            w.key(ascii: "time_ns"); w.int(x.timeNanos)
            w.endObject()
            w.bytes.append(0x0A)
        }
    }

    /// A span from its `span` and `contents` columns.
    public static func span(json: String, contents: [String]) throws -> Span {
        var s = try Span.decodeJSON(Array(json.utf8))
        var i = 0
        func next() -> String {
            defer { i += 1 }
            return i < contents.count ? contents[i] : ""
        }
        for k in s.inputMessages.indices { s.inputMessages[k].content = next() }
        for k in s.outputMessages.indices { s.outputMessages[k].content = next() }
        for k in s.documents.indices { s.documents[k].content = next() }
        return s
    }

    @inline(__always) private static func optional(_ key: StaticString, _ v: String?, _ w: inout JSONWriter) {
        w.key(ascii: key)
        if let v { w.string(v) } else { w.null() }
    }
    @inline(__always) private static func optional(_ key: StaticString, _ v: Int64?, _ w: inout JSONWriter) {
        w.key(ascii: key)
        if let v { w.int(v) } else { w.null() }
    }
    @inline(__always) private static func optional(_ key: StaticString, _ v: Double?, _ w: inout JSONWriter) {
        w.key(ascii: key)
        if let v, v.isFinite { w.double(v) } else { w.null() }
    }
}
