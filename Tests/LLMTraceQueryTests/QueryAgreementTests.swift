import Foundation
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic
import Testing
@testable import LLMTraceQuery

/// Random queries run three ways over the same spans: the engine (segments + head, column at a time),
/// the same SQL in SQLite over a row table, and a brute-force evaluation span by span.
@Suite(.serialized)
struct QueryAgreementTests {
    /// A query in our dialect and the same query in SQLite's.
    struct Pair {
        var ours: String
        var sqlite: String
        init(_ s: String) { ours = s; sqlite = s }
        init(_ o: String, _ q: String) { ours = o; sqlite = q }
    }

    static let t30 = RandomSpans.base + 1_800_000_000_000
    static let t90 = RandomSpans.base + 5_400_000_000_000

    static let predicates: [Pair] = [
        Pair("service = 'chat'"),
        Pair("service != 'search'"),
        Pair("model IN ('gpt-4o', 'claude-3-5-sonnet-2024', 'none')"),
        Pair("model NOT IN ('gpt-4o-mini')"),
        Pair("kind != 'llm'"),
        Pair("status = 'error'"),
        Pair("error = TRUE"),
        Pair("input_tokens > 1000"),
        Pair("cost_usd < 0.05"),
        Pair("duration_ms >= 200.5"),
        Pair("model LIKE 'GPT%'"),
        Pair("name LIKE '%call'"),
        Pair("request_model LIKE '%-4o_mini'"),
        Pair("user_id IS NULL"),
        Pair("session_id IS NOT NULL"),
        Pair("start > '2026-01-01T00:30:00Z'", "start > \(t30)"),
        Pair("start BETWEEN \(t30) AND \(t90)"),
        Pair("start < \(t90)"),
        Pair("total_tokens % 3 = 0"),
        Pair("output_tokens * 2 > input_tokens"),
        Pair("ttft_ms < 300"),
        Pair("temperature IN (0, 0.5, 1)"),
        Pair("NOT (service = 'chat' OR kind = 'tool')"),
        Pair("provider != 'openai'"),
        Pair("environment = 'prod' OR environment IS NULL"),
        Pair("cached_tokens BETWEEN 10 AND 200"),
        Pair("lower(upper(service)) = 'chat'"),
        Pair("coalesce(user_id, 'anon') = 'anon'"),
        Pair("is_root"),
        Pair("status_message = 'timeout'"),
        Pair("end - start > 1000000000"),
        Pair("project = 'acme'"),
        Pair("duration_ms / 1000 > input_tokens / 2000"),
        Pair("-input_tokens < -500"),
    ]

    static let keys: [Pair] = [
        Pair("service"), Pair("model"), Pair("kind"), Pair("status"), Pair("user_id"), Pair("provider"), Pair("error"),
        Pair("bucket(start, 10m)", "((start / 600000000000) * 600000000000)"),
        Pair("input_tokens / 1000"), Pair("environment"), Pair("is_root"),
    ]

    static let aggregates: [Pair] = [
        Pair("count(*)"), Pair("count(cost_usd)"), Pair("sum(input_tokens)"), Pair("sum(cost_usd)"), Pair("avg(duration_ms)"),
        Pair("min(start)"), Pair("max(output_tokens)"), Pair("min(model)"), Pair("max(ttft_ms)"), Pair("count(DISTINCT user_id)"),
        Pair("avg(total_tokens)"), Pair("sum(output_tokens) / count(*)"), Pair("sum(cost_usd) * 1000"), Pair("max(end)"),
        Pair("count(*) - count(user_id)"), Pair("min(temperature)"),
    ]

    static func filter(_ rng: inout SplitMix64) -> Pair? {
        let n = Int(rng.next() % 4)
        guard n > 0 else { return nil }
        var out = predicates[Int(rng.next() % UInt64(predicates.count))]
        for _ in 1..<n {
            let p = predicates[Int(rng.next() % UInt64(predicates.count))]
            let op = rng.next() % 3 == 0 ? " OR " : " AND "
            let neg = rng.next() % 6 == 0 ? "NOT " : ""
            out = Pair("(" + out.ours + ")" + op + neg + "(" + p.ours + ")", "(" + out.sqlite + ")" + op + neg + "(" + p.sqlite + ")")
        }
        return out
    }

