#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel

/// The compact binary encoding of spans used by WAL records and the segment payload column.
/// Every string is a varint text id into a table (`TextInterner`); the byte layout is in FORMAT.md.
///
/// Hot path: each acknowledged span is encoded once here.
public enum SpanBinaryCodec {
    // Presence bits of the optional fields of a WAL span, in encoding order.
    static let bStatusMessage: UInt64 = 1 << 0, bProvider: UInt64 = 1 << 1, bRequestModel: UInt64 = 1 << 2
    static let bResponseModel: UInt64 = 1 << 3, bInputTokens: UInt64 = 1 << 4, bOutputTokens: UInt64 = 1 << 5
    static let bCachedTokens: UInt64 = 1 << 6, bReasoningTokens: UInt64 = 1 << 7, bCost: UInt64 = 1 << 8
    static let bTTFT: UInt64 = 1 << 9, bTemperature: UInt64 = 1 << 10, bMaxTokens: UInt64 = 1 << 11
    static let bTopP: UInt64 = 1 << 12, bPromptName: UInt64 = 1 << 13, bPromptVersion: UInt64 = 1 << 14
    static let bSession: UInt64 = 1 << 15, bUser: UInt64 = 1 << 16, bEnvironment: UInt64 = 1 << 17
    static let bDetails: UInt64 = 1 << 18, bFinishReason: UInt64 = 1 << 19
    /// The details end with the message extras section (tool calls, tool call ids). Needed in the
    /// WAL, where the next span follows the details; a head row or segment row knows its length.
    static let bMessageExtras: UInt64 = 1 << 20

    static let kinds = SpanKind.allCases
    static let statuses = SpanStatus.allCases

    // MARK: Whole spans (WAL)

    /// Returns where the details start in `w` (they run to the end of the span), or nil when the
    /// span has none.
    /// With `row`, the span's head row is also made there: its numbers and the text ids interned
    /// here for its fixed string fields.
    @discardableResult
    public static func encode(_ s: Span, into w: inout ByteWriter, texts t: inout TextInterner) -> Int? {
        withUnsafePointer(to: s) { encode(spanAt: $0, into: &w, texts: &t, row: nil) }
    }

    /// `encode` of the span at `p`, read in place: the WAL's hot path passes each span of a batch
    /// by address. (A span passed by value, even `borrowing`, was copied whole, every field
    /// retained and released, whenever it came from an array or buffer; perf counted those
    /// copies as a third of the encoder's reference counting.)
    @discardableResult
    public static func encode(spanAt p: UnsafePointer<Span>, into w: inout ByteWriter, texts t: inout TextInterner) -> Int? {
        encode(spanAt: p, into: &w, texts: &t, row: nil)
    }

