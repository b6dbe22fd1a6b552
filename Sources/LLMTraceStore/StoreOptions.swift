/// How a store behaves. Defaults suit a server on one machine.
public struct StoreOptions: Sendable {
    /// The data directory: `wal/`, `segments/`, `index.db` live under it.
    public var directory: String
    public var fsync: FsyncPolicy = .always
    /// Seal the head when it holds this many spans... At full ingest one head fills while the
    /// previous one is written, and a seal sorts a copy of its rows (a ~180-byte `HeadRow` and the
    /// span's encoded details each, its texts in the WAL's table). 65,536 (not 100,000) kept
    /// llmtraced under 400 MB at 75-80k spans/s with 24 hours of deduplication keys when head rows
    /// were whole spans (`llmtrace-bench ingest --spawn --seconds 60`).
    public var sealSpanCount = 65_536
    /// ...or when its oldest span was acknowledged this long ago.
    public var sealAgeNanos: Int64 = 300 * 1_000_000_000
    /// Drop whole segments whose newest span started longer ago than this; nil keeps everything.
    public var retentionNanos: Int64? = nil
    /// How new segments compress their text, details and dictionary blocks. LZ4 by default:
    /// sealing takes ~0.6× the CPU of zlib level 1, for segments ~1.2× as large (figures in
    /// `LZ4Block`).
    public var compression: SegmentCompression = .default
    /// Open for reading only: no lock, no WAL writes, no truncation, no sealing.
    public var readOnly = false
    /// A consumer every acknowledged span is forwarded to (the ClickHouse sink): its confirmed
    /// position is kept in the data directory and retention keeps what it has not confirmed.
    public var outbox: OutboxOptions? = nil
    /// How large index.db's SQLite WAL may grow before it is checkpointed back into the database
    /// (and cut back to this size).
    public var indexWALLimitBytes = IndexDB.defaultWALLimitBytes
    /// A span re-sent within this much ingest time (same project, trace id and span id) is not
    /// stored again: the first one wins.
    public var dedupWindowNanos: Int64 = 24 * 3_600_000_000_000
    /// The most span keys the dedup window holds (about 7 bytes each, 6.3 once their generation is
    /// closed: `KeySet`); more arriving within the window shorten it (the oldest quarter of the
    /// window goes first).
    public var dedupMaxSpans = 20_000_000
    /// Seal and retention run on a background thread; tests may turn it off and call `sealNow()`.
    public var backgroundSealing = true
    /// Return freed heap to the OS (malloc_trim) after each seal and full-text pass. Keeps RSS low
    /// when many threads each grew their own malloc arena; but trimming a large heap walks it with
    /// the arena locks held, stalling every allocating thread meanwhile. llmtraced turns it off
    /// and caps glibc at two arenas instead (server peak RSS stayed ~360 MB at full ingest either
    /// way; half-rate p99 measured 65-122 ms without and 91 ms with: within this machine's noise).
    public var trimMemoryAfterSeal = true
    /// Where recovery steps, warnings and errors go (stderr lines by default). A failure that
    /// repeats (a seal retried every second on a full disk) is logged when it starts, when its
    /// reason changes and when it ends, not on every retry.
    public var log: @Sendable (StoreLog.Level, String) -> Void = { StoreLog.stderr($0, $1) }

    public init(directory: String) {
        self.directory = directory
    }
}

public enum StoreLog {
    public enum Level: String, Sendable { case info, warning, error }

    public static func stderr(_ level: Level, _ line: String) {
        var s = level == .info ? line : "\(level.rawValue): \(line)"
        s.append("\n")
        var bytes = Array(s.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
