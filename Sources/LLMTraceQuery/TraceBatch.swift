import LLMTraceModel
import LLMTraceStore

/// Rows of the `traces` table, assembled from span batches (`TraceRow`), scanned like any batch:
/// a column is built from the rows when a query first names it.
struct TraceBatch: ScanBatch {
    let rows: [TraceRow]
    let range: Range<Int>

    var rowCount: Int { range.count }
    var startRange: (Int64, Int64)? { nil }

    func matchRows(_ k: Int) throws -> [UInt8] { throw QueryError("MATCH searches span text: query FROM spans") }

    func load(_ c: ColumnRef) throws -> Vec {
        guard case .trace(let tc) = c else { throw QueryError("internal: column \(c.name) is not a traces column") }
        let n = range.count
        let base = range.lowerBound
        switch tc {
        case .traceID:
            return .dict((0..<n).map { UInt32($0 + 1) }, range.map { rows[$0].traceID.hex })
        case .project: return dict { $0.project }
        case .name: return dict { $0.name }
        case .service: return dict { $0.service }
        case .sessionID: return dict { $0.session?.1 }
        case .userID: return dict { $0.user?.1 }
        case .start: return .ints(range.map { rows[$0].start }, nil)
        case .end: return .ints(range.map { rows[$0].end }, nil)
        case .durationMs: return .doubles(range.map { Double(rows[$0].end &- rows[$0].start) / 1e6 }, nil)
        case .spans: return .ints(range.map { rows[$0].spans }, nil)
        case .llmCalls: return .ints(range.map { rows[$0].llmCalls }, nil)
        case .errors: return .ints(range.map { rows[$0].errors }, nil)
        case .error: return .bools(range.map { rows[$0].errors > 0 ? 1 : 0 })
        case .hasRoot: return .bools(range.map { rows[$0].rank.notRoot ? 0 : 1 })
        case .inputTokens: return ints { $0.inputTokens }
        case .outputTokens: return ints { $0.outputTokens }
        case .totalTokens: return ints { $0.totalTokens }
        case .costUSD:
            var out = [Double](repeating: 0, count: n)
            var valid = [Bool](repeating: true, count: n)
            var nulls = false
            for i in 0..<n {
                if let v = rows[base + i].costUSD { out[i] = v } else { valid[i] = false; nulls = true }
            }
            return .doubles(out, nulls ? valid : nil)
        }
    }

    private func dict(_ get: (TraceRow) -> String?) -> Vec {
        var values: [String] = []
        var index: [String: UInt32] = [:]
        var codes = [UInt32](repeating: 0, count: range.count)
        for i in 0..<range.count {
            guard let v = get(rows[range.lowerBound + i]) else { continue }
            if let k = index[v] { codes[i] = k; continue }
            values.append(v)
            let k = UInt32(values.count)
            index[v] = k
            codes[i] = k
        }
        return .dict(codes, values)
    }

    private func ints(_ get: (TraceRow) -> Int64?) -> Vec {
        let n = range.count
        var out = [Int64](repeating: 0, count: n)
        var valid = [Bool](repeating: true, count: n)
        var nulls = false
        for i in 0..<n {
            if let v = get(rows[range.lowerBound + i]) { out[i] = v } else { valid[i] = false; nulls = true }
        }
        return .ints(out, nulls ? valid : nil)
    }

    /// The assembled rows cut into batches the scan threads share.
    static func batches(_ rows: [TraceRow], per: Int = 65_536) -> [ScanBatch] {
        stride(from: 0, to: rows.count, by: per).map { TraceBatch(rows: rows, range: $0..<min(rows.count, $0 + per)) }
    }

    /// Joins the partial rows of each span batch by trace (`TraceRow.merge`), in batch order.
    static func merge(_ parts: [[TraceRow]]) -> [TraceRow] {
        guard parts.count > 1 else { return parts.first ?? [] }
        var index: [TraceKey: Int] = [:]
        index.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        var out: [TraceRow] = []
        for part in parts {
            for r in part {
                let key = TraceKey(traceID: r.traceID, project: r.project)
                if let k = index[key] {
                    out[k].merge(r)
                } else {
                    index[key] = out.count
                    out.append(r)
                }
            }
        }
        return out
    }
}

extension SegmentBatch {
    /// Partial trace rows of this segment's spans. Rows are sorted by trace id, so a trace's spans
    /// are one run and most rows only extend the row before them.
    func traceRows() throws -> [TraceRow] {
        let s = segment
        let n = s.rowCount
        guard n > 0 else { return [] }
        let ids = try s.traceIDColumn()
        let (proj, projV) = try s.dictColumn(.project)
        let (spanIDs, _) = try s.intColumn(.spanID)
        let (parents, _) = try s.intColumn(.parentSpanID)
        let (names, nameV) = try s.dictColumn(.name)
        let (svc, svcV) = try s.dictColumn(.service)
        let (st, _) = try s.intColumn(.start)
        let (du, _) = try s.intColumn(.duration)
        let (kind, kindV) = try s.dictColumn(.kind)
        let (status, statusV) = try s.dictColumn(.status)
        let (inT, inValid) = try s.intColumn(.inputTokens)
        let (outT, outValid) = try s.intColumn(.outputTokens)
        let (cost, costValid) = try s.doubleColumn(.costUSD)
        let (sess, sessV) = try s.dictColumn(.sessionID)
        let (usr, usrV) = try s.dictColumn(.userID)
        let llm = [false] + kindV.map { $0 == SpanKind.llm.rawValue }
        let err = [false] + statusV.map { $0 == SpanStatus.error.rawValue }
        @inline(__always) func str(_ codes: [UInt32], _ values: [String], _ i: Int) -> String? {
            let c = codes[i]
            return c == 0 ? nil : values[Int(c) - 1]
        }
        var out: [TraceRow] = []
        var index: [TraceKey: Int] = [:]
        var current = -1
        for i in 0..<n {
            let f = TraceRow.SpanFields(
                rank: .init(notRoot: parents[i] != 0, start: st[i], spanID: UInt64(bitPattern: spanIDs[i])),
                name: str(names, nameV, i) ?? "", service: str(svc, svcV, i) ?? "", start: st[i], end: st[i] &+ du[i],
                isLLM: llm[Int(kind[i])], isError: err[Int(status[i])],
                inputTokens: inValid?[i] == false ? nil : inT[i], outputTokens: outValid?[i] == false ? nil : outT[i],
                costUSD: costValid?[i] == false ? nil : cost[i], session: str(sess, sessV, i), user: str(usr, usrV, i))
            if current >= 0, ids[i] == ids[i - 1], proj[i] == proj[i - 1] {
                out[current].add(f)
                continue
            }
            let project = str(proj, projV, i) ?? ""
            let key = TraceKey(traceID: ids[i], project: project)
            if let k = index[key] {
                current = k
                out[k].add(f)
            } else {
                current = out.count
                index[key] = current
                out.append(TraceRow(project: project, traceID: ids[i], first: f))
            }
        }
        return out
    }
}

extension RowBatch {
    func traceRows() -> [TraceRow] { TraceRow.rows(of: rows) }
}