    @discardableResult @inline(__always)
    static func encode(spanAt p: UnsafePointer<Span>, into w: inout ByteWriter, texts t: inout TextInterner, row: UnsafeMutablePointer<HeadRow>?) -> Int? {
        w.u64(p.pointee.traceID.hi)
        w.u64(p.pointee.traceID.lo)
        w.u64(p.pointee.spanID.value)
        w.u64(p.pointee.parentSpanID.value)
        @inline(__always) func id(_ v: String, _ slot: FixedTextIDs.Slot) -> UInt64 {
            let i = t.intern(v)
            row?.pointee.setID(slot, i)
            return UInt64(i)
        }
        let kindIndex = UInt8(kinds.firstIndex(of: p.pointee.kind)!), statusIndex = UInt8(statuses.firstIndex(of: p.pointee.status)!)
        row?.initialize(to: HeadRow(numbersOf: p, kindIndex: kindIndex, statusIndex: statusIndex))
        w.varint(id(p.pointee.project, .project))
        w.varint(id(p.pointee.service, .service))
        w.varint(id(p.pointee.name, .name))
        w.u8(kindIndex)
        w.u8(statusIndex)
        w.svarint(p.pointee.startNanos)
        w.svarint(p.pointee.endNanos &- p.pointee.startNanos)
        var bits: UInt64 = 0
        if p.pointee.statusMessage != nil { bits |= bStatusMessage }
        if p.pointee.provider != nil { bits |= bProvider }
        if p.pointee.requestModel != nil { bits |= bRequestModel }
        if p.pointee.responseModel != nil { bits |= bResponseModel }
        if p.pointee.inputTokens != nil { bits |= bInputTokens }
        if p.pointee.outputTokens != nil { bits |= bOutputTokens }
        if p.pointee.cachedTokens != nil { bits |= bCachedTokens }
        if p.pointee.reasoningTokens != nil { bits |= bReasoningTokens }
        if p.pointee.costUSD != nil { bits |= bCost }
        if p.pointee.timeToFirstTokenNanos != nil { bits |= bTTFT }
        if p.pointee.temperature != nil { bits |= bTemperature }
        if p.pointee.maxTokens != nil { bits |= bMaxTokens }
        if p.pointee.topP != nil { bits |= bTopP }
        if p.pointee.promptName != nil { bits |= bPromptName }
        if p.pointee.promptVersion != nil { bits |= bPromptVersion }
        if p.pointee.sessionID != nil { bits |= bSession }
        if p.pointee.userID != nil { bits |= bUser }
        if p.pointee.environment != nil { bits |= bEnvironment }
        if p.pointee.finishReason != nil { bits |= bFinishReason }
        if hasDetails(p) { bits |= bDetails }
        if hasMessageExtras(p) { bits |= bMessageExtras }
        w.varint(bits)
        if let v = p.pointee.statusMessage { w.varint(id(v, .statusMessage)) }
        if let v = p.pointee.provider { w.varint(id(v, .provider)) }
        if let v = p.pointee.requestModel { w.varint(id(v, .requestModel)) }
        if let v = p.pointee.responseModel { w.varint(id(v, .responseModel)) }
        if let v = p.pointee.inputTokens { w.svarint(v) }
        if let v = p.pointee.outputTokens { w.svarint(v) }
        if let v = p.pointee.cachedTokens { w.svarint(v) }
        if let v = p.pointee.reasoningTokens { w.svarint(v) }
        if let v = p.pointee.costUSD { w.f64(v) }
        if let v = p.pointee.timeToFirstTokenNanos { w.svarint(v) }
        if let v = p.pointee.temperature { w.f64(v) }
        if let v = p.pointee.maxTokens { w.svarint(v) }
        if let v = p.pointee.topP { w.f64(v) }
        if let v = p.pointee.promptName { w.varint(id(v, .promptName)) }
        if let v = p.pointee.promptVersion { w.varint(id(v, .promptVersion)) }
        if let v = p.pointee.sessionID { w.varint(id(v, .sessionID)) }
        if let v = p.pointee.userID { w.varint(id(v, .userID)) }
        if let v = p.pointee.environment { w.varint(id(v, .environment)) }
        if let v = p.pointee.finishReason { w.varint(id(v, .finishReason)) }
        guard bits & bDetails != 0 else { return nil }
        let start = w.count
        encodeDetails(spanAt: p, into: &w, texts: &t)
        return start
    }

