import Testing
import Foundation
import LLMTraceModel
import LLMTraceSynthetic
@testable import LLMTraceClickHouse

@Suite struct ClickHouseEndpointTests {
    @Test func parsesNodesAndOptions() throws {
        let e = try ClickHouseEndpoint(parsing: "http://127.0.0.1:8123/, http://ch2:8124?cluster=llmtrace&database=traces&user=ingest&password=p%40ss&compress=none")
        #expect(e.nodes == ["http://127.0.0.1:8123", "http://ch2:8124"])
        #expect(e.cluster == "llmtrace")
        #expect(e.database == "traces")
        #expect(e.user == "ingest")
        #expect(e.password == "p@ss")
        #expect(!e.gzip)
        #expect(e.spansTable == "traces.spans")
        #expect(e.redacted == "http://127.0.0.1:8123,http://ch2:8124?database=traces&cluster=llmtrace&user=ingest&password=***&compress=none")
        let single = try ClickHouseEndpoint(parsing: "http://127.0.0.1:8123")
        #expect(single.spansTable == "llmtrace.spans_local" && single.scoresTable == "llmtrace.scores_local")
        #expect(!single.gzip, "no compression on loopback by default")
        #expect(try ClickHouseEndpoint(parsing: "http://ch1:8123,http://127.0.0.1:8123").gzip, "gzip as soon as one node is elsewhere")
        #expect(try ClickHouseEndpoint(parsing: "http://127.0.0.1:8123?compress=gzip").gzip)
        #expect(try ClickHouseEndpoint(parsing: "http://127.0.0.1:8123?compress=gzip").redacted == "http://127.0.0.1:8123?compress=gzip")
    }

    @Test func badEndpointsSayWhatIsExpected() {
        for (text, says) in [("ch:8123", "http://"), ("http://h:8123?cluster=a;drop", "cluster must be"), ("http://h:8123?databse=x", "unknown option 'databse'"),
                             ("http://h:8123?compress=zstd", "auto, gzip or none"), ("", "no node"), ("http://h:99999", "port")] {
            do {
                _ = try ClickHouseEndpoint(parsing: text)
                Issue.record("accepted '\(text)'")
            } catch {
                #expect("\(error)".contains(says), "'\(text)': \(error)")
            }
        }
    }
}

