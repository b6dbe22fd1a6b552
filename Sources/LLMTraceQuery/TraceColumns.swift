import LLMTraceModel
import LLMTraceStore

/// The `traces` table as columns: one array a field, strings as dictionary codes. Each segment
/// sums its spans into its own `TraceColumns` (codes into the segment's dictionaries, no string
/// touched), and `join` combines them by trace into one table whose codes point into joined
/// dictionaries. A row of it is what `TraceRow` defines (and `TraceTableTests` checks against it);
/// rows of structs were copied whole (five strings retained and released each time) on every
/// append, merge and regrowth, and that copying was most of a `traces` query.
struct TraceColumns: Sendable {
    /// A string column: code 0 is none, code k is `values[k - 1]`.
    struct Strings: Sendable {
        var codes: [UInt32] = []
        var values: [String] = []
    }

    var traceID: [TraceID] = []
    var project = Strings()
    /// The representative span's rank; name and service are its.
    var rank: [TraceRow.Rank] = []
    var name = Strings()
    var service = Strings()
    var start: [Int64] = []
    var end: [Int64] = []
    var spans: [Int64] = []
    var llmCalls: [Int64] = []
    var errors: [Int64] = []
    var inputTokens: [Int64] = []
    var outputTokens: [Int64] = []
    var totalTokens: [Int64] = []
    var cost: [Double] = []
    /// Which sums saw a value: `hasInput`, `hasOutput`, `hasTotal`, `hasCost` bits.
    var has: [UInt8] = []
    /// Session and user: the first span in rank order that had one (code 0: none had).
    var session = Strings()
    var sessionRank: [TraceRow.Rank] = []
    var user = Strings()
    var userRank: [TraceRow.Rank] = []

    static let hasInput: UInt8 = 1, hasOutput: UInt8 = 2, hasTotal: UInt8 = 4, hasCost: UInt8 = 8

    var count: Int { traceID.count }

    /// Bytes a row takes in these arrays (the query memory budget's measure).
    static let rowBytes = MemoryLayout<TraceID>.stride + 3 * MemoryLayout<TraceRow.Rank>.stride + 5 * 4 + 8 * 8 + 8 + 1

    mutating func reserve(_ n: Int) {
        traceID.reserveCapacity(n); project.codes.reserveCapacity(n); rank.reserveCapacity(n)
        name.codes.reserveCapacity(n); service.codes.reserveCapacity(n); start.reserveCapacity(n); end.reserveCapacity(n)
        spans.reserveCapacity(n); llmCalls.reserveCapacity(n); errors.reserveCapacity(n)
        inputTokens.reserveCapacity(n); outputTokens.reserveCapacity(n); totalTokens.reserveCapacity(n)
        cost.reserveCapacity(n); has.reserveCapacity(n)
        session.codes.reserveCapacity(n); sessionRank.reserveCapacity(n); user.codes.reserveCapacity(n); userRank.reserveCapacity(n)
    }

    /// How another table's codes read in this one: per string column, code in `o` → code here.
    struct CodeMaps {
        var project: [UInt32], name: [UInt32], service: [UInt32], session: [UInt32], user: [UInt32]
    }

    /// Appends row `j` of `o` as a new row.
    mutating func append(_ o: TraceColumns, _ j: Int, _ m: CodeMaps?) {
        @inline(__always) func code(_ c: UInt32, _ map: [UInt32]?) -> UInt32 { map.map { $0[Int(c)] } ?? c }
        traceID.append(o.traceID[j])
        project.codes.append(code(o.project.codes[j], m?.project))
        rank.append(o.rank[j])
        name.codes.append(code(o.name.codes[j], m?.name))
        service.codes.append(code(o.service.codes[j], m?.service))
        start.append(o.start[j]); end.append(o.end[j])
        spans.append(o.spans[j]); llmCalls.append(o.llmCalls[j]); errors.append(o.errors[j])
        inputTokens.append(o.inputTokens[j]); outputTokens.append(o.outputTokens[j]); totalTokens.append(o.totalTokens[j])
        cost.append(o.cost[j]); has.append(o.has[j])
        session.codes.append(code(o.session.codes[j], m?.session)); sessionRank.append(o.sessionRank[j])
        user.codes.append(code(o.user.codes[j], m?.user)); userRank.append(o.userRank[j])
    }

