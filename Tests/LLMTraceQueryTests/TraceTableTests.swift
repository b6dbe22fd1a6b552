import Foundation
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic
import Testing
@testable import LLMTraceQuery

/// The `traces` table: random queries run by the engine (traces assembled from segments and the
/// head), by SQLite over a traces table that SQL builds from the span rows, and row by row over
/// `TraceRow.rows(of:)`.
@Suite(.serialized)
struct TraceTableTests {
    typealias Pair = QueryAgreementTests.Pair

    /// Random spans whose traces last at most ten minutes (the engine gathers a time-bounded
    /// trace's spans within an hour of the bounds), written in shuffled order so that most traces
    /// are split across segments and the head. Some traces hold spans of two projects: each
    /// project sees its own part as a trace.
    static func spans(_ count: Int, seed: UInt64) -> [Span] {
        var spans = RandomSpans.make(count, seed: seed)
        var rng = SplitMix64(seed: seed ^ 0x5eed)
        var traceStart: Int64 = 0
        for i in spans.indices {
            if i % 4 == 0 { traceStart = RandomSpans.base + Int64(rng.next() % 6_600_000_000_000) }
            let d = spans[i].endNanos - spans[i].startNanos
            spans[i].startNanos = traceStart + Int64(rng.next() % 600_000_000_000)
            spans[i].endNanos = spans[i].startNanos + d
            // A few traces without their root (it has not arrived), a few with two roots.
            if i % 4 == 0, rng.next() % 8 == 0 { spans[i].parentSpanID = SpanID(rng.next() | 1) }
            if i % 4 == 1, rng.next() % 16 == 0 { spans[i].parentSpanID = SpanID(0) }
        }
        for i in stride(from: spans.count - 1, to: 0, by: -1) { spans.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return spans
    }

    /// The traces table in SQLite, made from the span rows by SQL alone.
    static let createTraces = """
    CREATE TABLE traces AS
    WITH ranked AS (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY project, trace_id ORDER BY is_root DESC, start, span_id) AS rk FROM spans
    ), sums AS (
        SELECT project, trace_id, min(start) AS start, max("end") AS "end", count(*) AS spans,
               sum(kind = 'llm') AS llm_calls, sum(status = 'error') AS errors, sum(input_tokens) AS input_tokens,
               sum(output_tokens) AS output_tokens, sum(total_tokens) AS total_tokens, sum(cost_usd) AS cost_usd
        FROM spans GROUP BY project, trace_id
    )
    SELECT a.trace_id, a.project, r.name, r.service, a.start, a."end", (a."end" - a.start) / 1e6 AS duration_ms,
           a.spans, a.llm_calls, a.errors, a.errors > 0 AS error, a.input_tokens, a.output_tokens, a.total_tokens, a.cost_usd,
           (SELECT x.session_id FROM ranked x WHERE x.project = a.project AND x.trace_id = a.trace_id AND x.session_id IS NOT NULL
            ORDER BY x.is_root DESC, x.start, x.span_id LIMIT 1) AS session_id,
           (SELECT x.user_id FROM ranked x WHERE x.project = a.project AND x.trace_id = a.trace_id AND x.user_id IS NOT NULL
            ORDER BY x.is_root DESC, x.start, x.span_id LIMIT 1) AS user_id,
           r.is_root AS has_root
    FROM sums a JOIN ranked r ON r.project = a.project AND r.trace_id = a.trace_id AND r.rk = 1
    """

    static let t30 = RandomSpans.base + 1_800_000_000_000
    static let t90 = RandomSpans.base + 5_400_000_000_000

    static let predicates: [Pair] = [
        Pair("service = 'chat'"), Pair("spans >= 3"), Pair("errors > 0"), Pair("error"), Pair("NOT has_root"),
        Pair("duration_ms > 200000"), Pair("cost_usd > 0.1"), Pair("total_tokens > 6000"), Pair("session_id IS NULL"),
        Pair("user_id = 'user-3'"), Pair("llm_calls = 0"), Pair("start > \(t30)"), Pair("start BETWEEN \(t30) AND \(t90)"),
        Pair("\"end\" < \(t90)"), Pair("project = 'acme'"), Pair("name LIKE '%call'"), Pair("input_tokens IS NULL"),
        Pair("output_tokens * 3 > input_tokens"), Pair("service IN ('search', 'agent')"),
    ]
    static let keys: [Pair] = [
        Pair("service"), Pair("name"), Pair("project"), Pair("error"), Pair("has_root"), Pair("spans"), Pair("llm_calls"),
        Pair("bucket(start, 10m)", "((start / 600000000000) * 600000000000)"),
    ]
    static let aggregates: [Pair] = [
        Pair("count(*)"), Pair("sum(cost_usd)"), Pair("avg(duration_ms)"), Pair("max(spans)"), Pair("min(start)"),
        Pair("sum(total_tokens)"), Pair("count(DISTINCT session_id)"), Pair("sum(errors)"), Pair("max(\"end\")"),
        Pair("min(user_id)"), Pair("sum(input_tokens) - sum(output_tokens)"),
    ]

    static func randomQuery(_ rng: inout SplitMix64) -> (Pair, Bool) {
        var f: Pair? = nil
        for _ in 0..<Int(rng.next() % 3) {
            let p = predicates[Int(rng.next() % UInt64(predicates.count))]
            if let g = f {
                let op = rng.next() % 3 == 0 ? " OR " : " AND "
                f = Pair("(" + g.ours + ")" + op + "(" + p.ours + ")", "(" + g.sqlite + ")" + op + "(" + p.sqlite + ")")
            } else {
                f = p
            }
        }
        let wO = f.map { " WHERE " + $0.ours } ?? "", wS = f.map { " WHERE " + $0.sqlite } ?? ""
        switch rng.next() % 3 {
        case 0:
            let ks = QueryAgreementTests.choose(keys, 1 + Int(rng.next() % 2), &rng)
            let ags = QueryAgreementTests.choose(aggregates, 1 + Int(rng.next() % 3), &rng)
            let sel = ks + ags
            return (Pair("SELECT " + sel.map(\.ours).joined(separator: ", ") + " FROM traces" + wO + " GROUP BY " + ks.map(\.ours).joined(separator: ", "),
                         "SELECT " + sel.map(\.sqlite).joined(separator: ", ") + " FROM traces" + wS + " GROUP BY " + ks.map(\.sqlite).joined(separator: ", ")), false)
        case 1:
            let ags = QueryAgreementTests.choose(aggregates, 1 + Int(rng.next() % 4), &rng)
            return (Pair("SELECT " + ags.map(\.ours).joined(separator: ", ") + " FROM traces" + wO,
                         "SELECT " + ags.map(\.sqlite).joined(separator: ", ") + " FROM traces" + wS), true)
        default:
            let cols = "trace_id, project, name, service, start, duration_ms, spans, llm_calls, errors, error, input_tokens, total_tokens, cost_usd, session_id, user_id, has_root"
            let order = rng.next() % 2 == 0 ? " ORDER BY start DESC, trace_id, project LIMIT 20" : " ORDER BY cost_usd, trace_id, project LIMIT 15 OFFSET 2"
            return (Pair("SELECT " + cols + " FROM traces" + wO + order, "SELECT " + cols + " FROM traces" + wS + order), true)
        }
    }

    @Test func randomTraceQueriesAgreeWithSQLiteAndBruteForce() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let spans = Self.spans(4_000, seed: 41)
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 4)
        defer { try? store.close() }
        let engine = QueryEngine(store: store)
        let sqlite = try SQLiteSpans(spans)
        try sqlite.exec(Self.createTraces)
        let traces = TraceRow.rows(of: spans)
        #expect(try engine.run("SELECT count() FROM traces").rows == [[.int(Int64(traces.count))]])
        #expect(try sqlite.query("SELECT count(*) FROM traces") == [[.int(Int64(traces.count))]])
        var rng = SplitMix64(seed: 4242)
        for _ in 0..<150 {
            let (q, ordered) = Self.randomQuery(&rng)
            let ours = try engine.run(q.ours).rows
            let theirs = try sqlite.query(q.sqlite)
            let brute = try QueryAgreementTests.bruteForce(q.ours, rows: traces, now: 0) { c, t in
                if case .trace(let tc) = c { return t.value(tc) }
                return .null
            }
            if ordered {
                #expect(sameRows(ours, theirs), "engine and SQLite differ on \(q.ours)\nours:   \(ours.prefix(3))\nsqlite: \(theirs.prefix(3))")
                #expect(sameRows(ours, brute), "engine and brute force differ on \(q.ours)")
            } else {
                #expect(sameRows(canonicalOrder(ours), canonicalOrder(theirs)), "engine and SQLite differ on \(q.ours)\nours:   \(canonicalOrder(ours).prefix(3))\nsqlite: \(canonicalOrder(theirs).prefix(3))")
                #expect(sameRows(canonicalOrder(ours), canonicalOrder(brute)), "engine and brute force differ on \(q.ours)")
            }
        }
    }

    @Test func aTraceSplitAcrossSegmentsAndTheHeadIsOneRow() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let id = TraceID(hi: 7, lo: 7)
        let t0 = RandomSpans.base
        func span(_ k: Int, parent: UInt64, start: Int64, status: SpanStatus = .ok) -> Span {
            var s = Span(traceID: id, spanID: SpanID(UInt64(100 + k)), parentSpanID: SpanID(parent), service: k == 0 ? "gateway" : "worker",
                         name: "step \(k)", kind: k % 2 == 0 ? .llm : .tool, startNanos: start, endNanos: start + 1_000_000_000, status: status)
            s.inputTokens = 10
            s.costUSD = 0.5
            if k == 2 { s.sessionID = "s-late" }
            return s
        }
        var o = StoreOptions(directory: dir.path)
        o.backgroundSealing = false
        o.log = { _, _ in }
        let store = try Store.open(o)
        defer { try? store.close() }
        // Children first, in two segments; the root arrives last and stays in the head.
        try store.append([span(1, parent: 100, start: t0 + 2_000_000_000), span(2, parent: 100, start: t0 + 3_000_000_000, status: .error)])
        _ = try store.sealNow()
        try store.append([span(3, parent: 101, start: t0 + 9_000_000_000)])
        _ = try store.sealNow()
        let engine = QueryEngine(store: store)
        let before = try engine.run("SELECT name, service, spans, has_root, session_id FROM traces")
        #expect(before.rows == [[.string("step 1"), .string("worker"), .int(3), .bool(false), .string("s-late")]])
        try store.append([span(0, parent: 0, start: t0)])
        let r = try engine.run("SELECT name, service, spans, llm_calls, errors, error, start, duration_ms, input_tokens, cost_usd, session_id, has_root FROM traces")
        #expect(r.rows == [[.string("step 0"), .string("gateway"), .int(4), .int(2), .int(1), .bool(true), .time(t0), .double(10_000),
                            .int(40), .double(2.0), .string("s-late"), .bool(true)]])
        #expect(r.stats.segmentsRead == 2)
        #expect(r.stats.headRows == 1)
    }

    @Test func traceQueriesAreConfinedToTheKeysProject() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let spans = Self.spans(1_200, seed: 3)
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 2)
        defer { try? store.close() }
        let engine = QueryEngine(store: store)
        let acme = spans.filter { $0.project == "acme" }
        let want = TraceRow.rows(of: acme)
        let r = try engine.run("SELECT count(), sum(spans), count(DISTINCT project) FROM traces WHERE project = 'default' OR TRUE", project: "acme")
        #expect(r.rows == [[.int(Int64(want.count)), .int(Int64(acme.count)), .int(1)]])
        // A project only in some segments: the others are pruned by their project dictionary.
        #expect(try engine.run("SELECT count() FROM traces", project: "nobody").rows == [[.int(0)]])
        #expect(try engine.run("SELECT count() FROM traces", project: "nobody").stats.segmentsPruned == 2)
    }

    @Test func traceTableErrorsNameTheTable() throws {
        let engine = QueryEngine(snapshot: { ([], []) })
        #expect(throws: QueryError.self) { try engine.run("SELECT model FROM traces") }
        #expect(throws: QueryError.self) { try engine.run("SELECT count() FROM traces WHERE text MATCH 'x'") }
        #expect(throws: QueryError.self) { try engine.run("SELECT attr['a'] FROM traces") }
        do {
            _ = try engine.run("SELECT modle FROM traces")
            Issue.record("expected an error")
        } catch let e as QueryError {
            #expect(e.message.contains("traces has:"), "\(e.message)")
            #expect(e.message.contains("llm_calls"), "\(e.message)")
            #expect(e.position == 8)
        }
        do {
            _ = try engine.run("SELECT count() FROM trace")
            Issue.record("expected an error")
        } catch let e as QueryError {
            #expect(e.message.contains("spans, traces"), "\(e.message)")
        }
        #expect(try engine.run("SELECT count() FROM traces").rows == [[.int(0)]])
    }
}
