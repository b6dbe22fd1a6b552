import LLMTraceDetect
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore
import LLMTraceSupport

/// Reads a data directory, read-only (also while llmtraced writes it). A read-only store is a
/// snapshot of the moment it was opened, so the reader opens it again when it is older than
/// `maxAgeNanos` (the dashboard's refresh): new spans appear within one refresh.
public final class LocalReader: TraceReader {
    public let directory: String
    public let project: String?
    public var maxAgeNanos: Int64
    private var store: Store?
    private var openedAt: Int64 = 0

    public init(directory: String, project: String? = nil, maxAgeNanos: Int64 = 1_000_000_000) {
        self.directory = directory
        self.project = project
        self.maxAgeNanos = maxAgeNanos
    }

    deinit { try? store?.close() }

    public var source: String { "data \(directory)" }

    func current() throws(ReaderError) -> Store {
        let now = monotonicNanos()
        if let s = store, now - openedAt < maxAgeNanos { return s }
        try? store?.close()
        store = nil
        var o = StoreOptions(directory: directory)
        o.readOnly = true
        o.log = { _, _ in }
        do {
            let s = try Store.open(o)
            store = s
            openedAt = now
            return s
        } catch {
            throw ReaderError("cannot read \(directory): \(error)")
        }
    }

    public func query(_ sql: String) throws(ReaderError) -> QueryResult {
        let s = try current()
        do {
            return try QueryEngine(store: s).run(sql, project: project)
        } catch let e as QueryError {
            throw ReaderError(e.pointing(into: sql))
        } catch {
            throw ReaderError("\(error)")
        }
    }

    public func trace(_ id: TraceIDPrefix) throws(ReaderError) -> TraceDocument {
        let s = try current()
        let found: Store.TraceLookup
        do { found = try s.lookUpTrace(id, project: project) } catch { throw ReaderError("cannot read trace \(id): \(error)") }
        switch found {
        case .notFound: throw ReaderError("trace \(id) not found in \(directory)")
        case .ambiguous(let ids): throw ReaderError("trace id prefix \(id) is ambiguous: it matches \(ids.prefix(3).map(\.hex).joined(separator: ", "))")
        case .found(let d): return d
        }
    }

    public func alerts() throws(ReaderError) -> [JSONValue] {
        let path = directory + "/detectors.db"
        guard FileIO.exists(path) else { return [] }
        do {
            var list = try DetectorStateDB(path: path).loadAlerts()
            if let p = project { list = list.filter { $0.series.project == p } }
            return try JSONValue.parse(DetectJSON.alerts(list, silences: []))["alerts"]?.array ?? []
        } catch {
            throw ReaderError("cannot read the detector state in \(path): \(error)")
        }
    }
}