    public static func decode<T: TextLookup>(_ r: inout ByteReader, texts: T) -> Span? {
        let hi = r.u64(), lo = r.u64()
        let sid = r.u64(), parent = r.u64()
        guard let project = str(&r, texts), let service = str(&r, texts), let name = str(&r, texts) else { return nil }
        let k = Int(r.u8()), st = Int(r.u8())
        guard k < kinds.count, st < statuses.count else { return nil }
        let start = r.svarint()
        let dur = r.svarint()
        var s = Span(traceID: TraceID(hi: hi, lo: lo), spanID: SpanID(sid), parentSpanID: SpanID(parent),
                     project: project, service: service, name: name, kind: kinds[k],
                     startNanos: start, endNanos: start &+ dur, status: statuses[st])
        let bits = r.varint()
        if bits & bStatusMessage != 0 { guard let v = str(&r, texts) else { return nil }; s.statusMessage = v }
        if bits & bProvider != 0 { guard let v = str(&r, texts) else { return nil }; s.provider = v }
        if bits & bRequestModel != 0 { guard let v = str(&r, texts) else { return nil }; s.requestModel = v }
        if bits & bResponseModel != 0 { guard let v = str(&r, texts) else { return nil }; s.responseModel = v }
        if bits & bInputTokens != 0 { s.inputTokens = r.svarint() }
        if bits & bOutputTokens != 0 { s.outputTokens = r.svarint() }
        if bits & bCachedTokens != 0 { s.cachedTokens = r.svarint() }
        if bits & bReasoningTokens != 0 { s.reasoningTokens = r.svarint() }
        if bits & bCost != 0 { s.costUSD = r.f64() }
        if bits & bTTFT != 0 { s.timeToFirstTokenNanos = r.svarint() }
        if bits & bTemperature != 0 { s.temperature = r.f64() }
        if bits & bMaxTokens != 0 { s.maxTokens = r.svarint() }
        if bits & bTopP != 0 { s.topP = r.f64() }
        if bits & bPromptName != 0 { guard let v = str(&r, texts) else { return nil }; s.promptName = v }
        if bits & bPromptVersion != 0 { guard let v = str(&r, texts) else { return nil }; s.promptVersion = v }
        if bits & bSession != 0 { guard let v = str(&r, texts) else { return nil }; s.sessionID = v }
        if bits & bUser != 0 { guard let v = str(&r, texts) else { return nil }; s.userID = v }
        if bits & bEnvironment != 0 { guard let v = str(&r, texts) else { return nil }; s.environment = v }
        if bits & bFinishReason != 0 { guard let v = str(&r, texts) else { return nil }; s.finishReason = v }
        if bits & bDetails != 0 {
            guard decodeDetails(&r, texts: texts, into: &s, extras: bits & bMessageExtras != 0) else { return nil }
        }
        return r.failed ? nil : s
    }

    @inline(__always)
    static func str<T: TextLookup>(_ r: inout ByteReader, _ texts: T) -> String? {
        let id = r.varint()
        guard !r.failed, id <= UInt64(UInt32.max) else { return nil }
        return texts.text(UInt32(id))
    }

    // MARK: Details (the text-heavy part; also the segment payload column)

    public static func hasDetails(_ s: Span) -> Bool {
        withUnsafePointer(to: s) { hasDetails($0) }
    }

    @inline(__always)
    static func hasDetails(_ p: UnsafePointer<Span>) -> Bool {
        !(p.pointee.inputMessages.isEmpty && p.pointee.outputMessages.isEmpty && p.pointee.documents.isEmpty
          && p.pointee.tags.isEmpty && p.pointee.attributes.isEmpty && p.pointee.events.isEmpty)
    }

    /// Whether a message of `s` calls tools or answers a call: what the extras section holds.
    public static func hasMessageExtras(_ s: Span) -> Bool {
        withUnsafePointer(to: s) { hasMessageExtras($0) }
    }

    @inline(__always)
    static func hasMessageExtras(_ p: UnsafePointer<Span>) -> Bool {
        p.pointee.inputMessages.contains(where: hasExtras) || p.pointee.outputMessages.contains(where: hasExtras)
    }

    /// Whether message `m` calls tools or answers a call.
    @inline(__always)
    static func hasExtras(_ m: Message) -> Bool { !m.toolCalls.isEmpty || m.toolCallID != nil }

    /// Messages, documents, tags, attributes and events, then the message extras when a message
    /// has any.
    public static func encodeDetails(_ s: Span, into w: inout ByteWriter, texts t: inout TextInterner) {
        withUnsafePointer(to: s) { encodeDetails(spanAt: $0, into: &w, texts: &t) }
    }

