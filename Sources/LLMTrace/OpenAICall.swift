import LLMTraceModel

/// What an OpenAI-compatible request and its answer say, read from their JSON: the three
/// operations — chat completions, responses, embeddings — as OpenAI, Azure OpenAI and local
/// servers (vLLM, Ollama, llama.cpp, LM Studio) speak them, whole or streamed (server-sent events).
/// Recorded on the call's span by `OpenAIInstrumentation`.
struct OpenAICall {
    enum Operation: String { case chat, responses, embeddings }

    let operation: Operation
    var requestModel: String?
    var stream = false
    var input: [Message] = []
    var temperature: Double?
    var maxTokens: Int64?
    var topP: Double?

    var responseModel: String?
    var responseID: String?
    var output: [Message] = []
    var finishReason: String?
    var inputTokens: Int64?
    var outputTokens: Int64?
    var cachedTokens: Int64?
    var reasoningTokens: Int64?
    var errorMessage: String?

    /// The operation a request path names (`/v1/chat/completions`, Azure's
    /// `/openai/deployments/{name}/chat/completions`, `/v1/responses`, `/v1/embeddings`).
    static func operation(path: String) -> Operation? {
        var p = Substring(path)
        while p.hasSuffix("/") { p = p.dropLast() }
        if p.hasSuffix("/chat/completions") { return .chat }
        if p.hasSuffix("/responses") { return .responses }
        if p.hasSuffix("/embeddings") { return .embeddings }
        return nil
    }

    /// Azure names the deployment in the path, not the model in the body.
    static func azureDeployment(path: String) -> String? {
        let parts = path.split(separator: "/")
        guard let i = parts.firstIndex(of: "deployments"), i + 1 < parts.count else { return nil }
        return String(parts[i + 1])
    }

    init(operation: Operation, path: String, body: [UInt8]) {
        self.operation = operation
        requestModel = Self.azureDeployment(path: path)
        guard let v = try? JSONValue.parse(body) else { return }
        if let m = v["model"]?.string { requestModel = m }
        stream = v["stream"]?.bool ?? false
        temperature = v["temperature"]?.double
        topP = v["top_p"]?.double
        maxTokens = v["max_completion_tokens"]?.int ?? v["max_tokens"]?.int ?? v["max_output_tokens"]?.int
        switch operation {
        case .chat:
            input = (v["messages"]?.array ?? []).map(Self.message)
        case .responses:
            if let s = v["instructions"]?.string { input.append(Message(role: "system", content: s)) }
            switch v["input"] {
            case .string(let s)?: input.append(Message(role: "user", content: s))
            case .array(let items)?: input += items.map(Self.message)
            default: break
            }
        case .embeddings:
            switch v["input"] {
            case .string(let s)?: input = [Message(role: "", content: s)]
            case .array(let items)?: input = items.compactMap(\.string).map { Message(role: "", content: $0) }
            default: break
            }
        }
    }

    /// A chat message or a responses input item: content as a string or as parts (their text
    /// joined), tool calls, the call a tool message answers; a function call item and its output.
    static func message(_ v: JSONValue) -> Message {
        switch v["type"]?.string {
        case "function_call":
            return Message(role: "assistant", content: "", toolCalls: [ToolCall(id: v["call_id"]?.string, name: v["name"]?.string ?? "", arguments: v["arguments"]?.string ?? "")])
        case "function_call_output":
            return Message(role: "tool", content: v["output"]?.string ?? "", toolCallID: v["call_id"]?.string)
        default:
            break
        }
        var m = Message(role: v["role"]?.string ?? "", content: text(v["content"]))
        m.toolCallID = v["tool_call_id"]?.string
        m.toolCalls = (v["tool_calls"]?.array ?? []).map { c in
            ToolCall(id: c["id"]?.string, name: c["function"]?["name"]?.string ?? "", arguments: c["function"]?["arguments"]?.string ?? "")
        }
        return m
    }

    static func text(_ v: JSONValue?) -> String {
        switch v {
        case .string(let s)?: return s
        case .array(let parts)?: return parts.compactMap { $0["text"]?.string ?? $0.string }.joined(separator: "\n")
        default: return ""
        }
    }

    // MARK: Answers

    /// A whole (not streamed) answer, or an error's body.
    mutating func readResponse(status: Int, body: [UInt8]) {
        guard let v = try? JSONValue.parse(body) else {
            if status >= 400 { errorMessage = "HTTP \(status)" }
            return
        }
        if status >= 400 {
            errorMessage = v["error"]?["message"]?.string ?? v["error"]?.string ?? v["message"]?.string ?? "HTTP \(status)"
            return
        }
        readAnswer(v)
    }

    private mutating func readAnswer(_ v: JSONValue) {
        if let m = v["model"]?.string { responseModel = m }
        if let id = v["id"]?.string { responseID = id }
        readUsage(v["usage"])
        switch operation {
        case .chat:
            for c in v["choices"]?.array ?? [] {
                if let m = c["message"] { output.append(Self.message(m)) }
                if finishReason == nil { finishReason = c["finish_reason"]?.string }
            }
        case .responses:
            var text: [String] = []
            var calls: [ToolCall] = []
            for item in v["output"]?.array ?? [] {
                switch item["type"]?.string {
                case "message": text.append(Self.text(item["content"]))
                case "function_call": calls.append(ToolCall(id: item["call_id"]?.string, name: item["name"]?.string ?? "", arguments: item["arguments"]?.string ?? ""))
                default: break
                }
            }
            if !text.isEmpty || !calls.isEmpty { output = [Message(role: "assistant", content: text.joined(separator: "\n"), toolCalls: calls)] }
            let status = v["status"]?.string
            finishReason = !calls.isEmpty ? "tool_calls" : (status == "incomplete" ? (v["incomplete_details"]?["reason"]?.string ?? "incomplete") : status.map { $0 == "completed" ? "stop" : $0 })
            if status == "failed" { errorMessage = v["error"]?["message"]?.string ?? "response failed" }
        case .embeddings:
            break
        }
    }

