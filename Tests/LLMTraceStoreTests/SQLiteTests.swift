import Testing
import LLMTraceModel
@testable import LLMTraceStore

/// The index's SQLite binding: text goes in as its bytes with their length, "" stays text (a null
/// pointer would bind NULL), trace ids as 16 big-endian bytes, multi-row inserts keep every row.
@Suite struct SQLiteTests {
    @Test func bindsTextBytesAndTraceIDsAndInsertsEveryRow() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path + "/t.db")
        try db.exec("CREATE TABLE t (k INTEGER, s TEXT, b BLOB)")
        let texts = ["", "a", "caf\u{E9}", "cafe\u{301}", "nul\u{0}inside", String(repeating: "long ", count: 100)]
        let trace = TraceID(hi: 0x0102_0304_0506_0708, lo: 0x090A_0B0C_0D0E_0F10)
        // 64 per statement: 150 rows are two full statements and one of 22.
        try db.insertRows("INSERT INTO t(k, s, b)", columns: 3, count: 150) { st, p, i in
            st.bind(p + 1, i).bind(p + 2, texts[i % texts.count]).bind(p + 3, trace)
        }
        let q = try db.prepare("SELECT k, typeof(s), s, length(CAST(s AS BLOB)), b FROM t ORDER BY k")
        var n = 0
        while try q.step() {
            let k = Int(q.int(0))
            #expect(k == n)
            #expect(q.text(1) == "text", "row \(k): \(texts[k % texts.count].debugDescription) bound as \(q.text(1))")
            #expect(q.int(3) == Int64(texts[k % texts.count].utf8.count), "row \(k): every byte, the NUL included")
            #expect(q.blob(4) == trace.bytes)
            n += 1
        }
        #expect(n == 150)
        let nfd = try db.prepare("SELECT count(*) FROM t WHERE s = ?")
        nfd.bind(1, "cafe\u{301}")
        #expect(try nfd.step() && nfd.int(0) == 25, "NFC and NFD stay two texts")
    }
}