    /// Row `k` becomes the trace of its spans and row `j` of `o`'s (`TraceRow.merge`).
    mutating func absorb(_ k: Int, _ o: TraceColumns, _ j: Int, _ m: CodeMaps?) {
        @inline(__always) func code(_ c: UInt32, _ map: [UInt32]?) -> UInt32 { map.map { $0[Int(c)] } ?? c }
        if o.rank[j] < rank[k] {
            rank[k] = o.rank[j]
            name.codes[k] = code(o.name.codes[j], m?.name)
            service.codes[k] = code(o.service.codes[j], m?.service)
        }
        start[k] = min(start[k], o.start[j])
        end[k] = max(end[k], o.end[j])
        spans[k] += o.spans[j]
        llmCalls[k] += o.llmCalls[j]
        errors[k] += o.errors[j]
        inputTokens[k] &+= o.inputTokens[j]
        outputTokens[k] &+= o.outputTokens[j]
        totalTokens[k] &+= o.totalTokens[j]
        cost[k] += o.cost[j]
        has[k] |= o.has[j]
        let s = o.session.codes[j]
        if s != 0, session.codes[k] == 0 || o.sessionRank[j] < sessionRank[k] {
            session.codes[k] = code(s, m?.session)
            sessionRank[k] = o.sessionRank[j]
        }
        let u = o.user.codes[j]
        if u != 0, user.codes[k] == 0 || o.userRank[j] < userRank[k] {
            user.codes[k] = code(u, m?.user)
            userRank[k] = o.userRank[j]
        }
    }

    /// The parts' rows joined by trace (project and trace id). Each part is in trace id order (a
    /// segment's rows are sorted by it; the head's part is sorted when built), so the join is a
    /// k-way merge: it decides, for each joined row, the part row it starts from and which other
    /// part rows it absorbs, then gathers each column in one pass. Rows come out in trace id order.
    /// A part out of order (no writer makes one) is joined by hashing instead.
    static func join(_ parts: [TraceColumns]) -> TraceColumns {
        let live = parts.filter { $0.count > 0 }
        guard live.count > 1 else { return live.first ?? TraceColumns() }
        var projects = Joined(), names = Joined(), services = Joined(), sessions = Joined(), users = Joined()
        let maps = live.map { part in
            CodeMaps(project: projects.map(part.project.values), name: names.map(part.name.values),
                     service: services.map(part.service.values), session: sessions.map(part.session.values),
                     user: users.map(part.user.values))
        }
        var out = merged(live, maps) ?? hashed(live, maps)
        out.project.values = projects.values; out.name.values = names.values; out.service.values = services.values
        out.session.values = sessions.values; out.user.values = users.values
        return out
    }

    /// The k-way merge; nil when some part is not in trace id order.
    private static func merged(_ parts: [TraceColumns], _ maps: [CodeMaps]) -> TraceColumns? {
        let total = parts.reduce(0) { $0 + $1.count }
        var srcPart = [UInt16](), srcRow = [Int32](), outProject = [UInt32]()
        srcPart.reserveCapacity(total); srcRow.reserveCapacity(total); outProject.reserveCapacity(total)
        var absorbed: [(out: Int32, part: UInt16, row: Int32)] = []
        var pos = [Int](repeating: 0, count: parts.count)
        // A binary min-heap of part numbers by their next row's trace id.
        var heap = Array(parts.indices)
        @inline(__always) func key(_ p: Int) -> TraceID { parts[p].traceID[pos[p]] }
        func siftDown(_ start: Int) {
            var i = start
            let n = heap.count
            while true {
                let l = 2 * i + 1
                if l >= n { return }
                var c = l
                if l + 1 < n, key(heap[l + 1]) < key(heap[l]) { c = l + 1 }
                if !(key(heap[c]) < key(heap[i])) { return }
                heap.swapAt(i, c)
                i = c
            }
        }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        var current = TraceID(hi: 0, lo: 0)
        var groupStart = 0
        while let p = heap.first {
            let j = pos[p]
            let id = parts[p].traceID[j]
            let project = maps[p].project[Int(parts[p].project.codes[j])]
            if srcRow.isEmpty || id != current {
                if !srcRow.isEmpty, id < current { return nil }
                current = id
                groupStart = srcRow.count
            }
            var k = groupStart
            while k < srcRow.count, outProject[k] != project { k += 1 }
            if k < srcRow.count {
                absorbed.append((Int32(k), UInt16(p), Int32(j)))
            } else {
                srcPart.append(UInt16(p)); srcRow.append(Int32(j)); outProject.append(project)
            }
            pos[p] = j + 1
            if pos[p] == parts[p].count {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
            }
            siftDown(0)
        }
        // Gather every column from its start rows, then fold in the absorbed rows.
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
        var out = TraceColumns()
        out.traceID = gather { $0.traceID }
        out.project.codes = outProject
        out.rank = gather { $0.rank }
        out.name.codes = gatherCodes({ $0.name.codes }, { $0.name })
        out.service.codes = gatherCodes({ $0.service.codes }, { $0.service })
        out.start = gather { $0.start }
        out.end = gather { $0.end }
        out.spans = gather { $0.spans }
        out.llmCalls = gather { $0.llmCalls }
        out.errors = gather { $0.errors }
        out.inputTokens = gather { $0.inputTokens }
        out.outputTokens = gather { $0.outputTokens }
        out.totalTokens = gather { $0.totalTokens }
        out.cost = gather { $0.cost }
        out.has = gather { $0.has }
        out.session.codes = gatherCodes({ $0.session.codes }, { $0.session })
        out.sessionRank = gather { $0.sessionRank }
        out.user.codes = gatherCodes({ $0.user.codes }, { $0.user })
        out.userRank = gather { $0.userRank }
        for a in absorbed { out.absorb(Int(a.out), parts[Int(a.part)], Int(a.row), maps[Int(a.part)]) }
        return out
    }

