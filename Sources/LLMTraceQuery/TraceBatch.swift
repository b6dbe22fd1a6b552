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
        case .costUSD: return Vec.doubles(n) { rows[base + $0].costUSD }
        }
    }

    private func dict(_ get: (TraceRow) -> String?) -> Vec { Vec.strings(range.count) { get(rows[range.lowerBound + $0]) } }
    private func ints(_ get: (TraceRow) -> Int64?) -> Vec { Vec.ints(range.count) { get(rows[range.lowerBound + $0]) } }

    /// The assembled rows cut into batches the scan threads share.
    static func batches(_ rows: [TraceRow], per: Int = 65_536) -> [ScanBatch] {
        stride(from: 0, to: rows.count, by: per).map { TraceBatch(rows: rows, range: $0..<min(rows.count, $0 + per)) }
    }

    /// Joins the partial rows of each span batch by trace (`TraceRow.merge`), in batch order.
    static func merge(_ parts: [[TraceRow]]) -> [TraceRow] {
        guard parts.count > 1 else { return parts.first ?? [] }
        var index: [TraceKey: Int] = [:]
        let total = parts.reduce(0) { $0 + $1.count }
        index.reserveCapacity(total)
        var out: [TraceRow] = []
        out.reserveCapacity(total)
        for part in parts {
            for r in part {
                // One hash lookup for a trace seen once (most are: a trace's spans sit in one
                // segment); a repeat puts its first place back and merges into it.
                let key = TraceKey(traceID: r.traceID, project: r.project)
                if let k = index.updateValue(out.count, forKey: key) {
                    index[key] = k
                    out[k].merge(r)
                } else {
                    out.append(r)
                }
            }
        }
        return out
    }
}

extension SegmentBatch {
    /// Partial trace rows of this segment's spans. Rows are sorted by trace id, so a trace's spans
    /// are one run: each run is summed over the column arrays with dictionary codes (no string is
    /// touched per span) and becomes one `TraceRow` at its end. (Hot loop: per span row.)
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
        @inline(__always) func rank(_ i: Int) -> TraceRow.Rank {
            .init(notRoot: parents[i] != 0, start: st[i], spanID: UInt64(bitPattern: spanIDs[i]))
        }

        var out: [TraceRow] = []
        // Traces hold a few spans each: reserving a quarter of the rows avoids most regrowth
        // copies (each copies every row so far).
        out.reserveCapacity(n / 4 + 16)
        var i = 0
        while i < n {
            // One run: rows i..<j share trace id and project.
            var j = i + 1
            while j < n, ids[j] == ids[i], proj[j] == proj[i] { j += 1 }
            var rep = i, sessRow = -1, userRow = -1
            var lo = st[i], hi = st[i] &+ du[i]
            var llmCalls: Int64 = 0, errors: Int64 = 0
            var inSum: Int64 = 0, outSum: Int64 = 0, totSum: Int64 = 0, costSum = 0.0
            var hasIn = false, hasOut = false, hasCost = false
            for k in i..<j {
                if k > i, rank(k) < rank(rep) { rep = k }
                lo = min(lo, st[k])
                hi = max(hi, st[k] &+ du[k])
                if llm[Int(kind[k])] { llmCalls += 1 }
                if err[Int(status[k])] { errors += 1 }
                let vi = inValid?[k] ?? true, vo = outValid?[k] ?? true
                if vi { inSum &+= inT[k]; hasIn = true }
                if vo { outSum &+= outT[k]; hasOut = true }
                if vi || vo { totSum &+= (vi ? inT[k] : 0) &+ (vo ? outT[k] : 0) }
                if costValid?[k] ?? true { costSum += cost[k]; hasCost = true }
                if sess[k] != 0, sessRow < 0 || rank(k) < rank(sessRow) { sessRow = k }
                if usr[k] != 0, userRow < 0 || rank(k) < rank(userRow) { userRow = k }
            }
            let project = str(proj, projV, i) ?? ""
            let row = TraceRow(project: project, traceID: ids[i], rank: rank(rep), name: str(names, nameV, rep) ?? "",
                               service: str(svc, svcV, rep) ?? "", start: lo, end: hi, spans: Int64(j - i), llmCalls: llmCalls, errors: errors,
                               inputTokens: hasIn ? inSum : nil, outputTokens: hasOut ? outSum : nil, totalTokens: hasIn || hasOut ? totSum : nil,
                               costUSD: hasCost ? costSum : nil,
                               session: sessRow >= 0 ? (rank(sessRow), str(sess, sessV, sessRow)!) : nil,
                               user: userRow >= 0 ? (rank(userRow), str(usr, usrV, userRow)!) : nil)
            // One trace id with two projects' spans interleaves their runs; the earlier runs of this
            // trace id are the last rows of `out`.
            var k = out.count - 1
            while k >= 0, out[k].traceID == ids[i], out[k].project != project { k -= 1 }
            if k >= 0, out[k].traceID == ids[i] {
                out[k].merge(row)
            } else {
                out.append(row)
            }
            i = j
        }
        return out
    }
}

extension RowBatch {
    func traceRows() -> [TraceRow] { TraceRow.rows(of: rows) }
}
