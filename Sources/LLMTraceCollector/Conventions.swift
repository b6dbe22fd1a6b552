import LLMTraceModel

/// The attribute conventions of `schemas/conventions.json`: which OTLP attributes (OpenTelemetry
/// GenAI, OpenInference, OpenLLMetry, ...) fill which span field. Loaded at start; the mapping code
/// below only interprets the rules, it names no attribute itself.
public struct Conventions: Sendable {
    struct IndexedMessages: Sendable { var prefix: String; var toInput: Bool; var role: String; var content: String }
    struct JSONMessages: Sendable { var key: String; var toInput: Bool; var role: String? }
    struct ValueMessage: Sendable { var key: String; var toInput: Bool; var role: String }
    struct IndexedDocuments: Sendable { var prefix: String; var id: String; var content: String; var score: String }
    struct KindRule: Sendable { var key: String; var values: [String: SpanKind] }

    var resourceFields: [String: [String]] = [:]
    var fields: [String: [String]] = [:]
    var indexedMessages: [IndexedMessages] = []
    var jsonMessages: [JSONMessages] = []
    var valueMessages: [ValueMessage] = []
    var indexedDocuments: [IndexedDocuments] = []
    var kindRules: [KindRule] = []
    var llmIfPresent: [String] = []
    var firstTokenEvents: Set<String> = []

    static let knownFields: Set<String> = [
        "project", "provider", "request_model", "response_model", "input_tokens", "output_tokens", "cached_tokens",
        "reasoning_tokens", "cost_usd", "temperature", "max_tokens", "top_p", "session_id", "user_id", "prompt_name",
        "prompt_version", "environment", "time_to_first_token_s", "time_to_first_token_ms", "tags",
    ]

    public static func builtIn() -> Conventions {
        // The compiled-in file is tested to load; a failure here is a build defect.
        try! Conventions(json: Array(DefaultSchemas.conventions.utf8))
    }

