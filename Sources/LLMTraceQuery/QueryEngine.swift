#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Dispatch
import LLMTraceModel
import LLMTraceStore
import LLMTraceSupport

/// Runs SQL-subset queries (README, "Query language") over a store: sealed segments are scanned in
/// parallel, a column at a time, after pruning by time range and dictionary; the unsealed head is
/// scanned as one more batch. Each batch yields partial groups or candidate rows, merged at the end.
public final class QueryEngine: Sendable {
    public struct Limits: Sendable {
        /// A query running longer is stopped with an error (checked between batches).
        public var timeoutNanos: Int64 = 30_000_000_000
        /// Rows returned at most; more are cut and `stats.truncated` is set.
        public var maxRows = 10_000
        /// Groups an aggregate query may build.
        public var maxGroups = 1_000_000
        /// Batches scanned at once (default: the number of cores).
        public var threads = max(1, System.coreCount)
        /// What one query may hold at once of match sets, trace rows, groups and result rows
        /// (`QueryMemory`); past it, a `.memoryLimit` error.
        public var maxMemoryBytes = 512 << 20

        public init() {}
    }

    /// Segments and unsealed rows at one moment, with what the query asked of those rows.
    public typealias Snapshot = Store.ScanSnapshot

    /// Scores in one project (nil: all) with a time in the range.
    public typealias ScoreSource = @Sendable (_ project: String?, _ from: Int64, _ to: Int64) throws -> [Score]

    private let source: @Sendable (Store.ScanRequest) -> Snapshot
    let textMatcher: (@Sendable (String) throws -> TextMatch)?
    private let scoreSource: ScoreSource?

    /// How far outside a `traces` query's start range spans are still gathered: a trace's spans
    /// are read from the segments whose span starts overlap [low - slack, high + slack], so a trace
    /// is whole when its spans start within an hour of each other. A longer trace straddling the
    /// range may show only its spans inside that window.
    public static let traceSlackNanos: Int64 = 3_600_000_000_000

    /// A query engine over a store (open for writing or read-only), with full-text search through
    /// its index and scores from its index database.
    public convenience init(store: Store) {
        self.init(snapshot: { store.scanSnapshot($0) }, textMatcher: { try store.textMatch($0) },
                  scores: { try store.index.scores(project: $0, from: $1, to: $2) })
    }

    /// A query engine over whatever `snapshot` returns: segments and unsealed rows; no full-text search.
    public convenience init(snapshot: @escaping @Sendable () -> (segments: [SegmentReader], headRows: [Span])) {
        self.init(snapshot: { _ in
            let s = snapshot()
            return Snapshot(segments: s.segments, headRows: s.headRows)
        }, textMatcher: nil)
    }

    public init(snapshot: @escaping @Sendable (Store.ScanRequest) -> Snapshot, textMatcher: (@Sendable (String) throws -> TextMatch)?,
                scores: ScoreSource? = nil) {
        self.source = snapshot
        self.textMatcher = textMatcher
        self.scoreSource = scores
    }

    /// For processes that mostly query (tracectl, the benchmark): a scan allocates a few column
    /// arrays of ~1 MB per segment and frees them moments later; glibc serves blocks that size with
    /// fresh mmaps and returns them on free, so every query paid page faults and zeroing for all of
    /// them (a quarter to a third of a full scan, measured with perf). Raising the mmap threshold
    /// keeps such blocks in the malloc arenas. Process-wide, so the caller decides: the collector
    /// does not, as it raised its ingest peak RSS by 50–100 MB.
    public static func tuneAllocatorForScans() {
        _ = mallocTuned
    }

