#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel

/// When the WAL fsyncs. Every policy acknowledges a batch only after an fsync covers it; `interval`
/// waits up to that long so one fsync covers more batches (higher throughput, higher latency).
public enum FsyncPolicy: Sendable, Equatable, CustomStringConvertible {
    case always
    case interval(milliseconds: Int)

    /// Parses `always` or `interval=250ms` (also `interval=250`).
    public init?(parsing s: String) {
        if s == "always" { self = .always; return }
        guard s.hasPrefix("interval=") else { return nil }
        var v = s.dropFirst("interval=".count)
        if v.hasSuffix("ms") { v = v.dropLast(2) }
        guard let ms = Int(v), ms > 0, ms <= 60_000 else { return nil }
        self = .interval(milliseconds: ms)
    }

    public var description: String {
        switch self {
        case .always: return "always"
        case .interval(let ms): return "interval=\(ms)ms"
        }
    }
}

/// The write-ahead log: each accepted batch becomes one CRC-framed record, durable before `append`
/// returns.
///
/// Group commit: callers encode their record into a shared pending buffer under the lock; the first
/// caller to find no flush running becomes the leader, writes everything pending with one `write` and
/// covers it with one `fdatasync`, then wakes the others. Batches that arrive during a flush ride the
/// next one. Strings are interned per file (`TextInterner`), so a repeated system prompt or retrieved
/// chunk costs a few bytes after its first record in a file.
public final class WAL: @unchecked Sendable {
    public let directory: String
    public let policy: FsyncPolicy
    private let cond = Condition()

    // Guarded by `cond`.
    private var fd: Int32 = -1
    public private(set) var fileNumber: UInt64 = 0
    private var path = ""
    private var interner = TextInterner()
    /// The current file's texts that are durable, shared with the head.
    public private(set) var table = SharedTextTable()
    /// How many of the interner's texts are in `table` (all of them durable).
    private var publishedTexts = 0
    private var pending = ByteWriter(capacity: 1 << 20)
    private var pendingMaxSeq: UInt64 = 0
    private var nextSeq: UInt64
    private var durableSeq: UInt64
    /// Bytes of the current file that are durable.
    private var durableSize = 0
    private var flushing = false
    /// Sequence numbers up to which batches failed (they must not be acknowledged).
    private var failedThrough: UInt64 = 0
    /// The last write or fsync error, until a later flush succeeds or `probe()` finds the disk
    /// writable again.
    private var failure: StoreError?
    /// Bytes of the flush that failed last: the probe writes at least twice that much.
    private var failedBytes = 0
    /// Set when a failed flush could not be cut back off the file: nothing more goes into this
    /// file, and the store seals (which rotates) before appending again.
    private var poisoned: StoreError?
    private var lastSyncNanos: Int64 = 0
    private var closed = false
    /// The last write or fsync error, while writes are failing: what `/readyz` reports.
    public var writeFailure: StoreError? { cond.withLock { poisoned ?? failure } }
    /// True when the current file must not be appended to any more (see `poisoned`).
    public var needsRotation: Bool { cond.withLock { poisoned != nil } }

    /// Totals for metrics and benchmarks.
    public private(set) var bytesWritten: UInt64 = 0
    public private(set) var fsyncCount: UInt64 = 0
    public private(set) var fsyncNanosTotal: Int64 = 0

