import LLMTraceModel

/// The SQLite index of a data directory: segment catalog, trace and span lookups, sessions and users,
/// and the full-text index. Writes come in one transaction per sealed segment. A separate read
/// connection keeps lookups from waiting on a long index transaction (WAL journal mode allows it).
public final class IndexDB: @unchecked Sendable {
    public let path: String
    private let writer: SQLiteDatabase
    private let reader: SQLiteDatabase
    private let writeLock = Condition()
    private let readLock = Condition()

    /// A catalog row.
    public struct SegmentRow: Sendable, Equatable {
        public var id: UInt64
        public var file: String
        public var minStart: Int64
        public var maxStart: Int64
        public var spanCount: Int
        public var bytes: Int
        public var maxWALFile: UInt64
    }

    public init(path: String, walLimitBytes: Int = IndexDB.defaultWALLimitBytes) throws {
        self.path = path
        self.walLimitBytes = walLimitBytes
        writer = try SQLiteDatabase(path: path)
        // The index can be rebuilt from segments, so NORMAL (fsync at checkpoints) is enough; segments
        // and the WAL carry durability.
        // No automatic checkpoints: they would run inside a seal's commit. `checkpoint()` runs them
        // from the background indexer instead.
        // journal_size_limit: after a checkpoint lets SQLite restart its WAL, the file is cut back
        // to this size instead of keeping its high-water mark on disk.
        // A 4 MiB page cache (16 MiB before): the index's B-trees outgrow either within minutes of
        // full ingest (a seal's trace rows land on random pages; the OS page cache serves the
        // misses), and the 12 MiB were llmtraced's largest fixed cost after the heads (peak RSS at
        // full ingest 254/262 → 245/236 MB in alternated 60 s runs).
        try writer.exec("PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-4096; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=\(walLimitBytes);")
        try writer.exec(IndexSchema.sql)
        reader = try SQLiteDatabase(path: path)
        try reader.exec("PRAGMA query_only=1;")
    }

    // MARK: Writes

    /// Runs `body` as one write transaction (one writer at a time). Tests can make it fail as a
    /// full disk would (`FileFaults`, operation `indexWrite`).
    private func write<T>(_ body: () throws -> T) throws -> T {
        try writeLock.withLock {
            try FileFaults.check(.indexWrite, path, "index database write")
            return try writer.transaction(body)
        }
    }

    /// Indexes a sealed segment in one transaction. Its texts are indexed later (`indexSegmentTexts`).
    public func addSegment(_ s: SegmentSummary, file: String) throws {
        try write {
            let seg = try writer.prepare("INSERT OR REPLACE INTO segments(id, file, min_start_ns, max_start_ns, span_count, bytes, max_wal_file, sealed_at_ns) VALUES (?,?,?,?,?,?,?,?)")
            seg.bind(1, Int64(s.id)).bind(2, file).bind(3, s.minStart).bind(4, s.maxStart).bind(5, s.spanCount)
                .bind(6, s.bytes).bind(7, Int64(s.maxWALFile)).bind(8, wallNanos())
            try seg.run()
            let proj = try writer.prepare("INSERT OR REPLACE INTO segment_projects(project, segment_id, span_count, min_start_ns, max_start_ns) VALUES (?,?,?,?,?)")
            for (p, v) in s.projects {
                proj.bind(1, p).bind(2, Int64(s.id)).bind(3, v.count).bind(4, v.minStart).bind(5, v.maxStart)
                try proj.run()
            }
            try writer.insertRows("INSERT OR REPLACE INTO trace_rows(trace_id, segment_id, first_row, row_count, project)", columns: 5, count: s.traces.count) { st, p, i in
                let t = s.traces[i]
                st.bind(p + 1, t.traceID).bind(p + 2, Int64(s.id)).bind(p + 3, t.firstRow).bind(p + 4, t.rowCount).bind(p + 5, t.project)
            }
            try writer.insertRows("INSERT OR IGNORE INTO session_traces(project, session_id, trace_id, segment_id)", columns: 4, count: s.sessions.count) { st, p, i in
                let x = s.sessions[i]
                st.bind(p + 1, x.project).bind(p + 2, x.id).bind(p + 3, x.traceID).bind(p + 4, Int64(s.id))
            }
            try writer.insertRows("INSERT OR IGNORE INTO user_traces(project, user_id, trace_id, segment_id)", columns: 4, count: s.users.count) { st, p, i in
                let x = s.users[i]
                st.bind(p + 1, x.project).bind(p + 2, x.id).bind(p + 3, x.traceID).bind(p + 4, Int64(s.id))
            }
        }
    }

