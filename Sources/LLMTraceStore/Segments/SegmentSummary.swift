import LLMTraceModel

/// What sealing a head produced: the segment's identity plus everything the SQLite index needs,
/// computed while the columns were built so indexing never re-reads the file.
public struct SegmentSummary: Sendable {
    public var id: UInt64
    public var path: String
    public var spanCount: Int
    public var minStart: Int64
    public var maxStart: Int64
    public var bytes: Int
    public var maxWALFile: UInt64
    /// Rows of each trace (rows are sorted by trace id, so each trace is one run).
    public var traces: [(traceID: TraceID, firstRow: Int, rowCount: Int, project: String)] = []
    public var projects: [String: (count: Int, minStart: Int64, maxStart: Int64)] = [:]
    /// Distinct (project, session or user, trace) triples.
    public var sessions: [(project: String, id: String, traceID: TraceID)] = []
    public var users: [(project: String, id: String, traceID: TraceID)] = []
    /// Distinct paragraphs of prompts, completions and documents (the full-text units). Filled only
    /// for retention, from `SegmentReader.searchableTexts()`, not at seal time.
    public var searchableTexts: [String] = []
}
