import Foundation
import Testing
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceStore
@testable import LLMTraceCollector
import LLMTraceIngest
import LLMTraceOTLP
import LLMTraceQuery
import LLMTraceSynthetic

/// `POST /api/query` and `GET /api/traces/{id}` through the collector, with two projects' keys.
@Suite struct QueryRoutesTests {
    static let keys = [
        "chat": (ingest: "lt_ingest_chat_0123456789", read: "lt_read_chat_0123456789ab"),
        "billing": (ingest: "lt_ingest_bill_0123456789", read: "lt_read_bill_0123456789ab"),
    ]

    /// A collector over a fresh store, with the two projects' keys (`keys: false`: none).
    func withCollector(keys: Bool = true, options: Collector.Options = Collector.Options(), _ body: (Collector, Store) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "llmtrace-queryroutes-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var opts = StoreOptions(directory: dir)
        opts.backgroundSealing = false
        opts.log = { _, _ in }
        let store = try Store.open(opts)
        defer { try? store.close() }
        let ring = KeyRing(projects: keys ? Self.keys.map { KeyRing.Project(name: $0.key, ingestKeys: [$0.value.ingest], readKeys: [$0.value.read]) } : [])
        try body(Collector(store: store, keys: ring, conventions: .builtIn(), pricing: .builtIn(), options: options), store)
    }

    func request(_ c: Collector, _ method: String, _ path: String, _ body: String = "", type: String = "application/json", key: String?) -> (Int, JSONValue?) {
        var h: [(name: String, value: String)] = [("content-type", type)]
        if let key { h.append(("authorization", "Bearer " + key)) }
        let r = c.handle(HTTPRequest(method: method, target: path, headers: h, body: Array(body.utf8)))
        return (r.status, try? JSONValue.parse(r.body))
    }

    func span(trace: String, id: Int, model: String, duration: Int64) -> String {
        let start: Int64 = 1_700_000_000_000_000_000 + Int64(id) * 1_000_000
        return #"{"trace_id": "\#(trace)", "span_id": "\#(String(format: "%016x", id))", "name": "chat", "kind": "llm", "start_ns": \#(start), "end_ns": \#(start + duration), "request_model": "\#(model)", "input_tokens": 100, "output_tokens": 10}"#
    }

    func ingest(_ c: Collector, _ project: String, trace: String, count: Int, model: String) {
        let spans = (1...count).map { span(trace: trace, id: $0, model: model, duration: Int64($0) * 1_000_000) }
        let (status, _) = request(c, "POST", "/v1/spans", "[" + spans.joined(separator: ",") + "]", key: Self.keys[project]!.ingest)
        #expect(status == 200)
    }

    static let chatTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let billTrace = "0af7651916cd43dd8448eb211c80319c"