    private mutating func readUsage(_ u: JSONValue?) {
        guard let u, u != .null else { return }
        inputTokens = u["prompt_tokens"]?.int ?? u["input_tokens"]?.int ?? inputTokens
        outputTokens = u["completion_tokens"]?.int ?? u["output_tokens"]?.int ?? outputTokens
        cachedTokens = u["prompt_tokens_details"]?["cached_tokens"]?.int ?? u["input_tokens_details"]?["cached_tokens"]?.int ?? cachedTokens
        reasoningTokens = u["completion_tokens_details"]?["reasoning_tokens"]?.int ?? u["output_tokens_details"]?["reasoning_tokens"]?.int ?? reasoningTokens
        if operation == .embeddings, outputTokens == nil, inputTokens == nil { inputTokens = u["total_tokens"]?.int }
    }

    // MARK: Streams

    /// Server-sent events as they arrive, split on blank lines; `data:` payloads folded into the
    /// answer (chat chunks' deltas and tool-call fragments, the responses API's events). Returns
    /// whether this piece carried the first content (text or a tool call): the time to first token.
    private var sse: [UInt8] = []
    private var streamText = ""
    private var streamCalls: [(id: String?, name: String, arguments: String)] = []
    private var streamRole = "assistant"
    private var sawContent = false

    mutating func readStream(_ bytes: some Sequence<UInt8>) -> Bool {
        sse.append(contentsOf: bytes)
        var first = false
        while let end = Self.eventEnd(sse) {
            let event = Array(sse[..<end.start])
            sse.removeFirst(end.end)
            for line in event.split(separator: 0x0A, omittingEmptySubsequences: true) {
                var l = line
                if l.last == 0x0D { l = l.dropLast() }
                guard l.starts(with: Array("data:".utf8)) else { continue }
                var payload = l.dropFirst(5)
                if payload.first == 0x20 { payload = payload.dropFirst() }
                if payload.elementsEqual("[DONE]".utf8) { continue }
                guard let v = try? JSONValue.parse(Array(payload)) else { continue }
                if readChunk(v) && !sawContent { sawContent = true; first = true }
            }
        }
        return first
    }

    /// The end of the first complete event: a blank line (LF LF, or CR LF CR LF).
    private static func eventEnd(_ b: [UInt8]) -> (start: Int, end: Int)? {
        var i = 0
        while i + 1 < b.count {
            if b[i] == 0x0A && b[i + 1] == 0x0A { return (i, i + 2) }
            if b[i] == 0x0A && b[i + 1] == 0x0D && i + 2 < b.count && b[i + 2] == 0x0A { return (i, i + 3) }
            i += 1
        }
        return nil
    }

    /// One streamed JSON payload; true when it carried content.
    private mutating func readChunk(_ v: JSONValue) -> Bool {
        if let e = v["error"], e != .null { errorMessage = e["message"]?.string ?? "stream error"; return false }
        switch operation {
        case .chat:
            if let m = v["model"]?.string { responseModel = m }
            if let id = v["id"]?.string { responseID = id }
            readUsage(v["usage"])
            var content = false
            for c in v["choices"]?.array ?? [] where (c["index"]?.int ?? 0) == 0 {
                let d = c["delta"]
                if let r = d?["role"]?.string { streamRole = r }
                if let t = d?["content"]?.string, !t.isEmpty { streamText += t; content = true }
                for call in d?["tool_calls"]?.array ?? [] {
                    let i = Int(call["index"]?.int ?? Int64(streamCalls.count))
                    guard i >= 0 && i < 128 else { continue }
                    while streamCalls.count <= i { streamCalls.append((nil, "", "")) }
                    if let id = call["id"]?.string { streamCalls[i].id = id }
                    if let n = call["function"]?["name"]?.string { streamCalls[i].name += n }
                    if let a = call["function"]?["arguments"]?.string { streamCalls[i].arguments += a }
                    content = true
                }
                if let f = c["finish_reason"]?.string { finishReason = f }
            }
            return content
        case .responses:
            switch v["type"]?.string {
            case "response.output_text.delta":
                if let t = v["delta"]?.string, !t.isEmpty { streamText += t; return true }
            case "response.function_call_arguments.delta":
                return true
            case "response.completed", "response.incomplete", "response.failed":
                if let r = v["response"] { readAnswer(r) }
            default:
                break
            }
            return false
        case .embeddings:
            return false
        }
    }

    /// The streamed answer as a message, once the stream has ended (the responses API's final
    /// event, when it came, already set it).
    mutating func finishStream() {
        guard operation == .chat, output.isEmpty, !streamText.isEmpty || !streamCalls.isEmpty else { return }
        output = [Message(role: streamRole, content: streamText, toolCalls: streamCalls.map { ToolCall(id: $0.id, name: $0.name, arguments: $0.arguments) })]
    }

    // MARK: The span

    /// `gen_ai.system` from the host: OpenAI, Azure OpenAI, or an OpenAI-compatible server.
    static func provider(host: String) -> String {
        let h = host.lowercased()
        if h.hasSuffix("openai.azure.com") || h.hasSuffix(".azure.com") { return "azure.ai.openai" }
        if h.hasSuffix("openai.com") { return "openai" }
        return "openai_compatible"
    }

    var spanName: String {
        let op = operation == .embeddings ? "embeddings" : "chat"
        return requestModel.map { "\(op) \($0)" } ?? op
    }
}
