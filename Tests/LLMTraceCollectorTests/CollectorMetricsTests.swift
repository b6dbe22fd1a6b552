import Foundation
import Testing
import LLMTraceHTTP
import LLMTraceMetrics
import LLMTraceModel
import LLMTraceStore
@testable import LLMTraceCollector
import LLMTraceIngest
import LLMTraceOTLP

/// `GET /metrics` after real ingest: the span-derived series equal what was stored, read keys see
/// their project's series only, and the cardinality cap holds.
@Suite struct CollectorMetricsTests {
    static let keys = [
        "chat": (ingest: "lt_ingest_chat_0123456789", read: "lt_read_chat_0123456789ab"),
        "billing": (ingest: "lt_ingest_bill_0123456789", read: "lt_read_bill_0123456789ab"),
    ]

    func withCollector(maxSeries: Int = 10_000, _ body: (Collector) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "llmtrace-metrics-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var opts = StoreOptions(directory: dir)
        opts.backgroundSealing = false
        opts.log = { _, _ in }
        let store = try Store.open(opts)
        defer { try? store.close() }
        let ring = KeyRing(projects: Self.keys.map { KeyRing.Project(name: $0.key, ingestKeys: [$0.value.ingest], readKeys: [$0.value.read]) })
        var o = Collector.Options()
        o.metricsMaxSeries = maxSeries
        let c = Collector(store: store, keys: ring, conventions: .builtIn(), pricing: .builtIn(), options: o)
        c.metrics.watch(store: store)
        try body(c)
    }

    func call(_ c: Collector, _ method: String, _ path: String, _ body: String = "", key: String?) -> HTTPResponse {
        var h: [(name: String, value: String)] = [("content-type", "application/json")]
        if let key { h.append(("authorization", "Bearer " + key)) }
        return c.handle(HTTPRequest(method: method, target: path, headers: h, body: Array(body.utf8)))
    }

    func span(_ i: Int, model: String, service: String = "chat", status: String = "ok", ttft: Bool = false) -> String {
        let start: Int64 = 1_700_000_000_000_000_000 + Int64(i) * 1_000_000
        let extra = ttft ? #", "time_to_first_token_ns": 250000000"# : ""
        return #"{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "\#(String(format: "%016x", i + 1))", "name": "call", "kind": "llm", "service": "\#(service)", "start_ns": \#(start), "end_ns": \#(start + Int64(i % 7 + 1) * 300_000_000), "request_model": "\#(model)", "input_tokens": 100, "output_tokens": 20, "cost_usd": 0.5, "status": "\#(status)"\#(extra)}"#
    }

    /// Sample value of the line starting with `prefix` (name and labels), if present.
    func value(_ text: String, _ prefix: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(prefix + " ") {
            return Double(line.split(separator: " ").last!)
        }
        return nil
    }