    public init(json: [UInt8]) throws(ConfigError) {
        let doc: JSONValue
        do { doc = try JSONValue.parse(json) } catch { throw ConfigError("conventions: \(error)") }
        func keyList(_ v: JSONValue, _ what: String) throws(ConfigError) -> [String] {
            guard let s = v.strings else { throw ConfigError("conventions: \(what) must be a list of attribute names") }
            return s
        }
        func target(_ v: JSONValue?, _ what: String) throws(ConfigError) -> Bool {
            switch v?.string {
            case "input": return true
            case "output": return false
            default: throw ConfigError("conventions: \(what) needs \"to\": \"input\" or \"output\"")
            }
        }
        for (k, v) in doc["resource"]?.object ?? [] { resourceFields[k] = try keyList(v, "resource.\(k)") }
        for (k, v) in doc["fields"]?.object ?? [] {
            guard Self.knownFields.contains(k) else { throw ConfigError("conventions: unknown span field '\(k)' in \"fields\"") }
            fields[k] = try keyList(v, "fields.\(k)")
        }
        let messages = doc["messages"]
        for r in messages?["indexed"]?.array ?? [] {
            guard let p = r["prefix"]?.string else { throw ConfigError("conventions: messages.indexed rule without \"prefix\"") }
            indexedMessages.append(.init(prefix: p, toInput: try target(r["to"], "messages.indexed '\(p)'"),
                                         role: r["role"]?.string ?? "role", content: r["content"]?.string ?? "content"))
        }
        for r in messages?["json"]?.array ?? [] {
            guard let k = r["key"]?.string else { throw ConfigError("conventions: messages.json rule without \"key\"") }
            jsonMessages.append(.init(key: k, toInput: try target(r["to"], "messages.json '\(k)'"), role: r["role"]?.string))
        }
        for r in messages?["value"]?.array ?? [] {
            guard let k = r["key"]?.string else { throw ConfigError("conventions: messages.value rule without \"key\"") }
            let input = try target(r["to"], "messages.value '\(k)'")
            valueMessages.append(.init(key: k, toInput: input, role: r["role"]?.string ?? (input ? "user" : "assistant")))
        }
        for r in doc["documents"]?["indexed"]?.array ?? [] {
            guard let p = r["prefix"]?.string else { throw ConfigError("conventions: documents.indexed rule without \"prefix\"") }
            indexedDocuments.append(.init(prefix: p, id: r["id"]?.string ?? "id", content: r["content"]?.string ?? "content",
                                          score: r["score"]?.string ?? "score"))
        }
        for r in doc["kind"]?["attributes"]?.array ?? [] {
            guard let k = r["key"]?.string, let vals = r["values"]?.object else {
                throw ConfigError("conventions: kind.attributes rules need \"key\" and \"values\"")
            }
            var m: [String: SpanKind] = [:]
            for (from, to) in vals {
                guard let s = to.string, let kind = SpanKind(rawValue: s) else {
                    throw ConfigError("conventions: kind '\(to.jsonString)' for \(k)=\(from) is not one of \(SpanKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                m[from] = kind
            }
            kindRules.append(.init(key: k, values: m))
        }
        if let l = doc["kind"]?["llm_if_present"] { llmIfPresent = try keyList(l, "kind.llm_if_present") }
        if let l = doc["first_token_events"] { firstTokenEvents = Set(try keyList(l, "first_token_events")) }
    }

    // MARK: Mapping

    public struct Limits: Sendable {
        /// A longer string attribute (a 10 MB prompt pasted by mistake) rejects its span.
        public var maxAttributeBytes = 4 * 1024 * 1024
        public var maxAttributes = 4096
        public init() {}
    }

    /// Maps one OTLP span onto the span model, or says why it is rejected.
    func map(_ o: OTLPSpan, resource: [Attribute], scope: OTLPScope, project defaultProject: String,
             pricing: Pricing, limits: Limits) -> Result<Span, SpanRejection> {
        // Identity and times first: a span without them cannot be stored or found.
        if let e = o.idError { return .failure(SpanRejection(e)) }
        guard o.traceID.count == 16, o.traceID.contains(where: { $0 != 0 }) else {
            return .failure(SpanRejection("trace_id must be 16 bytes and not all zero (got \(o.traceID.count) bytes)"))
        }
        guard o.spanID.count == 8, o.spanID.contains(where: { $0 != 0 }) else {
            return .failure(SpanRejection("span_id must be 8 bytes and not all zero (got \(o.spanID.count) bytes)"))
        }
        guard o.parentSpanID.isEmpty || o.parentSpanID.count == 8 else {
            return .failure(SpanRejection("parent_span_id must be empty or 8 bytes (got \(o.parentSpanID.count))"))
        }
        guard o.startNanos > 0, o.startNanos <= UInt64(Int64.max), o.endNanos <= UInt64(Int64.max) else {
            return .failure(SpanRejection("start_time_unix_nano is missing or out of range"))
        }
        guard o.endNanos >= o.startNanos else { return .failure(SpanRejection("end_time_unix_nano is before start_time_unix_nano")) }
        if o.attributes.count > limits.maxAttributes {
            return .failure(SpanRejection("\(o.attributes.count) attributes, over the limit of \(limits.maxAttributes)"))
        }
        for a in o.attributes {
            if case .string(let s) = a.value, s.utf8.count > limits.maxAttributeBytes {
                return .failure(SpanRejection("attribute '\(a.key)' is \(s.utf8.count) bytes, over the limit of \(limits.maxAttributeBytes)"))
            }
        }

        let traceID = o.traceID.withUnsafeBytes { TraceID(bytes: $0) }
        let spanID = SpanID(o.spanID.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) })
        let parent = o.parentSpanID.isEmpty ? SpanID(0) : SpanID(o.parentSpanID.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) })
        var s = Span(traceID: traceID, spanID: spanID, parentSpanID: parent, name: o.name.isEmpty ? "unnamed" : o.name,
                     startNanos: Int64(o.startNanos), endNanos: Int64(o.endNanos))
        switch o.statusCode {
        case 1: s.status = .ok
        case 2: s.status = .error
        default: s.status = .unset
        }
        if !o.statusMessage.isEmpty { s.statusMessage = o.statusMessage }

        var attrs = AttributeIndex(o.attributes)
        var res = AttributeIndex(resource)

        // Resource-level fields, overridable per span.
        s.service = res.take(resourceFields["service"])?.stringValue ?? Span.defaultService
        s.environment = res.take(resourceFields["environment"])?.stringValue
        s.project = res.take(resourceFields["project"])?.stringValue ?? defaultProject

        if let v = attrs.take(fields["project"])?.stringValue { s.project = v }
        s.provider = attrs.take(fields["provider"])?.stringValue
        s.requestModel = attrs.take(fields["request_model"])?.stringValue
        s.responseModel = attrs.take(fields["response_model"])?.stringValue
        s.inputTokens = attrs.takeInt(fields["input_tokens"])
        s.outputTokens = attrs.takeInt(fields["output_tokens"])
        s.cachedTokens = attrs.takeInt(fields["cached_tokens"])
        s.reasoningTokens = attrs.takeInt(fields["reasoning_tokens"])
        s.costUSD = attrs.takeDouble(fields["cost_usd"])
        s.temperature = attrs.takeDouble(fields["temperature"])
        s.maxTokens = attrs.takeInt(fields["max_tokens"])
        s.topP = attrs.takeDouble(fields["top_p"])
        s.sessionID = attrs.take(fields["session_id"])?.stringValue
        s.userID = attrs.take(fields["user_id"])?.stringValue
        s.promptName = attrs.take(fields["prompt_name"])?.stringValue
        s.promptVersion = attrs.take(fields["prompt_version"])?.stringValue
        if let env = attrs.take(fields["environment"])?.stringValue { s.environment = env }
        if let sec = attrs.takeDouble(fields["time_to_first_token_s"]) { s.timeToFirstTokenNanos = Int64(sec * 1e9) }
        if let ms = attrs.takeDouble(fields["time_to_first_token_ms"]) { s.timeToFirstTokenNanos = Int64(ms * 1e6) }
        if let t = attrs.take(fields["tags"]) {
            switch t {
            case .array(let a): s.tags = a.compactMap(\.stringValue)
            case .string(let str):
                if let parsed = try? JSONValue.parse(str), let list = parsed.strings { s.tags = list }
                else { s.tags = str.split(separator: ",").map { String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }.filter { !$0.isEmpty } }
            default: break
            }
        }

        // Messages: indexed attributes, then JSON message lists, then plain input/output values,
        // each only when a more specific rule filled nothing for that side.
        var filledIn = false, filledOut = false
        for rule in indexedMessages {
            if rule.toInput ? filledIn : filledOut { continue }
            let msgs = attrs.takeIndexed(prefix: rule.prefix, fields: [rule.role, rule.content])
            guard !msgs.isEmpty else { continue }
            let list = msgs.map { Message(role: $0[0]?.stringValue ?? (rule.toInput ? "user" : "assistant"), content: Self.text($0[1])) }
            if rule.toInput { s.inputMessages = list; filledIn = true } else { s.outputMessages = list; filledOut = true }
        }
        var jsonIn: [Message] = [], jsonOut: [Message] = []
        for rule in jsonMessages {
            if rule.toInput ? filledIn : filledOut { continue }
            guard let raw = attrs.peek(rule.key)?.stringValue, let parsed = Self.parseMessages(raw, role: rule.role) else { continue }
            _ = attrs.take([rule.key])
            if rule.toInput { jsonIn += parsed } else { jsonOut += parsed }
        }
        if !jsonIn.isEmpty { s.inputMessages = jsonIn; filledIn = true }
        if !jsonOut.isEmpty { s.outputMessages = jsonOut; filledOut = true }
        for rule in valueMessages {
            if rule.toInput ? filledIn : filledOut { continue }
            guard let v = attrs.peek(rule.key) else { continue }
            _ = attrs.take([rule.key])
            let m = Message(role: rule.role, content: Self.text(v))
            if rule.toInput { s.inputMessages = [m]; filledIn = true } else { s.outputMessages = [m]; filledOut = true }
        }

        for rule in indexedDocuments where s.documents.isEmpty {
            let docs = attrs.takeIndexed(prefix: rule.prefix, fields: [rule.id, rule.content, rule.score])
            s.documents = docs.map { d in
                RetrievedDocument(id: d[0].map { Self.text($0) }, content: d[1].map { Self.text($0) } ?? "", score: d[2].flatMap(AttributeIndex.double))
            }
        }

        // Kind: the first convention that names it, else "llm" when model attributes are present.
        var kind: SpanKind? = nil
        for rule in kindRules where kind == nil {
            if let v = attrs.peekAny(rule.key)?.stringValue, let k = rule.values[v] ?? rule.values[v.lowercased()] ?? rule.values[v.uppercased()] {
                kind = k
            }
        }
        if kind == nil, llmIfPresent.contains(where: { attrs.peekAny($0) != nil }) || s.requestModel != nil || s.responseModel != nil {
            kind = .llm
        }
        s.kind = kind ?? (s.documents.isEmpty ? .other : .retrieval)

        // Time to first token from a streaming event, when no attribute said it.
        if s.timeToFirstTokenNanos == nil {
            let first = o.events.filter { firstTokenEvents.contains($0.name) }.map(\.timeNanos).min()
            if let t = first, t >= s.startNanos { s.timeToFirstTokenNanos = t - s.startNanos }
        }
        s.events = o.events

        if s.costUSD == nil {
            s.costUSD = pricing.cost(model: s.responseModel ?? s.requestModel, input: s.inputTokens, output: s.outputTokens, cached: s.cachedTokens)
                ?? (s.responseModel != nil ? pricing.cost(model: s.requestModel, input: s.inputTokens, output: s.outputTokens, cached: s.cachedTokens) : nil)
        }

        // Everything no rule used is kept verbatim, resource attributes under "resource.".
        s.attributes = attrs.remaining
        if !scope.name.isEmpty { s.attributes.append(Attribute("otel.scope.name", .string(scope.name))) }
        for a in res.remaining { s.attributes.append(Attribute("resource." + a.key, a.value)) }
        return .success(s)
    }

    static func text(_ v: AttributeValue?) -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return String(b)
        case .array(let a): return AttributeValue.jsonArray(a)
        case nil: return ""
        }
    }

    /// GenAI JSON messages: `[{"role": "user", "parts": [{"type": "text", "content": "..."}]}]`, the
    /// older `[{"role": ..., "content": ...}]`, or (system instructions) a bare list of parts.
    /// Non-text parts (tool calls, tool results) are kept as their JSON.
    static func parseMessages(_ raw: String, role fixedRole: String?) -> [Message]? {
        guard let doc = try? JSONValue.parse(raw), let items = doc.array else { return nil }
        if let fixedRole {
            // A list of parts forming one message.
            let text = partsText(items)
            return text.isEmpty ? nil : [Message(role: fixedRole, content: text)]
        }
        var out: [Message] = []
        for m in items {
            guard m.object != nil else { return nil }
            let role = m["role"]?.string ?? "user"
            if let parts = m["parts"]?.array {
                out.append(Message(role: role, content: partsText(parts)))
            } else if let c = m["content"] {
                out.append(Message(role: role, content: c.string ?? (c.array.map(partsText) ?? c.jsonString)))
            } else {
                out.append(Message(role: role, content: ""))
            }
        }
        return out
    }

    static func partsText(_ parts: [JSONValue]) -> String {
        var pieces: [String] = []
        for p in parts {
            if let s = p.string { pieces.append(s); continue }
            let type = p["type"]?.string ?? "text"
            if type == "text", let c = p["content"]?.string ?? p["text"]?.string { pieces.append(c) } else { pieces.append(p.jsonString) }
        }
        return pieces.joined(separator: "\n")
    }
}

