import LLMTraceClickHouse
import LLMTraceModel
import LLMTraceQuery

/// Reads from the ClickHouse cluster many collectors forward to (`tracectl --clickhouse URL`):
/// queries (translated: `QueryEngine.clickhouse`) and trace lookups. The detectors' state (alerts,
/// anomalies, drift) and the live tail live in each collector, and the trace search is not
/// answered from ClickHouse yet: those ask a collector.
public final class ClickHouseReader: TraceReader {
    public let engine: ClickHouseQueryEngine
    public let project: String?

    public init(endpoint: ClickHouseEndpoint, project: String? = nil, timeoutSeconds: Int = 30) {
        let client = ClickHouseClient(endpoint)
        client.timeoutSeconds = timeoutSeconds
        engine = ClickHouseQueryEngine(client: client)
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
        let e = engine.client.endpoint
        let confine = project.map { " AND project = '\(Self.escape($0))'" } ?? ""
        let rows: [JSONValue]
        do {
            rows = try engine.client.rows("SELECT DISTINCT toString(trace_id) AS id FROM \(e.spansTable) WHERE startsWith(toString(trace_id), '\(id.digits)')\(confine) LIMIT 4")
        } catch { throw Self.failure(error) }
        let ids = rows.compactMap { $0["id"]?.string }
        guard let hex = ids.first, let traceID = TraceID(hex: hex) else { throw ReaderError("trace \(id) not found in \(source)") }
        guard ids.count == 1 else {
            throw ReaderError("trace id prefix \(id) is ambiguous: it matches \(ids.prefix(3).joined(separator: ", "))\(ids.count > 3 ? ", …" : ""); give more digits")
        }
        do {
            let spans = try engine.client.rows("SELECT span, contents FROM \(e.spansTable) FINAL WHERE trace_id = '\(hex)'\(confine) ORDER BY start_ns, span_id").map { row -> Span in
                guard let text = row["span"]?.string else { throw ClickHouseError("a span row without its span column") }
                do { return try ClickHouseRows.span(json: text, contents: row["contents"]?.strings ?? []) } catch {
                    throw ClickHouseError("a stored span does not decode: \(error)")
                }
            }
            let scores = try engine.client.rows("SELECT project, span_id, name, value, category, source, comment, toString(time_ns) AS t FROM \(e.scoresTable) FINAL WHERE trace_id = '\(hex)'\(confine) ORDER BY time_ns").map { r -> Score in
                let value: Score.Value = r["value"]?.double.map { .number($0) } ?? .category(r["category"]?.string ?? "")
                return Score(project: r["project"]?.string ?? Span.defaultProject, traceID: traceID, spanID: (r["span_id"]?.string).flatMap { SpanID(hex: $0) },
                             name: r["name"]?.string ?? "", value: value, source: Score.Source(rawValue: r["source"]?.string ?? "") ?? .user,
                             comment: r["comment"]?.string, timeNanos: Int64(r["t"]?.string ?? "") ?? 0)
            }
            return TraceDocument(traceID: traceID, spans: spans, scores: scores)
        } catch { throw Self.failure(error) }
    }

    func collectorOnly(_ what: String) -> ReaderError {
        ReaderError("\(what) is answered by a collector, not from ClickHouse: use --endpoint http://COLLECTOR:4318", exitCode: 2)
    }

    public func search(_ s: TraceSearch) throws(ReaderError) -> JSONValue { throw collectorOnly("trace search") }
    public func alerts(state: String?) throws(ReaderError) -> JSONValue { throw collectorOnly("alerts") }
    public func anomalies(since: String?, service: String?, metric: String?, limit: Int?) throws(ReaderError) -> JSONValue { throw collectorOnly("anomalies") }
    public func drift(baseline: String?, current: String?, by: String?, limit: Int?) throws(ReaderError) -> JSONValue { throw collectorOnly("drift") }
    public func tail(after: Int64?, filter: TailFilter, waitMillis: Int) throws(ReaderError) -> JSONValue { throw collectorOnly("tail") }

    static func escape(_ s: String) -> String { s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") }
}
