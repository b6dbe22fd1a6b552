import Testing
import Foundation
import LLMTraceModel
import LLMTraceStore
@testable import LLMTraceQuery

/// The per-query memory budget: what the engine counts, the error past it, the peak in the stats.
@Suite struct QueryMemoryTests {
    func withEngine(_ body: (QueryEngine) throws -> Void) throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        var spans = RandomSpans.make(4_000, seed: 21)
        for i in stride(from: 0, to: spans.count, by: 10) {
            spans[i].inputMessages = [Message(role: "user", content: "What is the refund policy, case \(i)?")]
        }
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 3)
        defer { try? store.close() }
        try store.indexPendingTexts()
        while try store.indexHeadTexts() > 0 {}
        try body(QueryEngine(store: store))
    }

    func limits(_ bytes: Int) -> QueryEngine.Limits {
        var l = QueryEngine.Limits()
        l.maxMemoryBytes = bytes
        return l
    }

    func memoryError(_ engine: QueryEngine, _ sql: String, budget: Int) -> QueryError? {
        do {
            _ = try engine.run(sql, limits: limits(budget), now: RandomSpans.base + 86_400_000_000_000)
            return nil
        } catch let e as QueryError {
            return e
        } catch {
            return nil
        }
    }

    @Test func aQueryWithinItsBudgetReportsWhatItHeld() throws {
        try withEngine { engine in
            let small = try engine.run("SELECT model, count() FROM spans GROUP BY model")
            let wide = try engine.run("SELECT span_id, count(), p95(duration_ms) FROM spans GROUP BY span_id")
            #expect(small.stats.memoryBytes > 0)
            // A group a span, each with a quantile sketch: far more than a handful of groups.
            #expect(wide.stats.memoryBytes > 50 * small.stats.memoryBytes)
            #expect(wide.stats.memoryBytes < QueryEngine.Limits().maxMemoryBytes)
            #expect(String(decoding: wide.json(), as: UTF8.self).contains("\"memory_bytes\":\(wide.stats.memoryBytes)"))
        }
    }

    @Test func groupsPastTheBudgetStopTheQueryWithAClearError() throws {
        try withEngine { engine in
            let sql = "SELECT span_id, count(), p95(duration_ms) FROM spans GROUP BY span_id"
            let needed = try engine.run(sql).stats.memoryBytes
            let e = try #require(memoryError(engine, sql, budget: needed / 2))
            #expect(e.kind == .memoryLimit)
            #expect(e.httpStatus == 400)
            #expect(e.message.contains("memory budget of"))
            #expect(e.message.contains("groups"))
            // The same budget is enough for a few groups.
            #expect(memoryError(engine, "SELECT model, count() FROM spans GROUP BY model", budget: needed / 2) == nil)
        }
    }

    @Test func traceRowsAndResultRowsAreCounted() throws {
        try withEngine { engine in
            let traces = "SELECT trace_id, spans, duration_ms FROM traces"
            let t = try engine.run(traces)
            #expect(t.stats.memoryBytes >= t.rows.count * TraceColumns.rowBytes)
            let e = try #require(memoryError(engine, traces, budget: 64 << 10))
            #expect(e.kind == .memoryLimit)
            #expect(e.message.contains("trace rows"))
            let rows = "SELECT span_id, name, service FROM spans ORDER BY start"
            let r = try engine.run(rows)
            #expect(r.stats.memoryBytes >= r.rows.count * 3 * MemoryLayout<QueryValue>.stride)
            #expect(try #require(memoryError(engine, rows, budget: 16 << 10)).message.contains("rows of one segment"))
        }
    }

    /// FTS5's answer (a query in its syntax) is a set of hashes the query holds; plain words are
    /// answered from term postings and hold none.
    @Test func aTextMatchSetIsCounted() throws {
        try withEngine { engine in
            let sql = "SELECT count() FROM spans WHERE text MATCH 'refund OR zeppelin'"
            let r = try engine.run(sql)
            #expect(r.rows.first?.first == .int(400))
            #expect(r.stats.memoryBytes >= 400 * 8)
            let e = try #require(memoryError(engine, sql, budget: 1024))
            #expect(e.kind == .memoryLimit)
            #expect(e.message.contains("text match 'refund OR zeppelin'"))
            let plain = try engine.run("SELECT count() FROM spans WHERE text MATCH 'refund'")
            #expect(plain.rows.first?.first == .int(400))
            #expect(plain.stats.memoryBytes < 400 * 8)
        }
    }

    @Test func sizesReadAsTheyAreWritten() {
        #expect(QueryMemory.size(512 << 20) == "512 MiB")
        #expect(QueryMemory.size(3 << 29) == "1.5 GiB")
        #expect(QueryMemory.size(4096) == "4 KiB")
    }
}
