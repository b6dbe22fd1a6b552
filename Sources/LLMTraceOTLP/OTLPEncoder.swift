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
        // One resource per (service, environment, project): what the resource attributes say.
        struct Origin: Hashable { var service: String; var environment: String?; var project: String }
        var order: [Origin] = []
        var byOrigin: [Origin: [Span]] = [:]
        for s in spans {
            let o = Origin(service: s.service, environment: s.environment, project: s.project)
            if byOrigin[o] == nil { order.append(o) }
            byOrigin[o, default: []].append(s)
        }
        var w = ProtoWriter()
        var offsets: [Int] = []
        for origin in order {
            let group = byOrigin[origin]!
            let resource = encodeResource(service: origin.service, environment: origin.environment, project: origin.project, sdk: sdk)
            var scopeBody = ProtoWriter()
            scopeBody.messageField(1) { $0.stringField(1, sdk == .bench ? "llmtrace.bench" : sdk.name); $0.stringField(2, sdk.version) }
            var spanOffsets: [Int] = []
            for s in group {
                let body = encodeSpan(s)
                scopeBody.tag(2, 2)
                scopeBody.varint(UInt64(body.count))
                // trace_id is the first field of the span body: tag (1 byte) + length (1 byte).
                spanOffsets.append(scopeBody.bytes.count + 2)
                scopeBody.bytes.append(contentsOf: body)
            }
            var rs = ProtoWriter()
            rs.bytesField(1, resource)
            rs.tag(2, 2)
            rs.varint(UInt64(scopeBody.bytes.count))
            let scopeStart = rs.bytes.count
            rs.bytes.append(contentsOf: scopeBody.bytes)
            w.tag(1, 2)
            w.varint(UInt64(rs.bytes.count))
            let rsStart = w.bytes.count
            w.bytes.append(contentsOf: rs.bytes)
            offsets += spanOffsets.map { rsStart + scopeStart + $0 }
        }
        return (w.bytes, offsets)
    }

    static func encodeResource(service: String, environment: String?, project: String, sdk: SDK) -> [UInt8] {
        var r = ProtoWriter()
        attr(&r, 1, "service.name", .string(service))
        if let e = environment { attr(&r, 1, "deployment.environment.name", .string(e)) }
        if project != Span.defaultProject { attr(&r, 1, "llmtrace.project", .string(project)) }
        attr(&r, 1, "telemetry.sdk.name", .string(sdk.name))
        if sdk != .bench {
            attr(&r, 1, "telemetry.sdk.language", .string("swift"))
            attr(&r, 1, "telemetry.sdk.version", .string(sdk.version))
        }
        return r.bytes
    }

    static func encodeSpan(_ s: Span) -> [UInt8] {
        var p = ProtoWriter()
        p.bytesField(1, s.traceID.bytes)
        p.bytesField(2, withUnsafeBytes(of: s.spanID.value.bigEndian) { Array($0) })
        if !s.parentSpanID.isZero { p.bytesField(4, withUnsafeBytes(of: s.parentSpanID.value.bigEndian) { Array($0) }) }
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
        return p.bytes
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
