import LLMTraceModel
import LLMTraceQuery

/// One way to read traces, wherever they are: a data directory on this machine or a collector over
/// HTTP (with a read key). What `tracectl dash` reads through; the other `tracectl` commands move
/// onto it next.
public protocol TraceReader: AnyObject {
    /// What the reader reads, for headers and errors: `data ./llmtrace-data`, `collector 127.0.0.1:4318`.
    var source: String { get }
    /// Runs a query of the SQL subset.
    func query(_ sql: String) throws(ReaderError) -> QueryResult
    /// The detectors' alerts as the API writes them (`state`, `service`, `metric`, `starts_at`, …).
    func alerts() throws(ReaderError) -> [JSONValue]
    /// One trace by its id or a unique prefix of 8 or more digits: its spans and scores.
    func trace(_ id: TraceIDPrefix) throws(ReaderError) -> TraceDocument
}

/// Why a read failed, in words for a panel or a terminal; `unreachable` when the collector did not
/// answer at all (tracectl's exit code 4).
public struct ReaderError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public var unreachable: Bool
    public init(_ d: String, unreachable: Bool = false) {
        description = d
        self.unreachable = unreachable
    }
}