    /// Stores scores in one transaction; returns their row ids.
    public func addScores(_ scores: [Score]) throws -> [Int64] {
        try write {
            let st = try writer.prepare("INSERT INTO scores(project, trace_id, span_id, name, value, category, source, comment, time_ns) VALUES (?,?,?,?,?,?,?,?,?)")
            var ids: [Int64] = []
            for x in scores {
                st.bind(1, x.project).bind(2, x.traceID)
                if let s = x.spanID { st.bind(3, Int64(bitPattern: s.value)) } else { st.bindNull(3) }
                st.bind(4, x.name)
                switch x.value {
                case .number(let d): st.bind(5, d).bindNull(6)
                case .category(let c): st.bindNull(5).bind(6, c)
                }
                st.bind(7, x.source.rawValue)
                if let c = x.comment { st.bind(8, c) } else { st.bindNull(8) }
                st.bind(9, x.timeNanos)
                try st.run()
                ids.append(writer.lastInsertRowID)
            }
            return ids
        }
    }

    /// The scores of a trace in one project, oldest first.
    public func scores(project: String, trace: TraceID) throws -> [Score] {
        try readLock.withLock {
            let st = try reader.prepare("SELECT span_id, name, value, category, source, comment, time_ns FROM scores WHERE project = ? AND trace_id = ? ORDER BY time_ns, id")
            st.bind(1, project).bind(2, trace)
            var out: [Score] = []
            while try st.step() {
                let value: Score.Value = st.isNull(2) ? .category(st.text(3)) : .number(st.double(2))
                out.append(Score(project: project, traceID: trace, spanID: st.isNull(0) ? nil : SpanID(UInt64(bitPattern: st.int(0))),
                                 name: st.text(1), value: value, source: Score.Source(rawValue: st.text(4)) ?? .user,
                                 comment: st.isNull(5) ? nil : st.text(5), timeNanos: st.int(6)))
            }
            return out
        }
    }

    /// Every score with a time in `from...to`, in one project or all, oldest first: the rows of the
    /// `scores` query table.
    public func scores(project: String?, from: Int64 = .min, to: Int64 = .max) throws -> [Score] {
        try readLock.withLock {
            let st = try reader.prepare("SELECT project, trace_id, span_id, name, value, category, source, comment, time_ns FROM scores WHERE time_ns BETWEEN ? AND ? AND (?3 IS NULL OR project = ?3) ORDER BY time_ns, id")
            st.bind(1, from).bind(2, to)
            if let project { st.bind(3, project) } else { st.bindNull(3) }
            var out: [Score] = []
            while try st.step() {
                let blob = st.blob(1)
                guard blob.count == 16 else { continue }
                let trace = blob.withUnsafeBytes { TraceID(bytes: $0) }
                let value: Score.Value = st.isNull(4) ? .category(st.text(5)) : .number(st.double(4))
                out.append(Score(project: st.text(0), traceID: trace, spanID: st.isNull(2) ? nil : SpanID(UInt64(bitPattern: st.int(2))),
                                 name: st.text(3), value: value, source: Score.Source(rawValue: st.text(6)) ?? .user,
                                 comment: st.isNull(7) ? nil : st.text(7), timeNanos: st.int(8)))
            }
            return out
        }
    }

    /// Scores stored after row id `row`, in row order, up to `limit`: what the outbox forwards.
    public func scores(afterRow row: Int64, limit: Int) throws -> [(row: Int64, score: Score)] {
        try readLock.withLock {
            let st = try reader.prepare("SELECT id, project, trace_id, span_id, name, value, category, source, comment, time_ns FROM scores WHERE id > ? ORDER BY id LIMIT ?")
            st.bind(1, row).bind(2, Int64(limit))
            var out: [(Int64, Score)] = []
            while try st.step() {
                let blob = st.blob(2)
                guard blob.count == 16 else { continue }
                let trace = blob.withUnsafeBytes { TraceID(bytes: $0) }
                let value: Score.Value = st.isNull(5) ? .category(st.text(6)) : .number(st.double(5))
                out.append((st.int(0), Score(project: st.text(1), traceID: trace, spanID: st.isNull(3) ? nil : SpanID(UInt64(bitPattern: st.int(3))),
                                             name: st.text(4), value: value, source: Score.Source(rawValue: st.text(7)) ?? .user,
                                             comment: st.isNull(8) ? nil : st.text(8), timeNanos: st.int(9))))
            }
            return out
        }
    }

