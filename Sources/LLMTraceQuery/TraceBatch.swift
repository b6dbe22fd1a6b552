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
        guard t.fields.isSuperset(of: TraceColumns.Fields.needed(by: tc)) else {
            throw QueryError("internal: traces column \(tc.rawValue) was not assembled")
        }
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
    /// This segment's spans summed per trace (the `fields` a query needs). Rows are sorted by
    /// trace id, so a trace's spans are one run: each run is summed over the column arrays with
    /// dictionary codes (no string is touched per span) and becomes one row at its end; columns
    /// of fields not needed are not read. (Hot loop: per span row.)
    func traceColumns(_ fields: TraceColumns.Fields = .all) throws -> TraceColumns {
        let s = segment
        let n = s.rowCount
        var out = TraceColumns(fields: fields)
        guard n > 0 else { return out }
        let f = fields
        let needRank = f.contains(.rank), needTimes = f.contains(.times)
        let needLLM = f.contains(.llmCalls), needErrors = f.contains(.errors), needTokens = f.contains(.tokens)
        let needCost = f.contains(.cost), needSession = f.contains(.session), needUser = f.contains(.user)
        let noCodes = ([UInt32](), [String]())
        let ids = try s.traceIDColumn()
        let (proj, projV) = try s.dictColumn(.project)
        let spanIDs = needRank ? try s.intColumn(.spanID).values : []
        let parents = needRank ? try s.intColumn(.parentSpanID).values : []
        let (names, nameV) = f.contains(.name) ? try s.dictColumn(.name) : noCodes
        let (svc, svcV) = f.contains(.service) ? try s.dictColumn(.service) : noCodes
        let st = needRank || needTimes ? try s.intColumn(.start).values : []
        let du = needTimes ? try s.intColumn(.duration).values : []
        let (kind, kindV) = needLLM ? try s.dictColumn(.kind) : noCodes
        let (status, statusV) = needErrors ? try s.dictColumn(.status) : noCodes
        let (inT, inValid) = needTokens ? try s.intColumn(.inputTokens) : ([], nil)
        let (outT, outValid) = needTokens ? try s.intColumn(.outputTokens) : ([], nil)
        let (cost, costValid) = needCost ? try s.doubleColumn(.costUSD) : ([], nil)
        let (sess, sessV) = needSession ? try s.dictColumn(.sessionID) : noCodes
        let (usr, usrV) = needUser ? try s.dictColumn(.userID) : noCodes
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
            var lo: Int64 = 0, hi: Int64 = 0
            if needTimes { lo = st[i]; hi = st[i] &+ du[i] }
            var llmCalls: Int64 = 0, errors: Int64 = 0
            var inSum: Int64 = 0, outSum: Int64 = 0, totSum: Int64 = 0, costSum = 0.0
            var has: UInt8 = 0
            for k in i..<j {
                if needRank, k > i, rank(k) < rank(rep) { rep = k }
                if needTimes {
                    lo = min(lo, st[k])
                    hi = max(hi, st[k] &+ du[k])
                }
                if needLLM, llm[Int(kind[k])] { llmCalls += 1 }
                if needErrors, err[Int(status[k])] { errors += 1 }
                if needTokens {
                    let vi = inValid?[k] ?? true, vo = outValid?[k] ?? true
                    if vi { inSum &+= inT[k]; has |= TraceColumns.hasInput }
                    if vo { outSum &+= outT[k]; has |= TraceColumns.hasOutput }
                    if vi || vo { totSum &+= (vi ? inT[k] : 0) &+ (vo ? outT[k] : 0); has |= TraceColumns.hasTotal }
                }
                if needCost, costValid?[k] ?? true { costSum += cost[k]; has |= TraceColumns.hasCost }
                if needSession, sess[k] != 0, sessRow < 0 || rank(k) < rank(sessRow) { sessRow = k }
                if needUser, usr[k] != 0, userRow < 0 || rank(k) < rank(userRow) { userRow = k }
            }
            func add(_ t: inout TraceColumns) {
                t.appendTrace(ids[i], project: proj[i], spans: Int64(j - i), rank: needRank ? rank(rep) : none,
                              name: names.isEmpty ? 0 : names[rep], service: svc.isEmpty ? 0 : svc[rep],
                              start: lo, end: hi, llmCalls: llmCalls, errors: errors, tokens: (inSum, outSum, totSum),
                              cost: costSum, has: has,
                              session: sessRow >= 0 ? (sess[sessRow], rank(sessRow)) : (0, none),
                              user: userRow >= 0 ? (usr[userRow], rank(userRow)) : (0, none))
            }
            // One trace id with two projects' spans interleaves their runs; the earlier runs of
            // this trace id are the last rows of `out`.
            var k = out.count - 1
            while k >= 0, out.traceID[k] == ids[i], out.project.codes[k] != proj[i] { k -= 1 }
            if k < 0 || out.traceID[k] != ids[i] {
                add(&out)
            } else {
                var run = TraceColumns(fields: f)
                add(&run)
                out.absorb(k, run, 0, nil)
            }
            i = j
        }
        return out
    }
}

extension RowBatch {
    /// In trace id order, as segments' are (`TraceColumns.join` merges them).
    func traceColumns(_ fields: TraceColumns.Fields = .all) -> TraceColumns {
        TraceColumns(TraceRow.rows(of: rows).sorted { $0.traceID < $1.traceID }, fields: fields)
    }
}
