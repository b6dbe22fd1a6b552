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
/// write, fsync and rename the segment, index it, then drop the WAL files it covers.
public final class Store: @unchecked Sendable {
    public let options: StoreOptions
    public let index: IndexDB
    let walDir: String
    let segmentDir: String
    private var wal: WAL?
    private var lockFD: Int32 = -1

    /// Guards everything below, and is the seal gate (see `append`).
    private let state = Condition()
    private var head: Head
    /// Read-only opens cannot seal, so spans replayed from the WAL are served from here instead.
    private var replayed: [Span] = []
    /// Heads being written to segments, oldest first, with the id their segment will have.
    private var sealing: [(id: UInt64, head: Head)] = []
    private var segments: [UInt64: SegmentReader] = [:]
    private var nextSegmentID: UInt64 = 1
    private var appendsInFlight = 0
    private var lastAppendNanos: Int64 = 0
    private var swapPending = false
    private var stopping = false
    private var sealerThread: Thread?
    private var sealerDone = false
    /// Held for a whole seal (swap, write, index, publish): one seal at a time.
    private let sealMutex = Condition()
    /// The sealer thread sleeps here; appends that fill the head wake it.
    private let sealWake = Condition()
    /// What recovery did, for `tracectl verify` and logs.
    public private(set) var recovery = RecoveryReport()
    /// Why the last seal failed, until one succeeds; appends are refused meanwhile (guarded by
    /// `state`): a head that cannot be written must not be joined by another one in memory.
    private var sealFailure: StoreError?
    private let failures: FailureLog
    /// Keys of the spans stored in the dedup window (guarded by `dedupLock`).
    private var recentKeys: RecentSpanKeys
    private let dedupLock = Condition()

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

