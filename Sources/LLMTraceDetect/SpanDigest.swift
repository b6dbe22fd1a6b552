import LLMTraceIngest
import LLMTraceModel
import LLMTraceSupport

/// What the detectors keep of a stored span: the indices of its series in its batch's table, the
/// numbers of its minute, and — for the spans of the evaluators' sample only — the whole span.
/// Plain numbers (no strings, so no reference counting as it is made, queued and dropped): made on
/// the ingest thread as the batch is stored, read on the detectors' thread.
public struct SpanDigest: Sendable {
    /// Indices into `DigestBatch.keys` of the span's model, prompt and retriever series (-1: none)
    /// and into `DigestBatch.versions` of its prompt version.
    public var model: Int32 = -1
    public var prompt: Int32 = -1
    public var retriever: Int32 = -1
    public var version: Int32 = -1
    public var kind: SpanKind
    public var status: SpanStatus
    public var startNanos: Int64
    public var durationNanos: Int64
    public var ttftNanos: Int64?
    public var inputTokens: Int64?
    public var outputTokens: Int64?
    public var costUSD: Double?
    public var docScoreSum: Double
    public var docScores: Int32
    /// The whole span when the evaluators' sample takes its trace. Boxed: a span inline would make
    /// every digest several times its size (most digests carry none).
    private let box: SpanBox?
    public var full: Span? { box?.span }

    /// Reads the span through a pointer, field by field (a `Span` passed by value or iterated is
    /// copied whole: a retain and a release for each of its strings — measured as most of the cost).
    init(_ s: UnsafePointer<Span>, keep: Bool) {
        kind = s.pointee.kind
        status = s.pointee.status
        startNanos = s.pointee.startNanos
        durationNanos = s.pointee.durationNanos
        ttftNanos = s.pointee.timeToFirstTokenNanos
        inputTokens = s.pointee.inputTokens
        outputTokens = s.pointee.outputTokens
        costUSD = s.pointee.costUSD
        // Retrieved documents' scores, of retrieval spans only (the others' document lists are not
        // even touched: a cold cache line a span, measured as most of a digest's cost).
        var sum = 0.0, n: Int32 = 0
        if kind == .retrieval {
            s.pointee.documents.withUnsafeBufferPointer { docs in
                for k in docs.indices { if let sc = docs[k].score, sc.isFinite { sum += sc; n += 1 } }
            }
        }
        docScoreSum = sum
        docScores = n
        box = keep ? SpanBox(s.pointee) : nil
    }

    /// Whether the trace is in a sample of `threshold / 2^64` of all traces (the same answer for
    /// every span of a trace).
    @inline(__always) public static func sampled(_ t: TraceID, threshold: UInt64) -> Bool {
        threshold == .max || (t.hi ^ t.lo) &* 0x9E37_79B9_7F4A_7C15 <= threshold
    }
}

/// The digests of one stored batch, with the series they name listed once each: a batch of 512
/// spans usually names a handful, so the strings are copied (retained) a handful of times, not
/// three times a span, and the monitor finds each series once a batch, not once a span.
public struct DigestBatch: Sendable {
    public private(set) var keys: [SeriesMonitor.SeriesKey] = []
    public private(set) var versions: [String] = []
    public private(set) var digests: [SpanDigest] = []
    /// Open-addressing table of key indices (-1: empty) by a hash of the key's bytes, so a lookup
    /// costs a hash of three short strings and a compare, with no `SeriesKey` made and no Unicode
    /// hashing; kept at most half full.
    private var table = [Int32](repeating: -1, count: 64)
    private var hashes: [UInt64] = []
    /// Per dimension, the key of the previous span (consecutive spans mostly share it).
    private var last: [Int32] = [-1, -1, -1]

    /// Spans of the batch (a span of no series that is not kept whole leaves no digest).
    public private(set) var spans = 0

