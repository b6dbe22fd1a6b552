import CSQLite
import Foundation
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic
@testable import LLMTraceQuery

/// A fresh directory under the system temp dir.
struct QueryTempDir {
    let path: String
    init(_ name: String = #function) {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "llmtrace-query-\(safe)-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.removeItem(atPath: path)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Random spans with every kind of NULL the columns allow, over two hours from `base`.
enum RandomSpans {
    static let base: Int64 = 1_767_225_600_000_000_000
    static let services = ["chat", "search", "billing", "agent"]
    static let models = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b"]
    static let projects = ["default", "acme"]

    static func make(_ count: Int, seed: UInt64) -> [Span] {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        func chance(_ p: Double) -> Bool { Double(rng.next() % 10_000) / 10_000 < p }
        var out: [Span] = []
        var trace = TraceID(hi: rng.next(), lo: rng.next())
        for i in 0..<count {
            if i % 4 == 0 { trace = TraceID(hi: rng.next(), lo: rng.next()) }
            let start = base + Int64(rng.next() % 7_200_000_000_000)
            let dur = Int64(rng.next() % 5_000_000_000) / Int64(1 + rng.next() % 50)
            var s = Span(traceID: trace, spanID: SpanID(rng.next() | 1), parentSpanID: i % 4 == 0 ? SpanID(0) : SpanID(rng.next() | 1),
                         project: chance(0.8) ? "default" : "acme", service: pick(services), name: pick(["chat gpt-4o", "retrieve", "tool call", "agent step"]),
                         kind: pick([SpanKind.llm, .llm, .retrieval, .tool, .agent]), startNanos: start, endNanos: start + dur,
                         status: pick([SpanStatus.ok, .ok, .ok, .unset, .error]))
            if s.status == .error { s.statusMessage = pick(["rate limited", "timeout", "Bad Request"]) }
            if chance(0.85) { s.requestModel = pick(models) }
            if chance(0.5) { s.responseModel = s.requestModel.map { $0 + "-2024" } ?? pick(models) }
            if chance(0.8) { s.provider = pick(["openai", "anthropic", "meta"]) }
            if chance(0.9) { s.inputTokens = Int64(rng.next() % 4000) }
            if chance(0.85) { s.outputTokens = Int64(rng.next() % 1500) }
            if chance(0.3) { s.cachedTokens = Int64(rng.next() % 500) }
            if chance(0.8) { s.costUSD = Double(rng.next() % 100_000) / 1_000_000 }
            if chance(0.5) { s.timeToFirstTokenNanos = Int64(rng.next() % 900_000_000) }
            if chance(0.6) { s.temperature = Double(rng.next() % 11) / 10 }
            if chance(0.6) { s.userID = "user-\(rng.next() % 20)" }
            if chance(0.7) { s.sessionID = "session-\(rng.next() % 50)" }
            if chance(0.5) { s.environment = pick(["prod", "staging"]) }
            out.append(s)
        }
        return out
    }

    /// A store holding `spans`: most in several sealed segments, the rest in the head.
    static func store(_ spans: [Span], dir: String, segments: Int) throws -> Store {
        var o = StoreOptions(directory: dir)
        o.backgroundSealing = false
        o.log = { _, _ in }
        let store = try Store.open(o)
        let sealedCount = spans.count * 4 / 5
        let per = max(1, sealedCount / max(1, segments))
        var i = 0
        while i < sealedCount {
            try store.append(Array(spans[i..<min(sealedCount, i + per)]))
            _ = try store.sealNow()
            i += per
        }
        if sealedCount < spans.count { try store.append(Array(spans[sealedCount...])) }
        return store
    }
}

/// The same spans as a SQLite row table, to run the same SQL against.
final class SQLiteSpans {
    private var db: OpaquePointer?

    init(_ spans: [Span]) throws {
        guard sqlite3_open(":memory:", &db) == SQLITE_OK else { throw QueryError("sqlite open") }
        let cols = SpanColumn.allCases.map { c -> String in
            switch c.type {
            case .string: return "\(c.rawValue) TEXT"
            case .double: return "\(c.rawValue) REAL"
            default: return "\(c.rawValue) INTEGER"
            }
        }
        try exec("CREATE TABLE spans (\(cols.joined(separator: ", ")))")
        try exec("BEGIN")
        var stmt: OpaquePointer?
        let sql = "INSERT INTO spans VALUES (\(SpanColumn.allCases.map { _ in "?" }.joined(separator: ",")))"
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { throw QueryError("prepare insert") }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for s in spans {
            sqlite3_reset(stmt)
            for (k, c) in SpanColumn.allCases.enumerated() {
                let i = Int32(k + 1)
                switch c.value(of: s) {
                case .null: sqlite3_bind_null(stmt, i)
                case .int(let v), .time(let v): sqlite3_bind_int64(stmt, i, v)
                case .bool(let b): sqlite3_bind_int64(stmt, i, b ? 1 : 0)
                case .double(let d): sqlite3_bind_double(stmt, i, d)
                case .string(let str): sqlite3_bind_text(stmt, i, str, -1, transient)
                }
            }
            guard sqlite3_step(stmt) == SQLITE_DONE else { throw QueryError("insert failed") }
        }
        sqlite3_finalize(stmt)
        try exec("COMMIT")
    }

    deinit { sqlite3_close(db) }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw QueryError("sqlite: \(String(cString: sqlite3_errmsg(db))) in \(sql)")
        }
    }

