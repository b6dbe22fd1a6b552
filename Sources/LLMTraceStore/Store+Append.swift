#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel
import Foundation
import CLinux

/// Acknowledged writes: deduplication against the recent keys, the WAL append (group commit) and
/// the head, with backpressure when sealing falls behind.
extension Store {
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
            head.add(appended)
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

    /// How many keys ahead the dedup lookups ask for their cache lines.
    static let dedupPrefetchDistance = 8

    /// Claims the keys of `spans` in the dedup window: those new are added (and returned), the
    /// positions of those already there are returned as duplicates.
    func claimKeys(_ spans: [Span]) -> (fresh: [UInt64], duplicates: [Int]) {
        var keys = [UInt64]()
        keys.reserveCapacity(spans.count)
        for i in spans.indices { keys.append(RecentSpanKeys.key(project: spans[i].project, trace: spans[i].traceID, span: spans[i].spanID)) }
        let now = wallNanos()
        return dedupLock.withLock {
            recentKeys.expire(now: now)
            var fresh: [UInt64] = []
            fresh.reserveCapacity(keys.count)
            var duplicates: [Int] = []
            // Each key's cache lines are asked for some keys ahead (`RecentSpanKeys.prefetch`).
            let n = keys.count
            for i in 0..<min(n, 2 * Self.dedupPrefetchDistance) { recentKeys.prefetch(keys[i], stage: 0) }
            for i in 0..<min(n, Self.dedupPrefetchDistance) { recentKeys.prefetch(keys[i], stage: 1) }
            for (i, k) in keys.enumerated() {
                if i + 2 * Self.dedupPrefetchDistance < n { recentKeys.prefetch(keys[i + 2 * Self.dedupPrefetchDistance], stage: 0) }
                if i + Self.dedupPrefetchDistance < n { recentKeys.prefetch(keys[i + Self.dedupPrefetchDistance], stage: 1) }
                if recentKeys.insertIfNew(k, at: now) { fresh.append(k) } else { duplicates.append(i) }
            }
            if let w = recentKeys.shortenedTo, w != reportedDedupWindow {
                reportedDedupWindow = w
                options.log(.warning, "deduplication: more than \(options.dedupMaxSpans) spans arrived within \(options.dedupWindowNanos / 3_600_000_000_000) h, so re-sent spans are recognised over the last \(w / 60_000_000_000) minutes only (raise --dedup-max-spans)")
            }
            return (fresh, duplicates)
        }
    }
}
