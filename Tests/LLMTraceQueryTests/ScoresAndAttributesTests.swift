import Foundation
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic
import Testing
@testable import LLMTraceQuery

/// The `scores` table (from the index database) and `attr['key']` (span attributes read from the
/// details column of segments and from head spans).
@Suite(.serialized)
struct ScoresAndAttributesTests {
    /// Spans with attributes of every kind: strings, integers, doubles, booleans, numbers sent as
    /// strings, arrays, and keys most spans lack.
    static func spans(_ count: Int, seed: UInt64) -> [Span] {
        var spans = RandomSpans.make(count, seed: seed)
        var rng = SplitMix64(seed: seed)
        for i in spans.indices {
            var a: [Attribute] = []
            if rng.next() % 4 != 0 { a.append(Attribute("tier", .string(["gold", "silver", "free"][Int(rng.next() % 3)]))) }
            if rng.next() % 3 != 0 { a.append(Attribute("retries", .int(Int64(rng.next() % 4)))) }
            if rng.next() % 2 == 0 { a.append(Attribute("budget_ms", .double(Double(rng.next() % 5000) / 4))) }
            if rng.next() % 2 == 0 { a.append(Attribute("cached", .bool(rng.next() % 2 == 0))) }
            if rng.next() % 5 == 0 { a.append(Attribute("latency_str", .string(rng.next() % 7 == 0 ? "n/a" : String(rng.next() % 900)))) }
            if rng.next() % 9 == 0 { a.append(Attribute("tags", .array([.string("a"), .int(2)]))) }
            if i % 97 == 0 { a.append(Attribute("rare.key", .string("yes"))) }
            spans[i].attributes = a
        }
        return spans
    }

