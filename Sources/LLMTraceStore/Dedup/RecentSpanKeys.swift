import LLMTraceModel

/// The spans stored in the last `window` of ingest, as 64-bit fingerprints of (project, trace id,
/// span id): what makes a re-sent span (an exporter retrying after a timeout, an import run twice)
/// a no-op. Not thread-safe; the store guards it.
///
/// Keys live in generations, each covering a quarter of the window of ingest time (wall clock at
/// append); when a new generation starts, those older than the window are dropped whole, so a key
/// is remembered for at least `window` and at most `window` plus a quarter. A cap on the keys held
/// bounds memory (10-12.5 bytes a key); reaching it drops the oldest generation early, shortening the
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

/// A set of non-zero UInt64 keys (uniform hashes), split by their top 8 bits into 256 shards, each
/// an open-addressing table (linear probing, backward-shift deletion) kept at most 80% full that
/// grows when full (twice while under 4,096 slots, then by a quarter). A lookup is one probe run in one shard. Growth rehashes one shard
/// (1/256 of the keys) at a time: no pause to move millions of keys and no moment holding two
/// copies of the set (one 64 MB table rehashed into a 128 MB one was the collector's peak RSS at
/// full ingest), and a growth step of 1.25 instead of 2 keeps the large tables 64-80% full, 10-12.5
/// bytes a key. Hot path: one lookup per appended span.
struct KeySet {
    private var shards = [KeyTable](repeating: KeyTable(capacity: 16), count: 256)
    private(set) var count = 0

    /// Keys are mixed (times an odd constant, a bijection) before their bits choose the shard and
    /// the slot: uniform hashes stay uniform, and small or patterned keys spread too.
    @inline(__always) static func mixed(_ k: UInt64) -> UInt64 { k &* 0x9E37_79B9_7F4A_7C15 }
    @inline(__always) private static func shard(_ k: UInt64) -> Int { Int(truncatingIfNeeded: mixed(k) >> 56) }

    func contains(_ k: UInt64) -> Bool { shards[Self.shard(k)].contains(k) }

    mutating func insert(_ k: UInt64) { _ = insertIfNew(k) }

    /// Inserts `k`; false when it was already there.
    mutating func insertIfNew(_ k: UInt64) -> Bool {
        let s = Self.shard(k)
        if shards[s].isFull { shards[s].grow() }
        guard shards[s].insertIfNew(k) else { return false }
        count += 1
        return true
    }

    mutating func remove(_ k: UInt64) {
        if shards[Self.shard(k)].remove(k) { count -= 1 }
    }
}

/// One shard of `KeySet`: slots indexed by `fastrange` of the mixed key's low 56 bits (any
/// capacity, not only powers of two).
struct KeyTable {
    private var slots: [UInt64]
    private(set) var count = 0

    init(capacity: Int) { slots = [UInt64](repeating: 0, count: capacity) }

    var capacity: Int { slots.count }
    var isFull: Bool { (count + 1) * 5 > slots.count * 4 }

    @inline(__always) private func home(_ k: UInt64) -> Int {
        Int(truncatingIfNeeded: (KeySet.mixed(k) << 8).multipliedFullWidth(by: UInt64(slots.count)).high)
    }

    @inline(__always) private func next(_ i: Int) -> Int { i + 1 == slots.count ? 0 : i + 1 }

    func contains(_ k: UInt64) -> Bool {
        guard count > 0 else { return false }
        var i = home(k)
        while true {
            let v = slots[i]
            if v == k { return true }
            if v == 0 { return false }
            i = next(i)
        }
    }

    /// Inserts `k` (the table is not full); false when it was already there.
    mutating func insertIfNew(_ k: UInt64) -> Bool {
        var i = home(k)
        while true {
            let v = slots[i]
            if v == k { return false }
            if v == 0 { slots[i] = k; count += 1; return true }
            i = next(i)
        }
    }

    /// Twice the slots while small (each growth moves every key, and a shard fills from 16
    /// slots: growing by a quarter from the start placed each key ~4 more times), a quarter more
    /// once large (memory, see `KeySet`); every key placed again.
    mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: max(16, old.count < 4096 ? 2 * old.count : old.count + old.count / 4))
        count = 0
        for k in old where k != 0 { _ = insertIfNew(k) }
    }

    /// Removes `k`; false when it was not there.
    mutating func remove(_ k: UInt64) -> Bool {
        guard count > 0 else { return false }
        var i = home(k)
        while slots[i] != k {
            if slots[i] == 0 { return false }
            i = next(i)
        }
        // Shift back every later key of the run that may sit in the freed slot.
        var hole = i
        var j = next(i)
        while slots[j] != 0 {
            let h = home(slots[j])
            // Move slots[j] into the hole unless its home lies cyclically in (hole, j].
            let between = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !between {
                slots[hole] = slots[j]
                hole = j
            }
            j = next(j)
        }
        slots[hole] = 0
        count -= 1
        return true
    }
}
