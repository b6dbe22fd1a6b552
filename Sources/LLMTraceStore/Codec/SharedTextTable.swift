/// The text table of one WAL file, shared by the WAL (which appends texts once the records that
/// introduce them are durable) and the head (which decodes span details with it, and hands it to the
/// segment writer as the segment's text store). Ids are indexes; texts are only ever appended.
public final class SharedTextTable: @unchecked Sendable {
    private let lock = Condition()
    private var texts: [String] = []

    public init() {}

    public var count: Int { lock.withLock { texts.count } }

    func append(contentsOf more: ArraySlice<String>) {
        guard !more.isEmpty else { return }
        lock.withLock { texts.append(contentsOf: more) }
    }

    /// Runs `body` with the table locked; keep it short (decoding a few spans).
    func withTexts<T>(_ body: ([String]) throws -> T) rethrows -> T {
        try lock.withLock { try body(texts) }
    }

    /// A copy of every text, for sealing (the table no longer grows by then).
    var snapshot: [String] { lock.withLock { texts } }
}
