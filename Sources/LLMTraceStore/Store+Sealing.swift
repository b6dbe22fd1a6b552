#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel
import Foundation
import CLinux

/// Turning the head into a segment: swap, write, index, publish, delete the covered WAL files; the
/// background sealer and its retry after failures (a full disk).
extension Store {
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
                        expectedRows: headReservedRows, expectedDetailBytes: Int(old.detailBytesPerRow * Double(headReservedRows)))
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

    /// Rows a new head reserves: the seal threshold and the batches that arrive while the seal is
    /// swapped in (a head grows by an eighth past it, see `Head.add`).
    var headReservedRows: Int { min(options.sealSpanCount + options.sealSpanCount / 16 + 1024, 1 << 18) }

    /// Writes, indexes and publishes the segment for the sealing head `id`, then drops its WAL files.
    /// A failure is remembered (appends are refused until a retry succeeds) and logged once.
    func finishSeal(_ id: UInt64) throws {
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

    func writeSeal(_ id: UInt64) throws {
        guard let old: Head = state.withLock({ sealing.first { $0.id == id }?.head }) else { return }
        let maxWAL = old.walFiles.max() ?? 0
        let writer = SegmentWriter(compression: options.compression)
        var origins: [UInt32]? = nil
        let keepOrigins = state.withLock { outbox != nil }
        let summary = try writer.write(head: old, id: id, maxWALFile: maxWAL, directory: segmentDir,
                                       rowOrigins: keepOrigins ? { origins = $0.map { UInt32($0) } } : nil)
        try index.addSegment(summary, file: SegmentFormat.name(id))
        let reader = try SegmentReader(path: summary.path)
        state.withLock {
            if let origins { keepOutboxOrigins(id, origins, firstAcknowledged: old.acknowledgedNanos(row: 0)) }
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
    func trimMemory() { if options.trimMemoryAfterSeal { _ = malloc_trim(0) } }


    func sealerLoop() {
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
    func retryFailedSeals() throws {
        try sealMutex.withLock {
            for id in state.withLock({ sealing.map(\.id) }) { try finishSeal(id) }
        }
    }
}