    static func encodeDetails(spanAt p: UnsafePointer<Span>, into w: inout ByteWriter, texts t: inout TextInterner) {
        // Index loops throughout: for-in would copy (retain and release) every element.
        w.varint(p.pointee.inputMessages.count)
        for k in p.pointee.inputMessages.indices {
            w.varint(UInt64(t.intern(p.pointee.inputMessages[k].role)))
            encodeContent(p.pointee.inputMessages[k].content, into: &w, texts: &t)
        }
        w.varint(p.pointee.outputMessages.count)
        for k in p.pointee.outputMessages.indices {
            w.varint(UInt64(t.intern(p.pointee.outputMessages[k].role)))
            encodeContent(p.pointee.outputMessages[k].content, into: &w, texts: &t)
        }
        w.varint(p.pointee.documents.count)
        for k in p.pointee.documents.indices {
            // id + 1, so 0 means "no id".
            if let id = p.pointee.documents[k].id { w.varint(UInt64(t.intern(id)) + 1) } else { w.varint(0) }
            encodeContent(p.pointee.documents[k].content, into: &w, texts: &t)
            if let sc = p.pointee.documents[k].score { w.u8(1); w.f64(sc) } else { w.u8(0) }
        }
        w.varint(p.pointee.tags.count)
        for k in p.pointee.tags.indices { w.varint(UInt64(t.intern(p.pointee.tags[k]))) }
        encodeAttributes(p.pointee.attributes, into: &w, texts: &t)
        w.varint(p.pointee.events.count)
        for k in p.pointee.events.indices {
            w.varint(UInt64(t.intern(p.pointee.events[k].name)))
            w.svarint(p.pointee.events[k].timeNanos)
            encodeAttributes(p.pointee.events[k].attributes, into: &w, texts: &t)
        }
        if hasMessageExtras(p) { encodeMessageExtras(p.pointee, into: &w, texts: &t) }
    }

    /// `varint n, n × (u8 side 0 input · 1 output, varint message index, varint tool_call_id text
    /// id + 1 or 0, varint k, k × (varint call id text id + 1 or 0, text id name, content arguments))`,
    /// one entry per message that has a call id or tool calls.
    static func encodeMessageExtras(_ s: Span, into w: inout ByteWriter, texts t: inout TextInterner) {
        w.varint(s.inputMessages.lazy.filter(hasExtras).count + s.outputMessages.lazy.filter(hasExtras).count)
        for (side, list) in [(UInt8(0), s.inputMessages), (1, s.outputMessages)] {
            for k in list.indices where hasExtras(list[k]) {
                w.u8(side)
                w.varint(k)
                if let id = list[k].toolCallID { w.varint(UInt64(t.intern(id)) + 1) } else { w.varint(0) }
                w.varint(list[k].toolCalls.count)
                for c in list[k].toolCalls {
                    if let id = c.id { w.varint(UInt64(t.intern(id)) + 1) } else { w.varint(0) }
                    w.varint(UInt64(t.intern(c.name)))
                    encodeContent(c.arguments, into: &w, texts: &t)
                }
            }
        }
    }

    static func decodeMessageExtras<T: TextLookup>(_ r: inout ByteReader, texts: T, into s: inout Span) -> Bool {
        func optText(_ r: inout ByteReader) -> String?? {
            let ref = r.varint()
            if ref == 0 { return .some(nil) }
            guard ref - 1 <= UInt64(UInt32.max), let v = texts.text(UInt32(ref - 1)) else { return nil }
            return .some(v)
        }
        let n = r.count(limit: r.remaining)
        for _ in 0..<n {
            let side = r.u8()
            let k = Int(r.count(limit: Int(UInt32.max)))
            guard side <= 1, k < (side == 0 ? s.inputMessages.count : s.outputMessages.count),
                  let callID = optText(&r) else { return false }
            let nCalls = r.count(limit: r.remaining)
            var calls: [ToolCall] = []
            calls.reserveCapacity(nCalls)
            for _ in 0..<nCalls {
                guard let id = optText(&r), let name = str(&r, texts), let args = decodeContent(&r, texts) else { return false }
                calls.append(ToolCall(id: id, name: name, arguments: args))
            }
            if side == 0 { s.inputMessages[k].toolCallID = callID; s.inputMessages[k].toolCalls = calls }
            else { s.outputMessages[k].toolCallID = callID; s.outputMessages[k].toolCalls = calls }
        }
        return !r.failed
    }