    static func choose(_ xs: [Pair], _ count: Int, _ rng: inout SplitMix64) -> [Pair] {
        var pool = xs
        var out: [Pair] = []
        for _ in 0..<min(count, pool.count) { out.append(pool.remove(at: Int(rng.next() % UInt64(pool.count)))) }
        return out
    }

    /// (query, SQLite query, whether the row order is fully determined)
    static func randomQuery(_ rng: inout SplitMix64) -> (Pair, Bool) {
        let f = filter(&rng)
        let whereO = f.map { " WHERE " + $0.ours } ?? "", whereS = f.map { " WHERE " + $0.sqlite } ?? ""
        switch rng.next() % 4 {
        case 0, 1:
            let ks = choose(keys, 1 + Int(rng.next() % 2), &rng)
            let ags = choose(aggregates, 1 + Int(rng.next() % 4), &rng)
            let sel = (ks + ags)
            let o = "SELECT " + sel.map(\.ours).joined(separator: ", ") + " FROM spans" + whereO + " GROUP BY " + ks.map(\.ours).joined(separator: ", ")
            let s = "SELECT " + sel.map(\.sqlite).joined(separator: ", ") + " FROM spans" + whereS + " GROUP BY " + ks.map(\.sqlite).joined(separator: ", ")
            if rng.next() % 2 == 0 {
                // Ordered by count, then every key: a total order, so LIMIT is deterministic.
                let order = " HAVING count(*) > 2 ORDER BY count(*) DESC, " + (1...ks.count).map(String.init).joined(separator: ", ") + " LIMIT 5"
                let oo = "SELECT " + sel.map(\.ours).joined(separator: ", ") + ", count(*) FROM spans" + whereO + " GROUP BY " + ks.map(\.ours).joined(separator: ", ") + order
                let ss = "SELECT " + sel.map(\.sqlite).joined(separator: ", ") + ", count(*) FROM spans" + whereS + " GROUP BY " + ks.map(\.sqlite).joined(separator: ", ") + order
                return (Pair(oo, ss), true)
            }
            return (Pair(o, s), false)
        case 2:
            let ags = choose(aggregates, 1 + Int(rng.next() % 4), &rng)
            return (Pair("SELECT " + ags.map(\.ours).joined(separator: ", ") + " FROM spans" + whereO,
                         "SELECT " + ags.map(\.sqlite).joined(separator: ", ") + " FROM spans" + whereS), true)
        default:
            let cols = "span_id, service, model, duration_ms, input_tokens, cost_usd, start"
            let order = rng.next() % 2 == 0 ? " ORDER BY start DESC, span_id LIMIT 25" : " ORDER BY duration_ms, span_id LIMIT 10 OFFSET 3"
            return (Pair("SELECT " + cols + " FROM spans" + whereO + order, "SELECT " + cols + " FROM spans" + whereS + order), true)
        }
    }

    /// Span-by-span evaluation of a plan, exact (quantiles from sorted values).
    static func bruteForce(_ sql: String, _ spans: [Span], now: Int64) throws -> [[QueryValue]] {
        try bruteForce(sql, rows: spans, now: now) { c, s in c.value(of: s) }
    }

