import LLMTraceSupport

/// One query's memory budget (`QueryEngine.Limits.maxMemoryBytes`), counted by the engine as it
/// builds what lives until the answer: full-text match sets, `traces` rows, groups (keys,
/// accumulators, quantile sketches, distinct sets) and result rows. Each is charged when built,
/// from its element counts and layouts; past the budget the query stops with a `.memoryLimit`
/// error naming what crossed it, instead of growing the process until the kernel kills it. Column
/// arrays a batch decodes and drops (about a megabyte per segment per thread) are not counted.
/// The peak is reported in `QueryResult.Stats.memoryBytes`.
final class QueryMemory: @unchecked Sendable {
    let limit: Int
    private let lock = Condition()
    private var held = 0
    private var top = 0

    init(limit: Int) { self.limit = limit }

    var peak: Int { lock.withLock { top } }

    /// Counts `bytes` more; throws when the query then holds more than its budget.
    func charge(_ bytes: Int, for what: @autoclosure () -> String) throws {
        let total = lock.withLock { () -> Int in
            held += bytes
            top = max(top, held)
            return held
        }
        guard total > limit else { return }
        throw QueryError("the query needs more than its memory budget of \(Self.size(limit)): \(what()) brought it to \(Self.size(total)); narrow its time range or filters, group by fewer keys, or raise the budget (llmtraced --query-memory, tracectl query --memory)", kind: .memoryLimit)
    }

    /// Gives back what was charged for something no longer held.
    func release(_ bytes: Int) { lock.withLock { held -= bytes } }

    static func size(_ n: Int) -> String {
        if n >= 1 << 30 { return String(format1(Double(n) / Double(1 << 30))) + " GiB" }
        if n >= 1 << 20 { return String(format1(Double(n) / Double(1 << 20))) + " MiB" }
        return "\(max(0, n) >> 10) KiB"
    }

    private static func format1(_ x: Double) -> String {
        let t = (x * 10).rounded() / 10
        return t == t.rounded() ? String(Int(t)) : String(t)
    }

    // What the charged structures cost, from their layouts (a Swift Set or Dictionary keeps
    // about 1.33 slots an element plus a bit of metadata each).
    static func setBytes<T>(_ count: Int, of _: T.Type) -> Int { count * (MemoryLayout<T>.stride * 4 / 3 + 1) + 64 }
    static func valuesBytes(_ values: [QueryValue]) -> Int {
        var n = 32 + values.count * MemoryLayout<QueryValue>.stride
        for v in values { if case .string(let s) = v, s.utf8.count > 15 { n += 32 + s.utf8.count } }
        return n
    }
}
