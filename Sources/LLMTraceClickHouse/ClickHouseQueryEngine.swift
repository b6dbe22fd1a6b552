import LLMTraceModel
import LLMTraceQuery
import LLMTraceSupport

/// Answers LLMTrace's SQL from ClickHouse: the query rewritten by `QueryEngine.clickhouse` (its
/// doc lists how the answers are kept the same as the local engine's), run over the cluster's
/// tables, the rows read back with the local engine's types.
public struct ClickHouseQueryEngine: Sendable {
    public let client: ClickHouseClient

    public init(client: ClickHouseClient) { self.client = client }

    public var tables: ClickHouseTables { ClickHouseTables(spans: client.endpoint.spansTable, scores: client.endpoint.scoresTable) }

    /// Runs `sql`; `project` confines it as a read key does. A ClickHouse failure is a
    /// `ClickHouseError` (with the HTTP status to answer), a bad query a `QueryError`.
    public func run(_ sql: String, project: String? = nil, limits: QueryEngine.Limits = QueryEngine.Limits(), now: Int64 = wallNanos()) throws -> QueryResult {
        let started = monotonicNanos()
        let q = try QueryEngine.clickhouse(sql, project: project, tables: tables, maxRows: limits.maxRows, now: now)
        let seconds = max(1, Int(limits.timeoutNanos / 1_000_000_000))
        let body = try client.execute(q.sql + " FORMAT JSONCompact", settings: [("max_execution_time", String(seconds)), ("readonly", "2")])
        let doc: JSONValue
        do { doc = try JSONValue.parse(body) } catch { throw ClickHouseError("unreadable answer: \(error)") }
        let data = doc["data"]?.array ?? []
        var rows: [[QueryValue]] = []
        rows.reserveCapacity(min(data.count, q.rowCap))
        for row in data.prefix(q.rowCap) {
            let cells = row.array ?? []
            rows.append(q.types.indices.map { i in i < cells.count ? QueryEngine.clickhouseValue(cells[i], as: q.types[i]) : .null })
        }
        var result = QueryResult(columns: q.columns, types: q.types, rows: rows)
        result.stats.truncated = data.count > q.rowCap
        result.stats.rowsScanned = Int(doc["statistics"]?["rows_read"]?.int ?? doc["rows_before_limit_at_least"]?.int ?? 0)
        result.stats.elapsedNanos = monotonicNanos() - started
        return result
    }
}