    /// Adds texts to the full-text index, each distinct text once. With a segment, also records it
    /// as the newest segment holding the text. Must run inside a write transaction.
    private func indexTexts(_ texts: [String], segment: UInt64?) throws {
        let ins = try writer.prepare("INSERT OR IGNORE INTO texts(hash, last_segment) VALUES (?, ?)")
        let upd = try writer.prepare("UPDATE texts SET last_segment = ? WHERE hash = ? AND (last_segment IS NULL OR last_segment < ?)")
        let fts = try writer.prepare("INSERT INTO text_fts(rowid, content) VALUES (?, ?)")
        for t in texts {
            let h = TextHash.hash(t)
            ins.bind(1, h)
            if let segment { ins.bind(2, Int64(segment)) } else { ins.bindNull(2) }
            try ins.run()
            if writer.changes == 1 {
                fts.bind(1, h).bind(2, t)
                try fts.run()
            } else if let segment {
                upd.bind(1, Int64(segment)).bind(2, h).bind(3, Int64(segment))
                try upd.run()
            }
        }
    }

    /// Adds a segment's paragraphs to the full-text index, then marks the segment done. Works in
    /// transactions of a few hundred KB of text (a few MB when ingest is idle: FTS5 is faster with
    /// bigger ones) so a seal's index commit never waits long behind it;
    /// a crash part-way is harmless (each text goes in once, by hash) and the segment stays pending.
    /// `between` runs after each transaction and returns the byte budget of the next one, or nil to
    /// stop early (shutdown); the segment then stays pending and the next pass finishes it.
    public func indexSegmentTexts(segment: UInt64, texts: [String], between: () -> Int? = { 4 << 20 }) throws {
        var i = 0
        var budget = 256 << 10
        while i < texts.count {
            var j = i, bytes = 0
            while j < texts.count && bytes < budget {
                bytes += texts[j].utf8.count
                j += 1
            }
            try write { try indexTexts(Array(texts[i..<j]), segment: segment) }
            i = j
            guard let next = between() else { return }
            budget = next
        }
        try write {
            let st = try writer.prepare("UPDATE segments SET text_indexed = 1 WHERE id = ?")
            st.bind(1, Int64(segment))
            try st.run()
        }
    }

    /// Adds paragraphs of spans still in the head (no segment yet), so they are searchable within
    /// seconds; the segment pass later records which segment holds them.
    public func indexHeadTexts(_ texts: [String]) throws {
        guard !texts.isEmpty else { return }
        try write { try indexTexts(texts, segment: nil) }
    }

    /// Segments whose texts are not in the full-text index yet, oldest first.
    public func segmentsPendingTextIndex() throws -> [UInt64] {
        try readLock.withLock {
            let st = try reader.prepare("SELECT id FROM segments WHERE text_indexed = 0 ORDER BY id")
            var out: [UInt64] = []
            while try st.step() { out.append(UInt64(bitPattern: st.int(0))) }
            return out
        }
    }

    /// Removes a segment's rows. `summary` comes from the segment file (read before it was deleted);
    /// texts whose newest copy was in this segment leave the full-text index too.
    public func removeSegment(id: UInt64, summary: SegmentSummary?) throws {
        try write {
            let sid = Int64(id)
            try exec1("DELETE FROM segments WHERE id = ?", sid)
            try exec1("DELETE FROM segment_projects WHERE segment_id = ?", sid)
            guard let s = summary else {
                // No file to read keys from: fall back to scans.
                for table in ["trace_rows", "session_traces", "user_traces"] {
                    try exec1("DELETE FROM \(table) WHERE segment_id = ?", sid)
                }
                try exec1("DELETE FROM texts WHERE last_segment = ?", sid)
                return
            }
            let tr = try writer.prepare("DELETE FROM trace_rows WHERE trace_id = ? AND segment_id = ?")
            for t in s.traces { tr.bind(1, t.traceID).bind(2, sid); try tr.run() }
            let ss = try writer.prepare("DELETE FROM session_traces WHERE project = ? AND session_id = ? AND trace_id = ? AND segment_id = ?")
            for x in s.sessions { ss.bind(1, x.project).bind(2, x.id).bind(3, x.traceID).bind(4, sid); try ss.run() }
            let us = try writer.prepare("DELETE FROM user_traces WHERE project = ? AND user_id = ? AND trace_id = ? AND segment_id = ?")
            for x in s.users { us.bind(1, x.project).bind(2, x.id).bind(3, x.traceID).bind(4, sid); try us.run() }
            let sel = try writer.prepare("SELECT last_segment FROM texts WHERE hash = ?")
            let del = try writer.prepare("DELETE FROM texts WHERE hash = ?")
            let fdel = try writer.prepare("INSERT INTO text_fts(text_fts, rowid, content) VALUES ('delete', ?, ?)")
            for t in s.searchableTexts {
                let h = TextHash.hash(t)
                sel.bind(1, h)
                let last: Int64? = try sel.step() ? (sel.isNull(0) ? nil : sel.int(0)) : nil
                sel.reset()
                guard let last, last <= sid else { continue }
                del.bind(1, h); try del.run()
                fdel.bind(1, h).bind(2, t); try fdel.run()
            }
        }
    }

