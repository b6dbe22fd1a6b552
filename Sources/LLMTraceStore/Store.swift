#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel
import Foundation
import CLinux

/// The span store of one data directory: WAL, in-memory head, sealed columnar segments, SQLite index.
///
/// `append` returns once the batch is in the WAL and fsynced, and the spans are readable the moment
/// it returns. A background sealer turns the head into a segment when it is big or old enough:
/// write, fsync and rename the segment, index it, then drop the WAL files it covers. This file: the
/// state, opening and closing; the rest by concern in `Store+Recovery`, `+Append`, `+Sealing`,
/// `+TextIndex`, `+Retention` and `+Reads`.
public final class Store: @unchecked Sendable {
    public let options: StoreOptions
    public let index: IndexDB
    let walDir: String
    let segmentDir: String
    var wal: WAL?
    var lockFD: Int32 = -1

    /// Guards everything below, and is the seal gate (see `append`).
    let state = Condition()
    var head: Head
    /// Read-only opens cannot seal, so spans replayed from the WAL are served from here instead.
    var replayed: [Span] = []
    /// Heads being written to segments, oldest first, with the id their segment will have.
    var sealing: [(id: UInt64, head: Head)] = []
    var segments: [UInt64: SegmentReader] = [:]
    var nextSegmentID: UInt64 = 1
    var appendsInFlight = 0
    var lastAppendNanos: Int64 = 0
    /// When this process last matched text (`textMatch`): postings are written ahead of FTS5 only
    /// while someone is searching (`Store+TextIndex`).
    var lastTextQueryNanos: Int64? = nil
    var swapPending = false
    var stopping = false
    var sealerThread: Thread?
    var sealerDone = false
    /// Held for a whole seal (swap, write, index, publish): one seal at a time.
    let sealMutex = Condition()
    /// The sealer thread sleeps here; appends that fill the head wake it.
    let sealWake = Condition()
    /// What recovery did, for `tracectl verify` and logs.
    public internal(set) var recovery = RecoveryReport()
    /// Why the last seal failed, until one succeeds; appends are refused meanwhile (guarded by
    /// `state`): a head that cannot be written must not be joined by another one in memory.
    var sealFailure: StoreError?
    let failures: FailureLog
    /// Keys of the spans stored in the dedup window (guarded by `dedupLock`).
    var recentKeys: RecentSpanKeys
    let dedupLock = Condition()
    /// FTS5's recent answers (`matchingTextHashes`).
    let textMatches = TextMatchCache()

    public struct RecoveryReport: Sendable {
        public var segmentsOpened = 0
        public var segmentsReindexed = 0
        public var walFilesReplayed = 0
        public var walRecordsReplayed = 0
        public var walSpansReplayed = 0
        public var walFilesDropped = 0
        public var truncations: [String] = []
        public var problems: [String] = []
    }

    public static func open(_ options: StoreOptions) throws -> Store { try Store(options) }

    init(_ options: StoreOptions) throws {
        self.options = options
        failures = FailureLog(options.log)
        recentKeys = RecentSpanKeys(windowNanos: options.dedupWindowNanos, maxKeys: options.dedupMaxSpans)
        let dir = options.directory
        walDir = dir + "/wal"
        segmentDir = dir + "/segments"
        if options.readOnly {
            guard FileIO.exists(dir) else { throw StoreError("no data directory", path: dir) }
        } else {
            try FileIO.makeDirectory(walDir)
            try FileIO.makeDirectory(segmentDir)
        }
        head = Head(texts: SharedTextTable(), walFiles: [])
        if !options.readOnly {
            lockFD = try FileIO.open(dir + "/LOCK", O_RDWR | O_CREAT)
            // Retry briefly: a child forked by this process (between fork and exec) can hold a copy
            // of a just-closed lock descriptor for a moment. A real second owner is still reported.
            let deadline = monotonicNanos() + 2_000_000_000
            while flock(lockFD, LOCK_EX | LOCK_NB) != 0 {
                if monotonicNanos() > deadline {
                    Glibc.close(lockFD)
                    throw StoreError("data directory is in use by another process (lock held on LOCK)", path: dir)
                }
                usleep(20_000)
            }
        }
        if options.readOnly && !FileIO.exists(dir + "/index.db") {
            throw StoreError("no index database: is this an LLMTrace data directory?", path: dir)
        }
        index = try IndexDB(path: dir + "/index.db", walLimitBytes: options.indexWALLimitBytes)
        try recover()
        if !options.readOnly && options.backgroundSealing {
            let t = Thread { [weak self] in self?.sealerLoop() }
            t.name = "llmtrace-sealer"
            sealerThread = t
            t.start()
            let x = Thread { [weak self] in self?.textIndexLoop() }
            x.name = "llmtrace-fts"
            textThread = x
            x.start()
        }
    }

    deinit {
        if lockFD >= 0 { Glibc.close(lockFD) }
    }


    // Stored state of the concerns in the Store+*.swift extensions.
    var reportedDedupWindow: Int64?
    let textLock = Condition()
    let textIndexing = Condition()
    var textThread: Thread?
    var textDone = false
    /// Segments whose texts could not be read (corrupt): reported once, then left out of
    /// full-text indexing until the next start (`tracectl verify` names the damage).
    var unindexable = Set<UInt64>()
    /// Which head the live pass last read, and how far.
    var headTextCursor: (generation: Int, row: Int) = (-1, 0)
    /// Bumped each time the head is swapped out.
    var headGeneration = 0
    var retentionDropped = (segments: 0, spans: 0)
    var backpressureNanos: Int64 = 0
    /// The outbox consumer's confirmed position (`Store+Outbox`), when `options.outbox` is set.
    var outbox: OutboxState?

    // MARK: Shutdown

    /// Stops the sealer and closes the WAL. With `seal`, the head is written to a segment first, so
    /// the next start replays nothing.
    /// A seal that fails here (a full disk) is thrown after everything is closed: the spans stay
    /// in the WAL, which the next start replays.
    public func close(seal: Bool = false) throws {
        var sealError: Error?
        if seal && !options.readOnly {
            do {
                try sealNow()
                try retryFailedSeals()
            } catch {
                sealError = error
            }
        }
        state.withLock { stopping = true }
        sealWake.withLock { sealWake.broadcast() }
        textLock.withLock { textLock.broadcast() }
        if sealerThread != nil {
            state.withLock { while !sealerDone || !textDone { state.wait() } }
        }
        wal?.close()
        if lockFD >= 0 {
            Glibc.close(lockFD)
            lockFD = -1
        }
        if let sealError { throw sealError }
    }
}
