import LLMTraceModel
import LLMTraceStore

/// Rows of the `traces` table (`TraceColumns`, joined from every span batch), scanned like any
/// batch: a column is a slice of the table's arrays.
struct TraceBatch: ScanBatch {
    let table: TraceColumns
    let range: Range<Int>

    var rowCount: Int { range.count }
    var startRange: (Int64, Int64)? { nil }

    func matchRows(_ k: Int) throws -> [UInt8] { throw QueryError("MATCH searches span text: query FROM spans") }

    func load(_ c: ColumnRef) throws -> Vec {
        guard case .trace(let tc) = c else { throw QueryError("internal: column \(c.name) is not a traces column") }
        let t = table
        switch tc {
        case .traceID:
            return .dict((0..<range.count).map { UInt32($0 + 1) }, range.map { t.traceID[$0].hex })
        case .project: return strings(t.project)
        case .name: return strings(t.name)
        case .service: return strings(t.service)
        case .sessionID: return strings(t.session)
        case .userID: return strings(t.user)
        case .start: return .ints(Array(t.start[range]), nil)
        case .end: return .ints(Array(t.end[range]), nil)
        case .durationMs: return .doubles(range.map { Double(t.end[$0] &- t.start[$0]) / 1e6 }, nil)
        case .spans: return .ints(Array(t.spans[range]), nil)
        case .llmCalls: return .ints(Array(t.llmCalls[range]), nil)
        case .errors: return .ints(Array(t.errors[range]), nil)
        case .error: return .bools(range.map { t.errors[$0] > 0 ? 1 : 0 })
        case .hasRoot: return .bools(range.map { t.rank[$0].notRoot ? 0 : 1 })
        case .inputTokens: return ints(t.inputTokens, TraceColumns.hasInput)
        case .outputTokens: return ints(t.outputTokens, TraceColumns.hasOutput)
        case .totalTokens: return ints(t.totalTokens, TraceColumns.hasTotal)
        case .costUSD:
            let valid = validity(TraceColumns.hasCost)
            return .doubles(Array(t.cost[range]), valid)
        }
    }

    private func strings(_ s: TraceColumns.Strings) -> Vec { .dict(Array(s.codes[range]), s.values) }

    private func validity(_ bit: UInt8) -> [Bool]? {
        let has = table.has
        var all = true
        for i in range where has[i] & bit == 0 { all = false; break }
        return all ? nil : range.map { has[$0] & bit != 0 }
    }

    private func ints(_ values: [Int64], _ bit: UInt8) -> Vec { .ints(Array(values[range]), validity(bit)) }

    /// The joined table cut into batches the scan threads share.
    static func batches(_ table: TraceColumns, per: Int = 65_536) -> [ScanBatch] {
        stride(from: 0, to: table.count, by: per).map { TraceBatch(table: table, range: $0..<min(table.count, $0 + per)) }
    }
}