    private func exec1(_ sql: String, _ v: Int64) throws {
        let st = try writer.prepare(sql)
        st.bind(1, v)
        try st.run()
    }

    // MARK: Reads

    public func segments() throws -> [SegmentRow] {
        try readLock.withLock {
            let st = try reader.prepare("SELECT id, file, min_start_ns, max_start_ns, span_count, bytes, max_wal_file FROM segments ORDER BY id")
            var out: [SegmentRow] = []
            while try st.step() {
                out.append(SegmentRow(id: UInt64(bitPattern: st.int(0)), file: st.text(1), minStart: st.int(2), maxStart: st.int(3),
                                      spanCount: Int(st.int(4)), bytes: Int(st.int(5)), maxWALFile: UInt64(bitPattern: st.int(6))))
            }
            return out
        }
    }

    private var traceStmt: SQLiteStatement?

    /// Where a trace's rows are, per segment.
    public func traceLocations(_ id: TraceID) throws -> [(segment: UInt64, firstRow: Int, rowCount: Int)] {
        try readLock.withLock {
            if traceStmt == nil { traceStmt = try reader.prepare("SELECT segment_id, first_row, row_count FROM trace_rows WHERE trace_id = ?") }
            let st = traceStmt!
            defer { st.reset() }
            st.bind(1, id)
            var out: [(UInt64, Int, Int)] = []
            while try st.step() { out.append((UInt64(bitPattern: st.int(0)), Int(st.int(1)), Int(st.int(2)))) }
            return out
        }
    }

    /// Distinct trace ids in `low...high` (a prefix's range), at most `limit`, ascending.
    public func traceIDs(from low: TraceID, to high: TraceID, limit: Int) throws -> [TraceID] {
        try readLock.withLock {
            let st = try reader.prepare("SELECT DISTINCT trace_id FROM trace_rows WHERE trace_id >= ? AND trace_id <= ? ORDER BY trace_id LIMIT ?")
            st.bind(1, low.bytes).bind(2, high.bytes).bind(3, Int64(limit))
            return try Self.traceIDs(st)
        }
    }

    /// The 16-byte trace ids in the first column of every row `st` gives (others are skipped).
    private static func traceIDs(_ st: SQLiteStatement) throws -> [TraceID] {
        var out: [TraceID] = []
        while try st.step() {
            let bytes = st.blob(0)
            guard bytes.count == 16 else { continue }
            out.append(bytes.withUnsafeBytes { TraceID(bytes: $0) })
        }
        return out
    }

    public func traces(session: String, project: String) throws -> [TraceID] {
        try traceList("SELECT DISTINCT trace_id FROM session_traces WHERE project = ? AND session_id = ?", project, session)
    }

    public func traces(user: String, project: String) throws -> [TraceID] {
        try traceList("SELECT DISTINCT trace_id FROM user_traces WHERE project = ? AND user_id = ?", project, user)
    }

    private func traceList(_ sql: String, _ a: String, _ b: String) throws -> [TraceID] {
        try readLock.withLock {
            let st = try reader.prepare(sql)
            st.bind(1, a).bind(2, b)
            return try Self.traceIDs(st)
        }
    }

    /// SQLite's `data_version` on the read connection: it changes when any other connection,
    /// in this process or another (a collector writing while `tracectl` reads), commits. A read
    /// cached with one value is current while the value stays the same.
    public func dataVersion() throws -> Int64 {
        try readLock.withLock {
            let st = try reader.prepare("PRAGMA data_version")
            _ = try st.step()
            return st.int(0)
        }
    }

