import LLMTraceModel

/// Spans as an OTLP `ExportTraceServiceRequest` (protobuf) using the GenAI semantic conventions'
/// attribute names, the way an instrumented service sends them: what the Swift SDK exports, and the
/// ingest benchmark's client. One ResourceSpans per service.
public enum OTLPEncoder {
    /// Who made the spans: `telemetry.sdk.name` on the resource, and the instrumentation scope.
    public struct SDK: Sendable, Equatable {
        public var name: String
        public var version: String
        public init(name: String, version: String) {
            self.name = name
            self.version = version
        }
        public static let bench = SDK(name: "llmtrace-bench", version: "1.0")
    }

    /// The encoded request and the byte offset of every span's 16-byte trace id in it (a load
    /// generator can rewrite ids in place to send fresh traces without re-encoding).
    public static func encode(_ spans: [Span], sdk: SDK = .bench) -> (bytes: [UInt8], traceIDOffsets: [Int]) {
        var w = ProtoWriter()
        encode(spans, sdk: sdk, into: &w)
        return (w.bytes, traceIDOffsets(w.bytes))
    }

    /// Appends the request to `w`, written in place (an exporter keeps one writer, so its buffer is
    /// allocated once, not per batch).
    public static func encode(_ spans: [Span], sdk: SDK = .bench, into w: inout ProtoWriter) {
        // One resource per (service, environment, project): what the resource attributes say.
        struct Origin: Hashable { var service: String; var environment: String?; var project: String }
        var first = Origin(service: "", environment: nil, project: "")
        var single = true
        for (i, s) in spans.enumerated() {
            if i == 0 { first = Origin(service: s.service, environment: s.environment, project: s.project) }
            else if s.service != first.service || s.environment != first.environment || s.project != first.project { single = false; break }
        }
        var order: [Origin] = []
        var byOrigin: [Origin: [Int]] = [:]
        if single {
            if !spans.isEmpty { order = [first] }
        } else {
            for (i, s) in spans.enumerated() {
                let o = Origin(service: s.service, environment: s.environment, project: s.project)
                if byOrigin[o] == nil { order.append(o) }
                byOrigin[o, default: []].append(i)
            }
        }
        for origin in order {
            w.messageField(1) { rs in
                rs.messageField(1) { encodeResource(&$0, service: origin.service, environment: origin.environment, project: origin.project, sdk: sdk) }
                rs.messageField(2) { ss in
                    ss.messageField(1) { $0.stringField(1, sdk == .bench ? "llmtrace.bench" : sdk.name); $0.stringField(2, sdk.version) }
                    if single {
                        for s in spans { ss.messageField(2) { encodeSpan(&$0, s) } }
                    } else {
                        for i in byOrigin[origin]! { ss.messageField(2) { encodeSpan(&$0, spans[i]) } }
                    }
                }
            }
        }
    }

    /// Where each span's trace id starts in an encoded request (trace_id is the first field of every
    /// span this encoder writes).
    static func traceIDOffsets(_ bytes: [UInt8]) -> [Int] {
        var out: [Int] = []
        bytes.withUnsafeBytes { b in
            func each(_ r: inout ProtoReader, _ field: Int, _ f: (inout ProtoReader) -> Void) {
                while let (n, wire) = try? r.nextTag() {
                    if n == field && wire == 2, var m = try? r.message() { f(&m) } else if (try? r.skip(wire: wire)) == nil { return }
                }
            }
            var top = ProtoReader(b)
            each(&top, 1) { rs in
                each(&rs, 2) { ss in
                    each(&ss, 2) { span in out.append(span.pos + 2) }
                }
            }
        }
        return out
    }

    static func encodeResource(_ r: inout ProtoWriter, service: String, environment: String?, project: String, sdk: SDK) {
        attr(&r, 1, "service.name", .string(service))
        if let e = environment { attr(&r, 1, "deployment.environment.name", .string(e)) }
        if project != Span.defaultProject { attr(&r, 1, "llmtrace.project", .string(project)) }
        attr(&r, 1, "telemetry.sdk.name", .string(sdk.name))
        if sdk != .bench {
            attr(&r, 1, "telemetry.sdk.language", .string("swift"))
            attr(&r, 1, "telemetry.sdk.version", .string(sdk.version))
        }
            }