extension SegmentBatch {
    /// This segment's spans summed per trace. Rows are sorted by trace id, so a trace's spans are
    /// one run: each run is summed over the column arrays with dictionary codes (no string is
    /// touched per span) and becomes one row at its end. (Hot loop: per span row.)
    func traceColumns() throws -> TraceColumns {
        let s = segment
        let n = s.rowCount
        var out = TraceColumns()
        guard n > 0 else { return out }
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
        out.project.values = projV; out.name.values = nameV; out.service.values = svcV
        out.session.values = sessV; out.user.values = usrV
        let llm = [false] + kindV.map { $0 == SpanKind.llm.rawValue }
        let err = [false] + statusV.map { $0 == SpanStatus.error.rawValue }
        @inline(__always) func rank(_ i: Int) -> TraceRow.Rank {
            .init(notRoot: parents[i] != 0, start: st[i], spanID: UInt64(bitPattern: spanIDs[i]))
        }
        let none = TraceRow.Rank(notRoot: true, start: 0, spanID: 0)
        // Traces hold a few spans each: a quarter of the rows avoids most regrowth copies.
        out.reserve(n / 4 + 16)
        var i = 0
        while i < n {
            // One run: rows i..<j share trace id and project.
            var j = i + 1
            while j < n, ids[j] == ids[i], proj[j] == proj[i] { j += 1 }
            var rep = i, sessRow = -1, userRow = -1
            var lo = st[i], hi = st[i] &+ du[i]
            var llmCalls: Int64 = 0, errors: Int64 = 0
            var inSum: Int64 = 0, outSum: Int64 = 0, totSum: Int64 = 0, costSum = 0.0
            var has: UInt8 = 0
            for k in i..<j {
                if k > i, rank(k) < rank(rep) { rep = k }
                lo = min(lo, st[k])
                hi = max(hi, st[k] &+ du[k])
                if llm[Int(kind[k])] { llmCalls += 1 }
                if err[Int(status[k])] { errors += 1 }
                let vi = inValid?[k] ?? true, vo = outValid?[k] ?? true
                if vi { inSum &+= inT[k]; has |= TraceColumns.hasInput }
                if vo { outSum &+= outT[k]; has |= TraceColumns.hasOutput }
                if vi || vo { totSum &+= (vi ? inT[k] : 0) &+ (vo ? outT[k] : 0); has |= TraceColumns.hasTotal }
                if costValid?[k] ?? true { costSum += cost[k]; has |= TraceColumns.hasCost }
                if sess[k] != 0, sessRow < 0 || rank(k) < rank(sessRow) { sessRow = k }
                if usr[k] != 0, userRow < 0 || rank(k) < rank(userRow) { userRow = k }
            }
            // One trace id with two projects' spans interleaves their runs; the earlier runs of
            // this trace id are the last rows of `out`.
            var k = out.count - 1
            while k >= 0, out.traceID[k] == ids[i], out.project.codes[k] != proj[i] { k -= 1 }
            if k < 0 || out.traceID[k] != ids[i] {
                k = out.count
                out.traceID.append(ids[i]); out.project.codes.append(proj[i])
                out.rank.append(rank(rep)); out.name.codes.append(names[rep]); out.service.codes.append(svc[rep])
                out.start.append(lo); out.end.append(hi)
                out.spans.append(Int64(j - i)); out.llmCalls.append(llmCalls); out.errors.append(errors)
                out.inputTokens.append(inSum); out.outputTokens.append(outSum); out.totalTokens.append(totSum)
                out.cost.append(costSum); out.has.append(has)
                out.session.codes.append(sessRow >= 0 ? sess[sessRow] : 0); out.sessionRank.append(sessRow >= 0 ? rank(sessRow) : none)
                out.user.codes.append(userRow >= 0 ? usr[userRow] : 0); out.userRank.append(userRow >= 0 ? rank(userRow) : none)
            } else {
                var run = TraceColumns()
                run.traceID = [ids[i]]; run.project.codes = [proj[i]]; run.rank = [rank(rep)]
                run.name.codes = [names[rep]]; run.service.codes = [svc[rep]]; run.start = [lo]; run.end = [hi]
                run.spans = [Int64(j - i)]; run.llmCalls = [llmCalls]; run.errors = [errors]
                run.inputTokens = [inSum]; run.outputTokens = [outSum]; run.totalTokens = [totSum]; run.cost = [costSum]; run.has = [has]
                run.session.codes = [sessRow >= 0 ? sess[sessRow] : 0]; run.sessionRank = [sessRow >= 0 ? rank(sessRow) : none]
                run.user.codes = [userRow >= 0 ? usr[userRow] : 0]; run.userRank = [userRow >= 0 ? rank(userRow) : none]
                out.absorb(k, run, 0, nil)
            }
            i = j
        }
        return out
    }
}

extension RowBatch {
    /// In trace id order, as segments' are (`TraceColumns.join` merges them).
    func traceColumns() -> TraceColumns {
        TraceColumns(TraceRow.rows(of: rows).sorted { $0.traceID < $1.traceID })
    }
}
