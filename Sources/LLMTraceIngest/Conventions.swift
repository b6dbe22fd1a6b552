import LLMTraceModel
import LLMTraceOTLP

/// The attribute conventions of `schemas/conventions.json`: which OTLP attributes (OpenTelemetry
/// GenAI, OpenInference, OpenLLMetry, ...) fill which span field. Loaded at start; the mapping code
/// below only interprets the rules, it names no attribute itself.
public struct Conventions: Sendable {
    /// `<prefix><N>.<role|content|tool_call_id|finish_reason>` and
    /// `<prefix><N>.<tool_calls><M>.<id|name|arguments>`; an empty column name is not read.
    struct IndexedMessages: Sendable {
        var prefix: String; var toInput: Bool; var role: String; var content: String
        var toolCallID = ""; var finishReason = ""
        var toolCalls = ""; var callID = ""; var callName = ""; var callArguments = ""
    }
    /// Span fields read out of a JSON object held in one attribute (`llm.invocation_parameters`):
    /// used only for fields no other rule filled, and the attribute is kept.
    struct JSONFields: Sendable { var key: String; var fields: [(path: String, field: Field)] }
    struct JSONMessages: Sendable { var key: String; var toInput: Bool; var role: String? }
    struct ValueMessage: Sendable { var key: String; var toInput: Bool; var role: String }
    struct IndexedDocuments: Sendable { var prefix: String; var id: String; var content: String; var score: String }
    struct KindRule: Sendable { var key: String; var values: [String: SpanKind] }

