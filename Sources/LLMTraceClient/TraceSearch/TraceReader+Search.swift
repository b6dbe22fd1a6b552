import LLMTraceQuery

extension TraceReader {
    /// The traces a `TraceListQuery` finds, in its order: its steps asked of this reader (a data
    /// directory or a collector answer the same SQL), the models and TTFT of each filled in.
    public func searchTraces(_ q: TraceListQuery) throws(ReaderError) -> [TraceSummary] {
        var ids: [String]? = nil
        if let step = q.spanStep {
            ids = try query(step).rows.compactMap { $0.first.flatMap { $0.isNull ? nil : $0.text } }
        }
        let r = try query(q.traceStep(ids: ids))
        var rows: [TraceSummary] = r.rows.compactMap { v in
            guard v.count >= TraceSummary.columns.count, !v[0].isNull else { return nil }
            return TraceSummary(traceID: v[0].text, startNanos: v[1].timeNanos ?? 0, name: v[2].text, service: v[3].text,
                                durationMs: v[4].finiteNumber ?? 0, spans: Int(v[5].finiteNumber ?? 0), errors: Int(v[6].finiteNumber ?? 0),
                                tokens: v[7].finiteNumber.map { Int($0) }, costUSD: v[8].finiteNumber, session: v[9].isNull ? nil : v[9].text)
        }
        // Sorted by TTFT: the order step 1 found.
        if q.sort == .ttft, let ids {
            var rank: [String: Int] = [:]
            for (i, id) in ids.enumerated() where rank[id] == nil { rank[id] = i }
            rows.sort { rank[$0.traceID, default: .max] < rank[$1.traceID, default: .max] }
        }
        if let step = q.detailStep(ids: rows.map(\.traceID)) {
            var models: [String: [String]] = [:], ttft: [String: Double] = [:]
            for v in try query(step).rows where v.count >= 3 {
                let id = v[0].text
                if !v[1].isNull { models[id, default: []].append(v[1].text) }
                if let t = v[2].finiteNumber { ttft[id] = max(ttft[id] ?? 0, t) }
            }
            for i in rows.indices {
                rows[i].models = (models[rows[i].traceID] ?? []).sorted()
                rows[i].ttftMs = ttft[rows[i].traceID]
            }
        }
        return rows
    }
}
