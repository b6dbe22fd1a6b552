import LLMTraceIngest
import LLMTraceModel
import LLMTraceStore

/// The most recent stored spans (fixed fields only: no messages, documents, attributes or events),
/// numbered in the order they were stored, for `GET /api/tail`. A reader asks for what came after
/// the last number it saw and may wait a little for it (long polling), so a live view needs no
/// streaming connection. Spans are numbered twice: across the collector, and within their project;
/// a reader confined to a project (a read key) sees only its project's numbers, which say nothing
/// of how much other projects send.
public final class LiveSpans: SpanSubscriber, @unchecked Sendable {
    private let cond = Condition()
    private var ring: [Span] = []
    /// Each ring entry's number within its project.
    private var projectSeqs: [Int64] = []
    /// The number the next span of each project gets.
    private var projectNext: [String: Int64] = [:]
    private var start = 0          // index in `ring` of the oldest span
    private var firstSeq: Int64 = 1 // number of the oldest span held
    private var nextSeq: Int64 = 1
    private var waiting = 0
    public let capacity: Int
    /// Readers allowed to wait at once (each holds a worker thread while it waits).
    public let maxWaiting: Int

    public init(capacity: Int = 20_000, maxWaiting: Int = 2) {
        self.capacity = capacity
        self.maxWaiting = maxWaiting
        ring.reserveCapacity(capacity)
        projectSeqs.reserveCapacity(capacity)
    }

    public func stored(_ spans: [Span]) {
        // The fixed fields are copied before the lock is taken (readers and other batches wait on
        // it), read in place from `spans` and moved into the ring: a span is never copied whole,
        // and no copy is made only to be dropped (`for s in spans` copied each one whole, and
        // each copy was then released: 4% of a worker's time at full ingest).
        let n = spans.count
        guard n > 0 else { return }
        let kept = UnsafeMutableBufferPointer<Span>.allocate(capacity: n)
        defer { kept.deallocate() }
        spans.withUnsafeBufferPointer { p in
            for i in 0..<n { kept.initializeElement(at: i, to: Self.fixedFields(of: p.baseAddress! + i)) }
        }
        cond.withLock {
            // A batch's spans are almost always one project's: its counter is looked up once a run.
            var runProject: String? = nil
            var pseq: Int64 = 0
            for i in 0..<n {
                if kept[i].project != runProject {
                    if let p = runProject { projectNext[p] = pseq }
                    runProject = kept[i].project
                    pseq = projectNext[kept[i].project, default: 1]
                }
                if ring.count < capacity {
                    ring.append(kept.moveElement(from: i))
                    projectSeqs.append(pseq)
                } else {
                    ring[start] = kept.moveElement(from: i)
                    projectSeqs[start] = pseq
                    start = (start + 1) % capacity
                    firstSeq += 1
                }
                pseq += 1
                nextSeq += 1
            }
            if let p = runProject { projectNext[p] = pseq }
            cond.broadcast()
        }
    }

    /// The span at `p` without its messages, documents, attributes, events and tags: its fields are
    /// read in place (an array element passed by value is first copied whole, every string and
    /// array retained, then released again).
    static func fixedFields(of p: UnsafePointer<Span>) -> Span {
        var t = Span(traceID: p.pointee.traceID, spanID: p.pointee.spanID, parentSpanID: p.pointee.parentSpanID,
                     project: p.pointee.project, service: p.pointee.service, name: p.pointee.name, kind: p.pointee.kind,
                     startNanos: p.pointee.startNanos, endNanos: p.pointee.endNanos,
                     status: p.pointee.status, statusMessage: p.pointee.statusMessage)
        t.provider = p.pointee.provider
        t.requestModel = p.pointee.requestModel
        t.responseModel = p.pointee.responseModel
        t.inputTokens = p.pointee.inputTokens
        t.outputTokens = p.pointee.outputTokens
        t.cachedTokens = p.pointee.cachedTokens
        t.reasoningTokens = p.pointee.reasoningTokens
        t.costUSD = p.pointee.costUSD
        t.timeToFirstTokenNanos = p.pointee.timeToFirstTokenNanos
        t.temperature = p.pointee.temperature
        t.maxTokens = p.pointee.maxTokens
        t.topP = p.pointee.topP
        t.finishReason = p.pointee.finishReason
        t.promptName = p.pointee.promptName
        t.promptVersion = p.pointee.promptVersion
        t.sessionID = p.pointee.sessionID
        t.userID = p.pointee.userID
        t.environment = p.pointee.environment
        return t
    }

    /// The number the next stored span will get: a reader starting now asks for spans after `latest - 1`.
    public var latest: Int64 { cond.withLock { nextSeq - 1 } }

    /// `latest` within one project.
    public func latest(project: String) -> Int64 { cond.withLock { projectNext[project, default: 1] - 1 } }

    /// As `read(after:…)`, with `after`, `next` and `missed` counted within `project` only.
    public func read(project: String, after: Int64, limit: Int, waitNanos: Int64, keep: (Span) -> Bool) -> (spans: [Span], next: Int64, missed: Int64) {
        longPoll(after: after, waitNanos: waitNanos) { cursor, out, missed in
            // The project's oldest number still held (or its next, when none is).
            var oldest = projectNext[project, default: 1]
            for k in 0..<ring.count {
                let i = (start + k) % ring.count
                if ring[i].project == project { oldest = projectSeqs[i]; break }
            }
            if cursor + 1 < oldest {
                missed += oldest - (cursor + 1)
                cursor = oldest - 1
            }
            for k in 0..<ring.count where out.count < limit {
                let i = (start + k) % ring.count
                guard projectSeqs[i] > cursor, ring[i].project == project else { continue }
                cursor = projectSeqs[i]
                if keep(ring[i]) { out.append(ring[i]) }
            }
        }
    }

    /// Spans numbered after `after` that `keep` accepts (at most `limit`), waiting up to `waitNanos`
    /// for the first one; also the number to pass as `after` next time and how many were missed
    /// because they had already left the buffer.
    public func read(after: Int64, limit: Int, waitNanos: Int64, keep: (Span) -> Bool) -> (spans: [Span], next: Int64, missed: Int64) {
        longPoll(after: after, waitNanos: waitNanos) { cursor, out, missed in
            if cursor + 1 < firstSeq {
                missed += firstSeq - (cursor + 1)
                cursor = firstSeq - 1
            }
            while cursor + 1 < nextSeq && out.count < limit {
                let s = ring[(start + Int(cursor + 1 - firstSeq)) % max(1, ring.count)]
                cursor += 1
                if keep(s) { out.append(s) }
            }
        }
    }

    /// Runs `pass` (cursor, spans found, missed) under the lock until it finds a span or the wait
    /// is over; at most `maxWaiting` readers wait at once, the others answer at once.
    private func longPoll(after: Int64, waitNanos: Int64,
                          _ pass: (inout Int64, inout [Span], inout Int64) -> Void) -> (spans: [Span], next: Int64, missed: Int64) {
        cond.withLock {
            let deadline = monotonicNanos() + waitNanos
            var cursor = max(after, 0)
            var out: [Span] = []
            var missed: Int64 = 0
            let mayWait = waitNanos > 0 && waiting < maxWaiting
            if mayWait { waiting += 1 }
            defer { if mayWait { waiting -= 1 } }
            while true {
                pass(&cursor, &out, &missed)
                if !out.isEmpty || !mayWait { break }
                let left = deadline - monotonicNanos()
                if left <= 0 { break }
                cond.wait(nanos: left)
            }
            return (out, cursor, missed)
        }
    }
}
