#if canImport(Glibc)
import Glibc
#endif
import LLMTraceSupport

/// Fails chosen file operations the way a full or failing disk does, for tests. Every create,
/// write, fsync, rename, truncate and unlink the store makes goes through `FileIO`, and every index
/// transaction through `IndexDB`; each asks the installed rules first. No rule is installed in
/// production, and asking costs a lock and an empty-array check.
///
/// A rule sees the operation and the path and returns the errno to fail with (ENOSPC, EIO), or nil.
/// A failing write first writes half of its bytes, as a write that runs out of space does. Rules
/// match on their test's own directory, so tests running in parallel do not see each other's.
public final class FileFaults: @unchecked Sendable {
    public enum Operation: String, Sendable, CaseIterable {
        case create, write, fsync, rename, truncate, unlink, syncDirectory
        /// A write transaction of the index database (SQLite does its own file I/O).
        case indexWrite
    }

    public typealias Rule = @Sendable (_ operation: Operation, _ path: String) -> Int32?

    static let shared = FileFaults()
    private let lock = Condition()
    private var rules: [(token: Int, rule: Rule)] = []
    private var nextToken = 0

    /// Installs `rule` until `remove` is called with the returned token.
    public static func install(_ rule: @escaping Rule) -> Int {
        shared.lock.withLock {
            shared.nextToken += 1
            shared.rules.append((shared.nextToken, rule))
            return shared.nextToken
        }
    }

    public static func remove(_ token: Int) {
        shared.lock.withLock { shared.rules.removeAll { $0.token == token } }
    }

    /// The errno a rule asks `operation` on `path` to fail with, if any.
    static func injected(_ operation: Operation, _ path: String) -> Int32? {
        let rules = shared.lock.withLock { shared.rules }
        for r in rules { if let e = r.rule(operation, path) { return e } }
        return nil
    }

    /// Throws the error a real failure of `operation` would, when a rule asks for one.
    static func check(_ operation: Operation, _ path: String, _ what: String) throws {
        guard let e = injected(operation, path) else { return }
        throw StoreError("\(what) failed: \(String(cString: strerror(e)))", path: path, errno: e)
    }
}
