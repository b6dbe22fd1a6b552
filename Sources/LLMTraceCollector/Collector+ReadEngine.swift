import LLMTraceClickHouse
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceQuery

/// Which engine answers a read (`POST /api/query`, `GET /api/traces`, `GET /api/traces/{id}`): the
/// collector's own store, the ClickHouse cluster it forwards to, or `auto`: the store for what lies
/// within the window it holds (a query whose earliest start is no older than its oldest span, a
/// trace it has), ClickHouse for what reaches further back (and for a trace it lacks). With many
/// collectors each store holds only its own share: read with `clickhouse` there.
public enum ReadEngine: String, Sendable, CaseIterable {
    case local, clickhouse, auto
}

extension Collector {
    /// The engine a request asks for with `engine=` (query string or JSON body), else the
    /// collector's default; `clickhouse` without a cluster configured is a 400.
    func readEngine(_ requested: String?) -> Result<ReadEngine, Refusal> {
        guard let requested else { return .success(options.clickhouse == nil ? .local : options.readEngine) }
        guard let e = ReadEngine(rawValue: requested) else {
            return .failure(Refusal(.error(400, "engine must be local, clickhouse or auto, not '\(requested.prefix(40))'")))
        }
        if e == .clickhouse && options.clickhouse == nil {
            return .failure(Refusal(.error(400, "engine=clickhouse: this collector does not forward to ClickHouse (start it with --clickhouse URL)")))
        }
        return .success(options.clickhouse == nil ? .local : e)
    }

    /// For `auto`: whether the store holds every span since `earliest` (nil: since the beginning,
    /// which only the cluster is sure to hold).
    func storeCovers(since earliest: Int64?, now: Int64) -> Bool {
        guard let earliest, let oldest = store.oldestStartNanos(now: now) else { return false }
        return earliest >= oldest
    }

    /// A ClickHouse failure as an answer: 502 when the cluster refused, 503 when it did not answer.
    func clickhouseFailure(_ e: ClickHouseError, _ what: String) -> HTTPResponse {
        log.warn("\(what) through ClickHouse failed", [("error", e.description)])
        return .error(e.status, "\(what) through ClickHouse failed: \(e.description)", headers: e.unreachable ? [("retry-after", "\(options.retryAfterSeconds)")] : [])
    }

    static let engineHeader = "llmtrace-engine"
}
