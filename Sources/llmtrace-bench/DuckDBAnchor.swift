import Foundation
import LLMTraceCLI
import LLMTraceStore

/// The goal's measure for `llmtrace-bench query`: the same questions asked of DuckDB (PyPI
/// `duckdb`, an in-process columnar engine) over the same spans, in the same run. The spans go
/// from the bench's SQLite row table to `anchor.csv` (once per directory), DuckDB loads that into
/// its own table (`anchor.duckdb`, kept with `--keep`), then times each query: one run to warm
/// up, then the median of `runs`. DuckDB is installed with pip when it is missing.
enum DuckDBAnchor {
    struct Query: Sendable { var name: String; var sql: String }
    struct Answer: Sendable { var medianMs: Double; var rows: Int }

    /// The rows of the SQLite table as CSV (a header, then RFC 4180 quoting where needed).
    static func exportCSV(_ sqlite: SQLiteTable, to path: String) throws {
        let tmp = path + ".tmp"
        guard let f = fopen(tmp, "w") else { throw StoreError("cannot write", path: tmp) }
        var buf: [UInt8] = []
        buf.reserveCapacity(1 << 20)
        buf += Array(SQLiteTable.columnNames.joined(separator: ",").utf8)
        buf.append(0x0A)
        var failed = false
        try sqlite.forEachRow("SELECT \(SQLiteTable.columnNames.joined(separator: ", ")) FROM spans") { values in
            for (i, v) in values.enumerated() {
                if i > 0 { buf.append(0x2C) }
                if let v { appendField(v, to: &buf) }
            }
            buf.append(0x0A)
            if buf.count >= 1 << 20 {
                failed = failed || fwrite(buf, 1, buf.count, f) != buf.count
                buf.removeAll(keepingCapacity: true)
            }
        }
        failed = failed || fwrite(buf, 1, buf.count, f) != buf.count
        failed = fclose(f) != 0 || failed
        guard !failed, rename(tmp, path) == 0 else { throw StoreError("cannot write", path: tmp) }
    }

    static func appendField(_ v: [UInt8], to buf: inout [UInt8]) {
        guard v.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { buf += v; return }
        buf.append(0x22)
        for b in v {
            if b == 0x22 { buf.append(0x22) }
            buf.append(b)
        }
        buf.append(0x22)
    }

    /// Runs the queries in DuckDB; nil (with the reason on stderr) when python3 or duckdb cannot be had.
    static func run(_ queries: [Query], dir: String, runs: Int) -> [String: Answer]? {
        guard ensureDuckDB() else { return nil }
        let script = dir + "/duckdb_anchor.py"
        guard FileManager.default.createFile(atPath: script, contents: Data(source.utf8)) else {
            Terminal.error("duckdb: cannot write \(script)")
            return nil
        }
        var input = "\(runs)\n"
        for q in queries { input += q.name + "\t" + q.sql + "\n" }
        guard let (status, out) = python([script, dir], stdin: input), status == 0 else { return nil }
        var answers: [String: Answer] = [:]
        for line in out.split(separator: "\n") {
            let f = line.split(separator: "\t")
            guard f.count == 3, let ms = Double(f[1]), let rows = Int(f[2]) else { continue }
            answers[String(f[0])] = Answer(medianMs: ms, rows: rows)
        }
        return answers
    }

    static func ensureDuckDB() -> Bool {
        if let (s, _) = python(["-c", "import duckdb"], stdin: ""), s == 0 { return true }
        Terminal.error("duckdb: not importable; installing it with pip (the anchor queries need it)…")
        guard let (s, _) = python(["-m", "pip", "install", "-q", "duckdb"], stdin: ""), s == 0,
              let (t, _) = python(["-c", "import duckdb"], stdin: ""), t == 0 else {
            Terminal.error("duckdb: pip could not install it; the DuckDB ratios are left out (--skip-duckdb says so up front)")
            return false
        }
        return true
    }

    /// Runs python3 with `args`; its stderr goes to ours.
    static func python(_ args: [String], stdin: String) -> (Int32, String)? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let inPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        do { try p.run() } catch {
            Terminal.error("duckdb: cannot run python3: \(error)")
            return nil
        }
        inPipe.fileHandleForWriting.write(Data(stdin.utf8))
        try? inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self))
    }

    /// Reads "runs" then "name<TAB>sql" lines on stdin; prints "name<TAB>median_ms<TAB>rows".
    static let source = #"""
import os, sys, time, statistics, duckdb
d = sys.argv[1]
db_path, csv_path = os.path.join(d, "anchor.duckdb"), os.path.join(d, "anchor.csv")
con = duckdb.connect(db_path)
if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'spans'").fetchone()[0]:
    t = time.time()
    con.execute(f"CREATE TABLE spans AS SELECT * FROM read_csv('{csv_path}', header = true, auto_detect = true)")
    n = con.execute("SELECT count(*) FROM spans").fetchone()[0]
    print(f"duckdb {duckdb.__version__}: loaded {n} spans from the CSV in {time.time() - t:.1f} s", file=sys.stderr)
lines = sys.stdin.read().splitlines()
runs = int(lines[0])
for line in lines[1:]:
    name, sql = line.split("\t", 1)
    rows = len(con.execute(sql).fetchall())
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        con.execute(sql).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    print(f"{name}\t{statistics.median(times):.3f}\t{rows}", flush=True)
"""#
}