@Suite struct ClickHouseSchemaTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func compiledInCopiesMatchTheSchemaFiles() throws {
        let legacy = try String(contentsOfFile: Self.repoRoot + "/schemas/clickhouse/legacy.sql", encoding: .utf8)
        let modern = try String(contentsOfFile: Self.repoRoot + "/schemas/clickhouse/modern.sql", encoding: .utf8)
        #expect(ClickHouseSchemaFiles.legacy + "\n" == legacy)
        #expect(ClickHouseSchemaFiles.modern + "\n" == modern)
    }

    @Test func formFollowsTheServerVersion() throws {
        #expect(ClickHouseSchema.form(for: try #require(ClickHouseVersion("18.16.1"))) == .legacy)
        #expect(ClickHouseSchema.form(for: try #require(ClickHouseVersion("20.12.8.2"))) == .legacy)
        #expect(ClickHouseSchema.form(for: try #require(ClickHouseVersion("21.1.2.15"))) == .modern)
        #expect(ClickHouseSchema.form(for: try #require(ClickHouseVersion("24.8.4.13"))) == .modern)
        #expect(ClickHouseVersion("not a version") == nil)
    }

    @Test func aClusterAddsDistributedTablesShardedByTraceID() throws {
        let plain = ClickHouseSchema.statements(.legacy, endpoint: try ClickHouseEndpoint(parsing: "http://h:8123"))
        #expect(plain.map(\.object) == ["database llmtrace", "table llmtrace.spans_local", "table llmtrace.scores_local"])
        let cluster = ClickHouseSchema.statements(.legacy, endpoint: try ClickHouseEndpoint(parsing: "http://h:8123?cluster=c&database=d"))
        #expect(cluster.map(\.object) == ["database d", "table d.spans_local", "table d.spans", "table d.scores_local", "table d.scores"])
        #expect(cluster[2].sql.contains("ENGINE = Distributed(c, d, spans_local, cityHash64(trace_id))"))
        for st in cluster { #expect(!st.sql.contains("{") && !st.sql.hasSuffix(";"), "\(st.sql)") }
    }

    @Test func onlyTheModernFormGetsTTLCodecsAndIndexes() throws {
        let e = try ClickHouseEndpoint(parsing: "http://h:8123?cluster=c")
        let modern = ClickHouseSchema.statements(.modern, endpoint: e, retentionDays: 30).map(\.sql).joined(separator: "\n")
        #expect(modern.contains("TTL toDateTime(intDiv(start_ns, 1000000000)) + INTERVAL 30 DAY"))
        #expect(modern.contains("TTL toDateTime(intDiv(time_ns, 1000000000)) + INTERVAL 30 DAY"))
        #expect(modern.contains("DateTime64(9)") && modern.contains("LowCardinality") && modern.contains("ZSTD") && modern.contains("bloom_filter"))
        let legacy = ClickHouseSchema.statements(.legacy, endpoint: e, retentionDays: 30).map(\.sql).joined(separator: "\n")
        for word in ["TTL", "DateTime64", "LowCardinality", "CODEC", "INDEX"] { #expect(!legacy.contains(word), "\(word) in legacy.sql") }
        #expect(!ClickHouseSchema.statements(.modern, endpoint: e).map(\.sql).joined().contains("TTL"))
    }

    /// The rows the sink writes have exactly the columns both schema files declare (their ALIAS
    /// columns excepted, which ClickHouse computes): a column renamed on one side fails here, not
    /// in production as a refused insert.
    @Test func theSinksRowsHaveExactlyTheSchemasColumns() throws {
        var w = JSONWriter()
        ClickHouseRows.spans([SampleSpans.full(1)], into: &w)
        let spanKeys = Set(try JSONValue.parse(w.bytes).object!.map(\.0))
        w = JSONWriter()
        ClickHouseRows.scores([Score(traceID: TraceID(hi: 1, lo: 2), name: "n", value: .number(1), timeNanos: 5)], into: &w)
        let scoreKeys = Set(try JSONValue.parse(w.bytes).object!.map(\.0))
        for form in [ClickHouseSchema.Form.legacy, .modern] {
            let e = try ClickHouseEndpoint(parsing: "http://h:8123")
            let tables = Dictionary(uniqueKeysWithValues: ClickHouseSchema.expectedColumns(form, endpoint: e))
            let statements = ClickHouseSchema.statements(form, endpoint: e).map(\.sql).joined(separator: "\n")
            let aliases = Set(statements.split(separator: "\n").filter { $0.contains(" ALIAS ") }.compactMap { $0.split(separator: " ").first.map(String.init) })
            func stored(_ cols: [String]) -> Set<String> { Set(cols).subtracting(aliases) }
            #expect(stored(try #require(tables["spans_local"])) == spanKeys, "\(form)")
            #expect(stored(try #require(tables["scores_local"])) == scoreKeys, "\(form)")
        }
    }
}

@Suite struct ClickHouseRowsTests {
    @Test func aSpanRowKeepsEveryFieldAndItsSpanColumnDecodesToTheSameSpan() throws {
        var s = SampleSpans.full(7)
        s.inputMessages = [Message(role: "user", content: "refund \"policy\"\n\u{1b}[31m é \u{202e}")]
        s.attributes.append(Attribute("n", .int(3)))
        s.attributes.append(Attribute("ok", .bool(true)))
        var w = JSONWriter()
        ClickHouseRows.spans([s], into: &w)
        #expect(w.bytes.last == 0x0A && w.bytes.filter { $0 == 0x0A }.count == 1, "one line per row")
        let row = try JSONValue.parse(w.bytes)
        #expect(row["trace_id"]?.string == s.traceID.hex)
        #expect(row["span_id"]?.string == s.spanID.hex)
        #expect(row["start_ns"]?.int == s.startNanos)
        #expect(row["input_tokens"]?.int == s.inputTokens)
        #expect(row["ttft_ns"]?.int == s.timeToFirstTokenNanos)
        let keys = row["attr_keys"]?.strings ?? []
        let values = row["attr_values"]?.strings ?? []
        #expect(keys.count == values.count)
        #expect(values[keys.firstIndex(of: "n")!] == "3")
        #expect(values[keys.firstIndex(of: "ok")!] == "true")
        #expect(row["contents"]?.strings?.contains("refund \"policy\"\n\u{1b}[31m é \u{202e}") == true, "contents hold the bytes as sent")
        let spanColumn = row["span"]?.string ?? ""
        #expect(spanColumn.contains("\"role\":\"user\"") && spanColumn.contains("refund") == false, "each content is sent once")
        let decoded = try ClickHouseRows.span(json: try #require(row["span"]?.string), contents: row["contents"]?.strings ?? [])
        #expect(decoded == s)
    }

    @Test func unsaidFieldsAreNullNotZero() throws {
        let s = Span(traceID: TraceID(hi: 0, lo: 9), spanID: SpanID(3), name: "op", startNanos: 1, endNanos: 2)
        var w = JSONWriter()
        ClickHouseRows.spans([s, s], into: &w)
        let lines = w.bytes.split(separator: 0x0A)
        #expect(lines.count == 2)
        let row = try JSONValue.parse(Array(lines[0]))
        for k in ["input_tokens", "cost_usd", "request_model", "session_id", "ttft_ns", "status_message"] {
            #expect(row[k] == .null, "\(k)")
        }
        #expect(row["parent_span_id"]?.string == "")
        #expect(row["contents"]?.strings == [])
    }
}

@Suite struct ClickHouseErrorTests {
    @Test func bothErrorStylesReduceToCodeAndMessage() {
        let old = ClickHouseError.parse(Array("Code: 60, e.displayText() = DB::Exception: Table llmtrace.spans doesn't exist., e.what() = DB::Exception\n".utf8), httpStatus: 404, node: "http://a")
        #expect(old.code == 60)
        #expect(old.message == "Table llmtrace.spans doesn't exist.")
        #expect("\(old)" == "http://a: Table llmtrace.spans doesn't exist.")
        let new = ClickHouseError.parse(Array("Code: 60. DB::Exception: Table x.y does not exist. (UNKNOWN_TABLE) (version 24.8.4.13 (official build))\n".utf8), httpStatus: 404, node: "n")
        #expect(new.code == 60)
        #expect(new.message == "Table x.y does not exist. (UNKNOWN_TABLE)")
        let multi = ClickHouseError.parse(Array("Code: 210, e.displayText() = DB::NetException: Connection refused: Insertion status:\nWrote 1 blocks\nWrote 0 blocks\n, e.what() = DB::NetException".utf8), httpStatus: 500, node: "n")
        #expect(multi.code == 210 && multi.message == "Connection refused")
        #expect(multi.status == 502 && ClickHouseError("x", unreachable: true).status == 503)
    }
}
