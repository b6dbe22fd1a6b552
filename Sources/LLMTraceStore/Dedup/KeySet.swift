/// A set of non-zero UInt64 keys (uniform hashes), split by the top 8 bits of the mixed key into
/// 256 shards. Each shard holds a small open-addressing table (`KeyTable`) for the keys added
/// lately, and the rest packed (`PackedKeys`: sorted, the shard's and bucket's bits implied, 6
/// bytes a key). When a shard's table holds a sixteenth of its packed keys (at least 256, at most
/// 4,096) they are merged into the packed keys and the table is emptied; the merge moves at most
/// ~16 packed keys per key added, in a shard of 1/256 of the set (no pause, and no moment holding
/// two copies of the set).
///
/// Memory: 6.3-6.5 bytes a packed key (with the bucket offsets), a table of at most 1/16 of them
/// at 10-20 bytes a key, so ~7 bytes a key in all; the tables-only layout before it was 10-12.5,
/// the largest part of llmtraced's RSS after a minute of full ingest (5M keys). Lossless: the
/// packed form is the key's own bits, nothing hashed away, so two spans are taken for each other
/// only when their 64-bit keys are equal.
///
/// Hot path: one lookup per appended span, a probe of the table and a scan of one packed bucket
/// (8-16 keys of 6 bytes, sorted, stopped at the first larger one).
struct KeySet {
    private var tables = [KeyTable](repeating: KeyTable(capacity: 16), count: 256)
    private var packed = [PackedKeys](repeating: PackedKeys(), count: 256)
    private(set) var count = 0

    /// Keys are mixed (times an odd constant, a bijection) before their bits choose the shard,
    /// the slot and the packed bucket: uniform hashes stay uniform, and small or patterned keys
    /// spread too.
    @inline(__always) static func mixed(_ k: UInt64) -> UInt64 { k &* 0x9E37_79B9_7F4A_7C15 }
    @inline(__always) private static func shard(_ m: UInt64) -> Int { Int(truncatingIfNeeded: m >> 56) }
    /// The mixed key's bits below the shard's: what `PackedKeys` holds.
    @inline(__always) private static func low(_ m: UInt64) -> UInt64 { m & PackedKeys.valueMask }

    /// Asks for the cache lines a lookup of `k` reads, in two stages run some keys apart (the
    /// second reads what the first asked for): a batch's lookups then wait on memory together,
    /// not one cache miss after another (three a key: the packed offsets, the packed bucket, the
    /// table slot).
    @inline(__always) func prefetch(_ k: UInt64, stage: Int) {
        let m = Self.mixed(k)
        let s = Self.shard(m)
        if stage == 0 {
            packed[s].prefetchOffsets(Self.low(m))
            tables[s].prefetch(k)
        } else {
            packed[s].prefetchBucket(Self.low(m))
        }
    }

    func contains(_ k: UInt64) -> Bool {
        let m = Self.mixed(k)
        let s = Self.shard(m)
        return tables[s].contains(k) || packed[s].contains(Self.low(m))
    }

    mutating func insert(_ k: UInt64) { _ = insertIfNew(k) }

    /// Inserts `k`; false when it was already there.
    mutating func insertIfNew(_ k: UInt64) -> Bool {
        let m = Self.mixed(k)
        let s = Self.shard(m)
        if packed[s].contains(Self.low(m)) { return false }
        if tables[s].isFull { tables[s].grow() }
        guard tables[s].insertIfNew(k) else { return false }
        count += 1
        if tables[s].count >= min(4096, max(256, packed[s].count / 16)) { pack(s) }
        return true
    }

    mutating func remove(_ k: UInt64) {
        let m = Self.mixed(k)
        let s = Self.shard(m)
        if tables[s].remove(k) || packed[s].remove(Self.low(m)) { count -= 1 }
    }

    /// Packs every shard's table (a generation that no longer takes new keys) and shrinks the
    /// tables to their first size.
    mutating func packAll() {
        for s in tables.indices where tables[s].count > 0 {
            pack(s)
            tables[s] = KeyTable(capacity: 16)
        }
    }

    /// Moves shard `s`'s table into its packed keys.
    private mutating func pack(_ s: Int) {
        var lows = [UInt64]()
        lows.reserveCapacity(tables[s].count)
        tables[s].forEach { lows.append(Self.low(Self.mixed($0))) }
        lows.sort()
        packed[s].merge(sorted: lows)
        tables[s].removeAll()
    }

    /// Bytes held (for tests and the figures in this comment): the tables' slots, the packed keys
    /// and their offsets.
    var bytes: Int { tables.reduce(0) { $0 + $1.capacity * 8 } + packed.reduce(0) { $0 + $1.bytes } }
}
