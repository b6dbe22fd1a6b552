import LLMTraceModel
import LLMTraceStore

/// A set of rows a query scans in one piece: a sealed segment, or the rows still in the head.
protocol ScanBatch: Sendable {
    var rowCount: Int { get }
    /// Smallest and largest start time, known without reading the column (nil: unknown).
    var startRange: (Int64, Int64)? { get }
    /// One column for every row.
    func load(_ c: ColumnRef) throws -> Vec
    /// One column where only `rows` (ascending) are read; other rows may hold anything. Batches
    /// that cannot read less read everything.
    func load(_ c: ColumnRef, rows: [Int32]) throws -> Vec
    /// Full-text condition k: 1 for the rows holding a matching paragraph.
    func matchRows(_ k: Int) throws -> [UInt8]
    /// Several `attr[...]` columns at once (`rows`: only these, ascending; nil: all).
    func loadAttributes(_ cs: [ColumnRef], rows: [Int32]?) throws -> [Vec]
}

extension ScanBatch {
    func loadAttributes(_ cs: [ColumnRef], rows: [Int32]?) throws -> [Vec] {
        try cs.map { c in try rows.map { try load(c, rows: $0) } ?? load(c) }
    }
}

/// A sealed segment: columns decode straight from its blocks into arrays.
struct SegmentBatch: ScanBatch {
    let segment: SegmentReader
    /// The full-text conditions.
    var matchSets: [TextMatch] = []

    func matchRows(_ k: Int) throws -> [UInt8] {
        try segment.rows(matching: matchSets[k])
    }
    var rowCount: Int { segment.rowCount }
    var startRange: (Int64, Int64)? { (segment.minStart, segment.maxStart) }

    func load(_ c: ColumnRef) throws -> Vec {
        switch c {
        case .span(let sc): return try load(sc)
        case .attr(let key, let t): return Vec.attribute(try segment.attributeColumn(key), t)
        case .trace, .score: throw QueryError("internal: column \(c.name) is not a spans column")
        }
    }

    /// Attributes sit in the compressed details: one pass inflates each block once for all of them.
    func loadAttributes(_ cs: [ColumnRef], rows: [Int32]?) throws -> [Vec] {
        var keys: [String] = [], types: [QueryType] = []
        for c in cs {
            guard case .attr(let key, let t) = c else { throw QueryError("internal: column \(c.name) is not an attribute") }
            keys.append(key)
            types.append(t)
        }
        return zip(try segment.attributeColumns(keys, rows: rows), types).map { Vec.attribute($0, $1) }
    }

    /// Attributes sit in the compressed details: only the blocks holding selected rows are read.
    func load(_ c: ColumnRef, rows: [Int32]) throws -> Vec {
        guard case .attr(let key, let t) = c else { return try load(c) }
        return Vec.attribute(try segment.attributeColumn(key, rows: rows), t)
    }

    func load(_ c: SpanColumn) throws -> Vec {
        let s = segment
        if let dc = c.dictionaryColumn {
            let (codes, values) = try s.dictColumn(dc)
            return .dict(codes, values)
        }
        switch c {
        case .model:
            let resp = try s.dictColumn(.responseModel), req = try s.dictColumn(.requestModel)
            return Self.mergeModels(resp, req)
        case .traceID:
            let ids = try s.traceIDColumn()
            var codes = [UInt32](repeating: 0, count: ids.count)
            var values: [String] = []
            var last: TraceID? = nil
            var seen: [TraceID: UInt32] = [:]
            for (i, id) in ids.enumerated() {
                if id == last { codes[i] = codes[i - 1]; continue }
                last = id
                if let k = seen[id] { codes[i] = k; continue }
                values.append(id.hex)
                let k = UInt32(values.count)
                seen[id] = k
                codes[i] = k
            }
            return .dict(codes, values)
        case .spanID, .parentSpanID:
            let (v, _) = try s.intColumn(c == .spanID ? .spanID : .parentSpanID)
            return .values(v.map { $0 == 0 && c == .parentSpanID ? .null : .string(SpanID(UInt64(bitPattern: $0)).hex) })
        case .isRoot:
            let (v, _) = try s.intColumn(.parentSpanID)
            return .bools(v.map { $0 == 0 ? 1 : 0 })
        case .start:
            let (v, valid) = try s.intColumn(.start)
            return .ints(v, valid)
        case .end:
            let (st, _) = try s.intColumn(.start)
            var (d, _) = try s.intColumn(.duration)
            for i in 0..<d.count { d[i] = st[i] &+ d[i] }
            return .ints(d, nil)
        case .durationMs:
            let (d, _) = try s.intColumn(.duration)
            return .doubles(d.map { Double($0) / 1e6 }, nil)
        case .ttftMs:
            let (d, valid) = try s.intColumn(.ttft)
            return .doubles(d.map { Double($0) / 1e6 }, valid)
        case .inputTokens, .outputTokens, .cachedTokens, .reasoningTokens, .maxTokens:
            let col: SegmentFormat.Column = c == .inputTokens ? .inputTokens : c == .outputTokens ? .outputTokens
                : c == .cachedTokens ? .cachedTokens : c == .reasoningTokens ? .reasoningTokens : .maxTokens
            let (v, valid) = try s.intColumn(col)
            return .ints(v, valid)
        case .totalTokens:
            let (a, va) = try s.intColumn(.inputTokens), (b, vb) = try s.intColumn(.outputTokens)
            return Self.total(a, va, b, vb)
        case .costUSD, .temperature, .topP:
            let (v, valid) = try s.doubleColumn(c == .costUSD ? .costUSD : c == .temperature ? .temperature : .topP)
            return .doubles(v, valid)
        case .error:
            let (codes, values) = try s.dictColumn(.status)
            let table: [UInt8] = [0] + values.map { $0 == SpanStatus.error.rawValue ? 1 : 0 }
            return .bools(codes.map { table[Int($0)] })
        default:
            throw QueryError("column \(c.rawValue) cannot be read from a segment")
        }
    }