    private init(_ options: StoreOptions) throws {
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

    // MARK: Recovery

    /// Named steps, each logged with its duration.
    private func recover() throws {
        try step("open segments") { try openSegments() }
        try step("reconcile index") { try reconcileIndex() }
        try step("replay WAL") { try replayWAL() }
        if !options.readOnly { try step("load span keys of the dedup window") { try loadRecentKeys() } }
    }

    /// The keys of every span stored in the dedup window: those of segments sealed within it
    /// (filed under their seal time) and the replayed WAL (sealed just now).
    private func loadRecentKeys() throws {
        let since = wallNanos() - options.dedupWindowNanos - options.dedupWindowNanos / 4
        for r in segments.values.sorted(by: { $0.id < $1.id }) where r.createdNanos >= since {
            let (codes, projects) = try r.dictColumn(.project)
            let traces = try r.traceIDColumn()
            let spans = try r.intColumn(.spanID).values
            for i in 0..<r.rowCount {
                let project = codes[i] == 0 ? "" : projects[Int(codes[i]) - 1]
                recentKeys.insert(RecentSpanKeys.key(project: project, trace: traces[i], span: SpanID(UInt64(bitPattern: spans[i]))), at: r.createdNanos)
            }
            r.dropResidentPages()
        }
        recentKeys.expire(now: wallNanos())
    }

    private func step(_ name: String, _ body: () throws -> Void) throws {
        let t0 = monotonicNanos()
        try body()
        let ms = Double(monotonicNanos() - t0) / 1e6
        if ms >= 100 || !recovery.truncations.isEmpty && name == "replay WAL" {
            options.log(.info, "recovery: \(name) took \(String(format: "%.1f", ms)) ms")
        }
    }

    private func openSegments() throws {
        for name in FileIO.list(segmentDir) {
            let path = segmentDir + "/" + name
            if name.hasSuffix(".tmp") {
                // A seal that never reached its rename: the WAL still holds those spans.
                if !options.readOnly { try FileIO.remove(path) }
                continue
            }
            guard let id = SegmentFormat.id(fromName: name) else { continue }
            do {
                let r = try SegmentReader(path: path)
                guard r.id == id else { throw StoreError("segment id \(r.id) does not match its name", path: path) }
                segments[id] = r
                recovery.segmentsOpened += 1
            } catch {
                // Keep the file for inspection but never read it again.
                recovery.problems.append("\(error)")
                options.log(.warning, "\(error); moving it aside")
                if !options.readOnly { try? FileIO.rename(path, to: path + ".corrupt") }
            }
            nextSegmentID = max(nextSegmentID, id + 1)
        }
        // Postings files whose segment is gone (retention, or set aside as corrupt).
        for name in FileIO.list(segmentDir) where name.hasSuffix(".postings") && !options.readOnly {
            let seg = String(name.dropLast(".postings".count)) + ".seg"
            if let id = SegmentFormat.id(fromName: seg), segments[id] != nil { continue }
            try FileIO.remove(segmentDir + "/" + name)
        }
    }

    private func reconcileIndex() throws {
        let cataloged = try index.segments()
        var known = Set<UInt64>()
        for row in cataloged {
            known.insert(row.id)
            nextSegmentID = max(nextSegmentID, row.id + 1)
            if segments[row.id] == nil && !options.readOnly {
                options.log(.warning, "segment \(row.id) is in the index but its file is gone; removing its index rows")
                try index.removeSegment(id: row.id, summary: nil)
            }
        }
        for (id, reader) in segments.sorted(by: { $0.key < $1.key }) where !known.contains(id) {
            // Crash between the segment's rename and its index commit: index it now.
            guard !options.readOnly else { continue }
            let summary = try Self.summary(of: reader, includeTexts: false)
            try index.addSegment(summary, file: SegmentFormat.name(id))
            recovery.segmentsReindexed += 1
            options.log(.info, "recovery: indexed segment \(id) (\(reader.rowCount) spans) that was written but not indexed")
        }
    }

    /// Rebuilds the index rows of a segment from its file; with `includeTexts`, also the paragraphs
    /// the full-text indexer took from it (the same `searchableTexts()`), so retention removes
    /// exactly what was indexed.
    static func summary(of r: SegmentReader, includeTexts: Bool) throws -> SegmentSummary {
        var s = SegmentSummary(id: r.id, path: r.path, spanCount: r.rowCount, minStart: r.minStart, maxStart: r.maxStart,
                               bytes: r.fileSize, maxWALFile: r.maxWALFile)
        SegmentWriter.summarize(try r.allSpans(), into: &s)
        if includeTexts { s.searchableTexts = try r.searchableTexts() }
        return s
    }

    /// Replays WAL files not covered by a segment and seals what they held into a segment at once, so
    /// the head always corresponds to exactly one WAL file (its text table) from here on.
    private func replayWAL() throws {
        let covered = segments.values.map(\.maxWALFile).max() ?? 0
        var lastSeq: UInt64 = 0
        var maxFile: UInt64 = covered
        var replayedFiles: [UInt64] = []
        var spans: [Span] = []
        for (number, path) in WALReader.files(in: walDir) {
            maxFile = max(maxFile, number)
            if number <= covered {
                // Already in a segment; a crash came between the seal and this delete.
                if !options.readOnly { try FileIO.remove(path) }
                recovery.walFilesDropped += 1
                continue
            }
            let scan = try WALReader.scan(path: path, number: number) { rec in
                // Never apply a record twice: sequence numbers only grow across files.
                guard rec.seq > lastSeq else { return }
                lastSeq = rec.seq
                spans.append(contentsOf: rec.spans)
                recovery.walRecordsReplayed += 1
                recovery.walSpansReplayed += rec.spans.count
            }
            recovery.walFilesReplayed += 1
            replayedFiles.append(number)
            if let problem = scan.problem {
                let msg = "WAL \(path): \(problem) at offset \(scan.validEnd) of \(scan.size); " +
                    (options.readOnly ? "ignoring the rest" : "truncating \(scan.size - scan.validEnd) bytes")
                recovery.truncations.append(msg)
                options.log(.warning, msg)
                if !options.readOnly {
                    if scan.validEnd < WALFile.headerSize {
                        try FileIO.remove(path)
                    } else {
                        try FileIO.truncate(path, to: scan.validEnd)
                    }
                }
            }
        }
        guard !options.readOnly else {
            replayed = spans
            return
        }
        if !spans.isEmpty {
            let id = nextSegmentID
            nextSegmentID += 1
            let writer = SegmentWriter(compressionLevel: options.compressionLevel)
            let summary = try writer.write(spans: spans, id: id, maxWALFile: maxFile, directory: segmentDir)
            try index.addSegment(summary, file: SegmentFormat.name(id))
            segments[id] = try SegmentReader(path: summary.path)
            options.log(.info, "recovery: sealed \(spans.count) replayed span(s) into segment \(id)")
        }
        for f in replayedFiles { try FileIO.remove(walDir + "/" + WALFile.name(f)) }
        try FileIO.remove(walDir + "/" + WALFile.probeName)  // a readiness probe cut short by a crash
        try FileIO.fsyncDirectory(walDir)
        let w = try WAL(directory: walDir, fileNumber: maxFile + 1, lastSeq: lastSeq, policy: options.fsync)
        head = Head(texts: w.table, walFiles: [w.fileNumber], expectedRows: min(options.sealSpanCount + 1024, 1 << 18))
        wal = w
    }

    // MARK: Writes

    /// Appends a batch durably. When this returns the spans are on disk (fsynced) and readable.
    /// How long an append may wait for a seal before it fails (the collector turns that into 503).
    static let maxAppendWaitNanos: Int64 = 30_000_000_000

    /// What `append` did with a batch: spans already stored in the dedup window (re-sent) are not
    /// stored again; `duplicates` lists their positions in the batch (a span twice in one batch
    /// counts from its second copy).
    public struct AppendResult: Sendable {
        /// The spans stored: the batch without its duplicates (the same array when it had none).
        public var spans: [Span]
        public var duplicates: [Int]
        public var stored: Int { spans.count }
    }

    @discardableResult
    public func append(_ spans: [Span]) throws -> AppendResult {
        guard let wal else { throw StoreError("store is open read-only", path: options.directory) }
        guard !spans.isEmpty else { return AppendResult(spans: [], duplicates: []) }
        // Seal gate: a head swap waits for in-flight appends, so every WAL record of a file lands in
        // the head that covers that file.
        state.lock()
        // Backpressure: when the head is full again while the previous one is still being sealed,
        // wait for that seal rather than let memory grow without bound. (Letting it grow to 1.5x
        // kept writers busier but pushed peak RSS past 500 MB at 1M spans for no clear gain.)
        let waitStart = monotonicNanos()
        while swapPending || (head.count >= options.sealSpanCount && !sealing.isEmpty && options.backgroundSealing) {
            if monotonicNanos() - waitStart > Self.maxAppendWaitNanos {
                state.unlock()
                throw StoreError("ingest paused: sealing is behind (\(sealing.count) head(s) waiting to be written)", path: options.directory)
            }
            state.wait(nanos: 100_000_000)
        }
        backpressureNanos += monotonicNanos() - waitStart
        if stopping { state.unlock(); throw StoreError("store is closed", path: options.directory) }
        if let f = sealFailure {
            state.unlock()
            throw StoreError("ingest paused: sealing failed (\(f)); retried every second", path: options.directory, errno: f.errno)
        }
        appendsInFlight += 1
        state.unlock()
        // Keys are taken before the WAL write, under one lock, so two copies of a span sent at
        // once cannot both be stored; a failed write gives them back.
        let (fresh, duplicates) = claimKeys(spans)
        var walError: Error?
        var appended: WAL.Appended?
        var toStore = spans
        if !duplicates.isEmpty {
            var drop = [Bool](repeating: false, count: spans.count)
            for i in duplicates { drop[i] = true }
            toStore = spans.indices.filter { !drop[$0] }.map { spans[$0] }
        }
        if !toStore.isEmpty {
            do { appended = try wal.append(toStore) } catch { walError = error }
        }
        if walError != nil { dedupLock.withLock { for k in fresh { recentKeys.remove(k) } } }
        state.lock()
        if let appended {
            head.add(toStore, appended)
            lastAppendNanos = monotonicNanos()
        }
        appendsInFlight -= 1
        let shouldSeal = head.count >= options.sealSpanCount
        state.broadcast()
        state.unlock()
        if let walError { throw walError }
        if shouldSeal { sealWake.withLock { sealWake.broadcast() } }
        return AppendResult(spans: toStore, duplicates: duplicates)
    }

    /// Claims the keys of `spans` in the dedup window: those new are added (and returned), the
    /// positions of those already there are returned as duplicates.
    private func claimKeys(_ spans: [Span]) -> (fresh: [UInt64], duplicates: [Int]) {
        var keys = [UInt64]()
        keys.reserveCapacity(spans.count)
        for i in spans.indices { keys.append(RecentSpanKeys.key(project: spans[i].project, trace: spans[i].traceID, span: spans[i].spanID)) }
        let now = wallNanos()
        return dedupLock.withLock {
            recentKeys.expire(now: now)
            var fresh: [UInt64] = []
            fresh.reserveCapacity(keys.count)
            var duplicates: [Int] = []
            for (i, k) in keys.enumerated() {
                if recentKeys.insertIfNew(k, at: now) { fresh.append(k) } else { duplicates.append(i) }
            }
            if let w = recentKeys.shortenedTo, w != reportedDedupWindow {
                reportedDedupWindow = w
                options.log(.warning, "deduplication: more than \(options.dedupMaxSpans) spans arrived within \(options.dedupWindowNanos / 3_600_000_000_000) h, so re-sent spans are recognised over the last \(w / 60_000_000_000) minutes only (raise --dedup-max-spans)")
            }
            return (fresh, duplicates)
        }
    }
    private var reportedDedupWindow: Int64?

    // MARK: Sealing

    /// Swaps the head out and writes it as a segment, synchronously. Returns the segment id, or nil
    /// when the head was empty.
    @discardableResult
    public func sealNow() throws -> UInt64? {
        guard let wal else { return nil }
        sealMutex.lock()
        defer { sealMutex.unlock() }
        return try { () throws -> UInt64? in
            state.lock()
            swapPending = true
            while appendsInFlight > 0 { state.wait() }
            defer {
                swapPending = false
                state.broadcast()
                state.unlock()
            }
            // A WAL file that could not be cut back after a failed write is replaced even when the
            // head is empty; the empty head's files then pass to the new head.
            guard head.count > 0 || wal.needsRotation else { return nil }
            let old = head
            _ = try wal.rotate()
            head = Head(texts: wal.table, walFiles: (old.count == 0 ? old.walFiles : []) + [wal.fileNumber],
                        expectedRows: min(options.sealSpanCount + 1024, 1 << 18))
            headGeneration += 1
            guard old.count > 0 else { return nil }
            let id = nextSegmentID
            nextSegmentID += 1
            sealing.append((id, old))
            return id
        }().map { id in
            try finishSeal(id)
            return id
        }
    }

    /// Writes, indexes and publishes the segment for the sealing head `id`, then drops its WAL files.
    /// A failure is remembered (appends are refused until a retry succeeds) and logged once.
    private func finishSeal(_ id: UInt64) throws {
        do {
            try writeSeal(id)
        } catch {
            let e = error as? StoreError ?? StoreError("\(error)")
            state.withLock { sealFailure = e }
            failures.failed("sealing", e)
            throw e
        }
        let done = state.withLock { () -> Bool in
            if sealing.isEmpty { sealFailure = nil }
            return sealing.isEmpty
        }
        if done { failures.succeeded("sealing") }
    }

    private func writeSeal(_ id: UInt64) throws {
        guard let old: Head = state.withLock({ sealing.first { $0.id == id }?.head }) else { return }
        let maxWAL = old.walFiles.max() ?? 0
        let writer = SegmentWriter(compressionLevel: options.compressionLevel)
        let summary = try writer.write(head: old, id: id, maxWALFile: maxWAL, directory: segmentDir)
        try index.addSegment(summary, file: SegmentFormat.name(id))
        let reader = try SegmentReader(path: summary.path)
        state.withLock {
            segments[id] = reader
            sealing.removeAll { $0.id == id }
            state.broadcast()
        }
        // The segment is published: a WAL file that cannot be removed now is only stale (the next
        // start drops files a segment covers), not a failed seal.
        do {
            for f in old.walFiles { try FileIO.remove(walDir + "/" + WALFile.name(f)) }
            try FileIO.fsyncDirectory(walDir)
            failures.succeeded("removing sealed WAL files")
        } catch {
            failures.failed("removing sealed WAL files", error)
        }
        textLock.withLock { textLock.broadcast() }
        index.checkpointIfLarge()
        trimMemory()
    }

    /// Returns freed heap to the OS after the big, short-lived allocations of a seal or an index pass
    /// (glibc keeps per-thread arenas otherwise, and RSS would only grow).
    private func trimMemory() { if options.trimMemoryAfterSeal { _ = malloc_trim(0) } }

    // MARK: Full-text indexing

    private let textLock = Condition()
    private let textIndexing = Condition()
    private var textThread: Thread?
    private var textDone = false
    /// Segments whose texts could not be read (corrupt): reported once, then left out of
    /// full-text indexing until the next start (`tracectl verify` names the damage).
    private var unindexable = Set<UInt64>()

    /// Adds the paragraphs of every published segment not yet full-text indexed. Runs on its own
    /// thread after each seal (and once at start, to finish work a crash interrupted), so neither
    /// acknowledgements nor seals wait for FTS5. Returns the number of segments indexed.
    @discardableResult
    public func indexPendingTexts() throws -> Int {
        // One indexer at a time: a second caller waits and then finds the work done.
        textIndexing.lock()
        defer { textIndexing.unlock() }
        var n = 0
        for id in try index.segmentsPendingTextIndex() where !state.withLock({ unindexable.contains(id) }) {
            guard let reader = state.withLock({ segments[id] }) else { continue }
            // Between small transactions, while appends are arriving, sleep nine times as long as
            // the last one took: FTS5 gets at most a tenth of a core under load and catches up when
            // ingest slows (on two cores, FTS5 at full speed cannot keep up with 100k spans/s of LLM
            // text anyway), and a seal's index commit never waits behind a long transaction.
            var last = monotonicNanos()
            let inputs: (texts: [String], postings: SegmentReader.TextPostings)
            do { inputs = try reader.textIndexInputs() } catch {
                // A segment that does not read is not retried every second: one error line, and
                // the other segments are indexed.
                state.withLock { _ = unindexable.insert(id) }
                options.log(.error, "segment \(id) cannot be read for full-text indexing and is left out of it until restart: \(error); run tracectl verify")
                continue
            }
            // The postings file first: a crash before the segment's flag is set redoes both, and
            // the file is replaced whole.
            try reader.writePostings(inputs.postings)
            try index.indexSegmentTexts(segment: id, texts: inputs.texts) { () -> Int? in
                let now = monotonicNanos()
                // Shutdown does not wait for a catch-up: the segment stays pending until next start.
                if self.state.withLock({ self.stopping }) { return nil }
                self.index.checkpointIfLarge()
                let busy = self.state.withLock { now - self.lastAppendNanos < 1_000_000_000 }
                if busy { usleep(UInt32(min(1_000_000, max(0, 9 * (now - last) / 1000)))) }
                last = monotonicNanos()
                return busy ? 256 << 10 : 64 << 20
            }
            reader.dropResidentPages()
            index.checkpointPassive()
            trimMemory()
            n += 1
        }
        return n
    }

    /// Writes the postings file of every segment that lacks one (indexed before postings files
    /// existed, or whose file was removed), one segment per call so ingest is never held up long.
    /// Returns whether it wrote one.
    @discardableResult
    public func writeMissingPostings() throws -> Bool {
        guard !options.readOnly else { return false }
        textIndexing.lock()
        defer { textIndexing.unlock() }
        let readers = state.withLock { segments.values.sorted { $0.id < $1.id } }
        guard let r = readers.first(where: { !FileIO.exists(TextPostingsFile.path(ofSegment: $0.path)) }) else { return false }
        try r.writePostings(try r.textIndexInputs().postings)
        r.dropResidentPages()
        trimMemory()
        return true
    }

    /// Live pass: the paragraphs of head rows added since the last pass, at most `maxRows` of them.
    /// Returns how many rows it covered.
    @discardableResult
    public func indexHeadTexts(maxRows: Int = 5_000) throws -> Int {
        textIndexing.lock()
        defer { textIndexing.unlock() }
        let (texts, from, upTo): ([String], Int, Int) = state.withLock {
            if headTextCursor.generation != headGeneration { headTextCursor = (headGeneration, 0) }
            let from = headTextCursor.row
            let (texts, upTo) = head.contentTexts(from: from, limit: maxRows)
            headTextCursor.row = upTo
            return (texts, from, upTo)
        }
        try index.indexHeadTexts(texts)
        return upTo - from
    }

    /// Which head the live pass last read, and how far.
    private var headTextCursor: (generation: Int, row: Int) = (-1, 0)
    /// Bumped each time the head is swapped out.
    private var headGeneration = 0

    private func textIndexLoop() {
        clinux_set_thread_name("llmtrace-fts")
        while !state.withLock({ stopping }) {
            do {
                try indexPendingTexts()
                try writeMissingPostings()
                // The live pass keeps up with moderate traffic (a second's worth of rows at a time);
                // under a flood the segment pass, duty-cycled, takes over.
                let skip = state.withLock { () -> Bool in
                    let backlog = head.count - (headTextCursor.generation == headGeneration ? headTextCursor.row : 0)
                    return monotonicNanos() - lastAppendNanos < 1_000_000_000 && backlog > 5_000
                }
                if !skip { try indexHeadTexts() }
                failures.succeeded("full-text indexing")
            } catch {
                failures.failed("full-text indexing", error)
            }
            textLock.withLock {
                if !state.withLock({ stopping }) { textLock.wait(nanos: 1_000_000_000) }
            }
        }
        state.withLock { textDone = true; state.broadcast() }
    }

    private func sealerLoop() {
        clinux_set_thread_name("llmtrace-sealer")
        // Not niced: at nice 5 a seal stopped doubling request latency at half load (p99 157 -> 84
        // ms) but full-load ingest fell 47k -> 39k spans/s, because a starved sealer lets the
        // head fill and then every append waits (measured with llmtrace-bench ingest).
        var lastRetention = monotonicNanos()
        while true {
            let (stop, due) = state.withLock { () -> (Bool, Bool) in
                let age = monotonicNanos() - head.createdNanos
                return (stopping, head.count >= options.sealSpanCount || (head.count > 0 && age >= options.sealAgeNanos))
            }
            if stop { break }
            let stuck = state.withLock { !sealing.isEmpty }
            if due && !stuck && wal?.needsRotation != true {
                do { try sealNow() } catch { failures.failed("sealing", error) }
            }
            retryAfterFailures()
            if options.retentionNanos != nil, monotonicNanos() - lastRetention > 60 * 1_000_000_000 {
                lastRetention = monotonicNanos()
                do {
                    _ = try applyRetention()
                    failures.succeeded("retention")
                } catch {
                    failures.failed("retention", error)
                }
            }
            sealWake.withLock {
                let again = state.withLock { !stopping && (head.count < options.sealSpanCount || sealFailure != nil) }
                if again { sealWake.wait(nanos: 1_000_000_000) }
            }
        }
        state.withLock { sealerDone = true; state.broadcast() }
    }

    /// What the sealer does each second about failures: retries a failed seal (starting no other
    /// while it fails: ingest is refused meanwhile, so nothing piles up in memory), replaces a WAL
    /// file that could not be cut back after a failed write, and after a failed WAL write probes
    /// whether the disk takes writes again, so `/readyz` recovers without waiting for traffic that
    /// a 503 turned away. Tests call it to drive recovery without the background thread.
    public func retryAfterFailures() {
        guard let wal, !options.readOnly else { return }
        if state.withLock({ !sealing.isEmpty }) {
            try? retryFailedSeals()  // finishSeal logs
        } else if wal.needsRotation {
            do { try sealNow() } catch { failures.failed("sealing", error) }
        }
        if let f = wal.writeFailure {
            failures.failed("writing the write-ahead log", f)
            if !wal.needsRotation { wal.probe() }
        }
        if wal.writeFailure == nil { failures.succeeded("writing the write-ahead log") }
    }

    /// Finishes every head a failed seal left in `sealing`, under the seal mutex (another caller
    /// may have finished one meanwhile).
    private func retryFailedSeals() throws {
        try sealMutex.withLock {
            for id in state.withLock({ sealing.map(\.id) }) { try finishSeal(id) }
        }
    }

    // MARK: Retention

    /// Drops every segment whose newest span started before `now - retention`; returns their ids.
    @discardableResult
    public func applyRetention(now: Int64 = wallNanos()) throws -> [UInt64] {
        guard let retention = options.retentionNanos, !options.readOnly else { return [] }
        let cutoff = now - retention
        let expired: [SegmentReader] = state.withLock {
            segments.values.filter { $0.maxStart < cutoff }.sorted { $0.id < $1.id }
        }
        var dropped: [UInt64] = []
        for r in expired {
            let summary = try Self.summary(of: r, includeTexts: true)
            state.withLock { segments[r.id] = nil }
            // Delete the file first: a crash before the index cleanup leaves index rows without a
            // file, which recovery removes; the reverse would bring expired spans back.
            try FileIO.remove(r.path)
            try FileIO.remove(TextPostingsFile.path(ofSegment: r.path))
            try FileIO.fsyncDirectory(segmentDir)
            try index.removeSegment(id: r.id, summary: summary)
            dropped.append(r.id)
            state.withLock { retentionDropped.segments += 1; retentionDropped.spans += r.rowCount }
            options.log(.info, "retention: dropped segment \(r.id) (\(r.rowCount) spans, \(r.fileSize) bytes)")
        }
        return dropped
    }

    // MARK: Reads

    /// Every span of a trace, sorted by start time. Reads the head, heads being sealed and segments.
    public func trace(_ id: TraceID) throws -> [Span] {
        var out: [Span] = []
        let readers: [UInt64: SegmentReader] = state.withLock {
            out.append(contentsOf: head.trace(id))
            for s in sealing { out.append(contentsOf: s.head.trace(id)) }
            if !replayed.isEmpty { out.append(contentsOf: replayed.filter { $0.traceID == id }) }
            return segments
        }
        for loc in try index.traceLocations(id) {
            // Segments not yet published (or already dropped) are served by their head, or not at all.
            guard let r = readers[loc.segment] else { continue }
            // From the index database, so checked before it becomes a range (a damaged row must
            // be an error, not a trap).
            guard loc.firstRow >= 0, loc.rowCount >= 0, loc.firstRow <= r.rowCount - loc.rowCount else {
                throw StoreError("index row for trace \(id) names rows \(loc.firstRow)+\(loc.rowCount) of a \(r.rowCount)-row segment", path: index.path)
            }
            out.append(contentsOf: try r.spans(rows: loc.firstRow..<(loc.firstRow + loc.rowCount)))
        }
        out.sort { ($0.startNanos, $0.spanID) < ($1.startNanos, $1.spanID) }
        return out
    }

    /// The traces whose id starts with `prefix`, at most `limit` (ascending): enough to tell a
    /// unique prefix from an ambiguous one. Searches the head, heads being sealed, replayed spans
    /// and the index.
    public func traceIDs(prefix: TraceIDPrefix, limit: Int = 2) throws -> [TraceID] {
        var found = Set<TraceID>()
        state.withLock {
            found.formUnion(head.traceIDs(prefix))
            for s in sealing { found.formUnion(s.head.traceIDs(prefix)) }
            for s in replayed where prefix.matches(s.traceID) { found.insert(s.traceID) }
        }
        found.formUnion(try index.traceIDs(from: prefix.low, to: prefix.high, limit: limit))
        return Array(found.sorted().prefix(limit))
    }

    /// Hashes of the message and document paragraphs matching an FTS5 query (at most `limit`; more
    /// is an error that says so). Paragraphs of the last seconds may not be indexed yet. The limit
    /// bounds the set a query holds (2M hashes: about 50 MB while it runs); postings files make a
    /// broad match cheap per segment, so it is set by memory, not time.
    public func matchingTextHashes(_ query: String, limit: Int = 2_000_000) throws -> Set<Int64> {
        let hashes = try index.matchTexts(query, limit: limit + 1)
        guard hashes.count <= limit else {
            throw StoreError("more than \(limit) paragraphs match '\(query)'; add terms to narrow it")
        }
        return Set(hashes)
    }

    /// What a query needs of the unsealed rows beyond their fixed fields.
    public struct ScanRequest: Sendable {
        /// Sets of paragraph hashes: which rows hold a matching paragraph.
        public var matching: [Set<Int64>]
        /// Attribute keys: each row's value.
        public var attributes: [String]
        public init(matching: [Set<Int64>] = [], attributes: [String] = []) {
            self.matching = matching
            self.attributes = attributes
        }
    }

    /// A scan snapshot taken at one moment: published segments (oldest first), the rows not yet in
    /// a segment with their fixed fields, and what the request asked of those rows (same order).
    public struct ScanSnapshot: Sendable {
        public var segments: [SegmentReader]
        public var headRows: [Span]
        public var headMatches: [[UInt8]]
        public var headAttributes: [String: [AttributeValue?]]
        public init(segments: [SegmentReader], headRows: [Span], headMatches: [[UInt8]] = [], headAttributes: [String: [AttributeValue?]] = [:]) {
            self.segments = segments
            self.headRows = headRows
            self.headMatches = headMatches
            self.headAttributes = headAttributes
        }
    }

    /// A scan snapshot, with per set of paragraph hashes which unsealed rows hold a matching
    /// paragraph and per attribute key each unsealed row's value. Computed under the store lock, so
    /// a full-text or attribute query costs ingest a pause proportional to the head.
    public func scanSnapshot(_ request: ScanRequest) -> ScanSnapshot {
        state.withLock {
            var rows = replayed
            let sets = request.matching
            var matches: [[UInt8]] = sets.map { set in replayed.map { SpanBinaryCodec.hasParagraph(of: $0, in: set) ? 1 : 0 } }
            var attributes: [String: [AttributeValue?]] = [:]
            for key in request.attributes {
                attributes[key] = replayed.map { $0.attribute(key) }
            }
            for h in sealing.map(\.head) + [head] {
                rows.append(contentsOf: h.rows)
                for k in sets.indices { matches[k].append(contentsOf: h.rows(matching: sets[k])) }
                for key in request.attributes { attributes[key]!.append(contentsOf: h.attributes(key)) }
            }
            return ScanSnapshot(segments: segments.values.sorted { $0.id < $1.id }, headRows: rows, headMatches: matches, headAttributes: attributes)
        }
    }

    /// What a query scans, taken at one moment: the published segments (oldest first) and the rows
    /// not yet in a segment (head, heads being sealed, replayed WAL) with their fixed fields only:
    /// messages, documents, tags, attributes and events are left empty.
    public func scanSnapshot() -> (segments: [SegmentReader], headRows: [Span]) {
        let s = scanSnapshot(ScanRequest())
        return (s.segments, s.headRows)
    }

    /// Snapshot of spans in the head and sealing heads (for scans and tests).
    public func headSpans() -> [Span] {
        state.withLock { replayed + sealing.flatMap { $0.head.allSpans } + head.allSpans }
    }

    public var segmentReaders: [SegmentReader] {
        state.withLock { segments.values.sorted { $0.id < $1.id } }
    }

    /// Why appends would fail right now (read-only, closing, a WAL write error), or nil when the
    /// store accepts writes: what `/readyz` reports.
    public var notWritableReason: String? {
        guard let wal else { return "store is open read-only" }
        if state.withLock({ stopping }) { return "store is shutting down" }
        if let f = state.withLock({ sealFailure }) { return "sealing failed (ingest paused until a retry succeeds): \(f)" }
        if let f = wal.writeFailure { return "writing the write-ahead log failed (retried with each request): \(f)" }
        return nil
    }
    public var headCount: Int { state.withLock { head.count } }
    /// Segments and spans retention has deleted since the store opened.
    public var retentionDeleted: (segments: Int, spans: Int) { state.withLock { retentionDropped } }
    private var retentionDropped = (segments: 0, spans: 0)
    public var walBytesWritten: UInt64 { wal?.bytesWritten ?? 0 }
    public var walFsyncs: UInt64 { wal?.fsyncCount ?? 0 }
    public var walFsyncNanos: Int64 { wal?.fsyncNanosTotal ?? 0 }
    /// Total time appends spent waiting for a seal to finish (summed over concurrent appenders).
    public var appendBackpressureNanos: Int64 { state.withLock { backpressureNanos } }
    private var backpressureNanos: Int64 = 0

    /// Bytes on disk under the data directory (segments, WAL, index).
    public func diskUsage() -> (segments: Int, wal: Int, index: Int) {
        let seg = FileIO.list(segmentDir).reduce(0) { $0 + (FileIO.fileSize(segmentDir + "/" + $1) ?? 0) }
        let w = FileIO.list(walDir).reduce(0) { $0 + (FileIO.fileSize(walDir + "/" + $1) ?? 0) }
        return (seg, w, index.diskBytes)
    }

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
