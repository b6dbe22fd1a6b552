import LLMTraceModel

/// The in-memory head: spans acknowledged since the last seal, readable at once.
///
/// Not thread-safe on its own; the `Store` guards it. Strings in head spans share storage with the
/// WAL's interner (and with the caller's spans), so a repeated prompt costs one copy here too.
final class Head {
    private(set) var spans: [Span] = []
    private var traceRows: [TraceID: [Int32]] = [:]
    /// WAL files whose records are all in this head (and nowhere else).
    var walFiles: [UInt64]
    let createdNanos: Int64
    private(set) var minStart = Int64.max
    private(set) var maxStart = Int64.min

    init(walFiles: [UInt64], createdNanos: Int64 = monotonicNanos()) {
        self.walFiles = walFiles
        self.createdNanos = createdNanos
    }

    var count: Int { spans.count }

    func add(_ batch: [Span]) {
        for s in batch {
            traceRows[s.traceID, default: []].append(Int32(spans.count))
            spans.append(s)
            if s.startNanos < minStart { minStart = s.startNanos }
            if s.startNanos > maxStart { maxStart = s.startNanos }
        }
    }

    func trace(_ id: TraceID) -> [Span] {
        guard let rows = traceRows[id] else { return [] }
        return rows.map { spans[Int($0)] }
    }
}
