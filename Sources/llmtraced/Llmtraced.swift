#if canImport(Glibc)
import Glibc
#endif
import LLMTraceCLI
import LLMTraceStore

/// `llmtraced`: the LLMTrace server process. Today it owns the data directory: recovery, sealing,
/// retention and a clean shutdown. The HTTP collector (native JSON and OTLP ingest) is the next step.
@main
struct Llmtraced {
    static let usage = """
    llmtraced: the LLMTrace collector and store.

    USAGE
      llmtraced [--data DIR] [--fsync always|interval=Nms] [--seal-spans N] [--seal-age SECONDS]
                [--retention DURATION] [--compression 1-9]

    Opens (or creates) the data directory, recovers it (replays the write-ahead log, truncating a torn
    tail with a warning), then seals the in-memory head into columnar segments when it reaches
    --seal-spans spans or --seal-age seconds, and drops segments older than --retention. SIGINT or
    SIGTERM seals the head and exits cleanly.

    Status: the HTTP ingest endpoints (POST /v1/spans, OTLP/HTTP POST /v1/traces) are not built yet;
    today spans enter through `tracectl import` while llmtraced is stopped.

    OPTIONS (each also as an environment variable)
      --data DIR           LLMTRACE_DATA         data directory (default ./llmtrace-data)
      --fsync POLICY       LLMTRACE_FSYNC        always (default) or interval=Nms; a batch is acknowledged
                                                 only after an fsync covers it under both
      --seal-spans N       LLMTRACE_SEAL_SPANS   seal the head at N spans (default 100000)
      --seal-age S         LLMTRACE_SEAL_AGE     ...or when it is S seconds old (default 300)
      --retention D        LLMTRACE_RETENTION    drop segments older than D: 30d, 12h, 90m (default: keep all)
      --compression L      LLMTRACE_COMPRESSION  zlib level for segment text, 1-9 (default 1)

    EXAMPLES
      llmtraced
      llmtraced --data /var/lib/llmtrace --retention 30d
    """

    static func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// Parses 30d, 12h, 90m, 45s into nanoseconds.
    static func duration(_ s: String) -> Int64? {
        guard let unit = s.last, let n = Int64(s.dropLast()), n > 0 else { return nil }
        switch unit {
        case "d": return n * 86_400_000_000_000
        case "h": return n * 3_600_000_000_000
        case "m": return n * 60_000_000_000
        case "s": return n * 1_000_000_000
        default: return nil
        }
    }

    static func main() {
        do {
            exit(try run(Array(CommandLine.arguments.dropFirst())))
        } catch let e as UsageError {
            Terminal.error("llmtraced: \(e)")
            exit(2)
        } catch {
            Terminal.error("llmtraced: \(error)")
            exit(1)
        }
    }

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["data", "fsync", "seal-spans", "seal-age", "retention", "compression"], flags: ["help"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("unexpected argument '\(a.positionals[0])'; see llmtraced --help") }
        func opt(_ name: String, _ envName: String) -> String? { a.value(name) ?? env(envName) }

        var opts = StoreOptions(directory: opt("data", "LLMTRACE_DATA") ?? DataDirectory.defaultPath)
        if let f = opt("fsync", "LLMTRACE_FSYNC") {
            guard let p = FsyncPolicy(parsing: f) else { throw UsageError("--fsync expects always or interval=Nms, got '\(f)'") }
            opts.fsync = p
        }
        if let v = opt("seal-spans", "LLMTRACE_SEAL_SPANS") {
            guard let n = Int(v), n > 0 else { throw UsageError("--seal-spans expects a positive integer, got '\(v)'") }
            opts.sealSpanCount = n
        }
        if let v = opt("seal-age", "LLMTRACE_SEAL_AGE") {
            guard let n = Int64(v), n > 0 else { throw UsageError("--seal-age expects seconds, got '\(v)'") }
            opts.sealAgeNanos = n * 1_000_000_000
        }
        if let v = opt("retention", "LLMTRACE_RETENTION") {
            guard let d = duration(v) else { throw UsageError("--retention expects a duration like 30d, 12h or 90m, got '\(v)'") }
            opts.retentionNanos = d
        }
        if let v = opt("compression", "LLMTRACE_COMPRESSION") {
            guard let l = Int32(v), (1...9).contains(l) else { throw UsageError("--compression expects 1 to 9, got '\(v)'") }
            opts.compressionLevel = l
        }
        opts.log = { Terminal.error("llmtraced: \($0)") }

        // Block the shutdown signals before any thread starts, then wait for them here.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)

        let started = monotonicNanos()
        let store = try Store.open(opts)
        let r = store.recovery
        let ms = Double(monotonicNanos() - started) / 1e6
        Terminal.error("llmtraced: data directory \(opts.directory): \(r.segmentsOpened) segment(s), "
                       + "\(r.walSpansReplayed) span(s) replayed from \(r.walFilesReplayed) WAL file(s) in \(TraceRenderer.fixed(ms, 1)) ms")
        Terminal.error("llmtraced: fsync=\(opts.fsync), seal at \(opts.sealSpanCount) spans or \(opts.sealAgeNanos / 1_000_000_000) s"
                       + (opts.retentionNanos.map { ", retention \($0 / 1_000_000_000) s" } ?? ", retention off"))
        Terminal.error("llmtraced: HTTP ingest is not available yet; stop with Ctrl-C (the head is sealed on exit)")

        var sig: Int32 = 0
        sigwait(&set, &sig)
        Terminal.error("llmtraced: received signal \(sig), sealing the head and shutting down")
        try store.close(seal: true)
        Terminal.error("llmtraced: stopped cleanly")
        return 0
    }
}