/// Why one span of a batch was not stored (reported in the partial-success reply).
public struct SpanRejection: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ r: String) { reason = r }
    public var description: String { reason }
}

/// Attribute lookup by key with "used" marks, so the unused ones can be kept verbatim in order.
struct AttributeIndex {
    private var list: [Attribute]
    private var used: [Bool]
    private var byKey: [String: Int] = [:]

    init(_ list: [Attribute]) {
        self.list = list
        used = [Bool](repeating: false, count: list.count)
        byKey.reserveCapacity(list.count)
        for (i, a) in list.enumerated() where byKey[a.key] == nil { byKey[a.key] = i }
    }

    /// The first present key's value, marked used.
    mutating func take(_ keys: [String]?) -> AttributeValue? {
        guard let keys else { return nil }
        for k in keys {
            if let i = byKey[k] {
                used[i] = true
                return list[i].value
            }
        }
        return nil
    }

    func peek(_ key: String) -> AttributeValue? { byKey[key].map { list[$0].value } }
    /// Like `peek`, also finding a key that an earlier rule already used.
    func peekAny(_ key: String) -> AttributeValue? { peek(key) }

    static func int(_ v: AttributeValue) -> Int64? {
        switch v {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e18: return Int64(d)
        case .string(let s): return Int64(s)
        default: return nil
        }
    }