    /// Decodes one span's details into `s`. `extras`: whether the message extras section follows
    /// the events (the WAL says so in the span's presence bits); nil reads it when bytes remain,
    /// for a reader over exactly one row's details (head, segment).
    public static func decodeDetails<T: TextLookup>(_ r: inout ByteReader, texts: T, into s: inout Span,
                                                    extras: Bool? = nil) -> Bool {
        let nIn = r.count(limit: r.remaining)
        s.inputMessages.reserveCapacity(nIn)
        for _ in 0..<nIn {
            guard let role = str(&r, texts), let content = decodeContent(&r, texts) else { return false }
            s.inputMessages.append(Message(role: role, content: content))
        }
        let nOut = r.count(limit: r.remaining)
        for _ in 0..<nOut {
            guard let role = str(&r, texts), let content = decodeContent(&r, texts) else { return false }
            s.outputMessages.append(Message(role: role, content: content))
        }
        let nDocs = r.count(limit: r.remaining)
        for _ in 0..<nDocs {
            let idRef = r.varint()
            var id: String? = nil
            if idRef > 0 {
                guard idRef - 1 <= UInt64(UInt32.max), let v = texts.text(UInt32(idRef - 1)) else { return false }
                id = v
            }
            guard let content = decodeContent(&r, texts) else { return false }
            let score: Double? = r.u8() == 1 ? r.f64() : nil
            s.documents.append(RetrievedDocument(id: id, content: content, score: score))
        }
        let nTags = r.count(limit: r.remaining)
        for _ in 0..<nTags {
            guard let tag = str(&r, texts) else { return false }
            s.tags.append(tag)
        }
        guard let attrs = decodeAttributes(&r, texts: texts) else { return false }
        s.attributes = attrs
        let nEvents = r.count(limit: r.remaining)
        for _ in 0..<nEvents {
            guard let name = str(&r, texts) else { return false }
            let time = r.svarint()
            guard let ea = decodeAttributes(&r, texts: texts) else { return false }
            s.events.append(SpanEvent(name: name, timeNanos: time, attributes: ea))
        }
        if extras ?? (r.remaining > 0 && !r.failed) {
            guard decodeMessageExtras(&r, texts: texts, into: &s) else { return false }
        }
        return !r.failed
    }

    /// Prompts are assembled from parts: a system prompt, retrieved chunks, the user's question,
    /// joined by blank lines. Long contents are split at every "\n\n" and each paragraph is interned
    /// on its own, so a chunk that appears in thousands of different prompts is stored once.
    /// Splitting at a separator and joining with it are exact inverses, so content round-trips.
    static let paragraphSplitMinimum = 256

    /// Offset of the next "\n\n" at or after `from`, or nil. memchr finds newline candidates at
    /// vector speed; contents are scanned once or twice per acknowledged span.
    @inline(__always)
    static func nextBlankLine(_ u: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var i = from
        let n = u.count
        while i + 1 < n {
            guard let p = memchr(u.baseAddress! + i, 0x0A, n - 1 - i) else { return nil }
            let at = UnsafePointer<UInt8>(p.assumingMemoryBound(to: UInt8.self)) - u.baseAddress!
            if u[at + 1] == 0x0A { return at }
            i = at + 1
        }
        return nil
    }

    /// The hashes of the paragraphs `encodeContent` would store for `content` (the full-text units).
    public static func paragraphHashes(_ content: String) -> [Int64] {
        var out: [Int64] = []
        forEachParagraph(content) { out.append(TextHash.hash($0)) }
        return out
    }