    /// Row-by-row evaluation of a plan over any table's rows, `value` giving a column of a row.
    static func bruteForce<R>(_ sql: String, rows input: [R], now: Int64, project: String? = nil,
                              value: (ColumnRef, R) -> QueryValue) throws -> [[QueryValue]] {
        let plan = try QueryPlanner.plan(QueryParser.parse(sql), now: now, project: project)
        let matched = try input.filter { s in try plan.filter.map { Ops.truth(try $0.eval { value($0, s) }) == 1 } ?? true }
        guard plan.isAggregate else {
            var rows = try matched.map { s in try plan.outputs.map { try $0.eval { value($0, s) } } + plan.order.map { try $0.expr.eval { value($0, s) } } }
            let w = plan.outputs.count
            rows.sort { a, b in
                for (k, o) in plan.order.enumerated() {
                    let c = Ops.sortOrder(a[w + k], b[w + k])
                    if c != 0 { return o.descending ? c > 0 : c < 0 }
                }
                return false
            }
            return Array(rows.dropFirst(plan.offset).prefix(plan.limit ?? Int.max).map { Array($0[0..<w]) })
        }
        var groups: [[QueryValue]: [R]] = [:]
        for s in matched {
            var key = try plan.keys.map { try $0.eval { value($0, s) } }
            for k in key.indices { if case .double(let d) = key[k], d == 0 { key[k] = .double(0) } }
            groups[key, default: []].append(s)
        }
        if plan.keys.isEmpty && groups.isEmpty { groups[[]] = [] }
        var rows: [([QueryValue], [QueryValue])] = []
        for (key, members) in groups {
            let aggs: [QueryValue] = try plan.aggregates.map { spec in
                let values = try spec.arg.map { a in try members.map { s in try a.eval { value($0, s) } }.filter { !$0.isNull } } ?? []
                switch spec.kind {
                case .countRows: return .int(Int64(members.count))
                case .count: return .int(Int64(values.count))
                case .sum:
                    if values.isEmpty { return .null }
                    if spec.type == .int {
                        var total: Int64 = 0
                        for v in values {
                            let (r, o) = total.addingReportingOverflow(v.asInt ?? 0)
                            if o { throw QueryError("integer overflow") }
                            total = r
                        }
                        return .int(total)
                    }
                    return .double(values.reduce(0) { $0 + ($1.asDouble ?? 0) })
                case .avg: return values.isEmpty ? .null : .double(values.reduce(0) { $0 + ($1.asDouble ?? 0) } / Double(values.count))
                case .min: return values.min { Ops.order($0, $1) < 0 } ?? .null
                case .max: return values.max { Ops.order($0, $1) < 0 } ?? .null
                case .quantile(let q):
                    let sorted = values.compactMap(\.asDouble).sorted()
                    return sorted.isEmpty ? .null : .double(sorted[Int((q * Double(sorted.count - 1)).rounded(.down))])
                case .countDistinct: return .int(Int64(Set(values).count))
                case .rate: return .null
                }
            }
            if let h = plan.having, Ops.truth(try h.eval({ _ in .null }, aggs: aggs, keys: key)) != 1 { continue }
            rows.append((try plan.outputs.map { try $0.eval({ _ in .null }, aggs: aggs, keys: key) },
                         plan.order.isEmpty ? key : try plan.order.map { try $0.expr.eval({ _ in .null }, aggs: aggs, keys: key) }))
        }
        // Without ORDER BY, groups in the order of their keys (as SQLite's GROUP BY gives them).
        rows.sort { a, b in
            for k in 0..<a.1.count {
                let c = Ops.sortOrder(a.1[k], b.1[k])
                if c != 0 { return plan.order.isEmpty ? c < 0 : (plan.order[k].descending ? c > 0 : c < 0) }
            }
            return false
        }
        return Array(rows.map(\.0).dropFirst(plan.offset).prefix(plan.limit ?? Int.max))
    }