    /// Hashes of indexed texts matching an FTS5 query.
    public func matchTexts(_ query: String, limit: Int = 10_000) throws -> [Int64] {
        try readLock.withLock {
            let st = try reader.prepare("SELECT rowid FROM text_fts WHERE text_fts MATCH ? LIMIT ?")
            st.bind(1, query).bind(2, limit)
            var out: [Int64] = []
            while try st.step() { out.append(st.int(0)) }
            return out
        }
    }

    public func isTextIndexed(_ text: String) throws -> Bool {
        try readLock.withLock {
            let st = try reader.prepare("SELECT 1 FROM texts WHERE hash = ?")
            st.bind(1, TextHash.hash(text))
            return try st.step()
        }
    }

    /// Row count of a table (verification and tests).
    public func count(_ table: String, segment: UInt64? = nil) throws -> Int {
        try readLock.withLock {
            let st = try reader.prepare("SELECT count(*) FROM \(table)" + (segment != nil ? " WHERE segment_id = ?" : ""))
            if let segment { st.bind(1, Int64(segment)) }
            _ = try st.step()
            return Int(st.int(0))
        }
    }

    /// Every (trace id, first row, row count) recorded for one segment (verification).
    public func traceRows(segment: UInt64) throws -> [(TraceID, Int, Int)] {
        try readLock.withLock {
            let st = try reader.prepare("SELECT trace_id, first_row, row_count FROM trace_rows WHERE segment_id = ? ORDER BY trace_id")
            st.bind(1, Int64(segment))
            var out: [(TraceID, Int, Int)] = []
            while try st.step() {
                let b = st.blob(0)
                guard b.count == 16 else { throw StoreError("index: trace id of \(b.count) bytes in trace_rows", path: path) }
                out.append((b.withUnsafeBytes { TraceID(bytes: $0) }, Int(st.int(1)), Int(st.int(2))))
            }
            return out
        }
    }

    public func integrityCheck() throws -> [String] {
        try readLock.withLock {
            let st = try reader.prepare("PRAGMA integrity_check")
            var out: [String] = []
            while try st.step() { out.append(st.text(0)) }
            return out == ["ok"] ? [] : out
        }
    }

    /// Size of the database files on disk (main file plus its WAL).
    public var diskBytes: Int {
        (FileIO.fileSize(path) ?? 0) + (FileIO.fileSize(path + "-wal") ?? 0)
    }

    /// Copies the SQLite WAL into the database file and truncates the WAL.
    public func checkpoint() {
        writeLock.withLock { try? writer.exec("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// How large the SQLite WAL may grow before `checkpointIfLarge` copies it into the database.
    public static let defaultWALLimitBytes = 64 << 20
    public let walLimitBytes: Int

    /// Checkpoints when the SQLite WAL holds more than `walLimitBytes`. Called after every seal
    /// and between the indexer's transactions: under full ingest the indexer finishes a segment
    /// only every few minutes, and checkpointing only then let seals' index rows pile up in the
    /// WAL (17.8 GB of it after loading 10M spans, measured).
    public func checkpointIfLarge() {
        guard (FileIO.fileSize(path + "-wal") ?? 0) > walLimitBytes else { return }
        checkpointPassive()
    }

    /// Checkpoints without blocking on readers; keeps the SQLite WAL from growing between seals.
    /// The checkpoint's own fsyncs are replaced by gentle flushes (`FileIO.flushGently`): first the
    /// SQLite WAL, then, after SQLite copied its pages with synchronous=OFF, the database file. The
    /// write lock is held throughout, so no transaction commits before the copy is durable, the
    /// same order SQLite's NORMAL mode keeps.
    public func checkpointPassive() {
        writeLock.withLock {
            guard let walFD = FileIO.openDescriptor(of: path + "-wal"), let dbFD = FileIO.openDescriptor(of: path) else {
                try? writer.exec("PRAGMA wal_checkpoint(PASSIVE)")
                return
            }
            FileIO.flushGently(walFD)
            try? writer.exec("PRAGMA synchronous=OFF; PRAGMA wal_checkpoint(PASSIVE);")
            FileIO.flushGently(dbFD)
            try? writer.exec("PRAGMA synchronous=NORMAL;")
        }
    }
}