    /// Calls `body` with each paragraph of `content`, the full-text units: a content of at least
    /// `paragraphSplitMinimum` bytes is cut at blank lines, a shorter one is one paragraph.
    public static func forEachParagraph(_ content: String, _ body: (UnsafeRawBufferPointer) -> Void) {
        var c = content
        c.withUTF8 { u in
            guard u.count >= paragraphSplitMinimum else { return body(UnsafeRawBufferPointer(u)) }
            var start = 0
            while let at = nextBlankLine(u, from: start) {
                body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: u[start..<at])))
                start = at + 2
            }
            body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: u[start..<u.count])))
        }
    }

    /// The span's searchable contents: input and output messages, then documents.
    public static func searchableContents(of span: Span) -> [String] {
        span.inputMessages.map(\.content) + span.outputMessages.map(\.content) + span.documents.map(\.content)
    }

    /// Whether a message or document of `span` has a paragraph whose hash is in `set`.
    public static func hasParagraph(of span: Span, in set: Set<Int64>) -> Bool {
        searchableContents(of: span).contains { paragraphHashes($0).contains(where: set.contains) }
    }

    @inline(__always)
    static func encodeContent(_ content: String, into w: inout ByteWriter, texts t: inout TextInterner) {
        func encode(_ u: UnsafeBufferPointer<UInt8>) {
            let n = u.count
            // Most contents have no paragraph to split: one id.
            guard n >= paragraphSplitMinimum, let first = nextBlankLine(u, from: 0) else {
                w.varint(1)
                w.varint(UInt64(t.intern(UnsafeRawBufferPointer(u)) { content }))
                return
            }
            // One pass: intern each paragraph as it is found, keep its id, then write the count and
            // the ids (a paragraph is at least empty, and each one but the last ends at 2 bytes).
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: n / 2 + 1) { ids in
                var parts = 0
                func emit(_ start: Int, _ end: Int) {
                    let slice = UnsafeBufferPointer(rebasing: u[start..<end])
                    ids[parts] = t.intern(UnsafeRawBufferPointer(slice)) { String(decoding: slice, as: UTF8.self) }
                    parts += 1
                }
                emit(0, first)
                var start = first + 2
                while let at = nextBlankLine(u, from: start) {
                    emit(start, at)
                    start = at + 2
                }
                emit(start, n)
                w.varint(parts)
                for k in 0..<parts { w.varint(UInt64(ids[k])) }
            }
        }
        if content.utf8.withContiguousStorageIfAvailable(encode) == nil {
            var bridged = content
            bridged.withUTF8(encode)
        }
    }

    @inline(__always)
    static func decodeContent<T: TextLookup>(_ r: inout ByteReader, _ texts: T) -> String? {
        let n = r.count(limit: r.remaining)
        guard n >= 1 else { return nil }
        if n == 1 { return str(&r, texts) }
        var out = ""
        for k in 0..<n {
            guard let p = str(&r, texts) else { return nil }
            if k > 0 { out += "\n\n" }
            out += p
        }
        return out
    }

    /// Walks the input and output messages and the documents at the start of one row's details,
    /// calling `body` with each content text id (false stops with a failure). Leaves `r` at the
    /// tags. The one reader of that layout besides `decodeDetails`.
    @inline(__always)
    static func forEachContentID(_ r: inout ByteReader, _ body: (UInt64) -> Bool) -> Bool {
        func content(_ r: inout ByteReader) -> Bool {
            let n = r.count(limit: r.remaining)
            guard n >= 1 else { return false }
            for _ in 0..<n { guard body(r.varint()) else { return false } }
            return !r.failed
        }
        for _ in 0..<2 {  // input, then output messages
            let n = r.count(limit: r.remaining)
            for _ in 0..<n {
                _ = r.varint()  // role
                guard content(&r) else { return false }
            }
        }
        let nDocs = r.count(limit: r.remaining)
        for _ in 0..<nDocs {
            _ = r.varint()  // id + 1
            guard content(&r) else { return false }
            if r.u8() == 1 { _ = r.f64() }
        }
        return !r.failed
    }

    /// Collects the text ids of message and document contents from one row's details, without
    /// building strings: what the full-text indexer needs from a segment.
    public static func contentTextIDs(_ r: inout ByteReader, into ids: inout Set<UInt32>) -> Bool {
        forEachContentID(&r) { id in
            guard id <= UInt64(UInt32.max) else { return false }
            ids.insert(UInt32(id))
            return true
        }
    }

    /// The value of the attribute whose key is text `key` in one row's details, skipping everything
    /// else without building strings: `.some(nil)` when the row has no such attribute, nil when the
    /// details do not decode. What `attr['key']` in a query reads per row.
    public static func attribute<T: TextLookup>(_ r: inout ByteReader, key: UInt32, texts: T) -> AttributeValue?? {
        guard forEachContentID(&r, { _ in true }) else { return nil }
        let nTags = r.count(limit: r.remaining)
        for _ in 0..<nTags { _ = r.varint() }
        let n = r.count(limit: r.remaining)
        for _ in 0..<n {
            let k = r.varint()
            if k == UInt64(key) {
                guard let v = decodeValue(&r, texts: texts, depth: 0) else { return nil }
                return .some(v)
            }
            guard skipValue(&r, depth: 0) else { return nil }
        }
        return r.failed ? nil : .some(nil)
    }

    static func skipValue(_ r: inout ByteReader, depth: Int) -> Bool {
        switch r.u8() {
        case 0: _ = r.varint()
        case 1: _ = r.svarint()
        case 2: _ = r.f64()
        case 3, 4: break
        case 5:
            guard depth == 0 else { return false }
            let n = r.count(limit: r.remaining)
            for _ in 0..<n { guard skipValue(&r, depth: 1) else { return false } }
        default: return false
        }
        return !r.failed
    }

    static func encodeAttributes(_ attrs: [Attribute], into w: inout ByteWriter, texts t: inout TextInterner) {
        w.varint(attrs.count)
        for k in attrs.indices {
            w.varint(UInt64(t.intern(attrs[k].key)))
            encodeValue(attrs[k].value, into: &w, texts: &t)
        }
    }

    static func encodeValue(_ v: AttributeValue, into w: inout ByteWriter, texts t: inout TextInterner) {
        switch v {
        case .string(let s): w.u8(0); w.varint(UInt64(t.intern(s)))
        case .int(let i): w.u8(1); w.svarint(i)
        case .double(let d): w.u8(2); w.f64(d)
        case .bool(let b): w.u8(b ? 4 : 3)
        case .array(let items):
            w.u8(5)
            w.varint(items.count)
            for i in items { encodeValue(i, into: &w, texts: &t) }
        }
    }

    static func decodeAttributes<T: TextLookup>(_ r: inout ByteReader, texts: T) -> [Attribute]? {
        let n = r.count(limit: r.remaining)
        var out: [Attribute] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            guard let k = str(&r, texts), let v = decodeValue(&r, texts: texts, depth: 0) else { return nil }
            out.append(Attribute(k, v))
        }
        return r.failed ? nil : out
    }

    static func decodeValue<T: TextLookup>(_ r: inout ByteReader, texts: T, depth: Int) -> AttributeValue? {
        switch r.u8() {
        case 0: return str(&r, texts).map { .string($0) }
        case 1: return .int(r.svarint())
        case 2: return .double(r.f64())
        case 3: return .bool(false)
        case 4: return .bool(true)
        case 5:
            guard depth == 0 else { return nil }
            let n = r.count(limit: r.remaining)
            var items: [AttributeValue] = []
            for _ in 0..<n {
                guard let v = decodeValue(&r, texts: texts, depth: depth + 1) else { return nil }
                items.append(v)
            }
            return .array(items)
        default: return nil
        }
    }
}
