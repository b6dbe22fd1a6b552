import Foundation
import LLMTraceModel
import Testing
@testable import LLMTraceStore

/// FTS5 answers cached per query while the index is unchanged, and never served stale.
@Suite struct TextMatchCacheTests {
    func span(_ k: UInt64, _ text: String) -> Span {
        var s = Span(traceID: TraceID(hi: k, lo: k), spanID: SpanID(k), parentSpanID: SpanID(0), service: "chat", name: "llm",
                     kind: .llm, startNanos: 1_700_000_000_000_000_000 + Int64(k), endNanos: 1_700_000_000_000_000_000 + Int64(k) + 1_000, status: .ok)
        s.outputMessages = [Message(role: "assistant", content: text)]
        return s
    }

    @Test func aNewlyIndexedParagraphIsFoundAfterACachedMatch() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        try store.append([span(1, "our refund policy covers thirty days")])
        try store.sealNow()
        try store.indexPendingTexts()
        let first = try store.matchingTextHashes("refund policy")
        #expect(first.count == 1)
        #expect(store.textMatches.count == 1)
        #expect(try store.matchingTextHashes("refund policy") == first)  // served from the cache

        try store.append([span(2, "the refund policy changed in May")])
        try store.sealNow()
        try store.indexPendingTexts()
        let second = try store.matchingTextHashes("refund policy")
        #expect(second.count == 2, "a cached answer outlived an index write")
        #expect(second.isSuperset(of: first))
    }

    @Test func aWriteFromAnotherConnectionInvalidates() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        try store.append([span(1, "alpha beta")])
        try store.sealNow()
        try store.indexPendingTexts()
        #expect(try store.matchingTextHashes("alpha").count == 1)
        // Another process's writer, as a collector is to `tracectl`: the same file, another connection.
        let other = try IndexDB(path: store.index.path)
        try other.indexHeadTexts(["alpha gamma"])
        #expect(try store.matchingTextHashes("alpha").count == 2)
    }

    @Test func leastRecentlyUsedGoesFirst() {
        let cache = TextMatchCache(maxEntries: 2, maxHashes: 100)
        cache.put("a", version: 1, [1])
        cache.put("b", version: 1, [2])
        _ = cache.get("a", version: 1)
        cache.put("c", version: 1, [3])
        #expect(cache.get("a", version: 1) == [1])
        #expect(cache.get("b", version: 1) == nil)
        #expect(cache.get("c", version: 1) == [3])
        #expect(cache.get("c", version: 2) == nil)  // another index version
        #expect(cache.get("c", version: 1) == nil)  // and dropped
        cache.put("wide", version: 1, Set(0..<30))  // more than a quarter of the budget: not kept
        #expect(cache.get("wide", version: 1) == nil)
    }
}
