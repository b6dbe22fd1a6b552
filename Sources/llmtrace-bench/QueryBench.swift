import CSQLite
import Foundation
import LLMTraceCLI
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore
import LLMTraceSynthetic

/// `llmtrace-bench query`: the query engine against the same spans in a SQLite row table.
enum QueryBench {
    /// The query set, ours: `hourAgo` and `dayAgo` are expressions (a time in nanoseconds here;
    /// `now() - 1h` for `llmtrace-bench ingest --query-loop` against a live collector).
    static func queries(hourAgo: String, dayAgo: String) -> [(name: String, sql: String)] {
        [
            ("count_by_model", "SELECT model, count() FROM spans GROUP BY model"),
            ("p95_duration_by_model_last_hour", "SELECT model, p95(duration_ms), count() FROM spans WHERE start > \(hourAgo) GROUP BY model"),
            ("cost_per_service_per_minute_day", "SELECT service, bucket(start, 1m) AS minute, sum(cost_usd) FROM spans WHERE start > \(dayAgo) GROUP BY service, minute"),
            ("text_match_by_service", "SELECT service, count() FROM spans WHERE text MATCH 'refund policy' GROUP BY service"),
            ("traces_by_service_last_hour", "SELECT service, count(), p95(duration_ms), sum(cost_usd), sum(errors) FROM traces WHERE start > \(hourAgo) GROUP BY service"),
            ("attr_by_db_system_last_hour", "SELECT attr['db.system'], count(), avg(attr['retrieval.top_k']) FROM spans WHERE start > \(hourAgo) AND kind = 'retrieval' GROUP BY 1"),
            ("errors_tokens_by_service_kind", "SELECT service, kind, count(), sum(total_tokens), avg(duration_ms) FROM spans WHERE status = 'error' OR duration_ms > 2000 GROUP BY service, kind"),
        ]
    }

    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["spans", "dir", "runs", "lookups", "threads", "only"], flags: ["no-text", "keep", "reuse", "help", "skip-sqlite", "skip-duckdb"])
        if a.has("help") { Terminal.print(BenchMain.usage); return }
        let total = try a.int("spans", default: 1_000_000)
        let runs = max(3, try a.int("runs", default: 20))
        let lookups = try a.int("lookups", default: 500)
        var withText = !a.has("no-text")
        let dir = a.value("dir") ?? (NSTemporaryDirectory() + "llmtrace-qbench-\(getpid())")
        let sqlitePath = dir + "/compare.sqlite"
        let reuse = a.has("reuse") && FileManager.default.fileExists(atPath: sqlitePath)
        if !reuse { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)

        var opts = StoreOptions(directory: dir + "/store")
        opts.fsync = .always
        opts.log = { _, _ in }
        if reuse {
            // A directory loaded before postings files existed: write them once (what a running
            // collector's indexer thread does by itself), so text matches read them.
            var w = opts
            w.backgroundSealing = false
            let s = try Store.open(w)
            var n = 0
            while try s.writeMissingPostings() { n += 1 }
            try s.close()
            if n > 0 { Terminal.error("wrote the postings files of \(n) segments") }
            opts.readOnly = true
        }
        var store = try Store.open(opts)
        if reuse, let had = SQLiteTable.hasText(path: sqlitePath), had != withText {
            // The table keeps the form it was loaded with (--no-text or not).
            Terminal.error("--reuse: the SQLite table in \(dir) was loaded \(had ? "with" : "without") text; using it as it is")
            withText = had
        }
        let sqlite = try SQLiteTable(path: sqlitePath, withText: withText)
        if !reuse {
            Terminal.error("loading \(total) synthetic spans into the store and into SQLite (text in SQLite: \(withText))…")
            let t0 = monotonicNanos()
            var load = WriterLoad(writer: 0, spans: total, batchSize: 4096)
            try sqlite.begin()
            var n = 0
            while let batch = load.next() {
                try store.append(batch)
                try sqlite.insert(batch)
                n += batch.count
                if n % 500_000 < batch.count { Terminal.error("  \(n) spans, \(String(format: "%.0f", Double(monotonicNanos() - t0) / 1e9)) s") }
            }
            try sqlite.commit()
            try store.sealNow()
            Terminal.error("full-text indexing the segments…")
            let tf = monotonicNanos()
            _ = try store.indexPendingTexts()
            Terminal.error("  text index caught up in \(String(format: "%.1f", Double(monotonicNanos() - tf) / 1e9)) s")
            try sqlite.exec("CREATE INDEX spans_trace ON spans(trace_id)")
            try sqlite.exec("ANALYZE")
            Terminal.error("loaded in \(String(format: "%.1f", Double(monotonicNanos() - t0) / 1e9)) s")
        }
        // Queries run on a read-only open, as tracectl's do: a writable store would have its
        // full-text indexer catching up on the loaded segments, using a core the queries need.
        if !reuse {
            try store.close(seal: true)
            opts.readOnly = true
            store = try Store.open(opts)
        }
        let snapshot = store.scanSnapshot()
        let rows = snapshot.segments.reduce(0) { $0 + $1.rowCount } + snapshot.headRows.count
        guard let maxStart = snapshot.segments.map(\.maxStart).max(), let minStart = snapshot.segments.map(\.minStart).min() else {
            throw UsageError("the store is empty")
        }
        Terminal.error("\(rows) spans in \(snapshot.segments.count) segments, \(String(format: "%.1f", Double(maxStart - minStart) / 3.6e12)) h of data")

        QueryEngine.tuneAllocatorForScans()
        let engine = QueryEngine(store: store)
        var limits = QueryEngine.Limits()
        if let t = a.value("threads") { limits.threads = Int(t) ?? limits.threads }
        let hourAgo = maxStart - 3_600_000_000_000
        let dayAgo = maxStart - 86_400_000_000_000
        /// `sqlite`: the same question on the row table; "" for the text match (FTS5 alone is its
        /// reference); nil where the row table has no counterpart (span attributes).
        /// `duckdb`: the question in DuckDB's SQL over the same columns (nil where it has none).
        struct Case { var name: String; var ours: String; var sqlite: String?; var duckdb: String? = nil }
        let ours = Dictionary(uniqueKeysWithValues: Self.queries(hourAgo: "\(hourAgo)", dayAgo: "\(dayAgo)").map { ($0.name, $0.sql) })
        let cases = [
            Case(name: "count_by_model", ours: ours["count_by_model"]!,
                 sqlite: "SELECT model, count(*) FROM spans GROUP BY model",
                 duckdb: "SELECT model, count(*) FROM spans GROUP BY model"),
            Case(name: "p95_duration_by_model_last_hour", ours: ours["p95_duration_by_model_last_hour"]!,
                 sqlite: "SELECT model, duration_ms FROM spans WHERE start > \(hourAgo) ORDER BY model, duration_ms",
                 duckdb: "SELECT model, quantile_disc(duration_ms, 0.95), count(*) FROM spans WHERE start > \(hourAgo) GROUP BY model"),
            Case(name: "cost_per_service_per_minute_day", ours: ours["cost_per_service_per_minute_day"]!,
                 sqlite: "SELECT service, (start / 60000000000) * 60000000000 AS minute, sum(cost_usd) FROM spans WHERE start > \(dayAgo) GROUP BY service, minute",
                 duckdb: "SELECT service, (start // 60000000000) * 60000000000 AS minute, sum(cost_usd) FROM spans WHERE start > \(dayAgo) GROUP BY service, minute"),
            Case(name: "text_match_by_service", ours: ours["text_match_by_service"]!,
                 sqlite: ""),
            Case(name: "traces_by_service_last_hour",
                 ours: ours["traces_by_service_last_hour"]!,
                 sqlite: "SELECT service, count(*), sum(cost), sum(errs) FROM (SELECT trace_id, min(service) AS service, min(start) AS st, sum(cost_usd) AS cost, sum(status = 'error') AS errs FROM spans WHERE start > \(hourAgo - 3_600_000_000_000) GROUP BY trace_id) WHERE st > \(hourAgo) GROUP BY service",
                 duckdb: "SELECT service, count(*), quantile_disc(dur, 0.95), sum(cost), sum(errs) FROM (SELECT trace_id, arg_min(service, start) AS service, min(start) AS st, (max(start + duration_ms * 1000000) - min(start)) / 1000000 AS dur, sum(cost_usd) AS cost, count_if(status = 'error') AS errs FROM spans WHERE start > \(hourAgo - 3_600_000_000_000) GROUP BY trace_id) WHERE st > \(hourAgo) GROUP BY service"),
            Case(name: "attr_by_db_system_last_hour",
                 ours: ours["attr_by_db_system_last_hour"]!,
                 sqlite: nil),
            Case(name: "errors_tokens_by_service_kind", ours: ours["errors_tokens_by_service_kind"]!,
                 sqlite: "SELECT service, kind, count(*), sum(total_tokens), avg(duration_ms) FROM spans WHERE status = 'error' OR duration_ms > 2000 GROUP BY service, kind",
                 duckdb: "SELECT service, kind, count(*), sum(total_tokens), avg(duration_ms) FROM spans WHERE status = 'error' OR duration_ms > 2000 GROUP BY service, kind"),
        ]

        // Our queries first, then the trace lookups, then SQLite: its full scans of the row table
        // in this process slowed the lookups measured after them (cold p99 1.8 ms -> 5.7 ms at 10M
        // spans), which says something about this process, not about either store.
        struct Measured { var c: Case; var p50, p99, first, warmP99: Double; var scanned, rows: Int }
        var measured: [Measured] = []
        var failures: [(String, String)] = []
        for c in cases where a.value("only").map({ c.name.hasPrefix($0) }) ?? true {
            var times: [Double] = []
            var scanned = 0
            var first: QueryResult?
            var firstMs = 0.0
            var failure: String?
            for run in 0..<runs {
                let r: QueryResult
                do { r = try engine.run(c.ours, limits: limits) } catch { failure = "\(error)"; break }
                if run == 0 { firstMs = r.stats.elapsedMs }
                times.append(r.stats.elapsedMs)
                scanned = r.stats.rowsScanned
                if first == nil { first = r }
            }
            if let failure {
                // A query the engine refuses (e.g. a text match naming more paragraphs than its
                // limit) is reported, and the other cases still run.
                Terminal.error("\(c.name): failed: \(failure)")
                var w = JSONWriter()
                w.string(failure)
                failures.append((c.name, w.string))
                continue
            }
            // Without the first run (which may build caches, e.g. a text match's postings).
            let warm = times.dropFirst().sorted()
            times.sort()
            let p50 = times[times.count / 2], p99 = times[min(times.count - 1, Int(Double(times.count) * 0.99))]
            measured.append(Measured(c: c, p50: p50, p99: p99, first: firstMs,
                                     warmP99: warm.isEmpty ? 0 : warm[min(warm.count - 1, Int(Double(warm.count) * 0.99))],
                                     scanned: scanned, rows: first!.rows.count))
            Terminal.error("\(c.name): first \(String(format: "%.1f", firstMs)) ms, p50 \(String(format: "%.1f", p50)) ms, p99 \(String(format: "%.1f", p99)) ms, \(String(format: "%.0f", Double(scanned) / (p50 / 1000) / 1e6))M rows/s, \(first!.rows.count) rows")
        }

        // Trace lookups: random trace ids from the segments.
        var ids: [TraceID] = []
        var rng = SplitMix64(seed: 5)
        for _ in 0..<lookups {
            let seg = snapshot.segments[Int(rng.next() % UInt64(snapshot.segments.count))]
            let all = try seg.traceIDColumn()
            ids.append(all[Int(rng.next() % UInt64(all.count))])
        }
        var lat: [Double] = [], sqLat: [Double] = []
        for id in ids {
            let t = monotonicNanos()
            let spans = try store.trace(id)
            lat.append(Double(monotonicNanos() - t) / 1e6)
            guard !spans.isEmpty else { throw StoreError("trace \(id) not found") }
            let u = monotonicNanos()
            _ = try sqlite.count("SELECT * FROM spans WHERE trace_id = '\(id.hex)'")
            sqLat.append(Double(monotonicNanos() - u) / 1e6)
        }
        // The same traces again: segments' dictionaries are now decoded and cached.
        var warm: [Double] = []
        for id in ids {
            let t = monotonicNanos()
            _ = try store.trace(id)
            warm.append(Double(monotonicNanos() - t) / 1e6)
        }
        warm.sort()
        lat.sort(); sqLat.sort()
        func pct(_ xs: [Double], _ p: Double) -> Double { xs[min(xs.count - 1, Int(Double(xs.count) * p))] }
        Terminal.error("trace_lookup: p50 \(String(format: "%.3f", pct(lat, 0.5))) ms, p99 \(String(format: "%.3f", pct(lat, 0.99))) ms (again: p50 \(String(format: "%.3f", pct(warm, 0.5))), p99 \(String(format: "%.3f", pct(warm, 0.99))) ms); SQLite indexed p50 \(String(format: "%.3f", pct(sqLat, 0.5))) ms, p99 \(String(format: "%.3f", pct(sqLat, 0.99))) ms")
        // DuckDB over the same rows (exported from the SQLite table once per directory).
        var duck: [String: DuckDBAnchor.Answer] = [:]
        let duckCases = measured.compactMap { m in m.c.duckdb.map { DuckDBAnchor.Query(name: m.c.name, sql: $0) } }
        if !a.has("skip-duckdb") && !duckCases.isEmpty {
            let csv = dir + "/anchor.csv"
            if !FileManager.default.fileExists(atPath: csv) {
                let t = monotonicNanos()
                try DuckDBAnchor.exportCSV(sqlite, to: csv)
                Terminal.error("exported the SQLite rows to \(csv) in \(String(format: "%.1f", Double(monotonicNanos() - t) / 1e9)) s")
            }
            duck = DuckDBAnchor.run(duckCases, dir: dir, runs: a.value("only") == nil ? 5 : 3) ?? [:]
        }
        var results: [(String, [(String, String)])] = []
        for m in measured {
            var sq: [Double] = []
            var sqRows = 0
            for _ in 0..<(a.has("skip-sqlite") || m.c.sqlite == nil ? 0 : a.value("only") == nil ? 3 : 1) {
                let t = monotonicNanos()
                if m.c.sqlite!.isEmpty {
                    // The reference for a text match: SQLite FTS5 alone (our index), no rows attached.
                    sqRows = try store.matchingTextHashes("refund policy").count
                } else {
                    sqRows = try sqlite.count(m.c.sqlite!)
                }
                sq.append(Double(monotonicNanos() - t) / 1e6)
            }
            sq.sort()
            if sq.isEmpty { sq = [0] }
            if !a.has("skip-sqlite"), m.c.sqlite != nil {
                Terminal.error("\(m.c.name): SQLite \(String(format: "%.0f", sq[sq.count / 2])) ms (\(sqRows) rows): \(String(format: "%.1f", sq[sq.count / 2] / m.p50))x ours")
            }
            var duckFields: [(String, String)] = []
            if let d = duck[m.c.name] {
                Terminal.error("\(m.c.name): DuckDB \(String(format: "%.1f", d.medianMs)) ms (\(d.rows) rows): ours \(String(format: "%.2f", m.p50 / d.medianMs))x DuckDB")
                duckFields = [("duckdb_ms", String(format: "%.2f", d.medianMs)), ("vs_duckdb", String(format: "%.2f", m.p50 / d.medianMs))]
            }
            results.append((m.c.name, duckFields + [
                ("p50_ms", String(format: "%.2f", m.p50)), ("p99_ms", String(format: "%.2f", m.p99)), ("first_ms", String(format: "%.2f", m.first)),
                ("warm_p99_ms", String(format: "%.2f", m.warmP99)),
                ("rows_scanned", "\(m.scanned)"),
                ("rows_scanned_per_s", String(format: "%.0f", Double(m.scanned) / (m.p50 / 1000))),
                ("sqlite_ms", String(format: "%.1f", sq[sq.count / 2])), ("speedup", String(format: "%.1f", sq[sq.count / 2] / m.p50)),
            ]))
        }
        for (name, error) in failures { results.append((name, [("error", error)])) }
        results.append(("trace_lookup", [
            ("p50_ms", String(format: "%.3f", pct(lat, 0.5))), ("p99_ms", String(format: "%.3f", pct(lat, 0.99))),
            ("rows_scanned_per_s", "null"),
            ("again_p50_ms", String(format: "%.3f", pct(warm, 0.5))), ("again_p99_ms", String(format: "%.3f", pct(warm, 0.99))),
            ("sqlite_ms", String(format: "%.3f", pct(sqLat, 0.5))), ("sqlite_p99_ms", String(format: "%.3f", pct(sqLat, 0.99))),
        ]))
        try store.close()
        if !a.has("keep") { try? FileManager.default.removeItem(atPath: dir) }

        let body = results.map { name, fields in "\"\(name)\": {" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}" }
        Terminal.print("{\"spans\": \(rows), \"segments\": \(snapshot.segments.count), \"threads\": \(limits.threads), \"runs\": \(runs), \"sqlite_text\": \(withText), " + body.joined(separator: ", ") + ", \"peak_rss_mb\": \(String(format: "%.1f", Terminal.peakRSSMiB()))}")
    }
}

