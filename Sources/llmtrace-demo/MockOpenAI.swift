import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMTraceModel

/// A small OpenAI-compatible server on loopback, so the demo (and anyone trying the SDK) has a model
/// to call without a key or a network: `/v1/chat/completions` (whole or streamed as server-sent
/// events, tool calls when tools are offered and none has been answered yet), `/v1/responses` and
/// `/v1/embeddings`. Answers are deterministic (built from the question) with realistic token
/// counts and latency; a question containing "fail" gets a 500 and one containing "busy" a 429,
/// as a real provider's bad minute does.
///
/// One thread per connection, HTTP/1.1 keep-alive, bodies by Content-Length; streamed answers are
/// chunked, one event per chunk, spaced by `tokenDelay`.
final class MockOpenAI: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    /// Before the first byte of an answer (the model "thinking"), and between streamed tokens.
    let firstByteDelay: Double
    let tokenDelay: Double

    init(host: String = "127.0.0.1", port: Int = 0, firstByteDelay: Double = 0.12, tokenDelay: Double = 0.01) throws {
        self.firstByteDelay = firstByteDelay
        self.tokenDelay = tokenDelay
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, 4)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr(host)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        guard bound == 0, listen(s, 64) == 0 else {
            close(s)
            throw MockError("cannot listen on \(host):\(port): \(String(cString: strerror(errno)))")
        }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        self.port = Int(UInt16(bigEndian: addr.sin_port))
        fd = s
        let t = Thread { [self] in acceptLoop() }
        t.name = "mock-openai"
        t.start()
    }

    struct MockError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            Thread { [self] in serve(c) }.start()
        }
    }

    // MARK: HTTP

    private func serve(_ c: Int32) {
        defer { close(c) }
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func fill() -> Bool {
            let n = recv(c, &chunk, chunk.count, 0)
            if n <= 0 { return false }
            buf += chunk[0..<n]
            return true
        }
        while true {
            var headEnd: Int?
            while headEnd == nil {
                if let r = buf.firstRange(of: [13, 10, 13, 10]) { headEnd = r.upperBound } else if buf.count > 65536 || !fill() { return }
            }
            let head = String(decoding: buf[0..<headEnd!], as: UTF8.self)
            let lines = head.split(separator: "\r\n")
            let requestLine = lines.first?.split(separator: " ") ?? []
            var length = 0
            var close = false
            for l in lines.dropFirst() {
                let lower = l.lowercased()
                if lower.hasPrefix("content-length:") { length = Int(lower.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? -1 }
                if lower.hasPrefix("connection:") && lower.contains("close") { close = true }
                if lower.hasPrefix("transfer-encoding:") { length = -1 }
            }
            guard requestLine.count == 3, length >= 0, length <= 16 << 20 else {
                send(c, status: 400, json: #"{"error":{"message":"the mock reads requests with a Content-Length only","type":"invalid_request_error"}}"#)
                return
            }
            while buf.count < headEnd! + length { if !fill() { return } }
            let body = Array(buf[headEnd!..<(headEnd! + length)])
            buf.removeFirst(headEnd! + length)
            let path = String(requestLine[1].split(separator: "?", maxSplits: 1).first ?? "")
            if !route(c, method: String(requestLine[0]), path: path, body: body) || close { return }
        }
    }

    private func writeAll(_ c: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            #if canImport(Glibc)
            let n = bytes.withUnsafeBytes { Glibc.send(c, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            #else
            let n = bytes.withUnsafeBytes { Darwin.send(c, $0.baseAddress! + off, bytes.count - off, 0) }
            #endif
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    @discardableResult
    private func send(_ c: Int32, status: Int, json: String, headers: String = "") -> Bool {
        let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"][status] ?? "Error"
        let body = Array(json.utf8)
        return writeAll(c, Array("HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\(headers)\r\n".utf8) + body)
    }

    /// Whether the connection stays open.
    private func route(_ c: Int32, method: String, path: String, body: [UInt8]) -> Bool {
        guard method == "POST" else { return send(c, status: 404, json: #"{"error":{"message":"not found","type":"invalid_request_error"}}"#) }
        guard let request = try? JSONValue.parse(body) else {
            return send(c, status: 400, json: #"{"error":{"message":"the body is not JSON","type":"invalid_request_error"}}"#)
        }
        let question = Self.lastUserText(request)
        Thread.sleep(forTimeInterval: firstByteDelay)
        if question.contains("fail") {
            return send(c, status: 500, json: #"{"error":{"message":"The model had an internal error (mock: the question asked for it).","type":"server_error"}}"#)
        }
        if question.contains("busy") {
            return send(c, status: 429, json: #"{"error":{"message":"Rate limit reached (mock).","type":"rate_limit_error"}}"#, headers: "Retry-After: 1\r\n")
        }
        switch path {
        case let p where p.hasSuffix("/chat/completions"): return chat(c, request)
        case let p where p.hasSuffix("/responses"): return responses(c, request)
        case let p where p.hasSuffix("/embeddings"): return embeddings(c, request)
        default: return send(c, status: 404, json: #"{"error":{"message":"unknown route \#(path)","type":"invalid_request_error"}}"#)
        }
    }

    // MARK: The model

    static func lastUserText(_ r: JSONValue) -> String {
        if let messages = r["messages"]?.array {
            for m in messages.reversed() where m["role"]?.string == "user" { return m["content"]?.string ?? "" }
        }
        if let s = r["input"]?.string { return s }
        if let items = r["input"]?.array { return items.compactMap { $0.string ?? $0["content"]?.string }.joined(separator: " ") }
        return ""
    }

    /// About 1.3 tokens per word, as English text runs.
    static func tokens(_ s: String) -> Int { max(1, s.split(whereSeparator: { $0 == " " || $0 == "\n" }).count * 13 / 10) }

    private func chat(_ c: Int32, _ r: JSONValue) -> Bool {
        let model = r["model"]?.string ?? "gpt-4o-mini"
        let messages = r["messages"]?.array ?? []
        let promptTokens = messages.reduce(0) { $0 + Self.tokens($1["content"]?.string ?? "") + 4 }
        let cached = promptTokens >= 64 ? promptTokens / 64 * 32 : 0
        let answeredTool = messages.contains { $0["role"]?.string == "tool" }
        let id = "chatcmpl-mock\(UInt32.random(in: 0...UInt32.max))"
        let created = Int(Date().timeIntervalSince1970)
        var toolCall: (id: String, name: String, arguments: String)? = nil
        if let tool = r["tools"]?.array?.first?["function"]?["name"]?.string, !answeredTool {
            let order = Self.lastUserText(r).split(separator: " ").first { $0.hasPrefix("#") }.map { String($0.dropFirst()).trimmingCharacters(in: .punctuationCharacters) } ?? "0"
            toolCall = ("call_\(UInt32.random(in: 0...UInt32.max))", tool, #"{"order_id":"\#(order)"}"#)
        }
        let text = toolCall == nil ? Self.answer(to: Self.lastUserText(r), context: messages) : ""
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let completionTokens = toolCall == nil ? Self.tokens(text) : 18
        let finish = toolCall == nil ? (r["max_tokens"]?.int.map { Int($0) < completionTokens } == true ? "length" : "stop") : "tool_calls"
        let usage = #"{"prompt_tokens":\#(promptTokens),"completion_tokens":\#(completionTokens),"total_tokens":\#(promptTokens + completionTokens),"prompt_tokens_details":{"cached_tokens":\#(cached)},"completion_tokens_details":{"reasoning_tokens":0}}"#

        if r["stream"]?.bool != true {
            let message = toolCall.map { #"{"role":"assistant","content":null,"tool_calls":[{"id":"\#($0.id)","type":"function","function":{"name":"\#($0.name)","arguments":\#(Self.quote($0.arguments))}}]}"# }
                ?? #"{"role":"assistant","content":\#(Self.quote(text))}"#
            Thread.sleep(forTimeInterval: tokenDelay * Double(min(words.count, 50)))
            return send(c, status: 200, json: #"{"id":"\#(id)","object":"chat.completion","created":\#(created),"model":"\#(model)-2024-07-18","choices":[{"index":0,"message":\#(message),"finish_reason":"\#(finish)"}],"usage":\#(usage)}"#)
        }
        // Streamed: a role chunk, a chunk per word (or the tool call in two pieces), the finish,
        // the usage when asked for, then [DONE].
        guard writeAll(c, Array("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)) else { return false }
        func event(_ json: String) -> Bool {
            let data = Array("data: \(json)\n\n".utf8)
            return writeAll(c, Array(String(data.count, radix: 16).utf8) + [13, 10] + data + [13, 10])
        }
        let prefix = #"{"id":"\#(id)","object":"chat.completion.chunk","created":\#(created),"model":"\#(model)-2024-07-18","choices":[{"index":0,"delta":"#
        guard event(prefix + #"{"role":"assistant","content":""},"finish_reason":null}]}"#) else { return false }
        if let call = toolCall {
            let half = call.arguments.index(call.arguments.startIndex, offsetBy: call.arguments.count / 2)
            guard event(prefix + #"{"tool_calls":[{"index":0,"id":"\#(call.id)","type":"function","function":{"name":"\#(call.name)","arguments":\#(Self.quote(String(call.arguments[..<half])))}}]},"finish_reason":null}]}"#),
                  event(prefix + #"{"tool_calls":[{"index":0,"function":{"arguments":\#(Self.quote(String(call.arguments[half...])))}}]},"finish_reason":null}]}"#) else { return false }
        } else {
            for (i, w) in words.enumerated() {
                Thread.sleep(forTimeInterval: tokenDelay)
                guard event(prefix + #"{"content":\#(Self.quote(i == 0 ? w : " " + w))},"finish_reason":null}]}"#) else { return false }
            }
        }
        guard event(prefix + #"{},"finish_reason":"\#(finish)"}]}"#) else { return false }
        if r["stream_options"]?["include_usage"]?.bool == true {
            guard event(#"{"id":"\#(id)","object":"chat.completion.chunk","created":\#(created),"model":"\#(model)-2024-07-18","choices":[],"usage":\#(usage)}"#) else { return false }
        }
        return event("[DONE]") && writeAll(c, Array("0\r\n\r\n".utf8))
    }

    private func responses(_ c: Int32, _ r: JSONValue) -> Bool {
        let model = r["model"]?.string ?? "gpt-4o-mini"
        let question = Self.lastUserText(r)
        let text = Self.answer(to: question, context: [])
        let input = Self.tokens(question) + Self.tokens(r["instructions"]?.string ?? "")
        let output = Self.tokens(text)
        return send(c, status: 200, json: #"{"id":"resp_mock\#(UInt32.random(in: 0...UInt32.max))","object":"response","model":"\#(model)-2024-07-18","status":"completed","output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":\#(Self.quote(text))}]}],"usage":{"input_tokens":\#(input),"output_tokens":\#(output),"total_tokens":\#(input + output),"input_tokens_details":{"cached_tokens":0},"output_tokens_details":{"reasoning_tokens":0}}}"#)
    }

    private func embeddings(_ c: Int32, _ r: JSONValue) -> Bool {
        let inputs: [String] = r["input"]?.string.map { [$0] } ?? r["input"]?.array?.compactMap(\.string) ?? []
        var data: [String] = []
        for (i, s) in inputs.enumerated() {
            data.append(#"{"object":"embedding","index":\#(i),"embedding":[\#(Self.embed(s).map { String(format: "%.5f", $0) }.joined(separator: ","))]}"#)
        }
        let tokens = inputs.reduce(0) { $0 + Self.tokens($1) }
        return send(c, status: 200, json: #"{"object":"list","model":"\#(r["model"]?.string ?? "text-embedding-3-small")","data":[\#(data.joined(separator: ","))],"usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#)
    }

    /// A toy embedding: hashed word counts in 64 dimensions, normalised (similar texts are near).
    static func embed(_ s: String) -> [Double] {
        var v = [Double](repeating: 0, count: 64)
        for w in s.lowercased().split(whereSeparator: { !$0.isLetter }) where w.count > 3 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in w.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            v[Int(h % 64)] += 1
        }
        let n = max(1e-9, v.reduce(0) { $0 + $1 * $1 }.squareRoot())
        return v.map { $0 / n }
    }

    /// An answer that uses the retrieved context the request carries, as a grounded model would.
    static func answer(to question: String, context: [JSONValue]) -> String {
        let system = context.first { $0["role"]?.string == "system" }?["content"]?.string ?? ""
        let tool = context.last { $0["role"]?.string == "tool" }?["content"]?.string
        if let tool { return "I checked your order: \(tool.replacingOccurrences(of: "\"", with: "")). Is there anything else I can help with?" }
        let fact = system.split(separator: "\n").first { $0.hasPrefix("- ") }.map { String($0.dropFirst(2)) }
        if let fact { return "According to our policy: \(fact) Let me know if you need more detail." }
        return "Thanks for your question about \(question.prefix(60)). Our support team can help with that."
    }

    static func quote(_ s: String) -> String {
        var w = JSONWriter()
        w.string(s)
        return w.string
    }
}
