import LLMTraceModel

/// The answer to a query: named, typed columns, rows, and what it cost.
public struct QueryResult: Sendable {
    public struct Stats: Sendable {
        /// Rows in the batches read (sealed segments not pruned, plus the head).
        public var rowsScanned = 0
        public var segmentsRead = 0
        /// Segments skipped without reading a column: outside the time range, or their dictionary
        /// lacks a value the query requires.
        public var segmentsPruned = 0
        /// Rows read from the head (not yet sealed).
        public var headRows = 0
        public var elapsedNanos: Int64 = 0
        /// More rows matched than were returned (the row limit cut them).
        public var truncated = false
        /// The most the query held at once of what its memory budget counts (`QueryMemory`).
        public var memoryBytes = 0
        /// Whether the store-wide figures (rows scanned, segments, head rows) are known: a
        /// collector's answer to a read key leaves them out.
        public var storeFigures = true

        public var elapsedMs: Double { Double(elapsedNanos) / 1e6 }
    }

    public var columns: [String]
    public var types: [QueryType]
    public var rows: [[QueryValue]]
    public var stats = Stats()

    public init(columns: [String], types: [QueryType], rows: [[QueryValue]]) {
        self.columns = columns
        self.types = types
        self.rows = rows
    }

    /// `{"columns":[{"name":..,"type":..}],"rows":[[..]],"stats":{..}}`; times are RFC 3339 strings.
    /// `storeFigures: false` leaves out what counts the whole store (rows scanned, segments, head
    /// rows): a read key confined to one project must not learn other projects' volume from them.
    public func json(storeFigures: Bool = true) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + rows.count * columns.count * 12)
        w.beginObject()
        w.key("columns")
        w.beginArray()
        for (name, t) in zip(columns, types) {
            w.beginObject()
            w.key("name"); w.string(name)
            w.key("type"); w.string(t.rawValue)
            w.endObject()
        }
        w.endArray()
        w.key("rows")
        w.beginArray()
        for row in rows {
            w.beginArray()
            for v in row { Self.write(v, &w) }
            w.endArray()
        }
        w.endArray()
        w.key("stats")
        w.beginObject()
        if storeFigures {
            w.key("rows_scanned"); w.int(Int64(stats.rowsScanned))
            w.key("segments_read"); w.int(Int64(stats.segmentsRead))
            w.key("segments_pruned"); w.int(Int64(stats.segmentsPruned))
            w.key("head_rows"); w.int(Int64(stats.headRows))
        }
        w.key("elapsed_ms"); w.double((stats.elapsedMs * 1000).rounded() / 1000)
        w.key("truncated"); w.bool(stats.truncated)
        w.key("memory_bytes"); w.int(Int64(stats.memoryBytes))
        w.endObject()
        w.endObject()
        return w.bytes
    }

    static func write(_ v: QueryValue, _ w: inout JSONWriter) {
        switch v {
        case .null: w.null()
        case .int(let x): w.int(x)
        case .double(let d): if d.isFinite { w.double(d) } else { w.null() }
        case .string(let s): w.string(s)
        case .bool(let b): w.bool(b)
        case .time(let t): w.string(QueryValue.formatTime(t))
        }
    }
}