    /// The digests of `spans`; `keep(traceID)` says which carry their whole span.
    public init(_ spans: [Span], keep: (TraceID) -> Bool) {
        self.spans = spans.count
        digests.reserveCapacity(spans.count)
        // Spans are read in place (see `SpanDigest.init`).
        spans.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for i in buffer.indices { add(base + i, keep: keep(base[i].traceID)) }
        }
    }

    /// Every span whole (tests, the monitor's `add(_ spans:)`).
    public init(_ spans: [Span]) { self.init(spans, keep: { _ in true }) }

    private mutating func add(_ s: UnsafePointer<Span>, keep: Bool) {
        let retrieval = s.pointee.kind == .retrieval
        let hasModel = s.pointee.responseModel != nil || s.pointee.requestModel != nil
        // A span of no series (an agent step, a tool call) is of use only whole, to the evaluators.
        guard keep || hasModel || retrieval || s.pointee.promptName != nil else { return }
        var d = SpanDigest(s, keep: keep)
        if hasModel, let m = s.pointee.responseModel ?? s.pointee.requestModel { d.model = key(s, .model, m, slot: 0) }
        if let p = s.pointee.promptName {
            d.prompt = key(s, .prompt, p, slot: 1)
            if let v = s.pointee.promptVersion {
                if let i = versions.firstIndex(where: { ExactString.equal($0, v) }) { d.version = Int32(i) } else if versions.count < 64 {
                    versions.append(v)
                    d.version = Int32(versions.count - 1)
                }
            }
        }
        if retrieval { d.retriever = key(s, .retriever, s.pointee.name, slot: 2) }
        digests.append(d)
    }

    private mutating func key(_ s: UnsafePointer<Span>, _ dimension: SeriesMonitor.Dimension, _ value: String, slot: Int) -> Int32 {
        func same(_ k: SeriesMonitor.SeriesKey) -> Bool {
            k.dimension == dimension && ExactString.equal(k.value, value) && ExactString.equal(k.service, s.pointee.service)
                && ExactString.equal(k.project, s.pointee.project)
        }
        let previous = last[slot]
        if previous >= 0 && same(keys[Int(previous)]) { return previous }
        let h = Self.hash(s.pointee.project, s.pointee.service, value, dimension)
        let mask = table.count - 1
        var at = Int(truncatingIfNeeded: h) & mask
        while true {
            let i = table[at]
            if i < 0 { break }
            if hashes[Int(i)] == h && same(keys[Int(i)]) { last[slot] = i; return i }
            at = (at + 1) & mask
        }
        keys.append(SeriesMonitor.SeriesKey(project: s.pointee.project, service: s.pointee.service, dimension: dimension, value: value))
        hashes.append(h)
        let i = Int32(keys.count - 1)
        table[at] = i
        last[slot] = i
        if keys.count * 2 > table.count { grow() }
        return i
    }

    private mutating func grow() {
        table = [Int32](repeating: -1, count: table.count * 2)
        let mask = table.count - 1
        for (i, h) in hashes.enumerated() {
            var at = Int(truncatingIfNeeded: h) & mask
            while table[at] >= 0 { at = (at + 1) & mask }
            table[at] = Int32(i)
        }
    }

    /// FNV-1a over the three strings' UTF-8 (each followed by a separator byte) and the dimension,
    /// then mixed, so that the low bits index the table.
    private static func hash(_ project: String, _ service: String, _ value: String, _ dimension: SeriesMonitor.Dimension) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        h = fnv(project, h)
        h = fnv(service, h)
        h = fnv(value, h)
        h ^= UInt64(dimension == .model ? 1 : dimension == .prompt ? 2 : 3)
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return h
    }

    /// FNV-1a of `s`'s UTF-8 and a separator byte, continuing from `h`.
    @inline(__always) private static func fnv(_ s: String, _ h: UInt64) -> UInt64 {
        let r: UInt64? = s.utf8.withContiguousStorageIfAvailable { p in
            var x = h
            for b in p { x = (x ^ UInt64(b)) &* 0x100_0000_01B3 }
            return x
        }
        var x = h
        if let r { x = r } else { for b in s.utf8 { x = (x ^ UInt64(b)) &* 0x100_0000_01B3 } }
        return (x ^ 0xFF) &* 0x100_0000_01B3
    }
}

final class SpanBox: Sendable {
    let span: Span
    init(_ s: Span) { span = s }
}

/// The detectors' subscriber on the ingest fan-out: digests each stored batch on the ingest thread
/// and queues the digests for the detectors' thread without ever blocking ingest (at most
/// `capacity` spans waiting; a batch that does not fit is dropped and counted).
public final class DigestQueue: SpanSubscriber, @unchecked Sendable {
    private let queue: BatchQueue<DigestBatch>
    private let lock = Condition()
    /// Traces whose hash is at most this keep their whole spans (the evaluators' sample).
    private var threshold = UInt64.max
    private weak var fanout: SpanFanout?

    public init(fanout: SpanFanout, capacity: Int) {
        queue = BatchQueue(capacity: capacity)
        self.fanout = fanout
        fanout.add(self)
    }

    public var droppedSpans: Int { queue.droppedCount }

    /// The share of traces whose spans are kept whole, from the next batch on.
    public func setSampleRatio(_ r: Double) {
        let t: UInt64 = r >= 1 ? .max : UInt64(max(0, r) * Double(UInt64.max >> 11)) << 11
        lock.withLock { threshold = t }
    }

    public func stored(_ batch: [Span]) {
        // No digests are made for a batch that would be dropped anyway.
        guard queue.hasRoom(for: batch.count) else { queue.countDropped(batch.count); return }
        let t = lock.withLock { threshold }
        queue.offer(DigestBatch(batch, keep: { SpanDigest.sampled($0, threshold: t) }), count: batch.count)
    }

    /// The next batch of digests, waiting at most `timeoutNanos`; nil on timeout or after `cancel`.
    public func next(timeoutNanos: Int64) -> DigestBatch? { queue.next(timeoutNanos: timeoutNanos) }

    public func cancel() {
        queue.close()
        fanout?.remove(self)
    }
}