    func query(_ sql: String) throws -> [[QueryValue]] {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else {
            throw QueryError("sqlite: \(String(cString: sqlite3_errmsg(db))) in \(sql)")
        }
        defer { sqlite3_finalize(stmt) }
        var rows: [[QueryValue]] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw QueryError("sqlite step: \(String(cString: sqlite3_errmsg(db)))") }
            var row: [QueryValue] = []
            for k in 0..<sqlite3_column_count(stmt) {
                switch sqlite3_column_type(stmt, k) {
                case SQLITE_NULL: row.append(.null)
                case SQLITE_INTEGER: row.append(.int(sqlite3_column_int64(stmt, k)))
                case SQLITE_FLOAT: row.append(.double(sqlite3_column_double(stmt, k)))
                default: row.append(.string(String(cString: sqlite3_column_text(stmt, k))))
                }
            }
            rows.append(row)
        }
        return rows
    }
}

/// Values equal up to float rounding (sums in a different order), with times and bools as integers.
func sameValue(_ a: QueryValue, _ b: QueryValue) -> Bool {
    func norm(_ v: QueryValue) -> QueryValue {
        switch v {
        case .time(let t): return .int(t)
        case .bool(let x): return .int(x ? 1 : 0)
        default: return v
        }
    }
    switch (norm(a), norm(b)) {
    case (.null, .null): return true
    case (.int(let x), .int(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    default:
        guard let x = norm(a).asDouble, let y = norm(b).asDouble, !a.isNull, !b.isNull else { return false }
        if case .string = a { return false }
        if case .string = b { return false }
        return abs(x - y) <= 1e-9 * max(1, abs(x), abs(y))
    }
}

func sameRows(_ a: [[QueryValue]], _ b: [[QueryValue]]) -> Bool {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) {
        guard x.count == y.count else { return false }
        for (u, v) in zip(x, y) where !sameValue(u, v) { return false }
    }
    return true
}

/// Rows in a canonical order, for results whose order SQL leaves open.
func canonicalOrder(_ rows: [[QueryValue]]) -> [[QueryValue]] {
    func norm(_ v: QueryValue) -> QueryValue {
        switch v {
        case .time(let t): return .int(t)
        case .bool(let x): return .int(x ? 1 : 0)
        default: return v
        }
    }
    return rows.map { $0.map(norm) }.sorted { x, y in
        for (u, v) in zip(x, y) {
            let c = Ops.sortOrder(u, v)
            if c != 0 { return c < 0 }
        }
        return false
    }
}
