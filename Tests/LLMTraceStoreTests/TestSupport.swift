import Foundation
import LLMTraceModel
import LLMTraceSynthetic
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
    o.log = { _, _ in }
    return o
}

/// Every span in a store: heads and segments.
func allSpans(_ store: Store) throws -> [Span] {
    var out = store.headSpans()
    for r in store.segmentReaders { out.append(contentsOf: try r.allSpans()) }
    return out
}

/// A span with every field set (shared with the model tests).
func fullSpan(_ n: UInt64 = 1) -> Span { SampleSpans.full(n) }

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
