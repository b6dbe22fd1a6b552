import LLMTraceModel

/// A deterministic generator of realistic LLM traces for benchmarks and tests.
///
/// Each trace is an agent root with a retrieval step, one or two model calls and zero to two tool
/// calls. Prompts (0.5–4 KB) are a system prompt from a pool of 24 plus a user question and up to two
/// retrieved chunks from a pool of 2,000 (the repetition real RAG traffic has); completions
/// (0.1–1.5 KB) are sentences from a pool of 4,000 with per-call numbers and ids mixed in, so they are
/// mostly unique as wholes. The same seed always yields the same spans.
public struct SyntheticWorkload {
    private var rng: SplitMix64
    public private(set) var clockNanos: Int64
    private let systemPrompts: [String]
    private let chunks: [String]
    /// The id of each chunk ("doc-N"), precomputed: documents carry it on every retrieval.
    private let chunkIDs: [String]
    private let sentences: [String]
    private let questions: [String]
    // Strings and arrays every trace would otherwise build again (the store benchmark generates
    // its load on the cores it measures, so the generator is kept cheap): the same values, made once.
    private let modelSpanNames: [String]
    private let toolSpanNames: [String]
    private let userIDs: [String]
    private let llmAttributes: [Attribute]
    private var traceCounter: UInt64 = 0
    private var sessionCounter = 0
    private var currentSession = ""

    static let models: [(provider: String, model: String, inPrice: Double, outPrice: Double)] = [
        ("openai", "gpt-4o-2024-08-06", 2.5, 10), ("openai", "gpt-4o-mini", 0.15, 0.6),
        ("anthropic", "claude-3-5-sonnet-20241022", 3, 15), ("anthropic", "claude-3-5-haiku", 0.8, 4),
        ("meta", "llama-3.1-70b-instruct", 0.9, 0.9), ("google", "gemini-1.5-pro", 1.25, 5),
    ]
    static let temperatures = [0.0, 0.2, 0.7, 1.0]
    static let services = ["chat-api", "support-bot", "search-assistant", "doc-summarizer", "code-review"]
    static let tools = ["web_search", "sql_query", "calculator", "get_weather", "send_email", "lookup_order"]
    static let words = """
    the a of to and in is for that with on as by this be are from or it at an which can your our will we all \
    customer order refund policy account payment invoice shipping delivery return product warranty support \
    request response service data model context document section answer question user assistant system \
    please note must should may following information details provide ensure review check update contact \
    within days business team process available include required specific additional example result error \
    time date number amount price plan subscription billing feature release version configuration access \
    security privacy compliance report summary analysis recommendation issue ticket status escalation priority
    """.split(separator: " ").map(String.init)

    public init(seed: UInt64 = 42, startNanos: Int64 = 1_767_225_600_000_000_000) {
        rng = SplitMix64(seed: seed)
        clockNanos = startNanos
        var poolRNG = SplitMix64(seed: 0xC0FFEE)
        func sentence(_ r: inout SplitMix64, _ n: Int) -> String {
            var w: [String] = []
            for _ in 0..<n { w.append(SyntheticWorkload.words[Int(r.next() % UInt64(SyntheticWorkload.words.count))]) }
            var s = w.joined(separator: " ")
            s = s.prefix(1).uppercased() + s.dropFirst() + "."
            return s
        }
        func paragraph(_ r: inout SplitMix64, bytes: Int) -> String {
            var s = ""
            while s.utf8.count < bytes { s += sentence(&r, 6 + Int(r.next() % 14)) + " " }
            return s
        }
        systemPrompts = (0..<24).map { i in
            "You are assistant #\(i) for ACME Corp. " + paragraph(&poolRNG, bytes: 400 + Int(poolRNG.next() % 1600))
        }
        chunks = (0..<2000).map { i in
            "[doc-\(i)] " + paragraph(&poolRNG, bytes: 200 + Int(poolRNG.next() % 600))
        }
        chunkIDs = (0..<2000).map { "doc-\($0)" }
        sentences = (0..<4000).map { _ in sentence(&poolRNG, 5 + Int(poolRNG.next() % 20)) }
        modelSpanNames = Self.models.map { "chat " + $0.model }
        toolSpanNames = Self.tools.map { "tool." + $0 }
        userIDs = (0...5000).map { "user-\($0)" }
        llmAttributes = [Attribute("llm.request.type", .string("chat")), Attribute("gen_ai.operation.name", .string("chat"))]
        questions = (0..<500).map { _ in
            "How do I " + sentence(&poolRNG, 4 + Int(poolRNG.next() % 10)).lowercased().dropLast() + "?"
        }
    }

