import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LLMTrace

/// The demo's service: answers customer questions with retrieval, a tool and a streamed reply.
/// Only `LLMTrace.bootstrap`, `instrumentOpenAI`, `withSpan` and `score` are tracing code; the
/// OpenAI calls are plain URLSession requests, traced by the instrumentation.
enum SupportBot {
    static let questions = [
        "How long do refunds take to reach my card?",
        "Where is my order #4512? It should have arrived yesterday.",
        "Can I change the delivery address after ordering?",
        "Do you ship to Norway, and how much does it cost?",
        "My order #7730 arrived damaged, what should I do?",
        "How do I reset my password?",
        "Is there a warranty on refurbished laptops?",
        "Can I return an item I bought on sale?",
        "Where is my order #1288?",
        "Do you offer student discounts?",
        "How do I cancel my subscription?",
        "Why did my payment fail at checkout?",
    ]

    static let knowledgeBase: [(id: String, text: String)] = [
        ("kb-refunds", "Refunds are issued within 5 business days of receiving the return; card refunds take 3 to 7 more days to appear."),
        ("kb-shipping", "We ship to the EU, Norway, Switzerland and the UK; delivery costs 9 EUR and takes 3 to 6 days."),
        ("kb-address", "A delivery address can be changed until the order ships, from the order page."),
        ("kb-damaged", "Damaged items are replaced free of charge: reply with a photo within 14 days of delivery."),
        ("kb-password", "Passwords are reset from the sign-in page with the 'forgot password' link; the link is valid for one hour."),
        ("kb-warranty", "Refurbished laptops carry a 12-month warranty covering hardware faults."),
        ("kb-sale", "Items bought on sale can be returned within 30 days like any other item."),
        ("kb-students", "Students get 10% off with a verified university e-mail address."),
        ("kb-subscription", "Subscriptions are cancelled from Account > Plan; the plan runs until the end of the paid period."),
        ("kb-payments", "Payments fail when the bank declines them; try another card or contact your bank."),
    ]

    static func run(_ options: [String: String]) async throws {
        let count = try int(options["--questions"], default: 12, "--questions")
        let concurrency = max(1, try int(options["--concurrency"], default: 2, "--concurrency"))
        let interval = Double(try int(options["--interval-ms"], default: 0, "--interval-ms")) / 1000
        let model = options["--model"] ?? "gpt-4o-mini"

        var mock: MockOpenAI? = nil
        let base: String
        if let url = options["--openai"] {
            base = url.hasSuffix("/") ? String(url.dropLast()) : url
        } else {
            let m = try MockOpenAI()
            mock = m
            base = m.baseURL
        }
        defer { mock?.stop() }

        var config = LLMTrace.Configuration.fromEnvironment()
        if ProcessInfo.processInfo.environment["OTEL_SERVICE_NAME"] == nil, config.serviceName == "unknown_service" { config.serviceName = "helpdesk" }
        if ProcessInfo.processInfo.environment["OTEL_BSP_SCHEDULE_DELAY"] == nil { config.scheduleDelaySeconds = 0.5 }
        LLMTrace.bootstrap(config)

        let sessionConfig = URLSessionConfiguration.ephemeral
        sessionConfig.timeoutIntervalForRequest = 60
        LLMTrace.instrumentOpenAI(sessionConfig)
        let bot = Bot(session: URLSession(configuration: sessionConfig), base: base, model: model,
                      key: ProcessInfo.processInfo.environment["OPENAI_API_KEY"])

        print("\(config.serviceName): answering \(count) questions with \(options["--openai"] == nil ? "the mock model at \(base)" : base); traces to \(config.endpoint)")
        let start = Date()
        let next = Counter()
        let results = Results()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while let i = next.take(below: count) {
                        let q = questions[i % questions.count]
                        let t0 = Date()
                        let (trace, outcome) = await bot.answer(q, number: i)
                        results.add(ok: outcome == nil)
                        print("trace \(trace)  \(String(format: "%5.0f ms", Date().timeIntervalSince(t0) * 1000))  \(outcome.map { "ERROR \($0)" } ?? "ok   ")  \(q)")
                        if interval > 0 { try? await Task.sleep(nanoseconds: UInt64(interval * 1e9)) }
                    }
                }
            }
        }
        let flushed = LLMTrace.shutdown(timeoutSeconds: 30)
        let s = LLMTrace.stats
        print("""
        answered \(results.ok) of \(count) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s; spans exported \(s.exported), failed \(s.failed), dropped \(s.dropped); scores exported \(s.scoresExported), failed \(s.scoresFailed)\(flushed ? "" : " (flush timed out)")
        next: tracectl search --service \(config.serviceName) --since 10m   ·   tracectl trace <trace id>
        {"questions": \(count), "answered": \(results.ok), "spans_exported": \(s.exported), "spans_failed": \(s.failed), "spans_dropped": \(s.dropped), "scores_exported": \(s.scoresExported), "flushed": \(flushed)}
        """)
    }

    static func int(_ v: String?, default d: Int, _ name: String) throws -> Int {
        guard let v else { return d }
        guard let n = Int(v), n >= 0 else { throw DemoError("\(name) takes a whole number, got '\(v)'") }
        return n
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func take(below limit: Int) -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard n < limit else { return nil }
            n += 1
            return n - 1
        }
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var ok = 0
        func add(ok good: Bool) { lock.lock(); if good { ok += 1 }; lock.unlock() }
    }
}

/// One customer request, end to end.
struct Bot: Sendable {
    let session: URLSession
    let base: String
    let model: String
    let key: String?

