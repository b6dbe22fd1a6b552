import LLMTraceModel
import LLMTraceQuery

/// One way to read traces, wherever they are: a data directory on this machine (`LocalReader`) or a
/// collector over HTTP with a read key (`RemoteReader`). Every `tracectl` command that reads and the
/// dashboard read through it, so each works with `--data` and `--endpoint` alike; answers other than
/// a query's and a trace's are the API's JSON documents, which a data directory's reader writes with
/// the collector's own writers.
public protocol TraceReader: AnyObject {
    /// What the reader reads, for headers and errors: `data ./llmtrace-data`, `collector 127.0.0.1:4318`.
    var source: String { get }
    /// Runs a query of the SQL subset within `limits` (rows, time).
    func query(_ sql: String, limits: QueryEngine.Limits) throws(ReaderError) -> QueryResult
    /// One trace by its id or a unique prefix of 8 or more digits: its spans and scores.
    func trace(_ id: TraceIDPrefix) throws(ReaderError) -> TraceDocument
    /// A page of traces with a span matching the search: `{"traces": [...], "next_cursor": …}`.
    func search(_ s: TraceSearch) throws(ReaderError) -> JSONValue
    /// The detectors' alerts and silences: `{"alerts": [...], "silences": [...]}`, firing first.
    func alerts(state: String?) throws(ReaderError) -> JSONValue
    /// Anomalous points, newest first: `{"anomalies": [...]}` (`since` a duration ago, such as 1h).
    func anomalies(since: String?, service: String?, metric: String?, limit: Int?) throws(ReaderError) -> JSONValue
    /// What drifted between two windows: the report `GET /api/drift` answers.
    func drift(baseline: String?, current: String?, by: String?, limit: Int?) throws(ReaderError) -> JSONValue
    /// Spans stored after the position `after` (nil: none, and the position to start from), waiting
    /// up to `waitMillis` for the first: `{"spans": [...], "next": N, "missed": M}`.
    func tail(after: Int64?, filter: TailFilter, waitMillis: Int) throws(ReaderError) -> JSONValue
}

extension TraceReader {
    public func query(_ sql: String) throws(ReaderError) -> QueryResult { try query(sql, limits: QueryEngine.Limits()) }
    public func alerts() throws(ReaderError) -> [JSONValue] { try alerts(state: nil)["alerts"]?.array ?? [] }
}

/// Which spans a tail follows.
public struct TailFilter: Sendable, Equatable {
    public var service: String?
    public var model: String?
    public var kind: String?
    public var status: String?
    public var minDurationMs: Double?

    public init(service: String? = nil, model: String? = nil, kind: String? = nil, status: String? = nil, minDurationMs: Double? = nil) {
        self.service = service
        self.model = model
        self.kind = kind
        self.status = status
        self.minDurationMs = minDurationMs
    }

    public func keeps(_ s: Span) -> Bool {
        (service == nil || s.service == service) && (model == nil || (s.responseModel ?? s.requestModel) == model)
            && (kind == nil || s.kind.rawValue == kind) && (status == nil || s.status.rawValue == status)
            && Double(s.durationNanos) / 1e6 >= (minDurationMs ?? 0)
    }

    /// As `GET /api/tail` takes them.
    var parameters: [(String, String)] {
        [("service", service), ("model", model), ("kind", kind), ("status", status), ("min_duration_ms", minDurationMs.map { QueryValue.double($0).text })]
            .compactMap { k, v in v.map { (k, $0) } }
    }
}

/// Why a read failed, in words for a panel or a terminal, with tracectl's exit code: 4 when the
/// collector did not answer at all, 2 when it refused the request (a bad parameter, a missing or
/// wrong key), 1 otherwise. A query's mistake keeps its place in the query (`position`).
public struct ReaderError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public var exitCode: Int32
    public var position: Int?
    /// The collector's HTTP status, when one answered.
    public var status: Int?
    public var unreachable: Bool { exitCode == 4 }

    public init(_ d: String, unreachable: Bool = false) {
        description = d
        exitCode = unreachable ? 4 : 1
    }

    public init(_ d: String, exitCode: Int32, position: Int? = nil, status: Int? = nil) {
        description = d
        self.exitCode = exitCode
        self.position = position
        self.status = status
    }
}
