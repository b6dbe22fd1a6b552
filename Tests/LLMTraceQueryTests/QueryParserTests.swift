import Testing
@testable import LLMTraceQuery

struct QueryParserTests {
    /// The error a query gets, with its position.
    func error(_ sql: String) -> QueryError? {
        do {
            try QueryEngine.check(sql)
            return nil
        } catch let e as QueryError {
            return e
        } catch {
            return nil
        }
    }

    @Test func theIssueExampleParsesAndPlans() throws {
        let sql = "SELECT model, count(), p95(duration_ms), sum(cost_usd) FROM spans WHERE service = 'chat' AND kind = 'llm' AND start > now() - 1h GROUP BY model ORDER BY 3 DESC LIMIT 10"
        let s = try QueryParser.parse(sql)
        #expect(s.items.map(\.name) == ["model", "count()", "p95(duration_ms)", "sum(cost_usd)"])
        #expect(s.limit == 10)
        let plan = try QueryPlanner.plan(s, now: 10_000_000_000_000, project: nil)
        #expect(plan.isAggregate)
        #expect(plan.aggregates.count == 3)
        #expect(plan.startLow == 10_000_000_000_000 - 3_600_000_000_000 + 1)
        #expect(plan.columns == Set([.model, .service, .kind, .start, .durationMs, .costUSD].map(ColumnRef.span)))
    }

    @Test func errorsNameThePositionAndWhatWasExpected() {
        let cases: [(String, Int, String)] = [
            ("SELECT count() FORM spans", 16, "expected FROM"),
            ("SELECT model FROM spanz", 19, "unknown table 'spanz'"),
            ("SELECT modle FROM spans", 8, "unknown column 'modle'"),
            ("SELECT count() FROM spans WHERE service = 5", 41, "cannot compare service (string) with 5 (int)"),
            ("SELECT count() FROM spans WHERE start > 'yesterday'", 41, "is not a time"),
            ("SELECT model, count() FROM spans", 8, "must be in GROUP BY"),
            ("SELECT count() FROM spans WHERE count() > 1", 33, "aggregate count() cannot be used in WHERE"),
            ("SELECT count() FROM spans WHERE service = 'chat", 43, "unterminated string"),
            ("SELECT p95(service) FROM spans", 12, "p95() needs a number"),
            ("SELECT count() FROM spans GROUP BY 3", 36, "not a column position"),
            ("SELECT count() FROM spans LIMIT -1", 33, "expected a row count"),
            ("SELECT frobnicate(model) FROM spans", 8, "unknown function frobnicate()"),
            ("SELECT count() FROM spans WHERE start > now() - 5q", 50, "unknown unit 'q'"),
            ("SELECT sum(service) FROM spans", 12, "sum() needs a number"),
            ("SELECT count() FROM spans WHERE", 32, "expected an expression"),
            ("SELECT count() FROM spans ORDER BY", 35, "expected an expression"),
            ("SELECT quantile(duration_ms, 2) FROM spans", 30, "between 0 and 1"),
            ("SELECT bucket(start, 0) FROM spans", 22, "positive duration"),
            ("SELECT count() FROM spans; DROP TABLE spans", 28, "only one statement"),
            ("SELECT service + 1 FROM spans", 8, "operator + needs numbers"),
            ("SELECT count() FROM spans WHERE service LIKE model", 46, "quoted pattern"),
            ("SELECT count() FROM spans WHERE duration_ms", 33, "needs a condition"),
            ("SELECT count() FROM traces WHERE attr['gen_ai.system'] = 'openai'", 34, "query FROM spans"),
            ("SELECT attr['tier'], count() FROM spans", 8, "must be in GROUP BY"),
            ("SELECT count() FROM scores WHERE duration_ms > 3", 34, "scores has:"),
        ]
        for (sql, position, message) in cases {
            let e = error(sql)
            #expect(e != nil, "no error for \(sql)")
            #expect(e?.position == position, "\(sql): position \(String(describing: e?.position)), want \(position): \(e?.message ?? "")")
            #expect(e?.message.contains(message) == true, "\(sql): \(e?.message ?? "") lacks \(message)")
        }
    }

