import LLMTraceModel

/// The spans stored in the last `window` of ingest, as 64-bit fingerprints of (project, trace id,
/// span id): what makes a re-sent span (an exporter retrying after a timeout, an import run twice)
/// a no-op. Not thread-safe; the store guards it.
///
/// Keys live in generations, each covering a quarter of the window of ingest time (wall clock at
/// append); when a new generation starts, those older than the window are dropped whole, so a key
/// is remembered for at least `window` and at most `window` plus a quarter. A cap on the keys held
/// bounds memory (6.5-7.5 bytes a key, see `KeySet`); reaching it drops the oldest generation early, shortening the
/// window, and `shortenedTo` says to what.
///
/// Two different spans share a fingerprint with probability about n / 2^64 for n keys held (10^-10
/// at 10^9): such a span would be taken for a re-send and not stored.
struct RecentSpanKeys {
    let windowNanos: Int64
    let maxKeys: Int
    private var generations: [(start: Int64, keys: KeySet)] = []
    /// The window actually kept, when the key cap made it shorter than `windowNanos`.
    private(set) var shortenedTo: Int64?

    init(windowNanos: Int64, maxKeys: Int) {
        self.windowNanos = windowNanos
        self.maxKeys = max(1024, maxKeys)
    }

    var count: Int { generations.reduce(0) { $0 + $1.keys.count } }

    static func key(project: String, trace: TraceID, span: SpanID) -> UInt64 {
        var h = UInt64(bitPattern: TextHash.hash(project))
        h = mix(h ^ trace.hi)
        h = mix(h ^ trace.lo)
        h = mix(h ^ span.value)
        return h == 0 ? 1 : h  // 0 marks an empty slot
    }

    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        let m = x.multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        return m.high ^ m.low
    }

    /// `KeySet.prefetch` in every generation a lookup of `k` reads.
    @inline(__always) func prefetch(_ k: UInt64, stage: Int) {
        for g in generations.indices { generations[g].keys.prefetch(k, stage: stage) }
    }

    func contains(_ k: UInt64) -> Bool {
        for g in generations.reversed() where g.keys.contains(k) { return true }
        return false
    }

    /// Adds `k` to the generation of `time`: ingest time when appending, a segment's seal time
    /// when rebuilding after a restart (generations start on multiples of a quarter window, so a
    /// rebuild files keys where ingest had).
    mutating func insert(_ k: UInt64, at time: Int64) {
        let quarter = windowNanos / 4
        let start = time - ((time % quarter) + quarter) % quarter
        let gi: Int
        if let last = generations.lastIndex(where: { $0.start <= start }), generations[last].start == start {
            gi = last
        } else {
            gi = (generations.lastIndex { $0.start < start } ?? -1) + 1
            generations.insert((start, KeySet()), at: gi)
            // The others take no more keys from ingest: their tables are packed.
            for g in generations.indices where g != gi { generations[g].keys.packAll() }
        }
        generations[gi].keys.insert(k)
        if count > maxKeys {
            // Over the cap: the oldest generation goes early (the newest alone, if it is all).
            let oldest = generations.removeFirst()
            if generations.isEmpty { generations.append((start, KeySet())) }
            shortenedTo = max(0, time - (generations.first?.start ?? oldest.start))
        }
    }

    /// Drops the generations older than the window at `now`.
    mutating func expire(now: Int64) {
        let quarter = windowNanos / 4
        if let first = generations.first, first.start + windowNanos + quarter <= now {
            generations.removeAll { $0.start + windowNanos + quarter <= now }
        }
    }

    /// Adds `k` at `time` unless it is already held; true when it was new. One probe of the
    /// current generation instead of a lookup and then an insert (this runs for every span).
    mutating func insertIfNew(_ k: UInt64, at time: Int64) -> Bool {
        let quarter = windowNanos / 4
        if let last = generations.indices.last, generations[last].start <= time, time < generations[last].start + quarter {
            for g in generations.indices.dropLast() where generations[g].keys.contains(k) { return false }
            guard generations[last].keys.insertIfNew(k) else { return false }
            if count > maxKeys { insert(k, at: time) }  // the slow path applies the cap
            return true
        }
        if contains(k) { return false }
        insert(k, at: time)
        return true
    }

    /// Forgets `k` (a batch whose WAL write failed: a retry must be stored, not taken for a re-send).
    mutating func remove(_ k: UInt64) {
        for i in generations.indices { generations[i].keys.remove(k) }
    }
}