    private mutating func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
    private mutating func int(_ lo: Int, _ hi: Int) -> Int { lo + Int(rng.next() % UInt64(hi - lo + 1)) }
    private mutating func chance(_ p: Double) -> Bool { Double(rng.next() % 1_000_000) / 1e6 < p }

    private mutating func completion() -> String {
        let target = int(100, 1500)
        // Built as bytes and made a String once (appending to a String checks and updates its
        // counts and flags on every append).
        var s: [UInt8] = []
        s.reserveCapacity(target + 160)
        while s.count < target {
            var sentence = sentences[Int(rng.next() % UInt64(sentences.count))]
            sentence.withUTF8 { s.append(contentsOf: $0) }
            if chance(0.3) {
                s.append(contentsOf: " Reference #".utf8)
                appendDecimal(rng.next() % 1_000_000, to: &s)
                s.append(UInt8(ascii: "."))
            }
            s.append(UInt8(ascii: " "))
        }
        return String(decoding: s, as: UTF8.self)
    }

    private func appendDecimal(_ v: UInt64, to s: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var v = v
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0
            for k in stride(from: n - 1, through: 0, by: -1) { s.append(d[k]) }
        }
    }

    /// The next whole trace (5–7 spans). Traces start 1–20 ms apart on the workload's clock.
    public mutating func nextTrace(project: String = "default") -> [Span] {
        var spans: [Span] = []
        appendTrace(project: project, to: &spans)
        return spans
    }

    /// Appends the next whole trace to `spans` (a batch is built in place: appending another
    /// array's spans would copy, retaining every field, and then release the other array).
    private mutating func appendTrace(project: String, to spans: inout [Span]) {
        let first = spans.count
        traceCounter += 1
        let traceID = TraceID(hi: rng.next() | 1, lo: rng.next())
        clockNanos += Int64(int(1, 20)) * 1_000_000
        if sessionCounter == 0 {
            currentSession = "sess-\(rng.next() % 100_000_000)"
            sessionCounter = int(1, 8)
        }
        sessionCounter -= 1
        let user = userIDs[int(1, 5000)]
        let service = pick(Self.services)
        let env = chance(0.9) ? "production" : "staging"
        let root = SpanID(rng.next() | 1)
        var t = clockNanos
        var rootSpan = Span(traceID: traceID, spanID: root, project: project, service: service, name: "agent.run",
                            kind: .agent, startNanos: t, endNanos: t, status: .ok)
        rootSpan.sessionID = currentSession
        rootSpan.userID = user
        rootSpan.environment = env
        rootSpan.tags = chance(0.3) ? ["beta"] : []
        rootSpan.attributes = [Attribute("http.route", .string("/v1/chat")), Attribute("agent.steps", .int(Int64(int(2, 6))))]

        // Retrieval
        t += Int64(int(1, 5)) * 1_000_000
        var ret = Span(traceID: traceID, spanID: SpanID(rng.next() | 1), parentSpanID: root, project: project, service: service,
                       name: "vector.search", kind: .retrieval, startNanos: t, endNanos: t + Int64(int(5, 80)) * 1_000_000, status: .ok)
        let question = pick(questions)
        ret.inputMessages = [Message(role: "user", content: question)]
        var docs: [String] = []
        for k in 0..<int(3, 5) {
            let i = Int(rng.next() % UInt64(chunks.count))
            docs.append(chunks[i])
            ret.documents.append(RetrievedDocument(id: chunkIDs[i], content: chunks[i], score: 0.9 - Double(k) * 0.07))
        }
        ret.sessionID = currentSession
        ret.environment = env
        ret.attributes = [Attribute("retrieval.top_k", .int(Int64(ret.documents.count))), Attribute("db.system", .string("pgvector"))]
        t = ret.endNanos
        spans.append(ret)  // last use: moved, not copied

        let calls = chance(0.4) ? 2 : 1
        for call in 0..<calls {
            if chance(0.5) {
                t += 1_000_000
                let toolIndex = Int(rng.next() % UInt64(Self.tools.count))
                let tool = Self.tools[toolIndex]
                var ts = Span(traceID: traceID, spanID: SpanID(rng.next() | 1), parentSpanID: root, project: project, service: service,
                              name: toolSpanNames[toolIndex], kind: .tool, startNanos: t, endNanos: t + Int64(int(2, 300)) * 1_000_000, status: .ok)
                ts.attributes = [Attribute("tool.name", .string(tool)), Attribute("tool.arguments", .string("{\"q\":\"\(rng.next() % 100_000)\"}"))]
                ts.sessionID = currentSession
                ts.environment = env
                if chance(0.03) { ts.status = .error; ts.statusMessage = "tool \(tool) timed out after 30s" }
                t = ts.endNanos
                spans.append(ts)
            }
            let modelIndex = Int(rng.next() % UInt64(Self.models.count))
            let m = Self.models[modelIndex]
            t += 1_000_000
            let dur = Int64(int(300, 9000)) * 1_000_000
            var llm = Span(traceID: traceID, spanID: SpanID(rng.next() | 1), parentSpanID: root, project: project, service: service,
                           name: modelSpanNames[modelIndex], kind: .llm, startNanos: t, endNanos: t + dur, status: .ok)
            llm.provider = m.provider
            llm.requestModel = m.model
            llm.responseModel = m.model
            var user = question
            let nCtx = int(0, 2)
            if nCtx > 0 { user.reserveCapacity(question.utf8.count + nCtx * 900) }
            for k in 0..<nCtx {
                user += "\n\nContext:\n"
                user += docs[k % docs.count]
            }
            llm.inputMessages = [Message(role: "system", content: pick(systemPrompts)), Message(role: "user", content: user)]
            if call == 1 { llm.inputMessages.append(Message(role: "assistant", content: "Let me check that.")) }
            let out = completion()
            llm.outputMessages = [Message(role: "assistant", content: out)]
            let inTok = Int64(llm.inputMessages.reduce(0) { $0 + $1.content.utf8.count } / 4)
            let outTok = Int64(out.utf8.count / 4)
            llm.inputTokens = inTok
            llm.outputTokens = outTok
            llm.cachedTokens = chance(0.3) ? inTok / 2 : 0
            llm.costUSD = (Double(inTok) * m.inPrice + Double(outTok) * m.outPrice) / 1e6
            llm.timeToFirstTokenNanos = Int64(int(150, 1500)) * 1_000_000
            llm.temperature = Self.temperatures[Int(rng.next() % UInt64(Self.temperatures.count))]
            llm.maxTokens = 1024
            llm.topP = 1.0
            llm.promptName = "answer-with-context"
            llm.promptVersion = "v\(int(1, 4))"
            llm.sessionID = currentSession
            llm.userID = user.isEmpty ? nil : rootSpan.userID
            llm.environment = env
            llm.attributes = llmAttributes
            llm.events = [SpanEvent(name: "gen_ai.first_token", timeNanos: t + llm.timeToFirstTokenNanos!)]
            if chance(0.02) {
                llm.status = .error
                llm.statusMessage = pick(["rate limit exceeded (429)", "context length exceeded", "upstream timeout"])
                llm.outputMessages = []
            }
            t = llm.endNanos
            spans.append(llm)
        }
        rootSpan.endNanos = t + 1_000_000
        spans.insert(rootSpan, at: first)
    }

    /// At least `count` spans made of whole traces.
    public mutating func nextBatch(count: Int, project: String = "default") -> [Span] {
        var out: [Span] = []
        out.reserveCapacity(count + 8)
        while out.count < count { appendTrace(project: project, to: &out) }
        return out
    }
}

/// SplitMix64: tiny, fast, and the same sequence on every platform.
public struct SplitMix64 {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
