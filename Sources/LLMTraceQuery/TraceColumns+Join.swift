import Dispatch
import LLMTraceModel

/// Joining the segments' `traces` parts into one table.
extension TraceColumns {
    /// The parts' rows joined by trace (project and trace id). Each part is in trace id order (a
    /// segment's rows are sorted by it; the head's part is sorted when built), so the join is a
    /// k-way merge: the trace id space is cut into `threads` ranges merged side by side, each
    /// deciding for every joined row the part row it starts from and which other part rows it
    /// absorbs; then each column is gathered in one pass. Rows come out in trace id order. Parts
    /// out of order (no writer makes them) are joined by hashing instead.
    static func join(_ parts: [TraceColumns], threads: Int = 1) -> TraceColumns {
        let live = parts.filter { $0.count > 0 }
        guard live.count > 1 else { return live.first ?? TraceColumns(fields: parts.first?.fields ?? .all) }
        precondition(live.allSatisfy { $0.fields == live[0].fields }, "traces parts with different fields")
        var projects = Joined(), names = Joined(), services = Joined(), sessions = Joined(), users = Joined()
        let maps = live.map { part in
            CodeMaps(project: projects.map(part.project.values), name: names.map(part.name.values),
                     service: services.map(part.service.values), session: sessions.map(part.session.values),
                     user: users.map(part.user.values))
        }
        let ordered = live.allSatisfy { p in
            p.traceID.withUnsafeBufferPointer { ids in (1..<max(1, ids.count)).allSatisfy { !(ids[$0] < ids[$0 - 1]) } }
        }
        var out = ordered ? merged(live, maps, threads: threads) : hashed(live, maps)
        out.project.values = projects.values; out.name.values = names.values; out.service.values = services.values
        out.session.values = sessions.values; out.user.values = users.values
        return out
    }

    /// Which part rows make which joined rows, for one range of trace ids.
    struct MergePlan {
        var srcPart: [UInt16] = []
        var srcRow: [Int32] = []
        var project: [UInt32] = []
        /// (joined row within this plan, part, row): rows folded into an earlier one.
        var absorbed: [(out: Int32, part: UInt16, row: Int32)] = []
    }

    /// The merge of rows `from[p]..<to[p]` of every part p, with a binary min-heap of parts by
    /// their next row's trace id.
    static func plan(_ parts: [TraceColumns], _ maps: [CodeMaps], from: [Int], to: [Int]) -> MergePlan {
        var plan = MergePlan()
        let total = zip(from, to).reduce(0) { $0 + $1.1 - $1.0 }
        plan.srcPart.reserveCapacity(total); plan.srcRow.reserveCapacity(total); plan.project.reserveCapacity(total)
        let k = parts.count
        var pos = from
        var heap = (0..<k).filter { from[$0] < to[$0] }
        var heads = (0..<k).map { from[$0] < to[$0] ? parts[$0].traceID[from[$0]] : TraceID(hi: 0, lo: 0) }
        heap.withUnsafeMutableBufferPointer { heapBuf in
            heads.withUnsafeMutableBufferPointer { heads in
                var n = heapBuf.count
                let heap = heapBuf.baseAddress!
                @inline(__always) func siftDown(_ start: Int) {
                    var i = start
                    let item = heap[i]
                    let key = heads[item]
                    while true {
                        let l = 2 * i + 1
                        if l >= n { break }
                        var c = l
                        if l + 1 < n, heads[heap[l + 1]] < heads[heap[l]] { c = l + 1 }
                        if !(heads[heap[c]] < key) { break }
                        heap[i] = heap[c]
                        i = c
                    }
                    heap[i] = item
                }
                for i in stride(from: n / 2 - 1, through: 0, by: -1) { siftDown(i) }
                var current = TraceID(hi: 0, lo: 0)
                var groupStart = 0
                while n > 0 {
                    let p = heap[0]
                    let j = pos[p]
                    let id = heads[p]
                    let project = maps[p].project[Int(parts[p].project.codes[j])]
                    if plan.srcRow.isEmpty || id != current {
                        current = id
                        groupStart = plan.srcRow.count
                    }
                    var g = groupStart
                    while g < plan.srcRow.count, plan.project[g] != project { g += 1 }
                    if g < plan.srcRow.count {
                        plan.absorbed.append((Int32(g), UInt16(p), Int32(j)))
                    } else {
                        plan.srcPart.append(UInt16(p)); plan.srcRow.append(Int32(j)); plan.project.append(project)
                    }
                    pos[p] = j + 1
                    if j + 1 < to[p] {
                        heads[p] = parts[p].traceID[j + 1]
                    } else {
                        n -= 1
                        heap[0] = heap[n]
                    }
                    if n > 0 { siftDown(0) }
                }
            }
        }
        return plan
    }