    @Test func attributeQueriesAgreeWithRowByRowEvaluation() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let spans = Self.spans(3_000, seed: 17)
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 3)
        defer { try? store.close() }
        let engine = QueryEngine(store: store)
        let queries = [
            "SELECT count() FROM spans WHERE attr['tier'] = 'gold'",
            "SELECT attr['tier'], count(), avg(attr['budget_ms']), sum(attr['retries']), max(attr['retries']) FROM spans GROUP BY attr['tier']",
            "SELECT count() FROM spans WHERE attr['retries'] > 1",
            "SELECT count() FROM spans WHERE attr['retries'] IN (1, 3)",
            "SELECT count() FROM spans WHERE attr['cached'] = TRUE",
            "SELECT count() FROM spans WHERE attr['cached'] IS NULL AND attr['missing'] IS NULL",
            "SELECT service, avg(attr['latency_str']), count(attr['latency_str']) FROM spans GROUP BY service",
            "SELECT count() FROM spans WHERE attr['latency_str'] + 0 > 450",
            "SELECT attr['tags'], count() FROM spans GROUP BY 1",
            "SELECT span_id, attr['rare.key'], attr['retries'] FROM spans WHERE attr['rare.key'] = 'yes' ORDER BY span_id",
            "SELECT attr['retries'], count() FROM spans WHERE attr['tier'] LIKE 'G%' GROUP BY attr['retries']",
            "SELECT count(DISTINCT attr['tier']) FROM spans WHERE attr['budget_ms'] BETWEEN 100 AND 600",
        ]
        for q in queries {
            let ours = try engine.run(q).rows
            let brute = try QueryAgreementTests.bruteForce(q, spans, now: 0)
            #expect(sameRows(canonicalOrder(ours), canonicalOrder(brute)), "\(q)\nours:  \(canonicalOrder(ours).prefix(4))\nbrute: \(canonicalOrder(brute).prefix(4))")
        }
        // Spot checks against the spans themselves, not the shared conversion.
        let gold = spans.filter { $0.attributes.contains(Attribute("tier", .string("gold"))) }.count
        #expect(try engine.run(queries[0]).rows == [[.int(Int64(gold))]])
        let retried = spans.filter { s in s.attributes.contains { $0.key == "retries" && ($0.value == .int(2) || $0.value == .int(3)) } }.count
        #expect(try engine.run(queries[2]).rows == [[.int(Int64(retried))]])
        let rare = spans.indices.filter { $0 % 97 == 0 }.count
        #expect(try engine.run("SELECT count() FROM spans WHERE attr['rare.key'] = 'yes'").rows == [[.int(Int64(rare))]])
        #expect(try engine.run("SELECT count() FROM spans WHERE attr['latency_str'] = 'n/a'").rows[0][0] != .int(0))
        let arrays = spans.filter { s in s.attributes.contains { $0.key == "tags" } }.count
        #expect(try engine.run("SELECT count() FROM spans WHERE attr['tags'] = '[\"a\",2]'").rows == [[.int(Int64(arrays))]])
    }

    @Test func attributeErrors() throws {
        let engine = QueryEngine(snapshot: { ([], []) })
        #expect(throws: QueryError.self) { try engine.run("SELECT attr['a'], count() FROM spans") }
        #expect(throws: QueryError.self) { try engine.run("SELECT count() FROM spans WHERE attr[1] = 'x'") }
        #expect(try engine.run("SELECT count() FROM spans WHERE attr['a'] = 'x'").rows == [[.int(0)]])
    }

    @Test func scoresAreQueriedFromTheIndex() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let spans = RandomSpans.make(200, seed: 5)
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 1)
        defer { try? store.close() }
        var rng = SplitMix64(seed: 8)
        var scores: [Score] = []
        for i in 0..<300 {
            let s = spans[Int(rng.next() % UInt64(spans.count))]
            let value: Score.Value = i % 5 == 0 ? .category(["hallucination", "ok"][Int(rng.next() % 2)]) : .number(Double(rng.next() % 100) / 100)
            scores.append(Score(project: i % 4 == 0 ? "acme" : "default", traceID: s.traceID, spanID: i % 2 == 0 ? s.spanID : nil,
                                name: ["faithfulness", "thumbs", "relevance"][Int(rng.next() % 3)], value: value,
                                source: Score.Source.allCases[Int(rng.next() % 3)], comment: i % 7 == 0 ? "checked" : nil,
                                timeNanos: RandomSpans.base + Int64(i) * 1_000_000_000))
        }
        _ = try store.index.addScores(scores)
        let engine = QueryEngine(store: store)
        let t100 = RandomSpans.base + 100_000_000_000
        let queries = [
            "SELECT name, count(), avg(value), min(value), max(value), count(category) FROM scores GROUP BY name",
            "SELECT source, category, count() FROM scores WHERE category IS NOT NULL GROUP BY source, category",
            "SELECT count(), sum(value) FROM scores WHERE time >= \(t100) AND name = 'thumbs'",
            "SELECT trace_id, span_id, name, value, comment FROM scores WHERE comment = 'checked' ORDER BY time LIMIT 5",
            "SELECT bucket(time, 1m), avg(value), count(DISTINCT trace_id) FROM scores GROUP BY 1",
        ]
        for project in [nil, "acme"] {
            for q in queries {
                let ours = try engine.run(q, project: project).rows
                let brute = try QueryAgreementTests.bruteForce(q, rows: scores, now: 0, project: project) { c, s in
                    if case .score(let sc) = c { return sc.value(of: s) }
                    return .null
                }
                #expect(sameRows(canonicalOrder(ours), canonicalOrder(brute)), "\(q) (project \(project ?? "any"))\nours:  \(ours.prefix(3))\nbrute: \(brute.prefix(3))")
            }
        }
        let acme = scores.filter { $0.project == "acme" }.count
        #expect(try engine.run("SELECT count() FROM scores", project: "acme").rows == [[.int(Int64(acme))]])
        #expect(try engine.run("SELECT count() FROM scores WHERE time < \(t100)").rows == [[.int(100)]])
        #expect(throws: QueryError.self) { try engine.run("SELECT duration_ms FROM scores") }
    }
}
