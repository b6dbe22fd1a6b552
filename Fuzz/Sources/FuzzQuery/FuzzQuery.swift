import LLMTraceModel
import LLMTraceQuery

/// A few spans with NULLs in every nullable column, queried from the head (no store needed).
let spans: [Span] = (0..<64).map { i in
    var s = Span(traceID: TraceID(hi: 1, lo: UInt64(i / 4)), spanID: SpanID(UInt64(i + 1)), parentSpanID: SpanID(i % 4 == 0 ? 0 : 1),
                 service: ["chat", "search"][i % 2], name: "op\(i % 3)", kind: i % 3 == 0 ? .llm : .tool,
                 startNanos: 1_767_225_600_000_000_000 + Int64(i) * 1_000_000_000, endNanos: 1_767_225_600_000_000_000 + Int64(i) * 1_000_000_000 + Int64(i * i) * 1_000_000,
                 status: i % 5 == 0 ? .error : .ok)
    if i % 2 == 0 { s.requestModel = "gpt-4o" }
    if i % 3 == 0 { s.inputTokens = Int64(i * 10) }
    if i % 4 != 0 { s.costUSD = Double(i) / 1000 }
    if i % 7 == 0 { s.userID = "u\(i % 3)" }
    return s
}
let engine = QueryEngine(snapshot: { ([], spans) })

/// Any bytes as a query: it must answer or throw a QueryError with a position inside the text (or
/// none), never trap, whatever the arithmetic, nesting or limits.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0, size < 2048 else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var limits = QueryEngine.Limits()
    limits.maxRows = 100
    limits.maxGroups = 1000
    limits.threads = 1
    do {
        let r = try engine.run(text, limits: limits, now: 1_767_232_800_000_000_000)
        precondition(r.rows.allSatisfy { $0.count == r.columns.count }, "ragged rows")
        precondition(r.rows.count <= 100, "row cap ignored")
    } catch let e as QueryError {
        if let p = e.position { precondition(p >= 1 && p <= text.unicodeScalars.count + 1, "position \(p) outside the query") }
    } catch {
        preconditionFailure("not a QueryError: \(error)")
    }
    return 0
}