    @Test func deepOrLongExpressionsAreRefusedNotCrashing() {
        let parens = "SELECT count() FROM spans WHERE " + String(repeating: "(", count: 5000) + "1 = 1" + String(repeating: ")", count: 5000)
        #expect(error(parens)?.message.contains("nested too deeply") == true)
        let chain = "SELECT " + Array(repeating: "input_tokens", count: 3000).joined(separator: " + ") + " FROM spans"
        #expect(error(chain)?.message.contains("too deep") == true)
        let nots = "SELECT count() FROM spans WHERE " + String(repeating: "NOT ", count: 20000) + "error"
        #expect(error(nots)?.message.contains("too deep") == true)
        let signs = "SELECT " + String(repeating: "- ", count: 20000) + "input_tokens FROM spans"
        #expect(error(signs)?.message.contains("too deep") == true)
        #expect(error("SELECT " + Array(repeating: "1", count: 150).joined(separator: " + ") + " FROM spans") == nil)
        #expect(error("SELECT count() FROM spans WHERE NOT NOT error AND - - 3 < input_tokens") == nil)
    }

    @Test func caretPointsAtTheError() {
        let sql = "SELECT count() FORM spans"
        let e = error(sql)
        #expect(e?.pointing(into: sql) == "at position 16: expected FROM, found 'form'\n  SELECT count() FORM spans\n                 ^")
    }

    @Test func literalsAndDurations() throws {
        let toks = try QueryLexer.tokenize("1h 250ms 1.5s 3 2.5 'it''s' \"Quoted Name\" <> -- comment\n x")
        #expect(toks.map(\.kind) == [
            .duration(3_600_000_000_000), .duration(250_000_000), .duration(1_500_000_000), .integer(3), .number(2.5),
            .string("it's"), .identifier("Quoted Name"), .symbol("!="), .identifier("x"), .end,
        ])
        #expect(QueryValue.parseTime("2026-01-01T00:30:00Z") == 1_767_227_400_000_000_000)
        #expect(QueryValue.parseTime("2026-01-01T01:30:00.5+01:00") == 1_767_227_400_500_000_000)
        #expect(QueryValue.parseTime("2026-01-01") == 1_767_225_600_000_000_000)
        #expect(QueryValue.parseTime("yesterday") == nil)
        #expect(QueryValue.formatTime(1_767_227_400_123_456_789) == "2026-01-01T00:30:00.123Z")
    }

    @Test func likeFollowsSQLite() {
        func like(_ s: String, _ p: String) -> Bool { Ops.like(s, Array(p.unicodeScalars)) }
        #expect(like("gpt-4o-mini", "GPT%"))
        #expect(like("gpt-4o-mini", "%4o_mini"))
        #expect(!like("gpt-4o", "%mini"))
        #expect(like("", "%"))
        #expect(!like("", "_"))
        #expect(like("abc", "a%%c"))
        #expect(like("Ünïcode", "Ünï%"))
    }

    @Test func sketchMergesAndKeepsItsBound() {
        var a = QuantileSketch(), b = QuantileSketch()
        var all: [Double] = []
        for i in 1...20_000 {
            let x = Double(i % 997) * 1.37 + Double(i) / 1000
            all.append(x)
            if i % 3 == 0 { a.add(x) } else { b.add(x) }
        }
        a.merge(b)
        all.sort()
        for q in [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let exact = all[Int((q * Double(all.count - 1)).rounded(.down))]
            let est = a.quantile(q)!
            #expect(abs(est - exact) <= QuantileSketch.alpha * exact, "q=\(q): \(est) vs \(exact)")
        }
        #expect(QuantileSketch().quantile(0.5) == nil)
    }
}
