import LLMTraceModel
import LLMTraceQuery
import LLMTraceSupport

/// Whole traces from the cluster: lookups by id or prefix, and the trace search (`TraceSearch.run`
/// over the translated subset). `project` confines every step as a read key does.
extension ClickHouseQueryEngine {
    public enum TraceLookup {
        case found(TraceDocument)
        case ambiguous([TraceID])
        case notFound
    }

    private func confine(_ project: String?) -> String { project.map { " AND project = \(ClickHouseTables.literal($0))" } ?? "" }

    /// One trace by its id or a prefix of 8 or more hex digits: its spans (start order) and scores.
    public func lookUpTrace(_ id: TraceIDPrefix, project: String?) throws -> TraceLookup {
        let traceID: TraceID
        if id.low == id.high {
            traceID = id.low
        } else {
            let ids = try client.rows("SELECT DISTINCT toString(trace_id) AS id FROM \(client.endpoint.spansTable) WHERE startsWith(toString(trace_id), '\(id.digits)')\(confine(project)) LIMIT 4")
                .compactMap { $0["id"]?.string.flatMap(TraceID.init(hex:)) }
            guard let first = ids.first else { return .notFound }
            guard ids.count == 1 else { return .ambiguous(ids) }
            traceID = first
        }
        guard let spans = try spans(of: [traceID], project: project)[traceID], !spans.isEmpty else { return .notFound }
        let scores = try client.rows("SELECT project, span_id, name, value, category, source, comment, toString(time_ns) AS t FROM \(client.endpoint.scoresTable) FINAL WHERE trace_id = '\(traceID.hex)'\(confine(project)) ORDER BY time_ns").map { r -> Score in
            let value: Score.Value = r["value"]?.double.map { .number($0) } ?? .category(r["category"]?.string ?? "")
            return Score(project: r["project"]?.string ?? Span.defaultProject, traceID: traceID, spanID: (r["span_id"]?.string).flatMap { SpanID(hex: $0) },
                         name: r["name"]?.string ?? "", value: value, source: Score.Source(rawValue: r["source"]?.string ?? "") ?? .user,
                         comment: r["comment"]?.string, timeNanos: Int64(r["t"]?.string ?? "") ?? 0)
        }
        return .found(TraceDocument(traceID: traceID, spans: spans, scores: scores))
    }

    /// Whole traces (every span, contents put back), each in start order.
    public func spans(of ids: [TraceID], project: String?) throws -> [TraceID: [Span]] {
        guard !ids.isEmpty else { return [:] }
        let list = ids.map { "'\($0.hex)'" }.joined(separator: ", ")
        var out: [TraceID: [Span]] = [:]
        for row in try client.rows("SELECT trace_id, span, contents FROM \(client.endpoint.spansTable) FINAL WHERE trace_id IN (\(list))\(confine(project)) ORDER BY trace_id, start_ns, span_id") {
            guard let hex = row["trace_id"]?.string, let id = TraceID(hex: hex), let text = row["span"]?.string else {
                throw ClickHouseError("a span row without its trace id or span column")
            }
            do { out[id, default: []].append(try ClickHouseRows.span(json: text, contents: row["contents"]?.strings ?? [])) } catch {
                throw ClickHouseError("a stored span does not decode: \(error)")
            }
        }
        return out
    }

    /// The search as the collector answers it locally: candidate spans newest first through the
    /// translated subset, whole traces by id, each trace's latest match in one GROUP BY.
    public func searchTraces(_ s: TraceSearch, project: String?, limits: QueryEngine.Limits = QueryEngine.Limits(),
                             now: Int64 = wallNanos()) throws -> (traces: [TraceSearch.Summary], nextCursor: String?) {
        try s.run(
            rows: { sql, l in
                var l = l
                l.timeoutNanos = limits.timeoutNanos
                return try run(sql, project: project, limits: l, now: now).rows
            },
            traces: { ids in try spans(of: ids, project: project) },
            latestMatches: { ids, _ in
                guard !ids.isEmpty else { return [:] }
                var out: [TraceID: Int64] = [:]
                for row in try run(s.latestMatchQuery(ids), project: project, limits: limits, now: now).rows {
                    if case .string(let hex) = row[0], let id = TraceID(hex: hex), case .time(let t) = row[1] { out[id] = t }
                }
                return out
            })
    }
}