    @Test func readKeysSeeOnlyTheirProject() throws {
        try withCollector { (c: Collector, store: Store) throws in
            ingest(c, "chat", trace: Self.chatTrace, count: 30, model: "gpt-4o")
            _ = try store.sealNow()
            ingest(c, "billing", trace: Self.billTrace, count: 12, model: "claude-3-5-sonnet")
            let q = #"{"query": "SELECT project, model, count(), max(duration_ms) FROM spans GROUP BY project, model"}"#
            let (s1, chat) = request(c, "POST", "/api/query", q, key: Self.keys["chat"]!.read)
            #expect(s1 == 200)
            #expect(chat?["columns"]?.array?.map { $0["name"]?.string } == ["project", "model", "count()", "max(duration_ms)"])
            #expect(chat?["rows"]?.array?.count == 1)
            #expect(chat?["rows"]?.array?.first?.array?.map(\.jsonString) == [#""chat""#, #""gpt-4o""#, "30", "30.0"])
            let (_, bill) = request(c, "POST", "/api/query", q, key: Self.keys["billing"]!.read)
            #expect(bill?["rows"]?.array?.first?.array?.map(\.jsonString) == [#""billing""#, #""claude-3-5-sonnet""#, "12", "12.0"])
            // A read key learns nothing of the store beyond its project: no scan or segment counts.
            for k in ["rows_scanned", "segments_read", "segments_pruned", "head_rows"] { #expect(bill?["stats"]?[k] == nil, "\(k)") }
            #expect(bill?["stats"]?["elapsed_ms"] != nil && bill?["stats"]?["truncated"] != nil)
            // Naming the other project does not reach it.
            let (_, sneaky) = request(c, "POST", "/api/query", #"{"query": "SELECT count() FROM spans WHERE project = 'chat' OR project != 'x'", "project": "chat"}"#, key: Self.keys["billing"]!.read)
            #expect(sneaky?["rows"]?.array?.first?.array?.first?.int == 12)
            // curl -d's default content type is read as JSON.
            let (s3, form) = request(c, "POST", "/api/query", #"{"query": "SELECT count() FROM spans"}"#, type: "application/x-www-form-urlencoded", key: Self.keys["chat"]!.read)
            #expect(s3 == 200)
            #expect(form?["rows"]?.array?.first?.array?.first?.int == 30)
            // Plain-text SQL works too.
            let (s2, text) = request(c, "POST", "/api/query", "SELECT count() FROM spans", type: "text/plain", key: Self.keys["chat"]!.read)
            #expect(s2 == 200)
            #expect(text?["rows"]?.array?.first?.array?.first?.int == 30)
            // Traces: only the owner finds them.
            #expect(request(c, "GET", "/api/traces/" + Self.chatTrace, key: Self.keys["chat"]!.read).1?["span_count"]?.int == 30)
            #expect(request(c, "GET", "/api/traces/" + Self.chatTrace, key: Self.keys["billing"]!.read).0 == 404)
            #expect(request(c, "GET", "/api/traces/" + Self.billTrace, key: Self.keys["billing"]!.read).1?["spans"]?.array?.count == 12)
            // A unique prefix of 8+ digits finds the trace (within the key's project); one naming
            // several traces is a 409 listing them.
            #expect(request(c, "GET", "/api/traces/4bf92f35", key: Self.keys["chat"]!.read).1?["span_count"]?.int == 30)
            #expect(request(c, "GET", "/api/traces/4bf92f35", key: Self.keys["billing"]!.read).0 == 404)
            ingest(c, "chat", trace: "4bf92f35ffffffffffffffffffffffff", count: 1, model: "gpt-4o")
            let (s409, amb) = request(c, "GET", "/api/traces/4BF92F35", key: Self.keys["chat"]!.read)
            #expect(s409 == 409 && amb?["error"]?.string?.contains(Self.chatTrace) == true, "\(String(describing: amb))")
            #expect(request(c, "GET", "/api/traces/4bf92f3577", key: Self.keys["chat"]!.read).1?["trace_id"]?.string == Self.chatTrace)
            #expect(request(c, "GET", "/api/traces/4bf92f3", key: Self.keys["chat"]!.read).0 == 400, "7 digits are too few")
            // Scores come with the trace.
            let score = #"{"trace_id": "\#(Self.chatTrace)", "name": "helpful", "value": true}"#
            #expect(request(c, "POST", "/v1/scores", score, key: Self.keys["chat"]!.ingest).0 == 200)
            let withScores = request(c, "GET", "/api/traces/" + Self.chatTrace, key: Self.keys["chat"]!.read).1
            #expect(withScores?["scores"]?.array?.map { $0["name"]?.string } == ["helpful"])
        }
    }

    /// The status comes from the error's kind, not its text: a query past its time limit is a 503
    /// with Retry-After, a wrong one a 400.
    @Test func queryErrorsCarryTheirStatus() throws {
        var options = Collector.Options()
        options.queryTimeoutNanos = 1
        try withCollector(keys: false, options: options) { (c: Collector, store: Store) throws in
            for k in 0..<4 {
                ingest(c, "chat", trace: String(format: "%032x", k + 1), count: 20, model: "gpt-4o")
                _ = try store.sealNow()
            }
            let slow = c.handle(HTTPRequest(method: "POST", target: "/api/query", headers: [("content-type", "text/plain")], body: Array("SELECT model, count() FROM spans GROUP BY model".utf8)))
            #expect(slow.status == 503, "\(String(decoding: slow.body, as: UTF8.self))")
            #expect(slow.headers.contains { $0.0 == "retry-after" })
            let bad = c.handle(HTTPRequest(method: "POST", target: "/api/query", headers: [("content-type", "text/plain")], body: Array("SELECT nope FROM spans".utf8)))
            #expect(bad.status == 400)
        }
        #expect(QueryError("x", kind: .timeLimit).httpStatus == 503 && QueryError("x").httpStatus == 400)
    }

    /// A query past the collector's --query-memory is a 400 that says so; within it the stats
    /// report what it held.
    @Test func aQueryPastItsMemoryBudgetIsRefusedWithTheReason() throws {
        var options = Collector.Options()
        options.queryMemoryBytes = 16 << 10
        try withCollector(keys: false, options: options) { (c: Collector, store: Store) throws in
            ingest(c, "chat", trace: String(format: "%032x", 7), count: 300, model: "gpt-4o")
            _ = try store.sealNow()
            func post(_ sql: String) -> (Int, String) {
                let r = c.handle(HTTPRequest(method: "POST", target: "/api/query", headers: [("content-type", "text/plain")], body: Array(sql.utf8)))
                return (r.status, String(decoding: r.body, as: UTF8.self))
            }
            let (wide, why) = post("SELECT span_id, p95(duration_ms) FROM spans GROUP BY span_id")
            #expect(wide == 400)
            #expect(why.contains("memory budget of 16 KiB"), "\(why)")
            let (small, body) = post("SELECT model, count() FROM spans GROUP BY model")
            #expect(small == 200)
            #expect(body.contains("\"memory_bytes\":"))
        }
    }

    @Test func traceAndScoreTablesAreConfinedToo() throws {
        try withCollector { (c: Collector, store: Store) throws in
            ingest(c, "chat", trace: Self.chatTrace, count: 5, model: "gpt-4o")
            ingest(c, "billing", trace: Self.billTrace, count: 3, model: "gpt-4o")
            // The billing project sends spans under chat's trace id: they are billing's trace, not chat's.
            let intruder = span(trace: Self.chatTrace, id: 99, model: "gpt-4o", duration: 1_000_000)
            #expect(request(c, "POST", "/v1/spans", "[" + intruder + "]", key: Self.keys["billing"]!.ingest).0 == 200)
            for (project, trace) in [("chat", Self.chatTrace), ("billing", Self.billTrace)] {
                let score = #"{"trace_id": "\#(trace)", "name": "thumbs", "value": true}"#
                #expect(request(c, "POST", "/v1/scores", score, key: Self.keys[project]!.ingest).0 == 200)
            }
            let q = #"{"query": "SELECT trace_id, spans, total_tokens FROM traces ORDER BY trace_id"}"#
            let (s1, chat) = request(c, "POST", "/api/query", q, key: Self.keys["chat"]!.read)
            #expect(s1 == 200)
            #expect(chat?["rows"]?.array?.map { $0.array!.map(\.jsonString) } == [[#""\#(Self.chatTrace)""#, "5", "550"]])
            let (_, bill) = request(c, "POST", "/api/query", q, key: Self.keys["billing"]!.read)
            #expect(bill?["rows"]?.array?.map { $0.array!.map(\.jsonString) } == [[#""\#(Self.billTrace)""#, "3", "330"], [#""\#(Self.chatTrace)""#, "1", "110"]])
            let sq = #"{"query": "SELECT project, trace_id, name, value FROM scores"}"#
            let (s2, scores) = request(c, "POST", "/api/query", sq, key: Self.keys["chat"]!.read)
            #expect(s2 == 200)
            #expect(scores?["rows"]?.array?.map { $0.array!.map(\.jsonString) } == [[#""chat""#, #""\#(Self.chatTrace)""#, #""thumbs""#, "1.0"]])
        }
    }

    /// Traces of 1–4 spans over several services, some failing, some in sessions; half sealed.
    func ingestTraces(_ c: Collector, _ store: Store, project: String, count: Int, seed: UInt64) throws -> [(id: String, spans: [String], service: String, slow: Bool, error: Bool, session: String?, latest: Int64)] {
        var rng = seed
        func next() -> UInt64 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return rng >> 33 }
        var out: [(id: String, spans: [String], service: String, slow: Bool, error: Bool, session: String?, latest: Int64)] = []
        var lines: [String] = []
        for t in 0..<count {
            let id = String(format: "%016llx%016llx", next(), next() | 1)
            let service = ["chat", "search", "billing"][Int(next() % 3)]
            let n = 1 + Int(next() % 4)
            let base: Int64 = 1_700_000_000_000_000_000 + Int64(t) * 5_000_000_000 + Int64(next() % 1000)
            let session: String? = next() % 3 == 0 ? "s-\(next() % 4)" : nil
            var slow = false, error = false, latest: Int64 = 0
            var spans: [String] = []
            for k in 0..<n {
                let start = base + Int64(k) * 1_000_000
                let dur = Int64(next() % 3000) * 1_000_000
                let status = next() % 5 == 0 ? "error" : "ok"
                slow = slow || dur >= 2_000_000_000
                error = error || status == "error"
                latest = max(latest, start)
                let parent = k == 0 ? "" : #", "parent_span_id": "\#(String(format: "%016llx", t * 10 + 1))""#
                let sess = session.map { #", "session_id": "\#($0)""# } ?? ""
                let line = #"{"trace_id": "\#(id)", "span_id": "\#(String(format: "%016llx", t * 10 + k + 1))"\#(parent), "service": "\#(service)", "name": "step\#(k)", "kind": "llm", "start_ns": \#(start), "end_ns": \#(start + dur), "status": "\#(status)", "request_model": "gpt-4o", "input_tokens": 10, "output_tokens": 2\#(sess)}"#
                spans.append(line)
                lines.append(line)
            }
            out.append((id, spans, service, slow, error, session, latest))
            if t == count / 2 {
                #expect(request(c, "POST", "/v1/spans", "[" + lines.joined(separator: ",") + "]", key: Self.keys[project]!.ingest).0 == 200)
                lines = []
                _ = try store.sealNow()
            }
        }
        #expect(request(c, "POST", "/v1/spans", "[" + lines.joined(separator: ",") + "]", key: Self.keys[project]!.ingest).0 == 200)
        return out
    }

    @Test func traceSearchPagesThroughEveryMatchOnce() throws {
        try withCollector { (c: Collector, store: Store) throws in
            let traces = try ingestTraces(c, store, project: "chat", count: 60, seed: 1)
            _ = try ingestTraces(c, store, project: "billing", count: 20, seed: 2)
            let read = Self.keys["chat"]!.read
            for (filter, want) in [("service=chat", traces.filter { $0.service == "chat" }),
                                   ("status=error", traces.filter(\.error)),
                                   ("min_duration_ms=2000&service=search", traces.filter { $0.slow && $0.service == "search" }),
                                   ("", traces)] {
                var seen: [String] = []
                var cursor: String? = nil
                var pages = 0
                repeat {
                    let path = "/api/traces?limit=7&" + filter + (cursor.map { "&cursor=" + $0 } ?? "")
                    let (status, doc) = request(c, "GET", path, key: read)
                    #expect(status == 200, "\(path): \(String(describing: doc))")
                    seen += doc?["traces"]?.array?.compactMap { $0["trace_id"]?.string } ?? []
                    cursor = doc?["next_cursor"]?.string
                    pages += 1
                } while cursor != nil && pages < 50
                let expected = want.sorted { ($0.latest, $0.id) > ($1.latest, $1.id) }.map(\.id)
                #expect(seen == expected, "\(filter): \(seen.count) traces, want \(expected.count)")
            }
            let (_, one) = request(c, "GET", "/api/traces?limit=1&status=error", key: read)
            let first = try #require(one?["traces"]?.array?.first)
            let t = try #require(traces.first { $0.id == first["trace_id"]?.string })
            #expect(first["span_count"]?.int == Int64(t.spans.count))
            #expect(first["input_tokens"]?.int == Int64(10 * t.spans.count))
            #expect(first["name"]?.string == "step0")
            // Sessions: every trace of the session, oldest first, only within the key's project.
            let sessions = Set(traces.compactMap(\.session))
            let sid = try #require(sessions.sorted().first)
            let (ss, sdoc) = request(c, "GET", "/api/sessions/" + sid, key: read)
            #expect(ss == 200)
            #expect(sdoc?["traces"]?.array?.compactMap { $0["trace_id"]?.string } == traces.filter { $0.session == sid }.map(\.id))
            #expect(request(c, "GET", "/api/sessions/nope", key: read).0 == 404)
            #expect(request(c, "GET", "/api/traces?colour=red", key: read).0 == 400)
            #expect(request(c, "GET", "/api/traces?limit=0", key: read).0 == 400)
            #expect(request(c, "GET", "/api/traces?since=yesterday", key: read).0 == 400)
            #expect(request(c, "GET", "/api/traces?cursor=garbage", key: read).0 == 400)
            #expect(request(c, "GET", "/api/traces?text=refund%20AND", key: read).0 == 400)
            // The billing key sees none of chat's traces.
            let (_, bill) = request(c, "GET", "/api/traces?limit=1000", key: Self.keys["billing"]!.read)
            #expect(bill?["traces"]?.array?.count == 20)
        }
    }

    @Test func tailLongPollsForNewSpans() throws {
        try withCollector { (c: Collector, store: Store) throws in
            let read = Self.keys["chat"]!.read
            let (s0, first) = request(c, "GET", "/api/tail", key: read)
            #expect(s0 == 200)
            let start = try #require(first?["next"]?.int)
            ingest(c, "chat", trace: Self.chatTrace, count: 30, model: "gpt-4o")
            ingest(c, "billing", trace: Self.billTrace, count: 12, model: "claude-3-5-sonnet")
            let (_, all) = request(c, "GET", "/api/tail?wait_ms=0&after=\(start)", key: read)
            #expect(all?["spans"]?.array?.count == 30)
            #expect(all?["spans"]?.array?.allSatisfy { $0["project"]?.string == "chat" } == true)
            // Positions count the key's project only: billing's 12 spans do not show.
            #expect(start == 0 && all?["next"]?.int == 30)
            #expect(request(c, "GET", "/api/tail", key: Self.keys["billing"]!.read).1?["next"]?.int == 12)
            let (_, billAll) = request(c, "GET", "/api/tail?wait_ms=0&after=0", key: Self.keys["billing"]!.read)
            #expect(billAll?["spans"]?.array?.count == 12 && billAll?["next"]?.int == 12)
            let (_, page) = request(c, "GET", "/api/tail?wait_ms=0&limit=10&after=\(start)", key: read)
            #expect(page?["spans"]?.array?.count == 10)
            #expect(page?["next"]?.int == start + 10)
            let (_, slow) = request(c, "GET", "/api/tail?wait_ms=0&min_duration_ms=25&after=\(start)", key: read)
            #expect(slow?["spans"]?.array?.count == 6)
            // A waiting reader wakes when spans arrive, well before its wait is over.
            let next = try #require(all?["next"]?.int)
            let t0 = Date()
            // (A new trace: the same ids again would be re-sends, stored and shown once.)
            Thread { Thread.sleep(forTimeInterval: 0.3); self.ingest(c, "chat", trace: "5bf92f3577b34da6a3ce929d0e0e4736", count: 2, model: "gpt-4o") }.start()
            let (_, woke) = request(c, "GET", "/api/tail?wait_ms=10000&after=\(next)", key: read)
            #expect(woke?["spans"]?.array?.count ?? 0 >= 1)
            #expect(Date().timeIntervalSince(t0) < 5)
            #expect(request(c, "GET", "/api/tail?after=x", key: read).0 == 400)
            #expect(request(c, "GET", "/api/tail?wait_ms=99999&after=0", key: read).0 == 400)
        }
    }

    @Test func traceSearchByText() throws {
        try withCollector { (c: Collector, store: Store) throws in
            func span(_ trace: Int, _ k: Int, _ text: String) -> String {
                let start: Int64 = 1_700_000_000_000_000_000 + Int64(trace * 10 + k) * 1_000_000
                return #"{"trace_id": "\#(String(format: "%032x", trace + 1))", "span_id": "\#(String(format: "%016x", trace * 10 + k + 1))", "name": "chat", "kind": "llm", "start_ns": \#(start), "end_ns": \#(start + 1000), "input_messages": [{"role": "user", "content": "\#(text)"}]}"#
            }
            let texts = ["how do I get a refund", "reset my password please", "refund policy for damaged items", "weather today"]
            var spans: [String] = []
            for t in 0..<8 { spans.append(span(t, 0, texts[t % 4])); spans.append(span(t, 1, "thanks")) }
            #expect(request(c, "POST", "/v1/spans", "[" + spans.joined(separator: ",") + "]", key: Self.keys["chat"]!.ingest).0 == 200)
            _ = try store.sealNow()
            _ = try store.indexPendingTexts()
            let read = Self.keys["chat"]!.read
            let (s1, refund) = request(c, "GET", "/api/traces?text=refund", key: read)
            #expect(s1 == 200)
            #expect(Set(refund?["traces"]?.array?.compactMap { $0["trace_id"]?.string } ?? []) == Set([0, 2, 4, 6].map { String(format: "%032x", $0 + 1) }))
            let (_, policy) = request(c, "GET", "/api/traces?text=refund%20policy", key: read)
            #expect(Set(policy?["traces"]?.array?.compactMap { $0["trace_id"]?.string } ?? []) == Set([2, 6].map { String(format: "%032x", $0 + 1) }))
            let (_, billing) = request(c, "GET", "/api/traces?text=refund", key: Self.keys["billing"]!.read)
            #expect(billing?["traces"]?.array?.count == 0)
        }
    }

    @Test func liveBufferCountsWhatItDropped() {
        let live = LiveSpans(capacity: 5)
        live.stored((1...12).map { Span(traceID: TraceID(hi: 1, lo: 1), spanID: SpanID(UInt64($0)), name: "s\($0)", startNanos: 0, endNanos: 1) })
        let r = live.read(after: 0, limit: 100, waitNanos: 0) { _ in true }
        #expect(r.missed == 7)
        #expect(r.spans.map(\.spanID.value) == [8, 9, 10, 11, 12])
        #expect(r.next == 12)
        #expect(live.read(after: 12, limit: 100, waitNanos: 0) { _ in true }.spans.isEmpty)
    }

    /// The buffer keeps every field but the arrays (messages, documents, attributes, events,
    /// tags), and numbers spans within their project across batches that mix projects.
    @Test func liveBufferKeepsTheFixedFields() {
        let live = LiveSpans(capacity: 10)
        let full = SampleSpans.full(3)
        var other = SampleSpans.full(4)
        other.project = "proj-b"
        live.stored([full, other, full])
        live.stored([other])
        var expected = full
        expected.inputMessages = []; expected.outputMessages = []; expected.documents = []
        expected.attributes = []; expected.events = []; expected.tags = []
        let got = live.read(after: 0, limit: 10, waitNanos: 0) { _ in true }.spans
        #expect(got.count == 4)
        #expect(got.first == expected)
        // Every field that is not an array is set in the sample, so a field added to Span and
        // not copied by the buffer fails here.
        for child in Mirror(reflecting: full).children {
            let description = String(describing: child.value)
            #expect(description != "nil", "SampleSpans.full leaves \(child.label ?? "?") unset")
        }
        #expect(live.read(project: "proj-a", after: 0, limit: 10, waitNanos: 0) { _ in true }.next == 2)
        let b = live.read(project: "proj-b", after: 0, limit: 10, waitNanos: 0) { _ in true }
        #expect(b.next == 2)
        #expect(b.spans.map(\.project) == ["proj-b", "proj-b"])
        #expect(live.latest(project: "proj-b") == 2)
        #expect(live.latest == 4)
    }

    @Test func errorsAreClear() throws {
        try withCollector { (c: Collector, _: Store) throws in
            let read = Self.keys["chat"]!.read
            let (s, e) = request(c, "POST", "/api/query", #"{"query": "SELECT count() FROM spans WHERE modle = 'x'"}"#, key: read)
            #expect(s == 400)
            #expect(e?["position"]?.int == 33)
            #expect(e?["error"]?.string?.contains("unknown column 'modle'") == true)
            #expect(request(c, "POST", "/api/query", #"{"query": "SELECT count() FROM spans"}"#, key: nil).0 == 401)
            #expect(request(c, "POST", "/api/query", #"{"query": "SELECT count() FROM spans"}"#, key: Self.keys["chat"]!.ingest).0 == 403)
            #expect(request(c, "POST", "/api/query", #"{"sql": "SELECT 1"}"#, key: read).0 == 400)
            #expect(request(c, "POST", "/api/query", "not json", key: read).0 == 400)
            #expect(request(c, "POST", "/api/query", "x", type: "application/xml", key: read).0 == 415)
            #expect(request(c, "GET", "/api/query", key: read).0 == 405)
            #expect(request(c, "GET", "/api/traces/nothex", key: read).0 == 400)
            #expect(request(c, "GET", "/api/traces/" + Self.chatTrace, key: read).0 == 404)
        }
    }
}
