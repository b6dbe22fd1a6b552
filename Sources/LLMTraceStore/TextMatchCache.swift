import LLMTraceModel

/// FTS5's answers to recent `MATCH` queries, so a dashboard repeating one asks SQLite once: the
/// paragraph hashes of each query, kept while the index is unchanged (its `data_version`), the
/// least recently used dropped first past `maxEntries` queries or `maxHashes` hashes in all.
final class TextMatchCache: @unchecked Sendable {
    struct Entry {
        var version: Int64
        var hashes: Set<Int64>
        var used: UInt64
    }

    let maxEntries: Int
    let maxHashes: Int
    private let lock = Condition()
    private var entries: [String: Entry] = [:]
    private var held = 0
    private var clock: UInt64 = 0

    init(maxEntries: Int = 64, maxHashes: Int = 4_000_000) {
        self.maxEntries = maxEntries
        self.maxHashes = maxHashes
    }

    /// The cached answer to `query`, if taken at index version `version`.
    func get(_ query: String, version: Int64) -> Set<Int64>? {
        lock.withLock {
            guard var e = entries[query] else { return nil }
            guard e.version == version else {
                held -= e.hashes.count
                entries[query] = nil
                return nil
            }
            clock &+= 1
            e.used = clock
            entries[query] = e
            return e.hashes
        }
    }

    func put(_ query: String, version: Int64, _ hashes: Set<Int64>) {
        guard hashes.count <= maxHashes / 4 else { return }  // one broad match may not evict the rest
        lock.withLock {
            if let old = entries[query] { held -= old.hashes.count }
            clock &+= 1
            entries[query] = Entry(version: version, hashes: hashes, used: clock)
            held += hashes.count
            while entries.count > maxEntries || held > maxHashes {
                guard let victim = entries.min(by: { $0.value.used < $1.value.used }) else { break }
                held -= victim.value.hashes.count
                entries[victim.key] = nil
            }
        }
    }

    var count: Int { lock.withLock { entries.count } }
}