    private static let mallocTuned: Void = {
        _ = mallopt(M_MMAP_THRESHOLD, 64 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
    }()

    /// Checks a query without running it (parse and type errors).
    public static func check(_ sql: String) throws {
        _ = try QueryPlanner.plan(QueryParser.parse(sql), now: wallNanos(), project: nil)
    }

    /// The earliest start a query reads (from its WHERE on `start` or `time`): nil when it reaches
    /// back to the beginning. What a collector with `--query-engine auto` decides by.
    public static func earliestStart(_ sql: String, now: Int64 = wallNanos()) throws -> Int64? {
        let plan = try QueryPlanner.plan(QueryParser.parse(sql), now: now, project: nil)
        return plan.startLow == .min ? nil : plan.startLow
    }

    /// Runs `sql`. With `project`, only that project's spans are visible (API keys confine queries
    /// this way; the condition is added to the plan, not to the text).
    public func run(_ sql: String, project: String? = nil, limits: Limits = Limits(), now: Int64 = wallNanos()) throws -> QueryResult {
        let started = monotonicNanos()
        let deadline = started + limits.timeoutNanos
        let plan = try QueryPlanner.plan(QueryParser.parse(sql), now: now, project: project)
        var stats = QueryResult.Stats()
        let memory = QueryMemory(limit: limits.maxMemoryBytes)
        let batches: [ScanBatch]
        switch plan.table {
        case .spans: batches = try spanBatches(plan, &stats, memory)
        case .traces: batches = try traceBatches(plan, &stats, limits: limits, deadline: deadline, memory)
        case .scores:
            guard let scoreSource else { throw QueryError("the scores table needs a store's index database") }
            let scores = try scoreSource(project, plan.startLow, plan.startHigh)
            batches = [ScoreBatch(scores: scores)]
        }

        let partials = try parallelMap(batches, limits: limits, deadline: deadline) {
            try BatchScan.run(plan, $0, maxRows: limits.maxRows, maxGroups: limits.maxGroups, memory: memory)
        }
        if plan.table != .traces { stats.rowsScanned = partials.reduce(0) { $0 + $1.rowsScanned } }
        var result = try plan.isAggregate ? finishGroups(plan, partials, limits, memory) : finishRows(plan, partials, limits, memory)
        stats.truncated = result.stats.truncated
        stats.memoryBytes = memory.peak
        result.stats = stats
        result.stats.elapsedNanos = monotonicNanos() - started
        return result
    }

    /// The segments and head rows a `spans` query reads, after pruning.
    private func spanBatches(_ plan: QueryPlan, _ stats: inout QueryResult.Stats, _ memory: QueryMemory) throws -> [ScanBatch] {
        // Full-text conditions: the index names the matching paragraphs once per query.
        var matchSets: [TextMatch] = []
        for q in plan.matchQueries {
            guard let textMatcher else { throw QueryError("full-text search (MATCH) needs a store's text index") }
            do {
                let m = try textMatcher(q)
                matchSets.append(m)
                // FTS5's answer, when asked for now, is held while the query runs. (Plain words
                // hold no set; one asked for later, for segments without term postings, is not
                // counted.)
                if m.terms == nil {
                    let n = try m.hashes().count
                    try memory.charge(QueryMemory.setBytes(n, of: Int64.self), for: "the text match '\(q)' (\(n) paragraphs)")
                }
            } catch let e as QueryError {
                throw e
            } catch let e as StoreError {
                throw QueryError("text search '\(q)': \(e.message)")
            } catch {
                throw QueryError("text search '\(q)': \(error)")
            }
        }
        var keys: [String] = []
        for c in plan.columns { if case .attr(let key, _) = c, !keys.contains(key) { keys.append(key) } }
        let snapshot = source(Store.ScanRequest(matching: matchSets, attributes: keys))
        return try prune(snapshot, plan, low: plan.startLow, high: plan.startHigh, matchSets: matchSets, &stats)
    }

    /// Segments and head rows that can hold spans starting in low...high and meeting the plan's
    /// dictionary constraints.
    private func prune(_ snapshot: Snapshot, _ plan: QueryPlan, low: Int64, high: Int64, matchSets: [TextMatch],
                       _ stats: inout QueryResult.Stats) throws -> [ScanBatch] {
        // Prune: time range first (from the footer), then dictionaries (one cached read).
        var batches: [ScanBatch] = []
        for seg in snapshot.segments {
            if seg.rowCount == 0 || seg.maxStart < low || seg.minStart > high {
                stats.segmentsPruned += 1
                continue
            }
            var excluded = false
            for (column, values) in plan.dictionaryConstraints {
                let dict = try seg.dictionary(column)
                if !values.contains(where: { dict.contains($0) }) { excluded = true; break }
            }
            if excluded { stats.segmentsPruned += 1; continue }
            batches.append(SegmentBatch(segment: seg, matchSets: matchSets))
        }
        stats.segmentsRead = batches.count
        if !snapshot.headRows.isEmpty {
            let keep = snapshot.headRows.indices.filter { snapshot.headRows[$0].startNanos >= low && snapshot.headRows[$0].startNanos <= high }
            stats.headRows = keep.count
            if !keep.isEmpty {
                let matches = snapshot.headMatches.map { m in keep.map { m[$0] } }
                let attributes = snapshot.headAttributes.mapValues { a in keep.map { a[$0] } }
                batches.append(RowBatch(rows: keep.map { snapshot.headRows[$0] }, matches: matches, attributes: attributes))
            }
        }
        return batches
    }

    /// The `traces` rows a query reads: spans are gathered from the segments near its start range
    /// (`traceSlackNanos`), summed per segment on every core, joined by trace, and cut into batches.
    private func traceBatches(_ plan: QueryPlan, _ stats: inout QueryResult.Stats, limits: Limits, deadline: Int64,
                              _ memory: QueryMemory) throws -> [ScanBatch] {
        let (l, lo) = plan.startLow.subtractingReportingOverflow(Self.traceSlackNanos)
        let (h, ho) = plan.startHigh.addingReportingOverflow(Self.traceSlackNanos)
        let low = lo ? .min : l, high = ho ? .max : h
        let spans = try prune(source(Store.ScanRequest()), plan, low: low, high: high, matchSets: [], &stats)
        stats.rowsScanned = spans.reduce(0) { $0 + $1.rowCount }
        let rowBytes = TraceColumns.rowBytes
        let fields = TraceColumns.Fields.needed(by: plan.columns)
        let parts = try parallelMap(spans, limits: limits, deadline: deadline) { b -> TraceColumns in
            let part: TraceColumns
            switch b {
            case let s as SegmentBatch: part = try s.traceColumns(fields)
            case let r as RowBatch: part = r.traceColumns(fields)
            default: throw QueryError("internal: not a span batch")
            }
            try memory.charge(part.count * rowBytes, for: "\(part.count) trace rows from one segment")
            return part
        }
        // The join: its table and index beside the parts, which go after it.
        let total = parts.reduce(0) { $0 + $1.count }
        let joinBytes = total * rowBytes + 2 * total * MemoryLayout<Int32>.stride
        if parts.count > 1 { try memory.charge(joinBytes, for: "joining \(total) trace rows") }
        let joined = TraceColumns.join(parts, threads: limits.threads)
        if parts.count > 1 { memory.release(total * rowBytes + joinBytes - joined.count * rowBytes) }
        return TraceBatch.batches(joined)
    }

    /// Runs `body` over the batches on `limits.threads` threads; each takes the next batch until
    /// none is left. Results come in batch order.
    private func parallelMap<T: Sendable>(_ batches: [ScanBatch], limits: Limits, deadline: Int64,
                                          _ run: @escaping @Sendable (ScanBatch) throws -> T) throws -> [T] {
        let shared = ParallelResults<T>(batches.count)
        let work = batches
        let threads = min(limits.threads, batches.count)
        let body: @Sendable (Int) -> Void = { _ in
            while true {
                let k: Int? = shared.lock.withLock {
                    guard shared.failure == nil, shared.next < work.count else { return nil }
                    if monotonicNanos() > deadline {
                        shared.failure = QueryError("the query ran past its time limit of \(limits.timeoutNanos / 1_000_000_000) s after \(shared.next) of \(work.count) batches; narrow the time range (WHERE start > now() - 1h) or the filters", kind: .timeLimit)
                        return nil
                    }
                    shared.next += 1
                    return shared.next - 1
                }
                guard let k else { return }
                do {
                    let p = try run(work[k])
                    shared.lock.withLock { shared.results[k] = p }
                } catch {
                    shared.lock.withLock { if shared.failure == nil { shared.failure = error } }
                }
            }
        }
        if threads <= 1 {
            body(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: threads, execute: body)
        }
        if let f = shared.failure {
            if let se = f as? StoreError { throw QueryError("cannot read the store: \(se)") }
            throw f
        }
        return shared.results.map { $0! }
    }

    private func finishGroups(_ plan: QueryPlan, _ partials: [BatchPartial], _ limits: Limits, _ memory: QueryMemory) throws -> QueryResult {
        var groups: [[QueryValue]: [Accumulator]] = [:]
        for p in partials {
            var added = 0
            for (key, accs) in p.groups {
                if var existing = groups[key] {
                    for (a, spec) in plan.aggregates.enumerated() { existing[a].merge(accs[a], spec) }
                    groups[key] = existing
                } else {
                    groups[key] = accs
                    added += BatchScan.groupBytes(key, accs)
                }
            }
            // The merged groups share their keys' and sketches' storage with the partials until
            // they change; counted again as they would be once apart.
            try memory.charge(added, for: "\(groups.count) groups")
            guard groups.count <= limits.maxGroups else {
                throw QueryError("the query makes more than \(limits.maxGroups) groups; group by fewer or coarser keys (bucket(start, 1h) instead of start)")
            }
        }
        if plan.keys.isEmpty && groups.isEmpty {
            groups[[]] = [Accumulator](repeating: Accumulator(), count: plan.aggregates.count)
        }
        var rows: [(values: [QueryValue], order: [QueryValue])] = []
        rows.reserveCapacity(groups.count)
        for (key, accs) in groups {
            for (spec, acc) in zip(plan.aggregates, accs) where acc.overflowed && spec.kind == .sum {
                throw QueryError("integer overflow")
            }
            let aggs = zip(plan.aggregates, accs).map { $1.result($0, rateSeconds: plan.rateSeconds) }
            if let h = plan.having, Ops.truth(try h.eval({ _ in .null }, aggs: aggs, keys: key)) != 1 { continue }
            var values: [QueryValue] = []
            for o in plan.outputs { values.append(try o.eval({ _ in .null }, aggs: aggs, keys: key)) }
            // Without ORDER BY, groups come out in the order of their GROUP BY keys (as SQLite's
            // do), whatever the output columns are: LIMIT then picks the same groups.
            var order = key
            if !plan.order.isEmpty {
                order = []
                for o in plan.order { order.append(try o.expr.eval({ _ in .null }, aggs: aggs, keys: key)) }
            }
            rows.append((values, order))
        }
        let desc = plan.order.map(\.descending)
        let keyed = plan.order.isEmpty
        rows.sort { a, b in
            let (x, y) = (a.order, b.order)
            for k in 0..<min(x.count, y.count) {
                let c = Ops.sortOrder(x[k], y[k])
                if c != 0 { return keyed ? c < 0 : (desc[k] ? c > 0 : c < 0) }
            }
            return false
        }
        return window(plan, rows.map(\.values), limits)
    }

    private func finishRows(_ plan: QueryPlan, _ partials: [BatchPartial], _ limits: Limits, _ memory: QueryMemory) throws -> QueryResult {
        var rows: [[QueryValue]] = []
        var more = false
        try memory.charge(partials.reduce(0) { $0 + $1.rows.count } * MemoryLayout<[QueryValue]>.stride, for: "the result rows")
        for p in partials {
            rows.append(contentsOf: p.rows)
            more = more || p.more
        }
        let width = plan.outputs.count
        if !plan.order.isEmpty {
            let desc = plan.order.map(\.descending)
            // Stable: equal rows keep batch order (oldest segment first).
            rows = rows.enumerated().sorted { a, b in
                for k in 0..<desc.count {
                    let c = Ops.sortOrder(a.element[width + k], b.element[width + k])
                    if c != 0 { return desc[k] ? c > 0 : c < 0 }
                }
                return a.offset < b.offset
            }.map { Array($0.element[0..<width]) }
        }
        var r = window(plan, rows, limits)
        r.stats.truncated = r.stats.truncated || (more && plan.limit == nil)
        return r
    }

    /// OFFSET, LIMIT and the row cap.
    private func window(_ plan: QueryPlan, _ rows: [[QueryValue]], _ limits: Limits) -> QueryResult {
        let from = min(plan.offset, rows.count)
        let wanted = plan.limit ?? Int.max
        let cap = min(wanted, limits.maxRows)
        let to = min(rows.count, from + cap)
        var r = QueryResult(columns: plan.names, types: plan.outputTypes, rows: Array(rows[from..<to]))
        r.stats.truncated = rows.count - from > cap && cap < wanted || (plan.limit == nil && rows.count - from > limits.maxRows)
        return r
    }
}

/// What the threads of `parallelMap` share: the next batch to take, results, the first failure.
private final class ParallelResults<T>: @unchecked Sendable {
    let lock = Condition()
    var next = 0
    var results: [T?]
    var failure: Error?
    init(_ n: Int) { results = Array(repeating: nil, count: n) }
}

enum System {
    static var coreCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