    @Test func randomQueriesAgreeWithSQLiteAndBruteForce() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let spans = RandomSpans.make(6_000, seed: 7)
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 4)
        defer { try? store.close() }
        let engine = QueryEngine(store: store)
        let sqlite = try SQLiteSpans(spans)
        let now = RandomSpans.base + 7_200_000_000_000
        var rng = SplitMix64(seed: 2026)
        var checked = 0
        for _ in 0..<300 {
            let (q, ordered) = Self.randomQuery(&rng)
            let ours = try engine.run(q.ours, now: now)
            let theirs = try sqlite.query(q.sqlite)
            let brute = try Self.bruteForce(q.ours, spans, now: now)
            if ordered {
                #expect(sameRows(ours.rows, theirs), "engine and SQLite differ on \(q.ours)\nours:   \(ours.rows.prefix(5))\nsqlite: \(theirs.prefix(5))")
                #expect(sameRows(ours.rows, brute), "engine and brute force differ on \(q.ours)")
            } else {
                #expect(sameRows(canonicalOrder(ours.rows), canonicalOrder(theirs)), "engine and SQLite differ on \(q.ours)\nours:   \(canonicalOrder(ours.rows).prefix(5))\nsqlite: \(canonicalOrder(theirs).prefix(5))")
                #expect(sameRows(canonicalOrder(ours.rows), canonicalOrder(brute)), "engine and brute force differ on \(q.ours)")
            }
            #expect(ours.stats.rowsScanned <= spans.count)
            checked += 1
        }
        #expect(checked == 300)
    }

    @Test func quantilesAreWithinTheDocumentedBound() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let spans = RandomSpans.make(5_000, seed: 11)
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 3)
        defer { try? store.close() }
        let engine = QueryEngine(store: store)
        let sql = "SELECT service, p50(duration_ms), p95(duration_ms), p99(duration_ms), quantile(cost_usd, 0.9), quantile(input_tokens, 0.25), p99(-duration_ms) FROM spans WHERE kind != 'tool' GROUP BY service"
        let ours = try engine.run(sql)
        let exact = try Self.bruteForce(sql, spans, now: 0)
        #expect(ours.rows.count == RandomSpans.services.count)
        for row in ours.rows {
            let e = try #require(exact.first { $0[0] == row[0] })
            for k in 1..<row.count {
                let x = try #require(row[k].asDouble), y = try #require(e[k].asDouble)
                #expect(abs(x - y) <= QuantileSketch.alpha * abs(y) + 1e-9, "\(sql): column \(k) \(x) vs exact \(y)")
            }
        }
    }

    @Test func segmentsOutsideTheTimeRangeArePruned() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        // Sorted by start, so each segment covers its own slice of time.
        let spans = RandomSpans.make(4_000, seed: 3).sorted { $0.startNanos < $1.startNanos }
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 4)
        defer { try? store.close() }
        let engine = QueryEngine(store: store)
        let cut = spans[spans.count * 3 / 4].startNanos
        let r = try engine.run("SELECT count(*) FROM spans WHERE start >= \(cut)")
        #expect(r.rows[0][0] == .int(Int64(spans.filter { $0.startNanos >= cut }.count)))
        #expect(r.stats.segmentsPruned >= 2)
        #expect(r.stats.segmentsRead + r.stats.segmentsPruned == 4)
        #expect(r.stats.rowsScanned < spans.count)
        let all = try engine.run("SELECT count(*) FROM spans")
        #expect(all.rows[0][0] == .int(Int64(spans.count)))
        #expect(all.stats.segmentsPruned == 0)
        #expect(all.stats.rowsScanned == spans.count)
        let none = try engine.run("SELECT count(*), sum(input_tokens) FROM spans WHERE service = 'no-such-service'")
        #expect(none.rows == [[.int(0), .null]])
        #expect(none.stats.segmentsPruned == 4)
    }

    @Test func projectConfinesEveryQuery() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let spans = RandomSpans.make(3_000, seed: 5)
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 2)
        defer { try? store.close() }
        let engine = QueryEngine(store: store)
        let acme = spans.filter { $0.project == "acme" }
        let r = try engine.run("SELECT count(*), count(DISTINCT project) FROM spans WHERE project = 'default' OR 1 = 1", project: "acme")
        #expect(r.rows == [[.int(Int64(acme.count)), .int(1)]])
        let rows = try engine.run("SELECT project, span_id FROM spans", project: "acme")
        #expect(rows.rows.count == acme.count)
        #expect(rows.rows.allSatisfy { $0[0] == .string("acme") })
        let nobody = try engine.run("SELECT count(*) FROM spans", project: "nobody")
        #expect(nobody.rows == [[.int(0)]])
    }

    @Test func rateDividesByTheBucketOrTheTimeRange() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let spans = RandomSpans.make(2_000, seed: 9)
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 2)
        defer { try? store.close() }
        let engine = QueryEngine(store: store)
        let r = try engine.run("SELECT bucket(start, 1h) AS hour, count(), rate(), rate(input_tokens) FROM spans GROUP BY hour ORDER BY hour")
        #expect(r.rows.count == 2 || r.rows.count == 3)
        for row in r.rows {
            let count = try #require(row[1].asDouble)
            #expect(abs(try #require(row[2].asDouble) - count / 3600) < 1e-9)
        }
        let now = RandomSpans.base + 7_200_000_000_000
        let w = try engine.run("SELECT rate() FROM spans WHERE start > now() - 30m", now: now)
        let inWindow = spans.filter { $0.startNanos > now - 1_800_000_000_000 }.count
        #expect(abs(try #require(w.rows[0][0].asDouble) - Double(inWindow) / 1800) < 1e-6)
        #expect(throws: QueryError.self) { try engine.run("SELECT rate() FROM spans") }
    }

    /// Spans whose prompts, completions and documents are built from a small vocabulary, some long
    /// enough to be split into paragraphs; MATCH must find exactly the spans with a paragraph holding
    /// every term, in segments and in the head.
    @Test func textMatchFindsSpansByParagraph() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let words = ["refund", "policy", "invoice", "shipping", "delay", "password", "reset", "account", "weather", "Résumé"]
        var rng = SplitMix64(seed: 77)
        func sentence(_ n: Int) -> String { (0..<n).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ") }
        var spans = RandomSpans.make(1_200, seed: 21)
        for i in spans.indices {
            spans[i].inputMessages = [Message(role: "user", content: sentence(3))]
            if i % 3 == 0 {
                // Long: paragraphs split at blank lines, each a unit of its own.
                let long = (0..<4).map { _ in sentence(40) }.joined(separator: "\n\n")
                spans[i].documents = [RetrievedDocument(id: "d\(i)", content: long)]
            }
            if i % 5 == 0 { spans[i].outputMessages = [Message(role: "assistant", content: sentence(2) + ", thanks!")] }
        }
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 3)
        defer { try? store.close() }
        _ = try store.indexPendingTexts()
        while try store.indexHeadTexts() > 0 {}
        let engine = QueryEngine(store: store)
        func paragraphs(_ s: Span) -> [String] {
            (s.inputMessages.map(\.content) + s.outputMessages.map(\.content) + s.documents.map(\.content)).flatMap { c in
                c.utf8.count >= 256 ? c.components(separatedBy: "\n\n") : [c]
            }
        }
        func tokens(_ p: String) -> Set<String> {
            Set(p.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).split { !$0.isLetter && !$0.isNumber }.map(String.init))
        }
        for terms in [["refund"], ["refund", "policy"], ["resume"], ["thanks", "delay"], ["weather", "invoice", "account"]] {
            let want = spans.filter { s in paragraphs(s).contains { p in tokens(p).isSuperset(of: terms) } }
            let r = try engine.run("SELECT count() FROM spans WHERE text MATCH '\(terms.joined(separator: " "))'")
            #expect(r.rows == [[.int(Int64(want.count))]], "\(terms): want \(want.count)")
            #expect(want.count > 0 && want.count < spans.count, "\(terms) should match some spans, not all")
        }
        // Combined with other conditions and grouped.
        let want = spans.filter { s in s.service == "chat" && paragraphs(s).contains { tokens($0).contains("password") } }
        let r = try engine.run("SELECT service, count() FROM spans WHERE service = 'chat' AND text MATCH 'password' GROUP BY service")
        #expect(r.rows == [[.string("chat"), .int(Int64(want.count))]])
        let none = try engine.run("SELECT count() FROM spans WHERE text MATCH 'zeppelin'")
        #expect(none.rows == [[.int(0)]])
        // New head rows after a text query (the head's hash cache must extend): found too.
        var late = RandomSpans.make(10, seed: 99)
        for i in late.indices { late[i].outputMessages = [Message(role: "assistant", content: "zeppelin arrives at \(i)")] }
        try store.append(late)
        while try store.indexHeadTexts() > 0 {}
        #expect(try engine.run("SELECT count() FROM spans WHERE text MATCH 'zeppelin'").rows == [[.int(10)]])
        #expect(throws: QueryError.self) { try engine.run("SELECT count() FROM spans WHERE service MATCH 'x'") }
        #expect(throws: QueryError.self) { try engine.run("SELECT count() FROM spans WHERE text MATCH 'refund AND'") }
    }

    @Test func rowLimitTruncatesAndSaysSo() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let spans = RandomSpans.make(1_500, seed: 13)
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 2)
        defer { try? store.close() }
        let engine = QueryEngine(store: store)
        var limits = QueryEngine.Limits()
        limits.maxRows = 100
        let r = try engine.run("SELECT span_id FROM spans", limits: limits)
        #expect(r.rows.count == 100)
        #expect(r.stats.truncated)
        let small = try engine.run("SELECT span_id FROM spans LIMIT 7", limits: limits)
        #expect(small.rows.count == 7)
        #expect(!small.stats.truncated)
        limits.maxGroups = 10
        #expect(throws: QueryError.self) { try engine.run("SELECT span_id, count() FROM spans GROUP BY span_id", limits: limits) }
    }
}

