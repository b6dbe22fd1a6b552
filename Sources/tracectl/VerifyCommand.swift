import LLMTraceCLI
import LLMTraceModel
import LLMTraceStore

/// `tracectl verify`
enum VerifyCommand {
    static let usage = """
    tracectl verify: check a data directory for corruption without changing it.

    USAGE
      tracectl verify [--data DIR] [--json]

    Reads every WAL record (framing, CRC-32, decoding), every segment (footer, the CRC-32 of every
    column block, dictionary and text block, and that every row decodes) and checks that the SQLite
    index agrees with the segments (catalog, trace runs, span ids) and passes integrity_check.

    EXIT CODES
      0 sound (warnings, such as a torn WAL tail the next start truncates, are printed but allowed)
      1 corruption found: each problem names the file and the byte offset

    EXAMPLES
      tracectl verify
      tracectl verify --data /var/lib/llmtrace --json
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["data"], flags: ["help", "json"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("verify takes no arguments; see tracectl verify --help") }
        let dir = Tracectl.dataDirectory(a)
        let r = StoreVerifier.verify(directory: dir)
        if a.has("json") {
            var w = JSONWriter(indent: 2)
            w.beginObject()
            w.key("ok"); w.bool(r.ok)
            w.key("wal_files"); w.int(Int64(r.walFiles))
            w.key("wal_records"); w.int(Int64(r.walRecords))
            w.key("wal_spans"); w.int(Int64(r.walSpans))
            w.key("segments"); w.int(Int64(r.segments))
            w.key("segment_spans"); w.int(Int64(r.segmentSpans))
            w.key("indexed_traces"); w.int(Int64(r.indexedTraces))
            w.key("errors"); w.beginArray(); for e in r.errors { w.string(e) }; w.endArray()
            w.key("warnings"); w.beginArray(); for e in r.warnings { w.string(e) }; w.endArray()
            w.endObject()
            Terminal.print(w.string)
        } else {
            Terminal.print("data directory \(dir)")
            Terminal.print("  WAL:      \(r.walFiles) file(s), \(r.walRecords) record(s), \(r.walSpans) span(s) not yet sealed")
            Terminal.print("  segments: \(r.segments) file(s), \(r.segmentSpans) span(s)")
            Terminal.print("  index:    \(r.indexedTraces) trace run(s) checked against the segments")
            for w in r.warnings { Terminal.print("warning: \(w)") }
            for e in r.errors { Terminal.print("CORRUPT: \(e)") }
            Terminal.print(r.ok ? "OK: no corruption found" : "FAILED: \(r.errors.count) problem(s) found")
        }
        return r.ok ? 0 : 1
    }
}
