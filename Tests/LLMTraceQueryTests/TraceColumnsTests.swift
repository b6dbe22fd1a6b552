import LLMTraceModel
import Testing
@testable import LLMTraceQuery

/// `TraceColumns.join`: parts of one span set, joined by merging (parts in trace id order) or by
/// hashing (a part out of order), give the rows `TraceRow.rows(of:)` defines.
@Suite struct TraceColumnsTests {
    /// A comparable rendering of a row (every field; the cost to 1e-9, as sums in another order differ in the last bits).
    static func render(_ r: TraceRow) -> String {
        let t: [TraceColumn] = [.project, .name, .service, .start, .end, .spans, .llmCalls, .errors, .inputTokens,
                                .outputTokens, .totalTokens, .sessionID, .userID, .hasRoot]
        let cost = r.costUSD.map { "\(($0 * 1e9).rounded())" } ?? "null"
        return r.traceID.hex + "|" + t.map { "\(r.value($0))" }.joined(separator: "|") + "|" + cost
    }

    static func same(_ a: [String], _ b: [String]) -> Bool {
        if a == b { return true }
        let diff = zip(a, b).first { $0 != $1 }
        Issue.record("\(a.count) rows against \(b.count); first difference: \(diff.map { "\($0.0)\n  vs \($0.1)" } ?? "none")")
        return false
    }

    static func rows(_ t: TraceColumns) -> [String] { (0..<t.count).map { render(t.row($0)) }.sorted() }

    func parts(of spans: [Span], _ k: Int, sorted: Bool) -> [TraceColumns] {
        (0..<k).map { p in
            let mine = spans.indices.filter { $0 % k == p }.map { spans[$0] }
            var rows = TraceRow.rows(of: mine)
            if sorted { rows.sort { $0.traceID < $1.traceID } }
            return TraceColumns(rows)
        }
    }

    @Test func mergedAndHashedJoinsAgreeWithTheDefinition() {
        // Traces spread over the parts, two projects sharing some trace ids.
        var spans = TraceTableTests.spans(3_000, seed: 77)
        for i in spans.indices where i % 7 == 0 { spans[i].project = "other" }
        let want = TraceRow.rows(of: spans).map(Self.render).sorted()
        for k in [2, 3, 8] {
            let merged = TraceColumns.join(parts(of: spans, k, sorted: true), threads: k)
            #expect(Self.same(Self.rows(merged), want), "merged join of \(k) parts")
            // Merged rows come out in trace id order.
            #expect(zip(merged.traceID, merged.traceID.dropFirst()).allSatisfy { !($1 < $0) })
            var unsorted = parts(of: spans, k, sorted: true)
            unsorted[k - 1] = parts(of: spans, k, sorted: false)[k - 1]
            #expect(Self.same(Self.rows(TraceColumns.join(unsorted)), want), "hashed join of \(k) parts, one out of order")
        }
        #expect(Self.same(Self.rows(TraceColumns.join([TraceColumns(TraceRow.rows(of: spans))])), want))
        #expect(TraceColumns.join([]).count == 0)
    }
}