    /// The trace id and nil, or the error that ended the request.
    func answer(_ question: String, number: Int) async -> (String, String?) {
        var trace = ""
        do {
            try await LLMTrace.withSpan("POST /answer", ofKind: .agent) { root in
                trace = root.context.traceID.description
                root.setSession("session-\(number / 3)")
                root.setUser("customer-\(number % 5)")
                root.setAttribute("http.route", "/answer")
                root.setInput([Message(role: "user", content: question)])

                let vector = try await embed(question)
                let documents = LLMTrace.withSpan("kb.search", ofKind: .retrieval) { span in
                    span.setAttribute("db.system", "in-memory")
                    span.setInput([Message(role: "user", content: question)])
                    let found = search(vector, top: 3)
                    span.setDocuments(found)
                    return found
                }
                let system = "You are a support agent. Answer from these facts:\n" + documents.map { "- " + $0.content }.joined(separator: "\n")
                var messages: [[String: Any]] = [["role": "system", "content": system], ["role": "user", "content": question]]

                // An order number: the model is offered the lookup tool first.
                if question.contains("#") {
                    let first = try await chat(messages, tools: true, stream: false)
                    if let calls = (first["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any],
                       let toolCalls = calls["tool_calls"] as? [[String: Any]], let call = toolCalls.first,
                       let function = call["function"] as? [String: Any], let name = function["name"] as? String {
                        let arguments = function["arguments"] as? String ?? "{}"
                        let result = LLMTrace.withSpan(name, ofKind: .tool) { span in
                            span.setAttribute("gen_ai.tool.name", name)
                            span.setAttribute("gen_ai.tool.call.id", call["id"] as? String ?? "")
                            span.setInput([Message(role: "tool", content: arguments)])
                            let status = lookupOrder(arguments)
                            span.setOutput([Message(role: "tool", content: status)])
                            return status
                        }
                        messages.append(["role": "assistant", "content": NSNull(), "tool_calls": toolCalls])
                        messages.append(["role": "tool", "tool_call_id": call["id"] as? String ?? "", "content": result])
                    }
                }
                let reply = try await streamedChat(messages)
                root.setOutput([Message(role: "assistant", content: reply)])
                // A customer's thumbs up or down on the answer.
                LLMTrace.score("user_feedback", number % 4 == 3 ? 0 : 1, source: .user, wholeTrace: true)
            }
            return (trace, nil)
        } catch {
            return (trace, "\(error)")
        }
    }

    func request(_ path: String, _ body: [String: Any]) throws -> URLRequest {
        guard let url = URL(string: base + path) else { throw DemoError("bad base URL \(base)") }
        var r = URLRequest(url: url)
        r.httpMethod = "POST"
        r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key { r.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        r.httpBody = try JSONSerialization.data(withJSONObject: body)
        return r
    }

    func send(_ r: URLRequest) async throws -> Data {
        let (data, response) = try await session.data(for: r)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let message = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]).flatMap { ($0["error"] as? [String: Any])?["message"] as? String }
            throw DemoError("the model answered HTTP \(status)\(message.map { ": \($0)" } ?? "")")
        }
        return data
    }

    func embed(_ text: String) async throws -> [Double] {
        let data = try await send(request("/embeddings", ["model": "text-embedding-3-small", "input": text]))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return ((json?["data"] as? [[String: Any]])?.first?["embedding"] as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue } ?? []
    }

    func search(_ v: [Double], top: Int) -> [RetrievedDocument] {
        SupportBot.knowledgeBase.map { doc -> RetrievedDocument in
            let d = MockOpenAI.embed(doc.text)
            let score = zip(v, d).reduce(0) { $0 + $1.0 * $1.1 }
            return RetrievedDocument(id: doc.id, content: doc.text, score: (score * 1000).rounded() / 1000)
        }
        .sorted { ($0.score ?? 0) > ($1.score ?? 0) }
        .prefix(top)
        .map { $0 }
    }

    func chat(_ messages: [[String: Any]], tools: Bool, stream: Bool) async throws -> [String: Any] {
        var body: [String: Any] = ["model": model, "messages": messages, "temperature": 0.2, "max_tokens": 400]
        if tools {
            body["tools"] = [["type": "function", "function": ["name": "lookup_order", "description": "Look up an order's delivery status",
                                                                "parameters": ["type": "object", "properties": ["order_id": ["type": "string"]], "required": ["order_id"]]]]]
        }
        let data = try await send(request("/chat/completions", body))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// A streamed completion, read as server-sent events into the answer's text.
    func streamedChat(_ messages: [[String: Any]]) async throws -> String {
        let data = try await send(request("/chat/completions", ["model": model, "messages": messages, "temperature": 0.2, "stream": true,
                                                                 "stream_options": ["include_usage": true]]))
        var text = ""
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("data: ") && line != "data: [DONE]" {
            guard let chunk = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any],
                  let delta = ((chunk["choices"] as? [[String: Any]])?.first?["delta"]) as? [String: Any],
                  let content = delta["content"] as? String else { continue }
            text += content
        }
        return text
    }

    func lookupOrder(_ arguments: String) -> String {
        let id = ((try? JSONSerialization.jsonObject(with: Data(arguments.utf8))) as? [String: Any])?["order_id"] as? String ?? "?"
        let states = ["in transit, expected tomorrow", "delivered to the parcel locker", "waiting at the depot"]
        return #"{"order_id":"\#(id)","status":"\#(states[id.utf8.reduce(0) { $0 + Int($1) } % states.count])"}"#
    }
}
