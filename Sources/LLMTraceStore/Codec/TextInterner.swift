/// Assigns dense ids to distinct strings, so repeated text (system prompts, retrieved chunks, model
/// names) is written once per WAL file or segment and referenced by a varint afterwards.
///
/// Changes are staged: `commit()` keeps the ids handed out since the last commit, `rollback()` forgets
/// them (used when a WAL write fails, so the table never references text that is not on disk).
public struct TextInterner {
    private var ids: [String: UInt32] = [:]
    /// Every string in id order.
    public private(set) var strings: [String] = []
    private var committedCount = 0
    /// Sum of UTF-8 lengths of all strings, to size segment text blocks.
    public private(set) var totalBytes = 0

    public init() {}

    public var count: Int { strings.count }
    /// Strings added since the last commit, in id order.
    public var staged: ArraySlice<String> { strings[committedCount...] }

    /// The id of `s`, adding it when new.
    @inline(__always)
    public mutating func intern(_ s: String) -> UInt32 {
        if let id = ids[s] { return id }
        let id = UInt32(strings.count)
        ids[s] = id
        strings.append(s)
        totalBytes += s.utf8.count
        return id
    }

    public mutating func commit() { committedCount = strings.count }

    public mutating func rollback() { truncate(to: committedCount) }

    /// Forgets every id from `count` on (texts of records that never reached the disk).
    public mutating func truncate(to count: Int) {
        guard count < strings.count else { return }
        for s in strings[count...] {
            ids[s] = nil
            totalBytes -= s.utf8.count
        }
        strings.removeSubrange(count...)
        committedCount = min(committedCount, count)
    }
}

/// Resolves text ids back to strings while decoding.
public protocol TextLookup {
    func text(_ id: UInt32) -> String?
}

extension Array: TextLookup where Element == String {
    @inline(__always)
    public func text(_ id: UInt32) -> String? { Int(id) < count ? self[Int(id)] : nil }
}
