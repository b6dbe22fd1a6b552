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

    /// The 16 bytes of a `String` (or of a `String?`, whose nil is one pattern of them) in a span,
    /// read without retaining it: two equal patterns are the same string (the same storage, or the
    /// same bytes held inline). Reading a string out of a span retains it, and the project's string
    /// is shared by every span of every request, so each retain was a contended atomic across the
    /// ingest threads: over a third of a digest's cost, measured.
    struct RawString: Equatable {
        var a: UInt64, b: UInt64
    }
    private static let offsets: (project: Int, service: Int, name: Int, response: Int, request: Int, prompt: Int, version: Int)? = {
        guard let p = MemoryLayout<Span>.offset(of: \Span.project), let s = MemoryLayout<Span>.offset(of: \Span.service),
              let n = MemoryLayout<Span>.offset(of: \Span.name), let rs = MemoryLayout<Span>.offset(of: \Span.responseModel),
              let rq = MemoryLayout<Span>.offset(of: \Span.requestModel), let pn = MemoryLayout<Span>.offset(of: \Span.promptName),
              let pv = MemoryLayout<Span>.offset(of: \Span.promptVersion),
              MemoryLayout<String>.size == 16, MemoryLayout<String?>.size == 16 else { return nil }
        return (p, s, n, rs, rq, pn, pv)
    }()
    private static let nilString: RawString = withUnsafeBytes(of: String?.none) { $0.loadUnaligned(as: RawString.self) }
    @inline(__always) private static func raw(_ s: UnsafePointer<Span>, _ offset: Int) -> RawString {
        UnsafeRawPointer(s).loadUnaligned(fromByteOffset: offset, as: RawString.self)
    }

    /// Keys by the raw patterns of their strings: (dimension, project, service, value) → key index.
    /// Equal strings held apart (a model name decoded anew for every span) miss here and are found
    /// by content below, once per string.
    private var rawTable = [Int32](repeating: -1, count: 128)
    private var rawEntries: [(dimension: UInt8, project: RawString, service: RawString, value: RawString, key: Int32)] = []
    /// The raw project and service of each key (its strings' patterns when it was made).
    private var keyRaw: [(project: RawString, service: RawString)] = []
    private var lastVersionRaw = nilString
    private var lastVersion: Int32 = -1

    private mutating func add(_ s: UnsafePointer<Span>, keep: Bool) {
        guard let o = Self.offsets else { return addRetaining(s, keep: keep) }
        let retrieval = s.pointee.kind == .retrieval
        let response = Self.raw(s, o.response), request = Self.raw(s, o.request), prompt = Self.raw(s, o.prompt)
        let model = response != Self.nilString ? response : request
        // A span of no series (an agent step, a tool call) is of use only whole, to the evaluators.
        guard keep || model != Self.nilString || retrieval || prompt != Self.nilString else { return }
        var d = SpanDigest(s, keep: keep)
        let project = Self.raw(s, o.project), service = Self.raw(s, o.service)
        if model != Self.nilString {
            d.model = rawKey(s, .model, project, service, model) { s.pointee.responseModel ?? s.pointee.requestModel ?? "" }
        }
        if prompt != Self.nilString {
            d.prompt = rawKey(s, .prompt, project, service, prompt) { s.pointee.promptName ?? "" }
            let version = Self.raw(s, o.version)
            if version != Self.nilString {
                if version == lastVersionRaw && lastVersion >= 0 { d.version = lastVersion } else {
                    d.version = versionIndex(s.pointee.promptVersion ?? "")
                    lastVersionRaw = version
                    lastVersion = d.version
                }
            }
        }
        if retrieval { d.retriever = rawKey(s, .retriever, project, service, Self.raw(s, o.name)) { s.pointee.name } }
        digests.append(d)
    }

    private mutating func rawKey(_ s: UnsafePointer<Span>, _ dimension: SeriesMonitor.Dimension, _ project: RawString, _ service: RawString,
                                 _ value: RawString, _ string: () -> String) -> Int32 {
        let dim: UInt8 = dimension == .model ? 1 : dimension == .prompt ? 2 : 3
        let h = Self.rawHash(dim, project, service, value)
        let mask = rawTable.count - 1
        var at = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = rawTable[at]
            if e < 0 { break }
            let r = rawEntries[Int(e)]
            if r.dimension == dim && r.value == value && r.service == service && r.project == project { return r.key }
            at = (at + 1) & mask
        }
        let key = contentKey(s, dimension, string(), project, service)
        rawEntries.append((dim, project, service, value, key))
        rawTable[at] = Int32(rawEntries.count - 1)
        if rawEntries.count * 2 > rawTable.count {
            rawTable = Self.rehash(count: rawTable.count * 2, rawEntries.map { Self.rawHash($0.dimension, $0.project, $0.service, $0.value) })
        }
        return key
    }

    @inline(__always) private static func rawHash(_ dim: UInt8, _ p: RawString, _ s: RawString, _ v: RawString) -> UInt64 {
        @inline(__always) func mix(_ h: UInt64, _ x: UInt64) -> UInt64 {
            let y = (h ^ x) &* 0xFF51_AFD7_ED55_8CCD
            return y ^ (y >> 29)
        }
        return mix(mix(mix(mix(mix(mix(UInt64(dim) &* 0x9E37_79B9_7F4A_7C15, p.a), p.b), s.a), s.b), v.a), v.b)
    }

    /// The same, reading the strings the ordinary way (when the span's layout is not as expected).
    private mutating func addRetaining(_ s: UnsafePointer<Span>, keep: Bool) {
        let retrieval = s.pointee.kind == .retrieval
        let model = s.pointee.responseModel ?? s.pointee.requestModel
        guard keep || model != nil || retrieval || s.pointee.promptName != nil else { return }
        var d = SpanDigest(s, keep: keep)
        let none = Self.nilString
        if let m = model { d.model = contentKey(s, .model, m, none, none) }
        if let p = s.pointee.promptName {
            d.prompt = contentKey(s, .prompt, p, none, none)
            if let v = s.pointee.promptVersion { d.version = versionIndex(v) }
        }
        if retrieval { d.retriever = contentKey(s, .retriever, s.pointee.name, none, none) }
        digests.append(d)
    }

    private mutating func versionIndex(_ v: String) -> Int32 {
        if let i = versions.firstIndex(where: { ExactString.equal($0, v) }) { return Int32(i) }
        guard versions.count < 64 else { return -1 }
        versions.append(v)
        return Int32(versions.count - 1)
    }

    /// The key of (dimension, the span's project and service, `value`) by content: a hash of the
    /// service's and the value's bytes (not the project's: reading it is the contended retain), then
    /// a compare, the project and service by pattern first.
    private mutating func contentKey(_ s: UnsafePointer<Span>, _ dimension: SeriesMonitor.Dimension, _ value: String,
                                     _ project: RawString, _ service: RawString) -> Int32 {
        func same(_ i: Int) -> Bool {
            let k = keys[i]
            return k.dimension == dimension && ExactString.equal(k.value, value)
                && (keyRaw[i].service == service || ExactString.equal(k.service, s.pointee.service))
                && (keyRaw[i].project == project || ExactString.equal(k.project, s.pointee.project))
        }
        var h = Self.fnv(value, Self.fnv(s.pointee.service, 0xCBF2_9CE4_8422_2325))
        h ^= UInt64(dimension == .model ? 1 : dimension == .prompt ? 2 : 3)
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        let mask = table.count - 1
        var at = Int(truncatingIfNeeded: h) & mask
        while true {
            let i = table[at]
            if i < 0 { break }
            if hashes[Int(i)] == h && same(Int(i)) { return i }
            at = (at + 1) & mask
        }
        keys.append(SeriesMonitor.SeriesKey(project: s.pointee.project, service: s.pointee.service, dimension: dimension, value: value))
        keyRaw.append((project, service))
        hashes.append(h)
        let i = Int32(keys.count - 1)
        table[at] = i
        if keys.count * 2 > table.count { table = Self.rehash(count: table.count * 2, hashes) }
        return i
    }

    /// An open-addressing table of `count` slots holding the indices of `hashes`.
    private static func rehash(count: Int, _ hashes: [UInt64]) -> [Int32] {
        var table = [Int32](repeating: -1, count: count)
        let mask = count - 1
        for (i, h) in hashes.enumerated() {
            var at = Int(truncatingIfNeeded: h) & mask
            while table[at] >= 0 { at = (at + 1) & mask }
            table[at] = Int32(i)
        }
        return table
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

    /// CPU the ingest threads spent making digests (thread CPU time, nanoseconds): the detectors'
    /// share of ingest, apart from their own thread's.
    public var ingestCPUNanos: Int64 { lock.withLock { cpuNanos } }
    private var cpuNanos: Int64 = 0

    public func stored(_ batch: [Span]) {
        let t0 = threadCPUNanos()
        // No digests are made for a batch that would be dropped anyway.
        guard queue.hasRoom(for: batch.count) else { queue.countDropped(batch.count); return }
        let t = lock.withLock { threshold }
        queue.offer(DigestBatch(batch, keep: { SpanDigest.sampled($0, threshold: t) }), count: batch.count)
        let spent = threadCPUNanos() - t0
        lock.withLock { cpuNanos += spent }
    }

    /// The next batch of digests, waiting at most `timeoutNanos`; nil on timeout or after `cancel`.
    public func next(timeoutNanos: Int64) -> DigestBatch? { queue.next(timeoutNanos: timeoutNanos) }

    public func cancel() {
        queue.close()
        fanout?.remove(self)
    }
}