    /// Opens a new WAL file numbered `fileNumber`; sequence numbers continue after `lastSeq`.
    public init(directory: String, fileNumber: UInt64, lastSeq: UInt64, policy: FsyncPolicy = .always) throws {
        self.directory = directory
        self.policy = policy
        self.nextSeq = lastSeq + 1
        self.durableSeq = lastSeq
        try FileIO.makeDirectory(directory)
        try openFile(fileNumber)
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    private func openFile(_ number: UInt64) throws {
        let p = directory + "/" + WALFile.name(number)
        let newFD = try FileIO.open(p, O_WRONLY | O_CREAT | O_TRUNC)
        let header = WALFile.header(number: number)
        do {
            try header.withUnsafeBytes { try FileIO.writeAll(newFD, $0, path: p) }
            try FileIO.fsync(newFD, path: p)
            try FileIO.fsyncDirectory(directory)
        } catch {
            // No half-made file for recovery or `verify` to trip over (a full disk at a seal or
            // at shutdown left an empty one).
            Glibc.close(newFD)
            unlink(p)
            throw error
        }
        if fd >= 0 { Glibc.close(fd) }
        fd = newFD
        path = p
        fileNumber = number
        interner = TextInterner()
        table = SharedTextTable()
        publishedTexts = 0
        durableSize = header.count
    }

    /// What an acknowledged batch left behind: its encoded spans, whose details (text ids into
    /// `table`) the head keeps instead of the spans' message and attribute arrays.
    public struct Appended {
        public var seq: UInt64
        public var table: SharedTextTable
        /// The record body; span k's details are `body[details[k]]` (empty when it has none).
        public var body: [UInt8]
        public var details: [Range<Int>]
        /// Each span's head row (fixed fields, strings as ids into `table`).
        var rows: [HeadRow]
    }

    /// Thrown by `append` while the current file must not be written (see `needsRotation`).
    public static let rotationPending = "the write-ahead log is waiting for a new file after a write that could not be undone"

    /// Appends one batch and returns once it is durable.
    @discardableResult
    public func append(_ spans: [Span]) throws -> Appended {
        cond.lock()
        defer { cond.unlock() }
        guard !closed else { throw StoreError("WAL is closed", path: directory) }
        if let p = poisoned { throw StoreError("\(Self.rotationPending): \(p.message)", path: path, errno: p.errno) }
        let seq = nextSeq
        nextSeq += 1
        var result = encodeRecord(seq: seq, spans: spans)
        pendingMaxSeq = seq
        pendingTextCount = interner.count
        while durableSeq < seq && failedThrough < seq {
            if flushing {
                cond.wait()
            } else {
                flushPending()
            }
        }
        if durableSeq >= seq {
            result.table = table
            return result
        }
        throw failure ?? StoreError("WAL write failed", path: path)
    }

    /// Interner size when the last record was encoded: what the next flush makes durable.
    private var pendingTextCount = 0

    /// Hot path: frames one record directly into the pending buffer.
    private func encodeRecord(seq: UInt64, spans: [Span]) -> Appended {
        let start = pending.count
        pending.u32(0)  // length, patched below
        pending.u32(0)  // CRC, patched below
        pending.u8(WALFile.recordSpanBatch)
        pending.u64(seq)
        // Spans first into a side buffer so the new texts they intern can be written before them.
        var body = ByteWriter(capacity: 256 * spans.count)
        body.varint(spans.count)
        var details: [Range<Int>] = []
        details.reserveCapacity(spans.count)
        // Each span by address: `for s in spans`, `spans[i]` and even a `borrowing` parameter
        // copied the whole span (every field retained, then released) for the call.
        let rows = [HeadRow](unsafeUninitializedCapacity: spans.count) { rows, n in
            spans.withUnsafeBufferPointer { spans in
                for i in spans.indices {
                    let start = SpanBinaryCodec.encode(spanAt: spans.baseAddress! + i, into: &body, texts: &interner, row: rows.baseAddress! + i)
                    details.append(start.map { $0..<body.count } ?? body.count..<body.count)
                }
            }
            n = spans.count
        }
        let staged = interner.staged
        pending.varint(staged.count)
        for s in staged { pending.string(s) }
        interner.commit()
        pending.raw(body.bytes)
        let payloadLen = pending.count - start - WALFile.frameSize
        pending.patchU32(UInt32(payloadLen), at: start)
        let crc = pending.bytes.withUnsafeBytes {
            Checksum.crc32(UnsafeRawBufferPointer(rebasing: $0[(start + WALFile.frameSize)...]))
        }
        pending.patchU32(crc, at: start + 4)
        return Appended(seq: seq, table: table, body: body.bytes, details: details, rows: rows)
    }

    /// Called with the lock held by the leader; releases it while doing I/O.
    private func flushPending() {
        flushing = true
        if case .interval(let ms) = policy {
            // Wait out the interval so this fsync covers every batch that arrives meanwhile.
            let due = lastSyncNanos + Int64(ms) * 1_000_000
            let now = monotonicNanos()
            if due > now { cond.wait(nanos: due - now) }
        }
        let buf = pending
        let upTo = pendingMaxSeq
        let textsUpTo = pendingTextCount
        pending = ByteWriter(capacity: max(1 << 20, buf.count))
        let writeFD = fd
        let writePath = path
        let writeAt = durableSize
        cond.unlock()
        var err: StoreError? = nil
        let t0 = monotonicNanos()
        do {
            // At the durable end, not at the descriptor's position: after a failed write that
            // position is past the end the file was cut back to, and writing there left a zero gap
            // that recovery took for a torn tail, dropping every acknowledged record after it.
            try buf.bytes.withUnsafeBytes { try FileIO.pwriteAll(writeFD, $0, at: writeAt, path: writePath) }
            try FileIO.fsync(writeFD, path: writePath)
        } catch let e as StoreError {
            err = e
        } catch {
            err = StoreError("\(error)", path: writePath)
        }
        let t1 = monotonicNanos()
        cond.lock()
        flushing = false
        lastSyncNanos = t1
        if let err {
            // Nothing past the last durable byte can be trusted, and records encoded after the failed
            // ones may reference texts interned by them: fail everything pending, cut the file back
            // to its durable end and forget the texts that never reached the disk.
            failure = err
            failedBytes = buf.count
            failedThrough = nextSeq - 1
            pending = ByteWriter(capacity: 1 << 20)
            do {
                try FileIO.truncate(fd, path: path, to: durableSize)
                // Best effort: until the cut is durable, a crash may bring the failed records back
                // (never acknowledged; the next write at the durable end overwrites them anyway).
                _ = fdatasync(fd)
            } catch let e as StoreError {
                poisoned = e
            } catch {
                poisoned = StoreError("\(error)", path: path)
            }
            interner.truncate(to: publishedTexts)
            interner.commit()
            pendingTextCount = publishedTexts
        } else {
            failure = nil
            // Texts become visible to head readers before the batches that use them are acknowledged.
            table.append(contentsOf: interner.strings[publishedTexts..<textsUpTo])
            publishedTexts = textsUpTo
            durableSeq = upTo
            durableSize += buf.count
            bytesWritten += UInt64(buf.count)
            fsyncCount += 1
            fsyncNanosTotal += t1 - t0
        }
        cond.broadcast()
    }

    /// Starts a new file (and text table) and returns the number of the one it replaces. Callers
    /// hold the store's seal gate, so no append is in flight.
    public func rotate() throws -> UInt64 {
        cond.lock()
        defer { cond.unlock() }
        while flushing { cond.wait() }
        let old = fileNumber
        try openFile(fileNumber + 1)
        poisoned = nil
        failure = nil
        return old
    }

    /// After a failed write, whether the disk takes writes again: a file of twice the failed
    /// flush (at least 64 KiB) is written beside the WAL, fsynced and removed. On a disk that is
    /// only just full a smaller probe would pass in the pages the failed write gave back, and
    /// readiness would flap. On success the failure is cleared (so `/readyz` recovers without
    /// waiting for an append); appends themselves always try, whatever this says.
    @discardableResult
    public func probe() -> Bool {
        guard let size = cond.withLock({ failure != nil && poisoned == nil && !closed ? max(64 << 10, 2 * failedBytes) : nil }) else {
            return cond.withLock { failure == nil }
        }
        let p = directory + "/" + WALFile.probeName
        let ok: Bool = {
            guard let fd = try? FileIO.open(p, O_WRONLY | O_CREAT | O_TRUNC) else { return false }
            defer { Glibc.close(fd); unlink(p) }
            let block = [UInt8](repeating: 0, count: size)
            do {
                try block.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: p) }
                try FileIO.fsync(fd, path: p)
                return true
            } catch {
                return false
            }
        }()
        if ok { cond.withLock { failure = nil } }
        return ok
    }


    public func close() {
        cond.lock()
        while flushing { cond.wait() }
        closed = true
        if fd >= 0 { Glibc.close(fd); fd = -1 }
        cond.unlock()
    }
}