    /// Re-sent spans (an exporter retrying, an import run twice) are stored and counted once: the
    /// same batch posted twice before a seal, once after it (natively and over OTLP), and once
    /// after a restart. Spans, tokens, cost and every metric count each span once.
    @Test func reSentSpansAreCountedOnce() throws {
        let dir = NSTemporaryDirectory() + "llmtrace-dedup-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var opts = StoreOptions(directory: dir)
        opts.backgroundSealing = false
        opts.log = { _, _ in }
        let body = "[" + (0..<6).map { span($0, model: "gpt-4o") }.joined(separator: ",") + "]"
        func open() throws -> (Store, Collector) {
            let store = try Store.open(opts)
            let c = Collector(store: store, keys: KeyRing(projects: []), conventions: .builtIn(), pricing: .builtIn())
            c.metrics.watch(store: store)
            return (store, c)
        }
        var (store, c) = try open()
        let first = call(c, "POST", "/v1/spans", body, key: nil)
        #expect(first.status == 200)
        let second = call(c, "POST", "/v1/spans", body, key: nil)
        #expect(second.status == 200)
        #expect(try JSONValue.parse(second.body)["duplicates"]?.int == 6, "\(String(decoding: second.body, as: UTF8.self))")
        try store.sealNow()
        #expect(call(c, "POST", "/v1/spans", body, key: nil).status == 200)
        // The same spans over OTLP: acknowledged (no partial failure), stored once.
        let spans = try #require(try JSONValue.parse(Array(body.utf8)).array).map { try Span.decodeJSON(Array($0.jsonString.utf8)) }
        let otlp = c.handle(HTTPRequest(method: "POST", target: "/v1/traces", headers: [("content-type", "application/x-protobuf")], body: OTLPEncoder.encode(spans).bytes))
        #expect(otlp.status == 200 && otlp.body.isEmpty)
        let text = String(decoding: call(c, "GET", "/metrics", key: nil).body, as: UTF8.self)
        #expect(value(text, #"llmtrace_spans_total{project="default",service="chat",model="gpt-4o",kind="llm",status="ok"}"#) == 6, "\(text.split(separator: "\n").filter { $0.hasPrefix("llmtrace_spans_total") })")
        #expect(value(text, #"llmtrace_tokens_total{project="default",service="chat",model="gpt-4o",kind="llm",status="ok",type="input"}"#) == 600)
        #expect(value(text, #"llmtrace_cost_usd_total{project="default",service="chat",model="gpt-4o",kind="llm",status="ok"}"#) == 3)
        #expect(value(text, #"llmtrace_spans_accepted_total{route="/v1/spans"}"#) == 6)
        #expect(value(text, #"llmtrace_spans_deduplicated_total{route="/v1/spans"}"#) == 12)
        #expect(value(text, #"llmtrace_spans_deduplicated_total{route="/v1/traces"}"#) == 6)
        try store.close()
        (store, c) = try open()
        defer { try? store.close() }
        #expect(call(c, "POST", "/v1/spans", body, key: nil).status == 200)
        let q = call(c, "POST", "/api/query", #"{"query": "SELECT count(), sum(input_tokens), sum(cost_usd) FROM spans"}"#, key: nil)
        #expect(try JSONValue.parse(q.body)["rows"]?.array?.first?.array?.map(\.jsonString) == ["6", "600", "3.0"], "\(String(decoding: q.body, as: UTF8.self))")
        let t = call(c, "POST", "/api/query", #"{"query": "SELECT spans, cost_usd FROM traces"}"#, key: nil)
        #expect(try JSONValue.parse(t.body)["rows"]?.array?.first?.array?.map(\.jsonString) == ["6", "3.0"])
        let after = String(decoding: call(c, "GET", "/metrics", key: nil).body, as: UTF8.self)
        #expect(value(after, #"llmtrace_spans_deduplicated_total{route="/v1/spans"}"#) == 6, "after a restart too")
        #expect(value(after, #"llmtrace_spans_accepted_total{route="/v1/spans"}"#) == nil)
    }

    @Test func seriesEqualWhatWasIngested() throws {
        try withCollector { c in
            let chat = (0..<30).map { span($0, model: "gpt-4o", status: $0 % 10 == 0 ? "error" : "ok", ttft: $0 % 3 == 0) }
            #expect(call(c, "POST", "/v1/spans", "[" + chat.joined(separator: ",") + "]", key: Self.keys["chat"]!.ingest).status == 200)
            let bill = (100..<112).map { span($0, model: "claude-3-5-sonnet", service: "billing") }
            #expect(call(c, "POST", "/v1/spans", "[" + bill.joined(separator: ",") + "]", key: Self.keys["billing"]!.ingest).status == 200)
            let bad = #"[{"trace_id": "zz"}]"#
            #expect(call(c, "POST", "/v1/spans", bad, key: Self.keys["chat"]!.ingest).status == 400)
            let score = #"{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "name": "thumbs", "value": 0.75}"#
            #expect(call(c, "POST", "/v1/scores", score, key: Self.keys["chat"]!.ingest).status == 200)

            let r = call(c, "GET", "/metrics", key: Self.keys["chat"]!.read)
            #expect(r.status == 200)
            #expect(r.headers.contains { $0.name == "content-type" && $0.value.hasPrefix("text/plain; version=0.0.4") })
            let text = String(decoding: r.body, as: UTF8.self)
            let ok = #"{project="chat",service="chat",model="gpt-4o",kind="llm",status="ok"}"#
            let err = #"{project="chat",service="chat",model="gpt-4o",kind="llm",status="error"}"#
            #expect(value(text, "llmtrace_spans_total" + ok) == 27)
            #expect(value(text, "llmtrace_spans_total" + err) == 3)
            #expect(value(text, #"llmtrace_span_errors_total{project="chat",service="chat",model="gpt-4o",kind="llm"}"#) == 3)
            #expect(value(text, "gen_ai_client_operation_duration_seconds_count" + ok) == 27)
            let okSpans: [Int] = (0..<30).filter { (i: Int) -> Bool in i % 10 != 0 }
            let durations: [Double] = okSpans.map { (i: Int) -> Double in Double(i % 7 + 1) * 0.3 }
            #expect(abs(value(text, "gen_ai_client_operation_duration_seconds_sum" + ok)! - durations.reduce(0, +)) < 1e-9)
            let under1s = Double(durations.filter { $0 <= 1 }.count)
            let bucket1s = "gen_ai_client_operation_duration_seconds_bucket" + String(ok.dropLast()) + #",le="1"}"#
            #expect(value(text, bucket1s) == under1s)
            let ttftSpans: [Int] = (0..<30).filter { (i: Int) -> Bool in i % 3 == 0 && i % 10 != 0 }
            let withTTFT = Double(ttftSpans.count)
            #expect(value(text, "gen_ai_server_time_to_first_token_seconds_count" + ok) == withTTFT)
            #expect(value(text, #"llmtrace_tokens_total{project="chat",service="chat",model="gpt-4o",kind="llm",status="ok",type="input"}"#) == 2700)
            #expect(value(text, #"gen_ai_client_token_usage_count{project="chat",service="chat",model="gpt-4o",kind="llm",status="ok",gen_ai_token_type="output"}"#) == 27)
            #expect(value(text, "llmtrace_cost_usd_total" + ok) == 13.5)
            #expect(value(text, #"llmtrace_scores_total{project="chat",name="thumbs",source="user"}"#) == 1)
            #expect(value(text, #"llmtrace_score_values_summed{project="chat",name="thumbs",source="user"}"#) == 0.75)
            // Collector-wide health, shown to every key.
            #expect(value(text, #"llmtrace_spans_accepted_total{route="/v1/spans"}"#) == 42)
            #expect(value(text, #"llmtrace_spans_rejected_total{route="/v1/spans",reason="invalid_id"}"#) == 1)
            #expect(value(text, "llmtrace_head_spans") == 42)
            #expect(value(text, #"llmtrace_build_info{version="\#(CollectorMetrics.version)"}"#) == 1)
            #expect((value(text, "process_resident_memory_bytes") ?? 0) > 1_000_000)
            // The other project's series are not in chat's scrape, and are in billing's.
            #expect(!text.contains("billing"))
            let b = String(decoding: call(c, "GET", "/metrics", key: Self.keys["billing"]!.read).body, as: UTF8.self)
            #expect(value(b, #"llmtrace_spans_total{project="billing",service="billing",model="claude-3-5-sonnet",kind="llm",status="ok"}"#) == 12)
            #expect(!b.contains(#"project="chat""#))
            // Keys: none is 401, an ingest key 403.
            #expect(call(c, "GET", "/metrics", key: nil).status == 401)
            #expect(call(c, "GET", "/metrics", key: Self.keys["chat"]!.ingest).status == 403)
            #expect(call(c, "POST", "/metrics", key: Self.keys["chat"]!.read).status == 405)
        }
    }

    @Test func runawayLabelsAreFolded() throws {
        try withCollector(maxSeries: 5) { c in
            let spans = (0..<40).map { span($0, model: "model-\($0)") }
            #expect(call(c, "POST", "/v1/spans", "[" + spans.joined(separator: ",") + "]", key: Self.keys["chat"]!.ingest).status == 200)
            #expect(c.metrics.spans.seriesCount == 5)
            #expect(c.metrics.spans.value(["__overflow__", "__overflow__", "__overflow__", "__overflow__", "__overflow__"]) == 36)
            let text = String(decoding: c.metrics.registry.render(), as: UTF8.self)
            #expect(value(text, #"llmtrace_metrics_series_folded_total{metric="llmtrace_spans_total"}"#) == 36)
        }
    }

    /// A 1 MB service name is stored as sent, but its label value is cut: every scrape stays small.
    @Test func labelValuesAreBounded() throws {
        try withCollector { c in
            let huge = String(repeating: "é", count: 500_000)  // 1 MB of UTF-8, 2 bytes a character
            #expect(call(c, "POST", "/v1/spans", "[" + span(1, model: "m", service: huge) + "," + span(2, model: "m", service: huge + "x") + "]",
                         key: Self.keys["chat"]!.ingest).status == 200)
            let text = String(decoding: c.metrics.registry.render(), as: UTF8.self)
            #expect(text.utf8.count < 200_000, "scrape of \(text.utf8.count) bytes")
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("llmtrace_spans_total{") && $0.contains("éé") })
            #expect(line.contains("é…\""), "cut at a character boundary, marked: \(line.prefix(80))")
            #expect(line.hasSuffix(" 2"), "the two names share the bounded series: \(line.suffix(20))")
            #expect(LabelValue.bounded(huge).utf8.count <= LabelValue.maxBytes)
            #expect(LabelValue.bounded("short") == "short")
        }
    }

    @Test func rejectionReasonsAreAFixedSet() throws {
        try withCollector { c in
            let good = span(1, model: "m")
            let badEnd = #"{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00000000000000aa", "name": "x", "start_ns": 10, "end_ns": 5}"#
            let unknown = #"{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00000000000000ab", "name": "x", "start_ns": 1, "end_ns": 5, "my_trace_id": 1}"#
            #expect(call(c, "POST", "/v1/spans", "[" + [good, badEnd, unknown].joined(separator: ",") + "]", key: Self.keys["chat"]!.ingest).status == 200)
            #expect(c.metrics.rejected.value(["/v1/spans", "invalid_time"]) == 1)
            #expect(c.metrics.rejected.value(["/v1/spans", "unknown_field"]) == 1)
            #expect(c.metrics.accepted.value(["/v1/spans"]) == 1)
        }
        #expect(Set(SpanRejection.Kind.allCases.map(\.rawValue)) == ["invalid_id", "invalid_time", "attributes", "unknown_field", "invalid_span"])
    }

    @Test func routesAreBoundedLabels() {
        #expect(CollectorMetrics.route("/v1/traces") == "/v1/traces")
        #expect(CollectorMetrics.route("/api/traces/4bf92f3577b34da6a3ce929d0e0e4736") == "/api/traces/{id}")
        #expect(CollectorMetrics.route("/api/traces?service=chat") == "/api/traces")
        #expect(CollectorMetrics.route("/wp-admin/../../etc/passwd") == "other")
    }
}