    static func double(_ v: AttributeValue) -> Double? {
        switch v {
        case .double(let d): return d
        case .int(let i): return Double(i)
        case .string(let s): return Double(s)
        default: return nil
        }
    }

    /// The first present key with a numeric value; a key of the wrong type stays unused (kept verbatim).
    mutating func takeInt(_ keys: [String]?) -> Int64? {
        for k in keys ?? [] {
            if let i = byKey[k], let v = Self.int(list[i].value) { used[i] = true; return v }
        }
        return nil
    }

    mutating func takeDouble(_ keys: [String]?) -> Double? {
        for k in keys ?? [] {
            if let i = byKey[k], let v = Self.double(list[i].value) { used[i] = true; return v }
        }
        return nil
    }

    /// Collects `prefix<N>.<field>` attributes into rows ordered by N, one column per requested
    /// field; marks those used. Other `prefix<N>.*` keys (tool calls, finish reasons) stay unused.
    mutating func takeIndexed(prefix: String, fields: [String]) -> [[AttributeValue?]] {
        var rows: [Int: [AttributeValue?]] = [:]
        for (i, a) in list.enumerated() where a.key.hasPrefix(prefix) {
            let rest = a.key.utf8.dropFirst(prefix.utf8.count)
            guard let dot = rest.firstIndex(of: UInt8(ascii: ".")), let n = Int(String(decoding: rest[..<dot], as: UTF8.self)), n >= 0, n < 100_000 else { continue }
            let field = String(decoding: rest[rest.index(after: dot)...], as: UTF8.self)
            guard let col = fields.firstIndex(of: field) else { continue }
            var row = rows[n] ?? [AttributeValue?](repeating: nil, count: fields.count)
            row[col] = a.value
            rows[n] = row
            used[i] = true
        }
        return rows.keys.sorted().map { rows[$0]! }
    }

    var remaining: [Attribute] {
        var out: [Attribute] = []
        for (i, a) in list.enumerated() where !used[i] { out.append(a) }
        return out
    }
}
