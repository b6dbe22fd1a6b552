import Foundation
import Testing
import LLMTraceClient
import LLMTraceModel
@testable import LLMTraceTUI

/// The drill-down views: golden screens at 80×24 and 200×60 (`Tests/Fixtures/tui/`), and what each
/// key does — the list's prompt and sort, the waterfall's folding and critical path, the span's
/// parts and the full-text view, and the way back.
@Suite struct DrillTests {
    static let t0: Int64 = 1_780_000_000_000_000_000
    static let traceID = TraceID(hi: 0x4bf92f3577b34da6, lo: 0xa3ce929d0e0e4736)

    /// A support-bot answer: retrieval, a tool call, a streamed answer, a failed moderation call.
    static let document: TraceDocument = {
        func span(_ id: UInt64, _ parent: UInt64, _ name: String, _ kind: SpanKind, _ from: Int64, _ to: Int64) -> Span {
            Span(traceID: traceID, spanID: SpanID(id), parentSpanID: SpanID(parent), service: "helpdesk", name: name, kind: kind,
                 startNanos: t0 + from * 1_000_000, endNanos: t0 + to * 1_000_000, status: .ok)
        }
        var root = span(1, 0, "POST /answer", .agent, 0, 4210)
        root.sessionID = "sess-42"; root.userID = "user-7"
        var search = span(2, 1, "vector.search", .retrieval, 12, 96)
        search.documents = [RetrievedDocument(id: "kb/refunds.md", content: "Refunds are issued to the original payment method within 5 business days of approval.", score: 0.83),
                            RetrievedDocument(id: "kb/shipping.md", content: "Orders ship within 24 hours.", score: 0.41)]
        var plan = span(3, 1, "chat gpt-4o-mini", .llm, 101, 1650)
        plan.provider = "openai"; plan.requestModel = "gpt-4o-mini"; plan.responseModel = "gpt-4o-mini-2024-07-18"
        plan.inputTokens = 812; plan.outputTokens = 41; plan.cachedTokens = 512; plan.costUSD = 0.000146; plan.temperature = 0.2
        plan.finishReason = "tool_calls"; plan.promptName = "answer"; plan.promptVersion = "7"
        plan.inputMessages = [Message(role: "system", content: "You are the ACME help desk. Answer from the context only.\n" +
                                      (1...40).map { "Rule \($0): be brief, cite the article, never promise a date you cannot keep." }.joined(separator: "\n")),
                              Message(role: "user", content: "Where is my refund for order 1182?")]
        plan.outputMessages = [Message(role: "assistant", content: "", toolCalls: [ToolCall(id: "call_1", name: "order_status", arguments: #"{"order":"1182"}"#)])]
        var tool = span(4, 1, "order_status", .tool, 1660, 1702)
        tool.attributes = [Attribute("tool.name", "order_status"), Attribute("order.state", "refund_approved")]
        var answer = span(5, 1, "chat gpt-4o", .llm, 1710, 4150)
        answer.provider = "openai"; answer.requestModel = "gpt-4o"; answer.inputTokens = 1204; answer.outputTokens = 96
        answer.costUSD = 0.00397; answer.timeToFirstTokenNanos = 380_000_000; answer.finishReason = "stop"
        answer.inputMessages = [Message(role: "tool", content: #"{"state":"refund_approved","approved":"2026-12-03"}"#, toolCallID: "call_1")]
        answer.outputMessages = [Message(role: "assistant", content: "Your refund for order 1182 was approved on 3 December; it reaches your card within 5 business days.")]
        answer.events = [SpanEvent(name: "gen_ai.first_token", timeNanos: t0 + 2_090_000_000)]
        var moderation = span(6, 1, "moderation", .guardrail, 4155, 4200)
        moderation.status = .error; moderation.statusMessage = "moderation service timed out"
        let scores = [Score(traceID: traceID, name: "user_feedback", value: .number(1), source: .user, comment: "quick and right", timeNanos: t0 + 5_000_000_000),
                      Score(traceID: traceID, spanID: SpanID(5), name: "groundedness", value: .number(0.92), source: .eval, timeNanos: t0 + 5_000_000_000)]
        return TraceDocument(traceID: traceID, spans: [root, search, plan, tool, answer, moderation], scores: scores)
    }()

    static let rows: [TraceSummary] = [
        TraceSummary(traceID: traceID.hex, startNanos: t0, name: "POST /answer", service: "helpdesk", durationMs: 4210, spans: 6, errors: 1,
                     tokens: 2153, costUSD: 0.004116, session: "sess-42", models: ["gpt-4o", "gpt-4o-mini-2024-07-18"], ttftMs: 380),
        TraceSummary(traceID: "9d067449403e13dbfecf86b33be154eb", startNanos: t0 - 61_000_000_000, name: "POST /answer", service: "helpdesk",
                     durationMs: 2980, spans: 5, errors: 0, tokens: 1630, costUSD: 0.0031, session: "sess-40", models: ["gpt-4o"], ttftMs: 290),
        TraceSummary(traceID: "03ab67587c4f4c8fbc228595c4822bb5", startNanos: t0 - 125_000_000_000, name: "summarize ticket", service: "triage",
                     durationMs: 812, spans: 2, errors: 0, tokens: 455, costUSD: 0.00007, session: nil, models: ["claude-3-5-haiku"], ttftMs: nil),
        TraceSummary(traceID: "587a30af3f5b771ee197abaa26e4f8b1", startNanos: t0 - 300_000_000_000, name: "embed docs", service: "indexer",
                     durationMs: 95, spans: 1, errors: 0, tokens: 3000, costUSD: 0.00006, session: nil, models: ["text-embedding-3-small"], ttftMs: nil),
    ]

    /// Times of day as UTC hh:mm:ss, whatever the machine's zone.
    static let context = DrillContext(glyphs: .braille, clock: { ns in
        let s = (ns / 1_000_000_000) % 86400
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))"
    })

    static func list() -> TraceListView {
        var l = TraceListView(origin: "p95 latency", query: TraceListQuery(range: "1h", filter: try! TraceFilter.parse("kind=llm"), sort: .duration))
        l.listed(.success(rows))
        return l
    }

    static func draw(_ d: Drill, _ w: Int, _ h: Int, glyphs: Chart.Glyphs = .braille) -> ScreenBuffer {
        var s = ScreenBuffer(width: w, height: h)
        var c = context
        c.glyphs = glyphs
        d.draw(on: &s, context: c)
        return s
    }

    @Test func goldenScreensOfEachView() throws {
        var d = Drill(list: Self.list())
        for (w, h) in [(80, 24), (200, 60)] { try GoldenScreenTests.golden("drill-traces-\(w)x\(h)", Self.draw(d, w, h)) }
        // The prompt open, a word typed: the list narrowed before Enter.
        for k in "/triage" { _ = d.handle(.char(k), width: 80, height: 24) }
        try GoldenScreenTests.golden("drill-traces-80x24-filtering", Self.draw(d, 80, 24))
        #expect(d.capturesText)

        var w = Drill(trace: .success(Self.document), id: Self.traceID.hex)
        for (width, h) in [(80, 24), (200, 60)] { try GoldenScreenTests.golden("drill-waterfall-\(width)x\(h)", Self.draw(w, width, h)) }
        try GoldenScreenTests.golden("drill-waterfall-80x24-ascii", Self.draw(w, 80, 24, glyphs: .ascii))
        // The streamed answer's span (the fifth row).
        for _ in 0..<4 { _ = w.handle(.char("j"), width: 80, height: 24) }
        #expect(w.handle(.enter, width: 80, height: 24) == .none)
        for (width, h) in [(80, 24), (200, 60)] { try GoldenScreenTests.golden("drill-span-\(width)x\(h)", Self.draw(w, width, h)) }

        // The planning call's system prompt, whole.
        var p = Drill(trace: .success(Self.document), id: Self.traceID.hex)
        _ = p.handle(.char("j"), width: 80, height: 24)
        _ = p.handle(.char("j"), width: 80, height: 24)
        _ = p.handle(.enter, width: 80, height: 24)
        for _ in 0..<4 { _ = p.handle(.char("j"), width: 80, height: 24) }
        _ = p.handle(.enter, width: 80, height: 24)
        guard case .text(let t)? = p.stack.last else { Issue.record("Enter on the system prompt opens the text view"); return }
        #expect(t.title == "chat gpt-4o-mini · prompt · system")
        try GoldenScreenTests.golden("drill-text-80x24", Self.draw(p, 80, 24))
        _ = p.handle(.char("G"), width: 80, height: 24)
        try GoldenScreenTests.golden("drill-text-80x24-end", Self.draw(p, 80, 24))
    }

    @Test func theListsPromptSortAndRequests() throws {
        var d = Drill(list: Self.list())
        // Sort keys ask for the query again, in the new order.
        guard case .list(let q) = d.handle(.char("s"), width: 80, height: 24) else { Issue.record("s runs the query"); return }
        #expect(q.sort == .tokens && q.descending)
        guard case .list(let r) = d.handle(.char("S"), width: 80, height: 24) else { Issue.record("S runs the query"); return }
        #expect(r.sort == .tokens && !r.descending)
        d.listed(.success(Self.rows))
        // Sorted by TTFT at 80 columns, the TTFT column is shown.
        _ = d.handle(.char("s"), width: 80, height: 24)
        _ = d.handle(.char("s"), width: 80, height: 24)
        #expect(Self.draw(d, 80, 24).text.split(separator: "\n")[2].contains("TTFT"))
        // Words narrow at once; q is a letter while typing; Enter with only words asks nothing.
        for c in "/quit" { #expect(d.handle(.char(c), width: 80, height: 24) == .none) }
        guard case .list(let typing)? = d.stack.last else { return }
        #expect(typing.prompt == "kind=llm quit" && typing.shown.isEmpty)
        for _ in 0..<4 { _ = d.handle(.backspace, width: 80, height: 24) }
        for c in "helpdesk" { _ = d.handle(.char(c), width: 80, height: 24) }
        #expect(d.handle(.enter, width: 80, height: 24) == .none)
        guard case .list(let narrowed)? = d.stack.last else { return }
        #expect(narrowed.shown.map(\.traceID) == [Self.rows[0].traceID, Self.rows[1].traceID] && narrowed.prompt == nil)
        // A typed filter runs the query on Enter; a bad one says why and keeps the prompt open.
        _ = d.handle(.char("/"), width: 80, height: 24)
        for c in " colour=red" { _ = d.handle(.char(c), width: 80, height: 24) }
        #expect(d.handle(.enter, width: 80, height: 24) == .none)
        guard case .list(let bad)? = d.stack.last else { return }
        #expect(bad.prompt != nil && bad.message?.contains("no filter 'colour'") == true)
        _ = d.handle(.ctrl("u"), width: 80, height: 24)
        for c in "status=error" { _ = d.handle(.char(c), width: 80, height: 24) }
        guard case .list(let run) = d.handle(.enter, width: 80, height: 24) else { Issue.record("a typed filter runs the query"); return }
        #expect(run.filter.terms == [.field("status", .eq, "error")])
        d.listed(.failure(DrillError("cannot reach the collector at 127.0.0.1:4318")))
        var s = Self.draw(d, 80, 24)
        #expect(s.text.contains("cannot reach the collector"))
        d.listed(.success(Self.rows))
        // Enter, y and e ask for the selected trace; Esc leaves the drill-down.
        _ = d.handle(.char("j"), width: 80, height: 24)
        #expect(d.handle(.char("y"), width: 80, height: 24) == .copy(Self.rows[1].traceID))
        #expect(d.handle(.char("e"), width: 80, height: 24) == .export(Self.rows[1].traceID))
        #expect(d.handle(.enter, width: 80, height: 24) == .trace(Self.rows[1].traceID))
        d.opened(.failure(DrillError("trace 9d067449 not found")), id: Self.rows[1].traceID)
        s = Self.draw(d, 80, 24)
        #expect(s.text.contains("trace 9d067449 not found"))
        #expect(d.handle(.escape, width: 80, height: 24) == .none, "back to the list")
        #expect(d.handle(.backspace, width: 80, height: 24) == .back, "out of the drill-down")
        #expect(d.stack.isEmpty)
    }

    @Test func waterfallFoldsAndFindsTheCriticalPath() throws {
        let w = WaterfallView(document: Self.document)
        // What the answer waited on: the root, the moderation call that ended last, the streamed
        // answer before it, the tool before that, the planning call, the search first.
        #expect(w.critical == Set([1, 2, 3, 4, 5, 6].map { SpanID(UInt64($0)) }))
        var d = Drill(trace: .success(Self.document), id: Self.traceID.hex)
        guard case .waterfall(let open)? = d.stack.last else { return }
        #expect(open.rows(ascii: false).count == 6)
        // ← on the root folds everything under it; → opens it again; Z folds below the roots.
        _ = d.handle(.left, width: 80, height: 24)
        guard case .waterfall(let folded)? = d.stack.last else { return }
        #expect(folded.rows(ascii: false).count == 1)
        #expect(Self.draw(d, 80, 24).text.contains("▸ POST /answer (+5)"))
        _ = d.handle(.right, width: 80, height: 24)
        _ = d.handle(.char("Z"), width: 80, height: 24)
        guard case .waterfall(let z)? = d.stack.last else { return }
        #expect(z.rows(ascii: false).map { z.document.spans[$0.index].name } == ["POST /answer", "vector.search", "chat gpt-4o-mini", "order_status", "chat gpt-4o", "moderation"])
        // ← on a leaf goes to its parent.
        _ = d.handle(.char("Z"), width: 80, height: 24)
        _ = d.handle(.char("G"), width: 80, height: 24)
        _ = d.handle(.left, width: 80, height: 24)
        guard case .waterfall(let up)? = d.stack.last else { return }
        #expect(up.selectedSpan?.name == "POST /answer")
        // y and e name the trace; Enter opens the span, Esc comes back to the same row.
        #expect(d.handle(.char("y"), width: 80, height: 24) == .copy(Self.traceID.hex))
        for _ in 0..<4 { _ = d.handle(.down, width: 80, height: 24) }
        #expect(d.handle(.enter, width: 80, height: 24) == .none)
        guard case .detail(let detail)? = d.stack.last else { Issue.record("Enter opens the span"); return }
        #expect(detail.span.name == "chat gpt-4o")
        #expect(detail.items.map(\.title).contains("scores") && detail.items.contains { $0.title.hasPrefix("event · gen_ai.first_token") })
        _ = d.handle(.escape, width: 80, height: 24)
        guard case .waterfall(let back)? = d.stack.last else { return }
        #expect(back.selectedSpan?.name == "chat gpt-4o")

        // A span whose parent never arrived is a root of its own; a cycle does not hang.
        var orphan = Self.document.spans[3]
        orphan.parentSpanID = SpanID(99)
        var a = Self.document.spans[1], b = Self.document.spans[2]
        a.parentSpanID = b.spanID; b.parentSpanID = a.spanID
        let odd = WaterfallView(document: TraceDocument(traceID: Self.traceID, spans: [Self.document.spans[0], a, b, orphan]))
        #expect(odd.rows(ascii: false).count == 2, "the root and the orphan; the cycle is unreachable from a root")
    }

    @Test func spanDetailShowsHostileTextSafely() throws {
        var s = Self.document.spans[4]
        s.outputMessages = [Message(role: "assistant", content: "ok\u{1b}[2J\u{1b}]52;c;ZXZpbA==\u{07} 日本語 \u{202e}evil")]
        var d = Drill(trace: .success(TraceDocument(traceID: Self.traceID, spans: [s])), id: Self.traceID.hex)
        _ = d.handle(.enter, width: 80, height: 24)
        let screen = Self.draw(d, 80, 24)
        #expect(!screen.cells.contains { $0.text.unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x07 || $0.value == 0x202e } })
        #expect(screen.text.contains("日本語"))
    }
}
