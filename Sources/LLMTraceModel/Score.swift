/// Feedback or an evaluation attached to a trace or one of its spans: a user's thumbs-up, an LLM
/// judge's 0.82 faithfulness, a reviewer's "hallucination" label.
public struct Score: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case number(Double)
        case category(String)
    }

    public enum Source: String, Sendable, CaseIterable {
        case user, eval, human
    }

    public var project: String
    public var traceID: TraceID
    /// Nil when the score is about the whole trace.
    public var spanID: SpanID?
    public var name: String
    public var value: Value
    public var source: Source
    public var comment: String?
    public var timeNanos: Int64

    public init(project: String = Span.defaultProject, traceID: TraceID, spanID: SpanID? = nil, name: String, value: Value,
                source: Source = .user, comment: String? = nil, timeNanos: Int64) {
        self.project = project
        self.traceID = traceID
        self.spanID = spanID
        self.name = name
        self.value = value
        self.source = source
        self.comment = comment
        self.timeNanos = timeNanos
    }

    /// Decodes `{"trace_id", "span_id"?, "name", "value", "source"?, "comment"?, "time_ns"?}`.
    /// `value` is a number, a boolean (stored as 1 or 0) or a string (a category). A missing
    /// time is `now`; a missing source is `user`.
    public static func decodeJSON(_ v: JSONValue, now: Int64) throws(SpanDecodingError) -> Score {
        func fail(_ field: String, _ reason: String) -> SpanDecodingError { SpanDecodingError(field: field, reason: reason, offset: 0) }
        guard let members = v.object else { throw fail("score", "expected a JSON object") }
        let known: Set<String> = ["trace_id", "span_id", "name", "value", "source", "comment", "time_ns", "project"]
        for (k, _) in members where !known.contains(k) {
            throw fail(k, "unknown field (known: \(known.sorted().joined(separator: ", ")))")
        }
        guard let t = v["trace_id"]?.string, let trace = TraceID(hex: t), !trace.isZero else {
            throw fail("trace_id", "expected 32 hex digits, not all zero")
        }
        var span: SpanID? = nil
        if let sv = v["span_id"], sv != .null {
            guard let s = sv.string, let id = SpanID(hex: s), !id.isZero else { throw fail("span_id", "expected 16 hex digits, not all zero") }
            span = id
        }
        guard let name = v["name"]?.string, !name.isEmpty, name.utf8.count <= 200 else {
            throw fail("name", "expected a non-empty string of at most 200 bytes")
        }
        let value: Value
        switch v["value"] {
        case .number(let n)?:
            let d: Double
            switch n {
            case .int(let i): d = Double(i)
            case .double(let x): d = x
            }
            guard d.isFinite else { throw fail("value", "must be finite") }
            value = .number(d)
        case .bool(let b)?: value = .number(b ? 1 : 0)
        case .string(let s)?:
            guard !s.isEmpty, s.utf8.count <= 200 else { throw fail("value", "a category must be 1 to 200 bytes") }
            value = .category(s)
        default:
            throw fail("value", "expected a number, a boolean or a string")
        }
        var source = Source.user
        if let sv = v["source"] {
            guard let s = sv.string, let src = Source(rawValue: s) else {
                throw fail("source", "expected one of \(Source.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            source = src
        }
        var comment: String? = nil
        if let c = v["comment"], c != .null {
            guard let s = c.string, s.utf8.count <= 65536 else { throw fail("comment", "expected a string of at most 64 KiB") }
            comment = s
        }
        var time = now
        if let tv = v["time_ns"] {
            guard let ns = tv.int ?? tv.string.flatMap({ Int64($0) }), ns > 0 else { throw fail("time_ns", "expected nanoseconds since the epoch") }
            time = ns
        }
        var project = Span.defaultProject
        if let p = v["project"] {
            guard let s = p.string, !s.isEmpty else { throw fail("project", "expected a non-empty string") }
            project = s
        }
        return Score(project: project, traceID: trace, spanID: span, name: name, value: value, source: source, comment: comment, timeNanos: time)
    }

    public func encodeJSON(into w: inout JSONWriter) {
        w.beginObject()
        w.key("project"); w.string(project)
        w.key("trace_id"); w.string(traceID.hex)
        if let s = spanID { w.key("span_id"); w.string(s.hex) }
        w.key("name"); w.string(name)
        w.key("value")
        switch value {
        case .number(let d): w.double(d)
        case .category(let c): w.string(c)
        }
        w.key("source"); w.string(source.rawValue)
        if let c = comment { w.key("comment"); w.string(c) }
        w.key("time_ns"); w.int(timeNanos)
        w.endObject()
    }
}
