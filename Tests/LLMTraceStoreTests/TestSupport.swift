import Foundation
import LLMTraceModel
@testable import LLMTraceStore

/// A fresh directory under the system temp dir, removed by `cleanup()`.
struct TempDir {
    let path: String
    init(_ name: String = #function) {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "llmtrace-test-\(safe)-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.removeItem(atPath: path)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

func testOptions(_ dir: String) -> StoreOptions {
    var o = StoreOptions(directory: dir)
    o.backgroundSealing = false
    o.log = { _ in }
    return o
}

/// Every span in a store: heads and segments.
func allSpans(_ store: Store) throws -> [Span] {
    var out = store.headSpans()
    for r in store.segmentReaders { out.append(contentsOf: try r.allSpans()) }
    return out
}

/// A span with every field set.
func fullSpan(_ n: UInt64 = 1) -> Span {
    var s = Span(traceID: TraceID(hi: 0x0123_4567_89ab_cdef, lo: n), spanID: SpanID(0x1122_3344_0000_0000 | n),
                 parentSpanID: SpanID(0x99aa_bbcc_ddee_ff00), project: "proj-a", service: "chat-api", name: "chat gpt-4o",
                 kind: .llm, startNanos: 1_767_225_600_123_456_789 + Int64(n), endNanos: 1_767_225_601_987_654_321, status: .error,
                 statusMessage: "rate limited: \"slow down\"")
    s.provider = "openai"
    s.requestModel = "gpt-4o"
    s.responseModel = "gpt-4o-2024-08-06"
    s.inputTokens = 1200
    s.outputTokens = 345
    s.cachedTokens = 0
    s.reasoningTokens = 17
    s.costUSD = 0.006_45
    s.timeToFirstTokenNanos = 412_000_000
    s.temperature = 0.7
    s.maxTokens = 2048
    s.topP = 0.95
    s.inputMessages = [Message(role: "system", content: "You are helpful.\nBe brief."), Message(role: "user", content: "Où est la gare? 🚉 \(n)")]
    s.outputMessages = [Message(role: "assistant", content: "Tout droit.")]
    s.documents = [RetrievedDocument(id: "doc-1", content: "Stations are…", score: 0.91), RetrievedDocument(content: "no id or score")]
    s.promptName = "answer"
    s.promptVersion = "v3"
    s.sessionID = "sess-1"
    s.userID = "user-9"
    s.environment = "production"
    s.tags = ["beta", "eu"]
    s.attributes = [Attribute("s", .string("x")), Attribute("i", .int(-5)), Attribute("d", .double(2.5)), Attribute("b", .bool(true)),
                    Attribute("arr", .array([.string("a"), .string("b")])), Attribute("ints", .array([.int(1), .int(2)]))]
    s.events = [SpanEvent(name: "gen_ai.first_token", timeNanos: 1_767_225_600_535_456_789, attributes: [Attribute("k", .bool(false))]),
                SpanEvent(name: "exception", timeNanos: 1_767_225_601_000_000_000)]
    return s
}

/// A span with only the required fields.
func minimalSpan(trace: UInt64, span: UInt64, start: Int64 = 1_000) -> Span {
    Span(traceID: TraceID(hi: 0, lo: trace), spanID: SpanID(span), name: "op", startNanos: start, endNanos: start + 10)
}

/// Directory of the test binary: the build products (llmtrace-bench, tracectl) sit beside it.
func productsDirectory() -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = (exe as NSString).deletingLastPathComponent
    // On Linux the test runner is <products>/LLMTracePackageTests.xctest.
    if dir.hasSuffix(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
    return dir
}

/// Collects log lines from the store's log callback.
final class LogBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    func add(_ s: String) { lock.lock(); _lines.append(s); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return _lines }
}
