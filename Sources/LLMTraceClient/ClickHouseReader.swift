import LLMTraceClickHouse
import LLMTraceModel
import LLMTraceQuery

/// Reads from the ClickHouse cluster many collectors forward to (`tracectl --clickhouse URL`, and a
/// collector's read routes with `--query-engine clickhouse|auto`): queries (translated:
/// `QueryEngine.clickhouse`), trace lookups and the trace search. The detectors' state (alerts,
/// anomalies, drift) and the live tail live in each collector: those ask a collector.
public final class ClickHouseReader: TraceReader {
    public let engine: ClickHouseQueryEngine
    public let project: String?

    public init(endpoint: ClickHouseEndpoint, project: String? = nil, timeoutSeconds: Int = 30) {
        let client = ClickHouseClient(endpoint)
        client.timeoutSeconds = timeoutSeconds
        engine = ClickHouseQueryEngine(client: client)
        self.project = project
    }

    /// Another reader over the same client, confined to `project` (a collector makes one per request
    /// for the request's key).
    public init(engine: ClickHouseQueryEngine, project: String?) {
        self.engine = engine
        self.project = project
    }

    public var source: String { "clickhouse \(engine.client.endpoint.redacted)" }

    static func failure(_ e: Error) -> ReaderError {
        if let c = e as? ClickHouseError { return ReaderError("ClickHouse: \(c)", exitCode: c.unreachable ? 4 : 1) }
        if let q = e as? QueryError { return ReaderError(q.message, exitCode: 1, position: q.position) }
        return ReaderError("\(e)")
    }

    public func query(_ sql: String, limits: QueryEngine.Limits) throws(ReaderError) -> QueryResult {
        do { return try engine.run(sql, project: project, limits: limits) } catch { throw Self.failure(error) }
    }

    public func trace(_ id: TraceIDPrefix) throws(ReaderError) -> TraceDocument {
        let found: ClickHouseQueryEngine.TraceLookup
        do { found = try engine.lookUpTrace(id, project: project) } catch { throw Self.failure(error) }
        switch found {
        case .found(let doc): return doc
        case .notFound: throw ReaderError("trace \(id) not found in \(source)")
        case .ambiguous(let ids):
            throw ReaderError("trace id prefix \(id) is ambiguous: it matches \(ids.prefix(3).map(\.hex).joined(separator: ", "))\(ids.count > 3 ? ", …" : ""); give more digits")
        }
    }

    func collectorOnly(_ what: String) -> ReaderError {
        ReaderError("\(what) is answered by a collector, not from ClickHouse: use --endpoint http://COLLECTOR:4318", exitCode: 2)
    }

    public func search(_ s: TraceSearch) throws(ReaderError) -> JSONValue {
        do {
            let (traces, next) = try engine.searchTraces(s, project: project)
            return try JSONValue.parse(TraceSearch.json(traces, next: next))
        } catch let e as QueryError {
            throw ReaderError(e.message, exitCode: 2, position: e.position)
        } catch { throw Self.failure(error) }
    }
    public func alerts(state: String?) throws(ReaderError) -> JSONValue { throw collectorOnly("alerts") }
    public func anomalies(since: String?, service: String?, metric: String?, limit: Int?) throws(ReaderError) -> JSONValue { throw collectorOnly("anomalies") }
    public func drift(baseline: String?, current: String?, by: String?, limit: Int?) throws(ReaderError) -> JSONValue { throw collectorOnly("drift") }
    public func tail(after: Int64?, filter: TailFilter, waitMillis: Int) throws(ReaderError) -> JSONValue { throw collectorOnly("tail") }
}