/// Where SQLite's arithmetic and functions have edges, the engine has the same ones: each query
/// runs in both over the same spans, some with token counts near the top of Int64.
@Suite struct SQLiteEdgeSemanticsTests {
    static func spans() -> [Span] {
        var spans = RandomSpans.make(3_000, seed: 19)
        var rng = SplitMix64(seed: 77)
        for i in spans.indices where rng.next() % 20 == 0 {
            spans[i].inputTokens = 9_000_000_000_000_000_000 + Int64(rng.next() % 1000)
            if rng.next() % 2 == 0 { spans[i].outputTokens = 400_000_000_000_000_000 }
        }
        return spans
    }

    func run(_ engine: QueryEngine, _ sqlite: SQLiteSpans, _ ours: String, _ theirs: String? = nil, now: Int64) -> (Result<[[QueryValue]], Error>, Result<[[QueryValue]], Error>) {
        (Result { try engine.run(ours, now: now).rows }, Result { try sqlite.query(theirs ?? ours) })
    }

    @Test func overflowRoundingAndGroupOrderAgreeWithSQLite() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        let spans = Self.spans()
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 3)
        defer { try? store.close() }
        let engine = QueryEngine(store: store)
        let sqlite = try SQLiteSpans(spans)
        let now = RandomSpans.base + 7_200_000_000_000
        var queries: [(String, String)] = [
            // + - * that overflow become reals; total_tokens is input + output.
            ("SELECT span_id, input_tokens + output_tokens, total_tokens FROM spans WHERE input_tokens IS NOT NULL AND output_tokens IS NOT NULL ORDER BY span_id",
             "SELECT span_id, input_tokens + output_tokens, input_tokens + output_tokens FROM spans WHERE input_tokens IS NOT NULL AND output_tokens IS NOT NULL ORDER BY span_id"),
            ("SELECT span_id, 9223372036854775807 + 1, -9223372036854775807 - 2, 3037000500 * 3037000500 FROM spans ORDER BY span_id LIMIT 3", ""),
            ("SELECT span_id, input_tokens - (0 - 9223372036854775807) FROM spans WHERE input_tokens > 0 ORDER BY span_id LIMIT 300", ""),
            // Without ORDER BY, groups come in key order, whatever the first column is: LIMIT picks the same.
            ("SELECT count(*), service FROM spans GROUP BY service LIMIT 3", ""),
            ("SELECT sum(cost_usd), max(duration_ms), model, kind FROM spans GROUP BY model, kind LIMIT 7", ""),
            ("SELECT avg(duration_ms), status FROM spans WHERE kind = 'llm' GROUP BY status", ""),
            // round() as SQLite rounds (half away from zero on the decimal the double prints as).
            ("SELECT span_id, round(cost_usd * 1000, 2), round(duration_ms, 1), round(1.005, 2), round(2.675, 2), round(-0.125, 2), round(0.5), round(-2.5) FROM spans ORDER BY span_id LIMIT 400", ""),
        ]
        // Random products and sums near the edge.
        var rng = SplitMix64(seed: 404)
        let factors = ["1", "3", "1099511627776", "4611686018427387904", "-2", "9223372036854775807"]
        for _ in 0..<40 {
            let f = factors[Int(rng.next() % UInt64(factors.count))]
            let op = ["+", "-", "*"][Int(rng.next() % 3)]
            let col = ["input_tokens", "output_tokens", "cached_tokens"][Int(rng.next() % 3)]
            queries.append(("SELECT span_id, \(col) \(op) \(f), \(f) \(op) \(col) FROM spans ORDER BY span_id LIMIT 200", ""))
        }
        for (ours, theirs) in queries {
            let (a, b) = run(engine, sqlite, ours, theirs.isEmpty ? nil : theirs, now: now)
            let x = try a.get(), y = try b.get()
            let k = (0..<min(x.count, y.count)).first { !sameRows([x[$0]], [y[$0]]) } ?? min(x.count, y.count)
            #expect(x.count == y.count && k == x.count, "\(ours)\n\(x.count) vs \(y.count) rows; first difference at row \(k):\nours:   \(k < x.count ? "\(x[k])" : "-")\nsqlite: \(k < y.count ? "\(y[k])" : "-")")
        }
        // sum() and abs() that overflow are the error "integer overflow" in both.
        for q in ["SELECT sum(input_tokens) FROM spans", "SELECT service, sum(input_tokens) FROM spans GROUP BY service",
                  "SELECT abs(-9223372036854775807 - 1) FROM spans LIMIT 1"] {
            let (a, b) = run(engine, sqlite, q, now: now)
            #expect(throws: QueryError.self, "\(q)") { try a.get() }
            if case .failure(let e) = a { #expect("\(e)".contains("integer overflow"), "\(q): \(e)") }
            if case .failure(let e) = b { #expect("\(e)".contains("integer overflow"), "sqlite: \(e)") } else { Issue.record("SQLite did not fail: \(q)") }
        }
    }

    /// rate(x) is NULL where sum(x) is NULL (no non-NULL value in the window).
    @Test func rateOfNothingIsNull() throws {
        let dir = QueryTempDir()
        defer { dir.cleanup() }
        var spans = RandomSpans.make(400, seed: 5)
        for i in spans.indices where spans[i].service == "chat" { spans[i].costUSD = nil }
        let store = try RandomSpans.store(spans, dir: dir.path, segments: 2)
        defer { try? store.close() }
        let rows = try QueryEngine(store: store).run("SELECT service, sum(cost_usd), rate(cost_usd) FROM spans WHERE start > 0 AND start < \(RandomSpans.base + 7_200_000_000_000) GROUP BY service").rows
        let chat = try #require(rows.first { $0[0] == .string("chat") })
        #expect(chat[1].isNull && chat[2].isNull, "\(chat)")
        #expect(rows.contains { !$0[2].isNull })
    }

    /// A string is a number only when it is one in decimal: '0x10' is not 16.
    @Test func stringsAreNotHexOrInfinity() {
        #expect(Ops.numericPrefix("0x10").value == 0)
        #expect(Ops.numericPrefix(" 12 ") == (12, true))
        #expect(Ops.numericPrefix("1e3x") == (1000, false))
        #expect(Ops.numericPrefix("inf").value == 0 && Ops.numericPrefix("nan").value == 0)
        #expect(Ops.numericPrefix("-.5").value == -0.5)
        #expect(ColumnRef.convert(.string("0x10"), to: .double) == .null)
        #expect(ColumnRef.convert(.string("16"), to: .double) == .double(16))
        #expect(ColumnRef.convert(.string("infinity"), to: .double) == .null)
        #expect(Ops.truth(.string("0x10")) == 0 && Ops.truth(.string(" 12")) == 1)
    }
}
