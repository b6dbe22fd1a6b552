import CSQLite
import LLMTraceModel

/// A minimal SQLite connection: prepared statements, typed binds, errors carrying SQLite's message.
public final class SQLiteDatabase: @unchecked Sendable {
    let handle: OpaquePointer
    public let path: String

    public init(path: String) throws {
        self.path = path
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)"
            if let db { sqlite3_close(db) }
            throw StoreError("cannot open index database: \(msg)", path: path)
        }
        handle = db
        sqlite3_busy_timeout(db, 10_000)
    }

    deinit { sqlite3_close_v2(handle) }

    func error(_ what: String) -> StoreError {
        StoreError("\(what): \(String(cString: sqlite3_errmsg(handle)))", path: path)
    }

    public func exec(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &err) != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(err)
            throw StoreError("SQL failed: \(msg)", path: path)
        }
    }

    public func prepare(_ sql: String) throws -> SQLiteStatement {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else { throw error("prepare failed") }
        return SQLiteStatement(stmt, db: self)
    }

    /// Inserts `count` rows with multi-row `VALUES` lists, 64 rows a statement: one statement
    /// step and reset per 64 rows instead of per row (what a seal's index rows cost most, after
    /// the B-tree work itself). `sql` is the statement up to `VALUES`; `bind(statement, first,
    /// row)` binds row `row`'s `columns` values at parameters `first + 1...first + columns`.
    public func insertRows(_ sql: String, columns: Int, count: Int, bind: (SQLiteStatement, Int32, Int) -> Void) throws {
        let perStatement = 64
        func statement(_ rows: Int) throws -> SQLiteStatement {
            let tuple = "(" + Array(repeating: "?", count: columns).joined(separator: ",") + ")"
            return try prepare(sql + " VALUES " + Array(repeating: tuple, count: rows).joined(separator: ","))
        }
        var full: SQLiteStatement?
        var i = 0
        while i < count {
            let n = min(perStatement, count - i)
            let st: SQLiteStatement
            if n == perStatement {
                if full == nil { full = try statement(n) }
                st = full!
            } else {
                st = try statement(n)
            }
            for r in 0..<n { bind(st, Int32(r * columns), i + r) }
            try st.run()
            i += n
        }
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in one transaction (BEGIN IMMEDIATE: take the write lock up front).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN IMMEDIATE")
        do {
            let r = try body()
            try exec("COMMIT")
            return r
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }
}

/// A prepared statement. Binds are 1-based like SQLite's; `reset()` before reuse.
public final class SQLiteStatement {
    let stmt: OpaquePointer
    unowned let db: SQLiteDatabase
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ stmt: OpaquePointer, db: SQLiteDatabase) {
        self.stmt = stmt
        self.db = db
    }

    deinit { sqlite3_finalize(stmt) }

    @discardableResult
    public func bind(_ i: Int32, _ v: Int64) -> Self { sqlite3_bind_int64(stmt, i, v); return self }
    @discardableResult
    public func bind(_ i: Int32, _ v: Int) -> Self { sqlite3_bind_int64(stmt, i, Int64(v)); return self }
    /// Text as its UTF-8 bytes, with their length (no C-string bridge, no `strlen` in SQLite).
    @discardableResult
    public func bind(_ i: Int32, _ v: String) -> Self {
        let done: Bool? = v.utf8.withContiguousStorageIfAvailable { u in
            if let p = u.baseAddress, u.count > 0 {
                sqlite3_bind_text(stmt, i, UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self), Int32(u.count), Self.transient)
            } else {
                sqlite3_bind_text(stmt, i, "", 0, Self.transient)  // text, not NULL (a null pointer would bind NULL)
            }
            return true
        }
        if done == nil {
            sqlite3_bind_text(stmt, i, v, -1, Self.transient)
        }
        return self
    }
    /// A trace id as its 16 big-endian bytes (the `BLOB` the index stores), without an array.
    @discardableResult
    public func bind(_ i: Int32, _ t: TraceID) -> Self {
        var be = (t.hi.bigEndian, t.lo.bigEndian)
        withUnsafeBytes(of: &be) { _ = sqlite3_bind_blob(stmt, i, $0.baseAddress, 16, Self.transient) }
        return self
    }
    @discardableResult
    public func bind(_ i: Int32, _ v: [UInt8]) -> Self {
        v.withUnsafeBytes { _ = sqlite3_bind_blob(stmt, i, $0.baseAddress, Int32($0.count), Self.transient) }
        return self
    }
    @discardableResult
    public func bind(_ i: Int32, _ v: Double) -> Self { sqlite3_bind_double(stmt, i, v); return self }
    @discardableResult
    public func bindNull(_ i: Int32) -> Self { sqlite3_bind_null(stmt, i); return self }

    /// Steps once: true when a row is available.
    public func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw db.error("step failed")
    }

    /// Executes to completion and resets.
    public func run() throws {
        defer { reset() }
        while try step() {}
    }

    public func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    public func int(_ col: Int32) -> Int64 { sqlite3_column_int64(stmt, col) }
    public func double(_ col: Int32) -> Double { sqlite3_column_double(stmt, col) }
    public func isNull(_ col: Int32) -> Bool { sqlite3_column_type(stmt, col) == SQLITE_NULL }
    public func text(_ col: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, col) else { return "" }
        return String(cString: p)
    }
    public func blob(_ col: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(stmt, col))
        guard n > 0, let p = sqlite3_column_blob(stmt, col) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}