    /// The join by hashing trace ids, in order of first appearance.
    private static func hashed(_ parts: [TraceColumns], _ maps: [CodeMaps]) -> TraceColumns {
        let total = parts.reduce(0) { $0 + $1.count }
        var out = TraceColumns()
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

    /// A dictionary joined from the parts' dictionaries: each distinct string once, compared byte for byte.
    struct Joined {
        var values: [String] = []
        var index: [ExactString: UInt32] = [:]
        /// Code in a part (0 = none, k = its values[k-1]) → code here.
        mutating func map(_ part: [String]) -> [UInt32] {
            var out = [UInt32](repeating: 0, count: part.count + 1)
            for (i, s) in part.enumerated() {
                if let c = index[ExactString(s)] { out[i + 1] = c; continue }
                values.append(s)
                let c = UInt32(values.count)
                index[ExactString(s)] = c
                out[i + 1] = c
            }
            return out
        }
    }
}

extension TraceColumns {
    /// Row `i` as a `TraceRow` (tests compare tables through it).
    func row(_ i: Int) -> TraceRow {
        func str(_ s: Strings) -> String? { s.codes[i] == 0 ? nil : s.values[Int(s.codes[i]) - 1] }
        let h = has[i]
        return TraceRow(project: str(project) ?? "", traceID: traceID[i], rank: rank[i], name: str(name) ?? "", service: str(service) ?? "",
                        start: start[i], end: end[i], spans: spans[i], llmCalls: llmCalls[i], errors: errors[i],
                        inputTokens: h & Self.hasInput != 0 ? inputTokens[i] : nil,
                        outputTokens: h & Self.hasOutput != 0 ? outputTokens[i] : nil,
                        totalTokens: h & Self.hasTotal != 0 ? totalTokens[i] : nil,
                        costUSD: h & Self.hasCost != 0 ? cost[i] : nil,
                        session: str(session).map { (sessionRank[i], $0) }, user: str(user).map { (userRank[i], $0) })
    }

    /// Rows built one trace at a time (the head's spans, tests): strings coded as they come.
    init(_ rows: [TraceRow]) {
        reserve(rows.count)
        var projects = Joined(), names = Joined(), services = Joined(), sessions = Joined(), users = Joined()
        func code(_ s: String?, _ j: inout Joined) -> UInt32 {
            guard let s else { return 0 }
            if let c = j.index[ExactString(s)] { return c }
            j.values.append(s)
            j.index[ExactString(s)] = UInt32(j.values.count)
            return UInt32(j.values.count)
        }
        let none = TraceRow.Rank(notRoot: true, start: 0, spanID: 0)
        for r in rows {
            traceID.append(r.traceID)
            project.codes.append(code(r.project, &projects))
            rank.append(r.rank)
            name.codes.append(code(r.name, &names))
            service.codes.append(code(r.service, &services))
            start.append(r.start); end.append(r.end)
            spans.append(r.spans); llmCalls.append(r.llmCalls); errors.append(r.errors)
            inputTokens.append(r.inputTokens ?? 0); outputTokens.append(r.outputTokens ?? 0); totalTokens.append(r.totalTokens ?? 0)
            cost.append(r.costUSD ?? 0)
            has.append((r.inputTokens == nil ? 0 : Self.hasInput) | (r.outputTokens == nil ? 0 : Self.hasOutput)
                       | (r.totalTokens == nil ? 0 : Self.hasTotal) | (r.costUSD == nil ? 0 : Self.hasCost))
            session.codes.append(code(r.session?.1, &sessions)); sessionRank.append(r.session?.0 ?? none)
            user.codes.append(code(r.user?.1, &users)); userRank.append(r.user?.0 ?? none)
        }
        project.values = projects.values; name.values = names.values; service.values = services.values
        session.values = sessions.values; user.values = users.values
    }
}
