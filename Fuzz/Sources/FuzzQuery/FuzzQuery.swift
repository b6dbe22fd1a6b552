import Foundation
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore

/// Any bytes as a query over two real stores holding the same spans and scores: one with most
/// spans sealed into segments (full-text indexed, postings written) and the rest in its head, one
/// with every span in its head. A query must answer or throw a QueryError with a position inside
/// the text, never trap, whatever the arithmetic, nesting or limits; rows are never ragged and the
/// row cap holds. Where both answer and the query has no HAVING (whose float comparisons can tip
/// with summation order), they must return the same columns and the same number of rows: where a
/// span lives must not change what a query finds.
nonisolated(unsafe) var sealedEngine: QueryEngine!
nonisolated(unsafe) var headEngine: QueryEngine!
let now: Int64 = 1_767_232_800_000_000_000

func makeSpans() -> [Span] {
    (0..<400).map { i in
        let start = 1_767_225_600_000_000_000 + Int64(i) * 15_000_000_000
        var s = Span(traceID: TraceID(hi: 1, lo: UInt64(i / 4)), spanID: SpanID(UInt64(i + 1)), parentSpanID: SpanID(i % 4 == 0 ? 0 : UInt64(i - i % 4 + 1)),
                     project: i % 11 == 0 ? "other" : "default", service: ["chat", "search"][i % 2], name: "op\(i % 3)",
                     kind: i % 3 == 0 ? .llm : (i % 3 == 1 ? .tool : .retrieval),
                     startNanos: start, endNanos: start + Int64(i * i % 9000) * 1_000_000, status: i % 5 == 0 ? .error : .ok)
        if i % 2 == 0 { s.requestModel = "gpt-4o" }
        if i % 6 == 0 { s.responseModel = "gpt-4o-2024-08-06" }
        if i % 3 == 0 { s.inputTokens = Int64(i * 10); s.outputTokens = Int64(i % 17) }
        if i % 4 != 0 { s.costUSD = Double(i) / 1000 }
        if i % 7 == 0 { s.userID = "u\(i % 3)"; s.sessionID = "s\(i % 5)" }
        if i % 5 == 0 { s.statusMessage = "timeout after \(i % 3) retries" }
        if i % 8 == 0 { s.promptName = "support"; s.promptVersion = "v\(i % 3)" }
        if i % 9 == 0 { s.timeToFirstTokenNanos = Int64(i) * 1_000_000 }
        s.inputMessages = [Message(role: "user", content: i % 3 == 0 ? "what is the refund policy for order \(i % 10)?" : "shipping question \(i % 4)")]
        if i % 3 == 2 { s.documents = [RetrievedDocument(id: "kb-\(i % 6)", content: "Refunds are issued within 30 days.\n\nShipping is free above $50.", score: 0.5)] }
        s.attributes = [Attribute("app.tier", .string(i % 2 == 0 ? "gold" : "free")), Attribute("app.retries", .int(Int64(i % 3))),
                        Attribute("app.flag", .bool(i % 4 == 0)), Attribute("db.system", .string("postgres"))]
        return s
    }
}

func openStore(_ dir: String, spans: [Span], sealAt: [Int]) -> Store {
    try? FileManager.default.removeItem(atPath: dir)
    var opts = StoreOptions(directory: dir)
    opts.backgroundSealing = false
    opts.fsync = .always
    opts.log = { _, _ in }
    let store = try! Store.open(opts)
    var from = 0
    for cut in sealAt + [spans.count] {
        try! store.append(Array(spans[from..<cut]))
        from = cut
        if cut < spans.count { try! store.sealNow() }
    }
    _ = try! store.indexPendingTexts()
    while try! store.indexHeadTexts() > 0 {}
    var scores: [Score] = []
    for i in stride(from: 0, to: spans.count, by: 9) {
        let s = spans[i]
        scores.append(Score(project: s.project, traceID: s.traceID, spanID: i % 2 == 0 ? s.spanID : nil, name: ["helpfulness", "faithfulness"][i % 2],
                            value: i % 3 == 0 ? .category("good") : .number(Double(i % 10) / 10), source: [.user, .eval, .human][i % 3],
                            comment: i % 4 == 0 ? "judge v2" : nil, timeNanos: s.startNanos + 1))
    }
    _ = try! store.index.addScores(scores)
    return store
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let base = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()) + "fuzz-query-\(getpid())"
    let spans = makeSpans()
    sealedEngine = QueryEngine(store: openStore(base + "/sealed", spans: spans, sealAt: [150, 300]))
    headEngine = QueryEngine(store: openStore(base + "/head", spans: spans, sealAt: []))
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0, size < 2048 else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var limits = QueryEngine.Limits()
    limits.maxRows = 100
    limits.maxGroups = 1000
    limits.threads = 1
    func run(_ engine: QueryEngine) -> QueryResult? {
        do {
            let r = try engine.run(text, limits: limits, now: now)
            precondition(r.rows.allSatisfy { $0.count == r.columns.count }, "ragged rows")
            precondition(r.rows.count <= 100, "row cap ignored")
            return r
        } catch let e as QueryError {
            if let p = e.position { precondition(p >= 1 && p <= text.unicodeScalars.count + 1, "position \(p) outside the query") }
        } catch {
            // Store errors (a text match naming too many paragraphs) are errors, not traps.
        }
        return nil
    }
    let a = run(sealedEngine)
    let b = run(headEngine)
    if let a, let b, !text.lowercased().contains("having") {
        precondition(a.columns == b.columns, "columns differ between segments and head")
        precondition(a.rows.count == b.rows.count, "segments give \(a.rows.count) rows, the head \(b.rows.count): \(text)")
    }
    return 0
}
