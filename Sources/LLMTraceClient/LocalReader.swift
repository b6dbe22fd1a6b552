#if canImport(Glibc)
import Glibc
#endif
import LLMTraceDetect
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore
import LLMTraceSupport

/// Reads a data directory, read-only (also while llmtraced writes it). A read-only store is a
/// snapshot of the moment it was opened, so the reader opens it again when it is older than
/// `maxAgeNanos` (the dashboard's refresh): new spans appear within one refresh. Answers are the
/// documents the collector's API writes, made by the same writers.
public final class LocalReader: TraceReader {
    public let directory: String
    public let project: String?
    public var maxAgeNanos: Int64
    private var store: Store?
    private var openedAt: Int64 = 0
    /// The tail's memory: spans already given, and how many.
    private var tailSeen: Set<SpanKey> = []
    private var tailOrder: [SpanKey] = []
    private var tailPosition: Int64 = 0

    struct SpanKey: Hashable { var trace: TraceID; var span: SpanID }

    public init(directory: String, project: String? = nil, maxAgeNanos: Int64 = 1_000_000_000) {
        self.directory = directory
        self.project = project
        self.maxAgeNanos = maxAgeNanos
    }

    deinit { try? store?.close() }

    public var source: String { "data \(directory)" }

    func current(maxAge: Int64? = nil) throws(ReaderError) -> Store {
        let now = monotonicNanos()
        if let s = store, now - openedAt < (maxAge ?? maxAgeNanos) { return s }
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

    public func query(_ sql: String, limits: QueryEngine.Limits) throws(ReaderError) -> QueryResult {
        let s = try current()
        do {
            return try QueryEngine(store: s).run(sql, project: project, limits: limits)
        } catch let e as QueryError {
            throw ReaderError(e.message, exitCode: 1, position: e.position)
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
        case .ambiguous(let ids):
            throw ReaderError("trace id prefix \(id) is ambiguous: it matches \(ids.prefix(3).map(\.hex).joined(separator: ", "))\(ids.count > 3 ? ", …" : ""); give more digits")
        case .found(let d): return d
        }
    }

    public func search(_ search: TraceSearch) throws(ReaderError) -> JSONValue {
        let s = try current()
        do {
            let (traces, next) = try QueryEngine(store: s).searchTraces(search, project: project) { try s.trace($0) }
            return try JSONValue.parse(TraceSearch.json(traces, next: next))
        } catch let e as QueryError {
            throw ReaderError(e.message, exitCode: 2)
        } catch {
            throw ReaderError("trace search failed: \(error)")
        }
    }

    public func alerts(state: String?) throws(ReaderError) -> JSONValue {
        let path = directory + "/detectors.db"
        guard FileIO.exists(path) else {
            throw ReaderError("no detector state in \(directory) (llmtraced keeps it in detectors.db while it runs with --detectors on); or ask a running collector with --endpoint")
        }
        do {
            let db = try DetectorStateDB(path: path)
            var list = try db.loadAlerts()
            if let p = project { list = list.filter { $0.series.project == p } }
            if let s = state { list = list.filter { $0.state.rawValue == s } }
            list.sort { ($0.state == .resolved ? 1 : 0, -$0.startsNanos) < ($1.state == .resolved ? 1 : 0, -$1.startsNanos) }
            let silences = try db.loadSilences(now: wallNanos()).filter { project == nil || $0.project == project }
            return try JSONValue.parse(DetectJSON.alerts(list, silences: silences))
        } catch {
            throw ReaderError("cannot read the detector state in \(path): \(error)")
        }
    }

    public func anomalies(since: String?, service: String?, metric: String?, limit: Int?) throws(ReaderError) -> JSONValue {
        throw ReaderError("anomalies are kept by the running collector, not in the data directory: ask it with --endpoint URL (or set LLMTRACE_ENDPOINT); alerts that held are in the data directory (tracectl alerts)",
                          exitCode: 2)
    }

    public func drift(baseline: String?, current c: String?, by: String?, limit: Int?) throws(ReaderError) -> JSONValue {
        let request: DriftRequest
        do { request = try DriftRequest(baseline: baseline, current: c, by: by, now: wallNanos()) } catch { throw ReaderError(error.description, exitCode: 2) }
        let s = try current()
        do {
            return try JSONValue.parse(try request.run(s, project: project).json(request, limit: limit ?? 200))
        } catch {
            throw ReaderError("drift failed: \(error)")
        }
    }

    /// The newest spans are the ones not yet sealed: the tail reads them at each poll (the store
    /// opened again), and gives the ones it has not given before. A span sealed between two polls
    /// is not seen: `tracectl tail --data` polls every 250 ms, and sealing keeps ~10 s of spans.
    public func tail(after: Int64?, filter: TailFilter, waitMillis: Int) throws(ReaderError) -> JSONValue {
        let deadline = monotonicNanos() + Int64(max(0, waitMillis)) * 1_000_000
        var out: [Span] = []
        repeat {
            let head = try current(maxAge: 200_000_000).headSpans()
            for s in head where project == nil || s.project == project {
                let k = SpanKey(trace: s.traceID, span: s.spanID)
                guard tailSeen.insert(k).inserted else { continue }
                tailOrder.append(k)
                // The first poll only learns what is there already.
                if after != nil && filter.keeps(s) { out.append(s) }
            }
            if tailOrder.count > 500_000 {
                for k in tailOrder.prefix(250_000) { tailSeen.remove(k) }
                tailOrder.removeFirst(250_000)
            }
            if after == nil || !out.isEmpty { break }
            usleep(UInt32(min(250_000_000, max(0, deadline - monotonicNanos())) / 1000))
        } while monotonicNanos() < deadline
        out.sort { $0.endNanos < $1.endNanos }
        tailPosition += Int64(out.count)
        var w = JSONWriter(capacity: 256 + out.count * 400)
        w.beginObject()
        w.key("spans"); w.beginArray()
        for s in out { s.encodeJSON(into: &w) }
        w.endArray()
        w.key("next"); w.int(tailPosition)
        w.key("missed"); w.int(0)
        w.endObject()
        do { return try JSONValue.parse(w.bytes) } catch { throw ReaderError("\(error)") }
    }
}