    static func encodeSpan(_ p: inout ProtoWriter, _ s: Span) {
        p.idField(1, s.traceID.hi, s.traceID.lo)
        p.idField(2, s.spanID.value)
        if !s.parentSpanID.isZero { p.idField(4, s.parentSpanID.value) }
        p.stringField(5, s.name)
        p.varintField(6, s.kind == .llm || s.kind == .embedding || s.kind == .retrieval ? 3 : 1)
        p.fixed64Field(7, UInt64(s.startNanos))
        p.fixed64Field(8, UInt64(s.endNanos))
        let kindName: String
        switch s.kind {
        case .llm: kindName = "LLM"
        case .retrieval: kindName = "RETRIEVER"
        case .embedding: kindName = "EMBEDDING"
        case .tool: kindName = "TOOL"
        case .agent: kindName = "AGENT"
        case .chain: kindName = "CHAIN"
        case .guardrail: kindName = "GUARDRAIL"
        case .cache, .other: kindName = ""
        }
        if !kindName.isEmpty { attr(&p, 9, "openinference.span.kind", .string(kindName)) }
        // A cache span says so; an unspecified one says nothing, so its attributes decide (a model
        // makes it an LLM call, a tool name a tool).
        else if s.kind == .cache { attr(&p, 9, "llmtrace.kind", .string("cache")) }
        // The GenAI conventions' operation, for backends that read it rather than OpenInference's kind.
        switch s.kind {
        case .llm: attr(&p, 9, "gen_ai.operation.name", .string("chat"))
        case .embedding: attr(&p, 9, "gen_ai.operation.name", .string("embeddings"))
        case .tool: attr(&p, 9, "gen_ai.operation.name", .string("execute_tool"))
        case .agent: attr(&p, 9, "gen_ai.operation.name", .string("invoke_agent"))
        default: break
        }
        if let v = s.provider { attr(&p, 9, "gen_ai.system", .string(v)) }
        if let v = s.requestModel { attr(&p, 9, "gen_ai.request.model", .string(v)) }
        if let v = s.responseModel { attr(&p, 9, "gen_ai.response.model", .string(v)) }
        if let v = s.inputTokens { attr(&p, 9, "gen_ai.usage.input_tokens", .int(v)) }
        if let v = s.outputTokens { attr(&p, 9, "gen_ai.usage.output_tokens", .int(v)) }
        if let v = s.cachedTokens { attr(&p, 9, "gen_ai.usage.cache_read_input_tokens", .int(v)) }
        if let v = s.reasoningTokens { attr(&p, 9, "gen_ai.usage.reasoning_tokens", .int(v)) }
        if let v = s.temperature { attr(&p, 9, "gen_ai.request.temperature", .double(v)) }
        if let v = s.maxTokens { attr(&p, 9, "gen_ai.request.max_tokens", .int(v)) }
        if let v = s.topP { attr(&p, 9, "gen_ai.request.top_p", .double(v)) }
        if let v = s.costUSD { attr(&p, 9, "gen_ai.usage.cost", .double(v)) }
        if let v = s.timeToFirstTokenNanos { attr(&p, 9, "llmtrace.time_to_first_token_ms", .double(Double(v) / 1e6)) }
        if let v = s.finishReason { attr(&p, 9, "gen_ai.response.finish_reasons", .array([.string(v)])) }
        if let v = s.sessionID { attr(&p, 9, "session.id", .string(v)) }
        if let v = s.userID { attr(&p, 9, "user.id", .string(v)) }
        if let v = s.promptName { attr(&p, 9, "gen_ai.prompt.name", .string(v)) }
        if let v = s.promptVersion { attr(&p, 9, "gen_ai.prompt.version", .string(v)) }
        if !s.tags.isEmpty { attr(&p, 9, "tag.tags", .array(s.tags.map { .string($0) })) }
        for (i, m) in s.inputMessages.enumerated() { message(&p, "gen_ai.prompt.\(i).", m) }
        for (i, m) in s.outputMessages.enumerated() { message(&p, "gen_ai.completion.\(i).", m) }
        for (i, d) in s.documents.enumerated() {
            if let id = d.id { attr(&p, 9, "retrieval.documents.\(i).document.id", .string(id)) }
            attr(&p, 9, "retrieval.documents.\(i).document.content", .string(d.content))
            if let sc = d.score { attr(&p, 9, "retrieval.documents.\(i).document.score", .double(sc)) }
        }
        for a in s.attributes { attr(&p, 9, a.key, a.value) }
        for e in s.events {
            p.messageField(11) { ev in
                ev.fixed64Field(1, UInt64(e.timeNanos))
                ev.stringField(2, e.name)
                for a in e.attributes { attr(&ev, 3, a.key, a.value) }
            }
        }
        if s.status != .unset || s.statusMessage != nil {
            p.messageField(15) { st in
                if let m = s.statusMessage { st.stringField(2, m) }
                st.varintField(3, s.status == .ok ? 1 : (s.status == .error ? 2 : 0))
            }
        }
    }

    /// One message as indexed attributes: role, content, the call it answers, the calls it makes.
    static func message(_ p: inout ProtoWriter, _ prefix: String, _ m: Message) {
        attr(&p, 9, prefix + "role", .string(m.role))
        attr(&p, 9, prefix + "content", .string(m.content))
        if let id = m.toolCallID { attr(&p, 9, prefix + "tool_call_id", .string(id)) }
        for (j, c) in m.toolCalls.enumerated() {
            if let id = c.id { attr(&p, 9, prefix + "tool_calls.\(j).id", .string(id)) }
            attr(&p, 9, prefix + "tool_calls.\(j).name", .string(c.name))
            attr(&p, 9, prefix + "tool_calls.\(j).arguments", .string(c.arguments))
        }
    }

    static func attr(_ w: inout ProtoWriter, _ field: Int, _ key: String, _ value: AttributeValue) {
        w.messageField(field) { kv in
            kv.stringField(1, key)
            kv.messageField(2) { anyValue(&$0, value) }
        }
    }

    static func anyValue(_ w: inout ProtoWriter, _ v: AttributeValue) {
        switch v {
        case .string(let s): w.stringField(1, s)
        case .bool(let b): w.varintField(2, b ? 1 : 0)
        case .int(let i): w.varintField(3, UInt64(bitPattern: i))
        case .double(let d): w.doubleField(4, d)
        case .array(let a):
            w.messageField(5) { arr in
                for x in a { arr.messageField(1) { anyValue(&$0, x) } }
            }
        }
    }
}