    /// The k-way merge on `threads` threads (parts in trace id order).
    private static func merged(_ parts: [TraceColumns], _ maps: [CodeMaps], threads: Int) -> TraceColumns {
        // Ranges of the high word: trace ids are random, so they split the rows evenly.
        let t = max(1, min(threads, 64))
        let step = UInt64.max / UInt64(t)
        var cuts: [[Int]] = [parts.map { _ in 0 }]
        for r in 1..<max(1, t) {
            let bound = step &* UInt64(r)
            cuts.append(parts.map { part in
                var lo = 0, hi = part.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if part.traceID[mid].hi < bound { lo = mid + 1 } else { hi = mid }
                }
                return lo
            })
        }
        cuts.append(parts.map(\.count))
        let plans = UnsafeMutableBufferPointer<MergePlan>.allocate(capacity: t)
        plans.initialize(repeating: MergePlan())
        defer { plans.deinitialize(); plans.deallocate() }
        let box = UncheckedBox(plans)
        let bounds = cuts
        let work: @Sendable (Int) -> Void = { r in box.value[r] = plan(parts, maps, from: bounds[r], to: bounds[r + 1]) }
        if t == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: t, execute: work) }

        // One plan: the ranges in order, absorbed rows renumbered.
        var whole = MergePlan()
        for r in 0..<t {
            let base = Int32(whole.srcRow.count)
            whole.srcPart += plans[r].srcPart
            whole.srcRow += plans[r].srcRow
            whole.project += plans[r].project
            whole.absorbed += plans[r].absorbed.map { ($0.out + base, $0.part, $0.row) }
        }
        let srcPart = whole.srcPart, srcRow = whole.srcRow
        let n = srcRow.count
        func gather<T>(_ column: (TraceColumns) -> [T]) -> [T] {
            let arrays = parts.map(column)
            return [T](unsafeUninitializedCapacity: n) { buf, done in
                for i in 0..<n { (buf.baseAddress! + i).initialize(to: arrays[Int(srcPart[i])][Int(srcRow[i])]) }
                done = n
            }
        }
        func gatherCodes(_ column: (TraceColumns) -> [UInt32], _ map: (CodeMaps) -> [UInt32]) -> [UInt32] {
            let arrays = parts.map(column), tables = maps.map(map)
            return [UInt32](unsafeUninitializedCapacity: n) { buf, done in
                for i in 0..<n {
                    let p = Int(srcPart[i])
                    buf[i] = tables[p][Int(arrays[p][Int(srcRow[i])])]
                }
                done = n
            }
        }
        let f = parts[0].fields
        var out = TraceColumns(fields: f)
        out.traceID = gather { $0.traceID }
        out.project.codes = whole.project
        out.spans = gather { $0.spans }
        out.has = gather { $0.has }
        if f.contains(.rank) { out.rank = gather { $0.rank } }
        if f.contains(.name) { out.name.codes = gatherCodes({ $0.name.codes }, { $0.name }) }
        if f.contains(.service) { out.service.codes = gatherCodes({ $0.service.codes }, { $0.service }) }
        if f.contains(.times) { out.start = gather { $0.start }; out.end = gather { $0.end } }
        if f.contains(.llmCalls) { out.llmCalls = gather { $0.llmCalls } }
        if f.contains(.errors) { out.errors = gather { $0.errors } }
        if f.contains(.tokens) {
            out.inputTokens = gather { $0.inputTokens }
            out.outputTokens = gather { $0.outputTokens }
            out.totalTokens = gather { $0.totalTokens }
        }
        if f.contains(.cost) { out.cost = gather { $0.cost } }
        if f.contains(.session) {
            out.session.codes = gatherCodes({ $0.session.codes }, { $0.session })
            out.sessionRank = gather { $0.sessionRank }
        }
        if f.contains(.user) {
            out.user.codes = gatherCodes({ $0.user.codes }, { $0.user })
            out.userRank = gather { $0.userRank }
        }
        for a in whole.absorbed { out.absorb(Int(a.out), parts[Int(a.part)], Int(a.row), maps[Int(a.part)]) }
        return out
    }

    /// The join by hashing trace ids, in order of first appearance.
    private static func hashed(_ parts: [TraceColumns], _ maps: [CodeMaps]) -> TraceColumns {
        let total = parts.reduce(0) { $0 + $1.count }
        var out = TraceColumns(fields: parts[0].fields)
        out.reserve(total)
        // Open addressing over row numbers, hashed by trace id alone (random already).
        var size = 16
        while size < 2 * total { size <<= 1 }
        let mask = size - 1
        var slots = [Int32](repeating: -1, count: size)
        for (part, m) in zip(parts, maps) {
            for j in 0..<part.count {
                let id = part.traceID[j]
                let p = m.project[Int(part.project.codes[j])]
                var h = Int(truncatingIfNeeded: (id.hi ^ (id.lo &* 0x9E37_79B9_7F4A_7C15)) >> 7) & mask
                while true {
                    let k = Int(slots[h])
                    if k < 0 {
                        slots[h] = Int32(out.count)
                        out.append(part, j, m)
                        break
                    }
                    if out.traceID[k] == id, out.project.codes[k] == p {
                        out.absorb(k, part, j, m)
                        break
                    }
                    h = (h + 1) & mask
                }
            }
        }
        return out
    }
}

/// Per-thread result slots written by `concurrentPerform` (each iteration its own slot).
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