    /// `model` is the response model where the provider reported one, else the requested model.
    static func mergeModels(_ resp: (codes: [UInt32], values: [String]), _ req: (codes: [UInt32], values: [String])) -> Vec {
        var values: [String] = []
        var index: [ExactString: UInt32] = [:]
        func code(_ s: String) -> UInt32 {
            if let k = index[ExactString(s)] { return k }
            values.append(s)
            index[ExactString(s)] = UInt32(values.count)
            return UInt32(values.count)
        }
        let respMap: [UInt32] = [0] + resp.values.map(code)
        let reqMap: [UInt32] = [0] + req.values.map(code)
        let n = resp.codes.count
        let codes = [UInt32](unsafeUninitializedCapacity: n) { out, initialized in
            resp.codes.withUnsafeBufferPointer { rc in
                req.codes.withUnsafeBufferPointer { qc in
                    respMap.withUnsafeBufferPointer { rm in
                        reqMap.withUnsafeBufferPointer { qm in
                            // Codes index their maps (the dictionary decode checked them). Both
                            // looked up and one kept by a mask: a branch on whether the provider
                            // reported a model mispredicted wherever that varies row to row.
                            for i in 0..<n {
                                let r = rc[i]
                                let a = rm[Int(r)], b = qm[Int(qc[i])]
                                let useRequest = UInt32(truncatingIfNeeded: -Int64(r == 0 ? 1 : 0))
                                out[i] = a | (b & useRequest)
                            }
                        }
                    }
                }
            }
            initialized = n
        }
        return .dict(codes, values)
    }

    /// input + output tokens, NULL where both are. The segment's integer columns read 0 in null
    /// rows (`SegmentReader.intColumn`), so the sum needs no look at validity.
    static func total(_ a: [Int64], _ va: [Bool]?, _ b: [Int64], _ vb: [Bool]?) -> Vec {
        let n = a.count
        let out = [Int64](unsafeUninitializedCapacity: n) { o, done in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    for i in 0..<n { o[i] = a[i] &+ b[i] }
                }
            }
            done = n
        }
        // NULL only where both parts are.
        var valid: [Bool]? = nil
        if let va, let vb {
            valid = [Bool](unsafeUninitializedCapacity: n) { v, done in
                va.withUnsafeBufferPointer { va in
                    vb.withUnsafeBufferPointer { vb in
                        for i in 0..<n { v[i] = va[i] || vb[i] }
                    }
                }
                done = n
            }
        }
        // Token counts are never negative (ingest refuses them), so a negative sum overflowed:
        // that row is a real, as SQLite's + makes it.
        if out.contains(where: { $0 < 0 }) {
            return .values((0..<n).map { i -> QueryValue in
                if let valid, !valid[i] { return .null }
                let x = (va?[i] ?? true) ? a[i] : 0, y = (vb?[i] ?? true) ? b[i] : 0
                return Ops.overflowed("+", x, y).map { .double($0) } ?? .int(out[i])
            })
        }
        return .ints(out, valid)
    }
}

/// Rows not yet sealed, as decoded spans: columns are built from the span fields.
extension ScanBatch {
    func load(_ c: ColumnRef, rows: [Int32]) throws -> Vec { try load(c) }
}

struct RowBatch: ScanBatch {
    let rows: [Span]
    /// Per full-text condition, 1 for the rows holding a matching paragraph.
    var matches: [[UInt8]] = []
    /// Attribute values by key, read from the head's details (its rows carry no attributes); a key
    /// not here is read from the rows.
    var attributes: [String: [AttributeValue?]] = [:]

    func matchRows(_ k: Int) throws -> [UInt8] {
        guard k < matches.count else { throw QueryError("full-text search is not available here") }
        return matches[k]
    }
    var rowCount: Int { rows.count }
    var startRange: (Int64, Int64)? { nil }