/// The comparison table: one row per span, the same columns the query engine offers, optionally
/// with the prompt and output text.
final class SQLiteTable {
    private var db: OpaquePointer?
    private var insertStmt: OpaquePointer?
    private let withText: Bool
    static let columns = ["trace_id TEXT", "span_id TEXT", "service TEXT", "name TEXT", "kind TEXT", "status TEXT", "model TEXT",
                          "start INTEGER", "duration_ms REAL", "input_tokens INTEGER", "output_tokens INTEGER", "total_tokens INTEGER",
                          "cost_usd REAL", "user_id TEXT", "session_id TEXT"]

    init(path: String, withText: Bool) throws {
        self.withText = withText
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw StoreError("cannot open SQLite", path: path) }
        try exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144")
        let cols = Self.columns + (withText ? ["input_text TEXT", "output_text TEXT"] : [])
        try exec("CREATE TABLE IF NOT EXISTS spans (\(cols.joined(separator: ", ")))")
        let sql = "INSERT INTO spans VALUES (\(cols.map { _ in "?" }.joined(separator: ",")))"
        guard sqlite3_prepare_v2(db, sql, -1, &insertStmt, nil) == SQLITE_OK else { throw StoreError("prepare: \(String(cString: sqlite3_errmsg(db)))") }
    }

    deinit {
        sqlite3_finalize(insertStmt)
        sqlite3_close(db)
    }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw StoreError("sqlite: \(String(cString: sqlite3_errmsg(db)))") }
    }

    func begin() throws { try exec("BEGIN") }
    func commit() throws { try exec("COMMIT") }

    func insert(_ spans: [Span]) throws {
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        let st = insertStmt
        func text(_ i: Int32, _ s: String?) { if let s { sqlite3_bind_text(st, i, s, -1, transient) } else { sqlite3_bind_null(st, i) } }
        func int(_ i: Int32, _ v: Int64?) { if let v { sqlite3_bind_int64(st, i, v) } else { sqlite3_bind_null(st, i) } }
        func dbl(_ i: Int32, _ v: Double?) { if let v { sqlite3_bind_double(st, i, v) } else { sqlite3_bind_null(st, i) } }
        for s in spans {
            sqlite3_reset(st)
            text(1, s.traceID.hex); text(2, s.spanID.hex); text(3, s.service); text(4, s.name); text(5, s.kind.rawValue)
            text(6, s.status.rawValue); text(7, s.responseModel ?? s.requestModel); int(8, s.startNanos)
            dbl(9, Double(s.durationNanos) / 1e6); int(10, s.inputTokens); int(11, s.outputTokens)
            int(12, s.inputTokens == nil && s.outputTokens == nil ? nil : (s.inputTokens ?? 0) + (s.outputTokens ?? 0))
            dbl(13, s.costUSD); text(14, s.userID); text(15, s.sessionID)
            if withText {
                text(16, s.inputMessages.map(\.content).joined(separator: "\n"))
                text(17, s.outputMessages.map(\.content).joined(separator: "\n"))
            }
            guard sqlite3_step(st) == SQLITE_DONE else { throw StoreError("sqlite insert: \(String(cString: sqlite3_errmsg(db)))") }
        }
    }

    static var columnNames: [String] { columns.map { String($0.split(separator: " ")[0]) } }

    /// Whether the table at `path` has the text columns (nil: no such table).
    static func hasText(path: String) -> Bool? {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else { sqlite3_close(db); return nil }
        defer { sqlite3_close(db) }
        var st: OpaquePointer?
        guard sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info('spans') WHERE name = 'input_text'", -1, &st, nil) == SQLITE_OK else { return nil }
        defer { sqlite3_finalize(st) }
        guard sqlite3_step(st) == SQLITE_ROW else { return nil }
        return sqlite3_column_int(st, 0) > 0
    }

    /// Calls `body` with each row's columns as text bytes (nil for NULL).
    func forEachRow(_ sql: String, _ body: ([[UInt8]?]) throws -> Void) throws {
        var st: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &st, nil) == SQLITE_OK else { throw StoreError("sqlite: \(String(cString: sqlite3_errmsg(db))) in \(sql)") }
        defer { sqlite3_finalize(st) }
        let n = sqlite3_column_count(st)
        var row = [[UInt8]?](repeating: nil, count: Int(n))
        while sqlite3_step(st) == SQLITE_ROW {
            for k in 0..<n {
                if sqlite3_column_type(st, k) == SQLITE_NULL {
                    row[Int(k)] = nil
                } else if let p = sqlite3_column_text(st, k) {
                    row[Int(k)] = Array(UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(st, k))))
                } else {
                    row[Int(k)] = []
                }
            }
            try body(row)
        }
    }

    /// Runs a query to the end, reading every column of every row; returns the row count.
    func count(_ sql: String) throws -> Int {
        var st: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &st, nil) == SQLITE_OK else { throw StoreError("sqlite: \(String(cString: sqlite3_errmsg(db))) in \(sql)") }
        defer { sqlite3_finalize(st) }
        var n = 0
        var sink = 0.0
        while sqlite3_step(st) == SQLITE_ROW {
            for k in 0..<sqlite3_column_count(st) { sink += sqlite3_column_double(st, k) }
            n += 1
        }
        if sink.isNaN { n += 0 }
        return n
    }
}
