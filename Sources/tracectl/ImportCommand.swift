#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LLMTraceCLI
import LLMTraceIngest
import LLMTraceModel
import LLMTraceStore

/// `tracectl import FILE.jsonl`
enum ImportCommand {
    static let usage = """
    tracectl import: store native JSON spans from a file, one span object per line.

    USAGE
      tracectl import <file.jsonl | -> [--data DIR] [--pricing FILE] [--batch 512] [--quiet]

    Each line is one span in the native format (schemas/span.schema.json), checked and enriched exactly
    as POST /v1/spans does it: the same limits, the kind (llm when a model is named), the cost from the
    price table when the span carries none. A line that is not a valid span is reported with its line
    number, field and reason, and skipped; every valid line is stored.
    Blank lines are ignored. Spans are written through the WAL (fsynced) in batches, then sealed into a
    segment. A progress bar is drawn on stderr when it is a terminal.

    The data directory must not be in use by a running llmtraced (send spans to its HTTP API instead).

    OPTIONS
      --data DIR    Data directory (default: $LLMTRACE_DATA or ./llmtrace-data); created if missing
      --pricing FILE  Model prices to cost spans with, as llmtraced --pricing (default: schemas/pricing.json, built in)
      --batch N     Spans per WAL batch (default 512)
      --quiet       No progress bar and no per-line errors, only the summary

    EXIT CODES
      0 every line imported · 3 some lines rejected (the rest imported) · 1 nothing could be imported

    EXAMPLES
      tracectl import spans.jsonl
      zcat spans.jsonl.gz | tracectl import - --data ./llmtrace-data
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["data", "batch", "pricing"], flags: ["help", "quiet"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.count == 1 else { throw UsageError("import needs one file (or - for stdin); see tracectl import --help") }
        let batchSize = try a.int("batch", default: 512)
        guard batchSize > 0 && batchSize <= 100_000 else { throw UsageError("--batch must be between 1 and 100000") }
        let file = a.positionals[0]
        var ingest = Ingest()
        if let path = a.value("pricing") {
            guard let data = FileManager.default.contents(atPath: path) else { throw UsageError("cannot read pricing file \(path)") }
            ingest.pricing = try Pricing(json: Array(data))
        }
        let fd: Int32
        var total = 0
        if file == "-" {
            fd = 0
        } else {
            fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw StoreError("cannot open: \(String(cString: strerror(errno)))", path: file) }
            var st = stat()
            if fstat(fd, &st) == 0 { total = Int(st.st_size) }
        }
        defer { if fd > 0 { close(fd) } }

        var opts = StoreOptions(directory: Tracectl.dataDirectory(a))
        opts.log = { level, line in Terminal.error("tracectl: " + (level == .info ? "" : "\(level.rawValue): ") + line) }
        let store = try Store.open(opts)
        let quiet = a.has("quiet")
        let progress = ProgressBar(total: total, enabled: !quiet && Terminal.isTTY(2))

        var lineNo = 0, good = 0, bad = 0, bytesRead = 0, resent = 0
        var batch: [Span] = []
        batch.reserveCapacity(batchSize)
        var reader = LineReader(fd: fd)
        let started = monotonicNanos()
        while let line = try reader.next() {
            lineNo += 1
            bytesRead += line.count + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            switch ingest.native(line) {
            case .success(let s):
                batch.append(s)
                good += 1
            case .failure(let why):
                bad += 1
                if !quiet {
                    progress.clear()
                    Terminal.error("line \(lineNo): " + Terminal.visible("\(why)"))
                }
            }
            if batch.count >= batchSize {
                resent += try store.append(batch).duplicates.count
                batch.removeAll(keepingCapacity: true)
                progress.update(bytesRead, good)
            }
        }
        if !batch.isEmpty { resent += try store.append(batch).duplicates.count }
        progress.update(bytesRead, good)
        progress.clear()
        try store.close(seal: true)
        let secs = Double(monotonicNanos() - started) / 1e9
        let rate = secs > 0 ? Int(Double(good) / secs) : good
        Terminal.error("imported \(good - resent) span\(good - resent == 1 ? "" : "s") from \(file == "-" ? "stdin" : file) into \(opts.directory)"
                       + (resent > 0 ? "; \(resent) already stored (same project, trace and span id) were skipped" : "")
                       + (bad > 0 ? "; rejected \(bad) line\(bad == 1 ? "" : "s")" : "") + " (\(rate) spans/s)")
        if good == 0 && bad > 0 { return 1 }
        return bad > 0 ? 3 : 0
    }
}

/// Reads a file descriptor line by line in large chunks; lines come back without their newline.
struct LineReader {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    /// A single line longer than this is an error rather than unbounded memory.
    static let maxLine = 64 << 20

    init(fd: Int32) { self.fd = fd }

    mutating func next() throws -> [UInt8]? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<nl])
                start = nl + 1
                return line
            }
            if eof {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            guard buffer.count < Self.maxLine else { throw UsageError("a line is longer than \(Self.maxLine >> 20) MiB") }
            let chunk = 1 << 20
            let old = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: chunk))
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + old, chunk) }
            if n < 0 {
                if errno == EINTR { buffer.removeSubrange(old...); continue }
                throw StoreError("read failed: \(String(cString: strerror(errno)))")
            }
            buffer.removeSubrange((old + n)...)
            if n == 0 { eof = true }
        }
    }
}

/// A one-line progress bar on stderr, redrawn at most ten times a second.
final class ProgressBar {
    let total: Int
    let enabled: Bool
    private var lastDraw: Int64 = 0
    private var drawn = false

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ done: Int, _ spans: Int) {
        guard enabled else { return }
        let now = monotonicNanos()
        guard now - lastDraw > 100_000_000 else { return }
        lastDraw = now
        var line = "\r"
        if total > 0 {
            let frac = min(1, Double(done) / Double(total))
            let w = 30
            let filled = Int(frac * Double(w))
            line += "[" + String(repeating: "█", count: filled) + String(repeating: "·", count: w - filled) + "] "
            line += "\(Int(frac * 100))%  "
        }
        line += "\(spans) spans  \(done >> 20) MiB"
        Terminal.write(line + "\u{1B}[K", fd: 2)
        drawn = true
    }

    func clear() {
        guard enabled, drawn else { return }
        Terminal.write("\r\u{1B}[K", fd: 2)
        drawn = false
    }
}