    var resourceFields: [String: [String]] = [:]
    /// Attribute keys per span field, in priority order, indexed by `Field.rawValue`.
    var fieldKeys = [[String]](repeating: [], count: Field.allCases.count)
    var indexedMessages: [IndexedMessages] = []
    var jsonMessages: [JSONMessages] = []
    var valueMessages: [ValueMessage] = []
    var indexedDocuments: [IndexedDocuments] = []
    var kindRules: [KindRule] = []
    var jsonFields: [JSONFields] = []
    var llmIfPresent: [String] = []
    var toolIfPresent: [String] = []
    var firstTokenEvents: Set<String> = []
    /// The message rules then the document rules, as `classify` matches keys against them.
    private var indexedRules: [(prefix: [UInt8], columns: [String], sub: [UInt8], subColumns: [String])] = []

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
            guard let f = Field.named(k) else {
                throw ConfigError("conventions: unknown span field '\(k)' in \"fields\" (known: \(Field.names.joined(separator: ", ")))")
            }
            fieldKeys[f.rawValue] = try keyList(v, "fields.\(k)")
        }
        let messages = doc["messages"]
        for r in messages?["indexed"]?.array ?? [] {
            guard let p = r["prefix"]?.string else { throw ConfigError("conventions: messages.indexed rule without \"prefix\"") }
            var rule = IndexedMessages(prefix: p, toInput: try target(r["to"], "messages.indexed '\(p)'"),
                                       role: r["role"]?.string ?? "role", content: r["content"]?.string ?? "content")
            rule.toolCallID = r["tool_call_id"]?.string ?? ""
            rule.finishReason = r["finish_reason"]?.string ?? ""
            rule.toolCalls = r["tool_calls"]?.string ?? ""
            if !rule.toolCalls.isEmpty {
                guard rule.toolCalls.hasSuffix("."), let c = r["tool_call"] else {
                    throw ConfigError("conventions: messages.indexed '\(p)': \"tool_calls\" is a prefix ending in \".\" and needs \"tool_call\": {\"id\", \"name\", \"arguments\"}")
                }
                rule.callID = c["id"]?.string ?? "id"
                rule.callName = c["name"]?.string ?? "name"
                rule.callArguments = c["arguments"]?.string ?? "arguments"
            }
            indexedMessages.append(rule)
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
        if let l = doc["kind"]?["tool_if_present"] { toolIfPresent = try keyList(l, "kind.tool_if_present") }
        for r in doc["json_fields"]?.array ?? [] {
            guard let k = r["key"]?.string, let m = r["fields"]?.object else {
                throw ConfigError("conventions: json_fields rules need \"key\" and \"fields\": {\"json key\": \"span field\"}")
            }
            var fields: [(String, Field)] = []
            for (path, f) in m {
                guard let name = f.string, let field = Field.named(name) else {
                    throw ConfigError("conventions: json_fields '\(k)': unknown span field '\(f.string ?? f.jsonString)' (known: \(Field.names.joined(separator: ", ")))")
                }
                fields.append((path, field))
            }
            jsonFields.append(.init(key: k, fields: fields))
        }
        if let l = doc["first_token_events"] { firstTokenEvents = Set(try keyList(l, "first_token_events")) }
        indexedRules = indexedMessages.map {
            (Array($0.prefix.utf8), [$0.role, $0.content, $0.toolCallID, $0.finishReason], Array($0.toolCalls.utf8),
             [$0.callID, $0.callName, $0.callArguments])
        } + indexedDocuments.map { (Array($0.prefix.utf8), [$0.id, $0.content, $0.score], [], []) }
    }

    // MARK: Mapping

    /// Span fields the `fields` rules fill.
    enum Field: Int, CaseIterable {
        case project, provider, requestModel, responseModel, inputTokens, outputTokens, cachedTokens, reasoningTokens
        case costUSD, temperature, maxTokens, topP, sessionID, userID, promptName, promptVersion, environment
        case ttftSeconds, ttftMillis, tags, finishReason

        /// The names `fields` uses in conventions.json, in case order.
        static let names = [
            "project", "provider", "request_model", "response_model", "input_tokens", "output_tokens", "cached_tokens",
            "reasoning_tokens", "cost_usd", "temperature", "max_tokens", "top_p", "session_id", "user_id", "prompt_name",
            "prompt_version", "environment", "time_to_first_token_s", "time_to_first_token_ms", "tags", "finish_reason",
        ]

        static func named(_ n: String) -> Field? { names.firstIndex(of: n).flatMap { Field(rawValue: $0) } }
    }

    /// What one attribute key means under these conventions; computed once per distinct key. Plain
    /// values only (no arrays or strings), so reading it per attribute costs no reference counting.
    struct KeyClass {
        /// `Field` raw value and the key's priority in that field's list, or -1. A key listed under
        /// several fields counts for the first in `Field` order.
        var field: Int8 = -1
        var priority: Int16 = 0
        var kindRule: Int16 = -1
        var jsonRule: Int16 = -1
        var valueRule: Int16 = -1
        var jsonFieldsRule: Int16 = -1
        var llmHint = false
        var toolHint = false
        /// Indexed rule (messages first, then documents) this key belongs to, with N and the column.
        var indexedRule: Int16 = -1
        var index: Int32 = 0
        var column: Int8 = -1
        /// M of a tool call column (`tool_calls.M.name`), whose column is 4 + its place in
        /// (id, name, arguments).
        var sub: Int32 = 0
        /// Set once classified (the per-request cache's "present" mark).
        var known = false
    }

    func classify(_ key: String) -> KeyClass {
        var c = KeyClass()
        c.known = true
        for f in Field.allCases {
            if let prio = fieldKeys[f.rawValue].firstIndex(of: key) {
                c.field = Int8(f.rawValue)
                c.priority = Int16(min(prio, Int(Int16.max)))
                break
            }
        }
        if let i = kindRules.firstIndex(where: { $0.key == key }) { c.kindRule = Int16(i) }
        if let i = jsonMessages.firstIndex(where: { $0.key == key }) { c.jsonRule = Int16(i) }
        if let i = valueMessages.firstIndex(where: { $0.key == key }) { c.valueRule = Int16(i) }
        if let i = jsonFields.firstIndex(where: { $0.key == key }) { c.jsonFieldsRule = Int16(i) }
        c.llmHint = llmIfPresent.contains(key)
        c.toolHint = toolIfPresent.contains(key)
        let u = Array(key.utf8)
        for (ri, rule) in indexedRules.enumerated() {
            let p = rule.prefix
            guard u.count > p.count + 2, u.starts(with: p) else { continue }
            var k = p.count
            var n = 0
            var digits = 0
            while k < u.count, u[k] >= 0x30, u[k] <= 0x39, digits < 6 { n = n * 10 + Int(u[k] - 0x30); k += 1; digits += 1 }
            guard digits > 0, k < u.count, u[k] == UInt8(ascii: ".") else { continue }
            let rest = u[(k + 1)...]
            if !rule.sub.isEmpty, rest.starts(with: rule.sub) {
                // <tool_calls>M.<id|name|arguments>
                var j = rest.startIndex + rule.sub.count
                var m = 0
                var mDigits = 0
                while j < u.count, u[j] >= 0x30, u[j] <= 0x39, mDigits < 6 { m = m * 10 + Int(u[j] - 0x30); j += 1; mDigits += 1 }
                guard mDigits > 0, j < u.count, u[j] == UInt8(ascii: ".") else { continue }
                let sub = String(decoding: u[(j + 1)...], as: UTF8.self)
                guard let col = rule.subColumns.firstIndex(of: sub) else { continue }
                c.indexedRule = Int16(ri)
                c.index = Int32(n)
                c.column = Int8(4 + col)
                c.sub = Int32(m)
                break
            }
            let field = String(decoding: rest, as: UTF8.self)
            guard !field.isEmpty, let col = rule.columns.firstIndex(of: field) else { continue }
            c.indexedRule = Int16(ri)
            c.index = Int32(n)
            c.column = Int8(col)
            break
        }
        return c
    }

    /// Per-request state of the mapping: the key classes by `KeyTable` id, and scratch arrays
    /// reused from span to span (no allocation per span for them).
    struct Classifier {
        var classes: [KeyClass] = []
        var used: [Bool] = []
        var fieldHits: [(field: Int8, priority: Int16, index: Int32)] = []
        var jsonHits: [(rule: Int16, index: Int32)] = []
        var valueHits: [(rule: Int16, index: Int32)] = []
        var indexedHits: [IndexedHit] = []
        var jsonFieldHits: [(rule: Int16, index: Int32)] = []

        mutating func get(_ id: Int32, _ keys: KeyTable, _ conv: Conventions) -> KeyClass {
            let i = Int(id)
            if i >= classes.count { classes.append(contentsOf: repeatElement(KeyClass(), count: max(i + 1, keys.count) - classes.count)) }
            if classes[i].known { return classes[i] }
            let c = conv.classify(keys.keys[i])
            classes[i] = c
            return c
        }
    }

    /// The resource-level part of the mapping, done once per ResourceSpans.
    struct ResourceInfo {
        var service = Span.defaultService
        var environment: String?
        var project: String?
        /// Resource attributes no rule used, as `resource.<key>`, plus the scope name.
        var extras: [Attribute] = []
    }

    func resourceInfo(_ attrs: [Attribute]) -> ResourceInfo {
        var info = ResourceInfo()
        var used = Set<Int>()
        func first(_ keys: [String]?) -> String? {
            for k in keys ?? [] {
                if let i = attrs.firstIndex(where: { $0.key == k }), let v = attrs[i].value.stringValue {
                    used.insert(i)
                    return v
                }
            }
            return nil
        }
        if let v = first(resourceFields["service"]) { info.service = v }
        info.environment = first(resourceFields["environment"])
        info.project = first(resourceFields["project"]).flatMap { $0.isEmpty ? nil : $0 }
        for (i, a) in attrs.enumerated() where !used.contains(i) { info.extras.append(Attribute("resource." + a.key, a.value)) }
        return info
    }

    /// Maps one OTLP span onto the span model, or says why it cannot be one (ids of the wrong
    /// size, times past what 64 bits hold); `Ingest.admit` then checks what every route checks.
    /// The span's attribute and event arrays are moved out of `o` (it is spent afterwards), so
    /// their elements go into the span without being retained and released again.
    func map(_ o: inout OTLPSpan, resource: ResourceInfo, scopeName: String, project defaultProject: String,
             keys: KeyTable, classifier: inout Classifier) -> Result<Span, SpanRejection> {
        if let e = o.idError { return .failure(SpanRejection(.invalidID, e)) }
        guard o.traceID.count == 16, !o.traceID.isZero else {
            return .failure(SpanRejection(.invalidID, "trace_id must be 16 bytes and not all zero (got \(o.traceID.count) bytes)"))
        }
        guard o.spanID.count == 8, !o.spanID.isZero else {
            return .failure(SpanRejection(.invalidID, "span_id must be 8 bytes and not all zero (got \(o.spanID.count) bytes)"))
        }
        guard o.parentSpanID.isEmpty || o.parentSpanID.count == 8 else {
            return .failure(SpanRejection(.invalidID, "parent_span_id must be empty or 8 bytes (got \(o.parentSpanID.count))"))
        }
        guard o.startNanos <= UInt64(Int64.max), o.endNanos <= UInt64(Int64.max) else {
            return .failure(SpanRejection(.invalidTime, "a time past 2262-04-11 (nanoseconds since the epoch must fit in 63 bits)"))
        }

        let traceID = TraceID(hi: o.traceID.hi, lo: o.traceID.lo)
        let spanID = SpanID(o.spanID.hi)
        let parent = SpanID(o.parentSpanID.hi)
        var s = Span(traceID: traceID, spanID: spanID, parentSpanID: parent, project: resource.project ?? defaultProject,
                     service: resource.service, name: o.name.isEmpty ? "unnamed" : o.name,
                     startNanos: Int64(o.startNanos), endNanos: Int64(o.endNanos))
        s.environment = resource.environment
        switch o.statusCode {
        case 1: s.status = .ok
        case 2: s.status = .error
        default: s.status = .unset
        }
        if !o.statusMessage.isEmpty { s.statusMessage = o.statusMessage }

        // One pass over the attributes, by key class.
        var attrs: [Attribute] = []
        swap(&attrs, &o.attributes)
        classifier.used.removeAll(keepingCapacity: true)
        classifier.used.append(contentsOf: repeatElement(false, count: attrs.count))
        classifier.fieldHits.removeAll(keepingCapacity: true)
        classifier.jsonHits.removeAll(keepingCapacity: true)
        classifier.valueHits.removeAll(keepingCapacity: true)
        classifier.indexedHits.removeAll(keepingCapacity: true)
        classifier.jsonFieldHits.removeAll(keepingCapacity: true)
        var kindHit: (rule: Int, kind: SpanKind)? = nil
        var llmHint = false, toolHint = false
        for i in attrs.indices {
            let c = i < o.keyIDs.count ? classifier.get(o.keyIDs[i], keys, self) : classify(attrs[i].key)
            if c.field >= 0 { classifier.fieldHits.append((c.field, c.priority, Int32(i))) }
            if c.kindRule >= 0 {
                let r = Int(c.kindRule)
                if kindHit == nil || r < kindHit!.rule, case .string(let v) = attrs[i].value,
                   let k = kindRules[r].values[v] ?? kindRules[r].values[v.lowercased()] ?? kindRules[r].values[v.uppercased()] {
                    kindHit = (r, k)
                }
            }
            if c.jsonRule >= 0 { classifier.jsonHits.append((c.jsonRule, Int32(i))) }
            if c.valueRule >= 0 { classifier.valueHits.append((c.valueRule, Int32(i))) }
            if c.llmHint { llmHint = true }
            if c.toolHint { toolHint = true }
            if c.jsonFieldsRule >= 0 { classifier.jsonFieldHits.append((c.jsonFieldsRule, Int32(i))) }
            if c.indexedRule >= 0 { classifier.indexedHits.append((c.indexedRule, c.index, c.column, c.sub, Int32(i))) }
        }
        var used: [Bool] = []
        swap(&used, &classifier.used)  // taken for this span, given back at the end (no copy)
        defer { swap(&used, &classifier.used) }
        // By rule, then message or document number, then attribute order: each rule's hits are one
        // run, each message's one run within it (a later attribute for the same part wins).
        classifier.indexedHits.sort { ($0.rule, $0.n, $0.index) < ($1.rule, $1.n, $1.index) }
        let indexedHits = classifier.indexedHits

        // Fields: per field, the highest-priority key whose value has a usable type.
        classifier.fieldHits.sort { $0.field != $1.field ? $0.field < $1.field : $0.priority < $1.priority }
        var done: UInt32 = 0
        for h in classifier.fieldHits where done & (1 << UInt32(h.field)) == 0 {
            if apply(Field(rawValue: Int(h.field))!, attrs[Int(h.index)].value, to: &s) {
                used[Int(h.index)] = true
                done |= 1 << UInt32(h.field)
            }
        }
        // Then fields held inside a JSON attribute, for fields still empty; the attribute stays.
        for h in classifier.jsonFieldHits {
            guard let raw = attrs[Int(h.index)].value.stringValue, raw.utf8.first == UInt8(ascii: "{"),
                  let obj = try? JSONValue.parse(raw) else { continue }
            for (path, field) in jsonFields[Int(h.rule)].fields where done & (1 << UInt32(field.rawValue)) == 0 {
                guard let v = obj[path], let av = Self.attributeValue(v) else { continue }
                if apply(field, av, to: &s) { done |= 1 << UInt32(field.rawValue) }
            }
        }

        // Messages: indexed attributes, then JSON message lists, then plain input/output values,
        // each only when a more specific rule filled nothing for that side.
        var filledIn = false, filledOut = false
        let messageRules = indexedMessages.count
        var hitAt = 0
        for r in indexedMessages.indices {
            let toInput = indexedMessages[r].toInput
            let hits = Self.run(of: r, in: indexedHits, from: &hitAt)
            guard !hits.isEmpty, !(toInput ? filledIn : filledOut) else { continue }
            var list: [Message] = []
            var finishReason: String? = nil
            Self.forEachNumber(hits, of: indexedHits) { message in
                var row = IndexedMessageRow()
                for h in indexedHits[message] {
                    let v = attrs[Int(h.index)].value
                    switch h.column {
                    case 0: row.role = v.stringValue
                    case 1: row.content = Self.text(v)
                    case 2: row.toolCallID = Self.text(v)
                    case 3: row.finishReason = Self.firstString(v)
                    default:
                        var call = row.calls[h.sub] ?? (nil, nil, nil)
                        switch h.column {
                        case 4: call.id = Self.text(v)
                        case 5: call.name = Self.text(v)
                        default: call.arguments = Self.text(v)
                        }
                        row.calls[h.sub] = call
                    }
                    used[Int(h.index)] = true
                }
                if finishReason == nil { finishReason = row.finishReason }
                list.append(Message(role: row.role ?? (toInput ? "user" : "assistant"), content: row.content ?? "",
                                    toolCalls: row.calls.isEmpty ? [] : row.calls.keys.sorted().map { m in
                                        let c = row.calls[m]!
                                        return ToolCall(id: c.id, name: c.name ?? "", arguments: c.arguments ?? "")
                                    },
                                    toolCallID: row.toolCallID))
            }
            if toInput { s.inputMessages = list; filledIn = true } else {
                s.outputMessages = list
                filledOut = true
                if s.finishReason == nil { s.finishReason = finishReason }
            }
        }
        var jsonIn: [Message] = [], jsonOut: [Message] = []
        classifier.jsonHits.sort { $0.rule < $1.rule }
        for h in classifier.jsonHits {
            let rule = jsonMessages[Int(h.rule)]
            if rule.toInput ? filledIn : filledOut { continue }
            guard let raw = attrs[Int(h.index)].value.stringValue,
                  let parsed = Self.parseMessages(raw, role: rule.role) else { continue }
            used[Int(h.index)] = true
            if rule.toInput { jsonIn += parsed.messages } else {
                jsonOut += parsed.messages
                if s.finishReason == nil { s.finishReason = parsed.finishReason }
            }
        }
        if !jsonIn.isEmpty { s.inputMessages = jsonIn; filledIn = true }
        if !jsonOut.isEmpty { s.outputMessages = jsonOut; filledOut = true }
        classifier.valueHits.sort { $0.rule < $1.rule }
        var outputValue: Int? = nil
        for h in classifier.valueHits {
            let rule = valueMessages[Int(h.rule)]
            if rule.toInput ? filledIn : filledOut { continue }
            used[Int(h.index)] = true
            let m = Message(role: rule.role, content: Self.text(attrs[Int(h.index)].value))
            if rule.toInput { s.inputMessages = [m]; filledIn = true } else { s.outputMessages = [m]; filledOut = true; outputValue = Int(h.index) }
        }

        for d in indexedDocuments.indices {
            let hits = Self.run(of: messageRules + d, in: indexedHits, from: &hitAt)
            guard !hits.isEmpty, s.documents.isEmpty else { continue }
            var docs: [RetrievedDocument] = []
            Self.forEachNumber(hits, of: indexedHits) { document in
                var doc = RetrievedDocument(id: nil, content: "", score: nil)
                for h in indexedHits[document] {
                    switch h.column {
                    case 0: doc.id = Self.text(attrs[Int(h.index)].value)
                    case 1: doc.content = Self.text(attrs[Int(h.index)].value)
                    default: doc.score = AttributeConversion.double(attrs[Int(h.index)].value)
                    }
                    used[Int(h.index)] = true
                }
                docs.append(doc)
            }
            s.documents = docs
        }

        // Kind: the first convention that names it, else "llm" when model attributes are present.
        if let k = kindHit { s.kind = k.kind }
        else if toolHint { s.kind = .tool }
        else if llmHint || s.requestModel != nil || s.responseModel != nil { s.kind = .llm }
        else { s.kind = s.documents.isEmpty ? .other : .retrieval }
        // An embedding's output is vectors, never message content: a whole-response value
        // (OpenInference's output.value) stays an attribute.
        if s.kind == .embedding, let i = outputValue {
            s.outputMessages = []
            used[i] = false
        }

        // Time to first token from a streaming event, when no attribute said it.
        if s.timeToFirstTokenNanos == nil {
            var first: Int64? = nil
            for e in o.events where firstTokenEvents.contains(e.name) { first = min(first ?? e.timeNanos, e.timeNanos) }
            if let t = first, t >= s.startNanos { s.timeToFirstTokenNanos = t - s.startNanos }
        }
        swap(&s.events, &o.events)

        // Everything no rule used is kept verbatim, then the scope and the resource's leftovers.
        var kept = 0
        for i in attrs.indices where !used[i] {
            if i != kept { attrs.swapAt(kept, i) }
            kept += 1
        }
        attrs.removeLast(attrs.count - kept)
        s.attributes = attrs
        return .success(s)
    }

    /// What every span of a scope gets besides its own attributes: the scope name and the
    /// resource attributes no rule used (`resource.<key>`). Kept apart so the attribute limit
    /// counts a span's own attributes, as it does for a native span.
    func sharedAttributes(_ resource: ResourceInfo, scopeName: String) -> [Attribute] {
        (scopeName.isEmpty ? [] : [Attribute("otel.scope.name", .string(scopeName))]) + resource.extras
    }

    /// Maps every span of a decoded export, in order, calling `each` with the result, the
    /// attributes its scope and resource add (`sharedAttributes`) and the span's position in the
    /// request.
    func mapAll(_ t: inout OTLPTraces, project: String, _ each: (Result<Span, SpanRejection>, [Attribute], Int) -> Void) {
        var classifier = Classifier()
        var index = 0
        let keys = t.keys
        for r in t.resources.indices {
            let info = resourceInfo(t.resources[r].attributes)
            for sc in t.resources[r].scopes.indices {
                let scopeName = t.resources[r].scopes[sc].name
                let shared = sharedAttributes(info, scopeName: scopeName)
                for k in t.resources[r].scopes[sc].spans.indices {
                    each(map(&t.resources[r].scopes[sc].spans[k], resource: info, scopeName: scopeName, project: project,
                             keys: keys, classifier: &classifier), shared, index)
                    index += 1
                }
            }
        }
    }

    /// Sets a field from an attribute value; false when the value's type does not fit.
    private func apply(_ f: Field, _ v: AttributeValue, to s: inout Span) -> Bool {
        switch f {
        // An empty project is no project (the native API refuses one): the next rule or the default.
        case .project: guard let x = v.stringValue, !x.isEmpty else { return false }; s.project = x
        case .provider: guard let x = v.stringValue else { return false }; s.provider = x
        case .requestModel: guard let x = v.stringValue else { return false }; s.requestModel = x
        case .responseModel: guard let x = v.stringValue else { return false }; s.responseModel = x
        case .sessionID: guard let x = v.stringValue else { return false }; s.sessionID = x
        case .userID: guard let x = v.stringValue else { return false }; s.userID = x
        case .promptName: guard let x = v.stringValue else { return false }; s.promptName = x
        case .promptVersion: s.promptVersion = v.stringValue ?? AttributeConversion.int(v).map(String.init); if s.promptVersion == nil { return false }
        case .environment: guard let x = v.stringValue else { return false }; s.environment = x
        case .inputTokens: guard let x = AttributeConversion.int(v) else { return false }; s.inputTokens = x
        case .outputTokens: guard let x = AttributeConversion.int(v) else { return false }; s.outputTokens = x
        case .cachedTokens: guard let x = AttributeConversion.int(v) else { return false }; s.cachedTokens = x
        case .reasoningTokens: guard let x = AttributeConversion.int(v) else { return false }; s.reasoningTokens = x
        case .maxTokens: guard let x = AttributeConversion.int(v) else { return false }; s.maxTokens = x
        case .costUSD: guard let x = AttributeConversion.double(v) else { return false }; s.costUSD = x
        case .temperature: guard let x = AttributeConversion.double(v) else { return false }; s.temperature = x
        case .topP: guard let x = AttributeConversion.double(v) else { return false }; s.topP = x
        case .ttftSeconds: guard let x = AttributeConversion.nanos(v, per: 1e9) else { return false }; s.timeToFirstTokenNanos = x
        case .ttftMillis: guard let x = AttributeConversion.nanos(v, per: 1e6) else { return false }; s.timeToFirstTokenNanos = x
        case .finishReason: guard let x = Self.firstString(v) else { return false }; s.finishReason = x
        case .tags:
            switch v {
            case .array(let a): s.tags = a.compactMap(\.stringValue)
            case .string(let str):
                if let parsed = try? JSONValue.parse(str), let list = parsed.strings { s.tags = list }
                else { s.tags = str.split(separator: ",").map { String($0).trimmingASCIISpaces() }.filter { !$0.isEmpty } }
            default: return false
            }
        }
        return true
    }

    /// An attribute an indexed rule matched: the rule, the message or document number, the part
    /// (`column`), the tool call number (`sub`) and the attribute's position.
    typealias IndexedHit = (rule: Int16, n: Int32, column: Int8, sub: Int32, index: Int32)

    /// The hits of rule `rule` in `hits` (sorted by rule), searched from `at`, which moves past them:
    /// rules are asked for in increasing order.
    @inline(__always)
    static func run(of rule: Int, in hits: [IndexedHit], from at: inout Int) -> Range<Int> {
        while at < hits.count, Int(hits[at].rule) < rule { at += 1 }
        let start = at
        while at < hits.count, Int(hits[at].rule) == rule { at += 1 }
        return start..<at
    }

    /// Calls `body` with the hits of each message or document number in `run` (one rule's hits,
    /// sorted by number), in number order.
    @inline(__always)
    static func forEachNumber(_ run: Range<Int>, of hits: [IndexedHit], _ body: (Range<Int>) -> Void) {
        var k = run.lowerBound
        while k < run.upperBound {
            let start = k
            let n = hits[k].n
            while k < run.upperBound, hits[k].n == n { k += 1 }
            body(start..<k)
        }
    }

    /// One message's indexed attributes, gathered before the message is built.
    struct IndexedMessageRow {
        var role: String?
        var content: String?
        var toolCallID: String?
        var finishReason: String?
        var calls: [Int32: (id: String?, name: String?, arguments: String?)] = [:]
    }

    /// A string, or the first string of an array (`gen_ai.response.finish_reasons` is a list, one
    /// per choice).
    static func firstString(_ v: AttributeValue) -> String? {
        switch v {
        case .string(let s): return s
        case .array(let a): return a.first?.stringValue
        default: return nil
        }
    }

    /// A JSON scalar as the attribute value a field rule reads.
    static func attributeValue(_ v: JSONValue) -> AttributeValue? {
        switch v {
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .number: return v.int.map { .int($0) } ?? v.double.map { .double($0) }
        case .array(let a): return .array(a.compactMap(attributeValue))
        default: return nil
        }
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
    /// older OpenAI-style `[{"role": ..., "content": ..., "tool_calls": [...], "tool_call_id": ...}]`,
    /// or (system instructions) a bare list of parts. `tool_call` parts become the message's tool
    /// calls, a `tool_call_response` part its answer (content and call id); other non-text parts
    /// are kept as their JSON. The first output message's `finish_reason` comes back with them.
    static func parseMessages(_ raw: String, role fixedRole: String?) -> (messages: [Message], finishReason: String?)? {
        guard let doc = try? JSONValue.parse(raw), let items = doc.array else { return nil }
        if let fixedRole {
            // A list of parts forming one message.
            var m = Message(role: fixedRole, content: "")
            addParts(items, to: &m)
            return m.content.isEmpty ? nil : ([m], nil)
        }
        var out: [Message] = []
        var finish: String? = nil
        for item in items {
            guard item.object != nil else { return nil }
            var m = Message(role: item["role"]?.string ?? "user", content: "")
            if let parts = item["parts"]?.array {
                addParts(parts, to: &m)
            } else if let c = item["content"] {
                if let a = c.array { addParts(a, to: &m) } else if c != .null { m.content = c.string ?? c.jsonString }
            }
            for call in item["tool_calls"]?.array ?? [] {
                // OpenAI's shape: {"id", "type": "function", "function": {"name", "arguments"}}.
                let f = call["function"] ?? call
                m.toolCalls.append(ToolCall(id: call["id"]?.string, name: f["name"]?.string ?? "",
                                            arguments: argumentsText(f["arguments"])))
            }
            if let id = item["tool_call_id"]?.string { m.toolCallID = id }
            if finish == nil { finish = item["finish_reason"]?.string }
            out.append(m)
        }
        return (out, finish)
    }

    /// Arguments as sent: OpenAI sends a JSON string, the GenAI parts an object (kept as JSON).
    static func argumentsText(_ v: JSONValue?) -> String {
        guard let v, v != .null else { return "" }
        return v.string ?? v.jsonString
    }

    static func addParts(_ parts: [JSONValue], to m: inout Message) {
        var pieces: [String] = []
        for p in parts {
            if let s = p.string { pieces.append(s); continue }
            switch p["type"]?.string ?? "text" {
            case "text" where p["content"]?.string != nil || p["text"]?.string != nil:
                pieces.append(p["content"]?.string ?? p["text"]!.string!)
            case "tool_call":
                m.toolCalls.append(ToolCall(id: p["id"]?.string, name: p["name"]?.string ?? "",
                                            arguments: argumentsText(p["arguments"])))
            case "tool_call_response":
                if let id = p["id"]?.string { m.toolCallID = id }
                let r = p["response"] ?? p["result"]
                pieces.append(r.map { $0.string ?? $0.jsonString } ?? "")
            default:
                pieces.append(p.jsonString)
            }
        }
        m.content = pieces.joined(separator: "\n")
    }
}

/// Value conversions shared by the mapping rules.
enum AttributeConversion {
    static func int(_ v: AttributeValue) -> Int64? {
        switch v {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e18: return Int64(d)
        case .string(let s): return Int64(s)
        default: return nil
        }
    }

    /// A duration in seconds (`per` 1e9) or milliseconds (1e6) as whole nanoseconds, rounded; nil
    /// when it is not a finite number or does not fit (Int64's conversion would stop the process).
    static func nanos(_ v: AttributeValue, per unit: Double) -> Int64? {
        guard let x = double(v) else { return nil }
        let n = (x * unit).rounded()
        guard n.isFinite, abs(n) < 9.2e18 else { return nil }
        return Int64(n)
    }

    static func double(_ v: AttributeValue) -> Double? {
        switch v {
        case .double(let d): return d
        case .int(let i): return Double(i)
        case .string(let s): return Double(s)
        default: return nil
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (header values, comma-separated lists).
    public func trimmingASCIISpaces() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