    private func dict(_ get: (Span) -> String?) -> Vec { Vec.strings(rows.count) { get(rows[$0]) } }
    private func ints(_ get: (Span) -> Int64?) -> Vec { Vec.ints(rows.count) { get(rows[$0]) } }
    private func doubles(_ get: (Span) -> Double?) -> Vec { Vec.doubles(rows.count) { get(rows[$0]) } }

    func load(_ c: ColumnRef) throws -> Vec {
        switch c {
        case .span(let sc): return load(sc)
        case .attr(let key, let t):
            if let values = attributes[key] { return Vec.attribute(values, t) }
            return Vec.attribute(rows.map { $0.attribute(key) }, t)
        case .trace, .score: throw QueryError("internal: column \(c.name) is not a spans column")
        }
    }

    func load(_ c: SpanColumn) -> Vec {
        switch c {
        case .traceID: return dict { $0.traceID.hex }
        case .spanID, .parentSpanID: return .values(rows.map { c.value(of: $0) })
        case .project: return dict { $0.project }
        case .service: return dict { $0.service }
        case .name: return dict { $0.name }
        case .kind: return dict { $0.kind.rawValue }
        case .status: return dict { $0.status.rawValue }
        case .statusMessage: return dict { $0.statusMessage }
        case .provider: return dict { $0.provider }
        case .model: return dict { $0.responseModel ?? $0.requestModel }
        case .requestModel: return dict { $0.requestModel }
        case .responseModel: return dict { $0.responseModel }
        case .environment: return dict { $0.environment }
        case .promptName: return dict { $0.promptName }
        case .promptVersion: return dict { $0.promptVersion }
        case .sessionID: return dict { $0.sessionID }
        case .userID: return dict { $0.userID }
        case .finishReason: return dict { $0.finishReason }
        case .start: return ints { $0.startNanos }
        case .end: return ints { $0.endNanos }
        case .durationMs: return doubles { Double($0.durationNanos) / 1e6 }
        case .inputTokens: return ints { $0.inputTokens }
        case .outputTokens: return ints { $0.outputTokens }
        case .cachedTokens: return ints { $0.cachedTokens }
        case .reasoningTokens: return ints { $0.reasoningTokens }
        case .totalTokens:
            return SegmentBatch.total(rows.map { $0.inputTokens ?? 0 }, rows.map { $0.inputTokens != nil },
                              rows.map { $0.outputTokens ?? 0 }, rows.map { $0.outputTokens != nil })
        case .costUSD: return doubles { $0.costUSD }
        case .ttftMs: return doubles { $0.timeToFirstTokenNanos.map { Double($0) / 1e6 } }
        case .temperature: return doubles { $0.temperature }
        case .maxTokens: return ints { $0.maxTokens }
        case .topP: return doubles { $0.topP }
        case .error: return .bools(rows.map { $0.status == .error ? 1 : 0 })
        case .isRoot: return .bools(rows.map { $0.parentSpanID.isZero ? 1 : 0 })
        }
    }
}

extension Vec {
    /// A dictionary column of `n` rows from row values (nil is NULL), for batches built from rows.
    static func strings(_ n: Int, _ get: (Int) -> String?) -> Vec {
        var values: [String] = []
        var index: [ExactString: UInt32] = [:]
        var codes = [UInt32](repeating: 0, count: n)
        for i in 0..<n {
            guard let v = get(i) else { continue }
            if let k = index[ExactString(v)] { codes[i] = k; continue }
            values.append(v)
            let k = UInt32(values.count)
            index[ExactString(v)] = k
            codes[i] = k
        }
        return .dict(codes, values)
    }

    static func ints(_ n: Int, _ get: (Int) -> Int64?) -> Vec {
        var out = [Int64](repeating: 0, count: n)
        var valid = [Bool](repeating: true, count: n)
        var nulls = false
        for i in 0..<n {
            if let v = get(i) { out[i] = v } else { valid[i] = false; nulls = true }
        }
        return .ints(out, nulls ? valid : nil)
    }

    static func doubles(_ n: Int, _ get: (Int) -> Double?) -> Vec {
        var out = [Double](repeating: 0, count: n)
        var valid = [Bool](repeating: true, count: n)
        var nulls = false
        for i in 0..<n {
            if let v = get(i) { out[i] = v } else { valid[i] = false; nulls = true }
        }
        return .doubles(out, nulls ? valid : nil)
    }

    /// An attribute column read as `t` (`ColumnRef.convert` says how each value converts): strings
    /// as a dictionary column, so grouping and comparing work on codes.
    static func attribute(_ values: [AttributeValue?], _ t: QueryType) -> Vec {
        switch t {
        case .double:
            return doubles(values.count) { if case .double(let d) = ColumnRef.convert(values[$0], to: .double) { return d } else { return nil } }
        case .bool:
            return .bools(values.map { v -> UInt8 in
                if case .bool(let b) = ColumnRef.convert(v, to: .bool) { return b ? 1 : 0 }
                return 2
            })
        default:
            return strings(values.count) { if case .string(let s) = ColumnRef.convert(values[$0], to: .string) { return s } else { return nil } }
        }
    }
}
