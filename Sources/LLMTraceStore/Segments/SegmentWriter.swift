import LLMTraceModel

/// Turns a sealed head into one immutable columnar segment file.
///
/// Rows are sorted by (trace id, start) so a trace is one contiguous run of rows: a trace lookup touches
/// one block per column (the Tempo layout). Low-cardinality strings are dictionary-encoded, times and
/// counts are bit-packed from a per-block base, and every string inside messages, documents, attributes and events is interned
/// into one per-segment text store, so a system prompt or retrieved chunk repeated 10,000 times is
/// stored and compressed once.
public struct SegmentWriter {
    public var compression: SegmentCompression = .default
    /// Rows per column block (written in the footer, so readers follow it). Only tests and the
    /// fuzzers change it, to get several blocks out of a few rows.
    public var rowsPerBlock = SegmentFormat.rowsPerBlock

    public init(compression: SegmentCompression = .default, rowsPerBlock: Int = SegmentFormat.rowsPerBlock) {
        self.compression = compression
        self.rowsPerBlock = rowsPerBlock
    }

    /// Writes the segment for full spans (recovery, tests): encodes their details first.
    public func write(spans input: [Span], id: UInt64, maxWALFile: UInt64, directory: String) throws -> SegmentSummary {
        var texts = TextInterner()
        var details = ByteWriter(capacity: 128 * input.count)
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(input.count)
        for s in input {
            let start = details.count
            if SpanBinaryCodec.hasDetails(s) { SpanBinaryCodec.encodeDetails(s, into: &details, texts: &texts) }
            ranges.append(start..<details.count)
        }
        let bytes = details.bytes
        return try bytes.withUnsafeBytes { b in
            try write(rows: input, details: { UnsafeRawBufferPointer(rebasing: b[ranges[$0]]) }, texts: texts.strings,
                      id: id, maxWALFile: maxWALFile, directory: directory)
        }
    }

    /// Writes the segment for a sealed head: its details bytes and text table go in as they are.
    /// `rowOrigins`, when given, receives each segment row's row in the head (arrival order).
    func write(head: Head, id: UInt64, maxWALFile: UInt64, directory: String, rowOrigins: ((_ order: [Int]) -> Void)? = nil) throws -> SegmentSummary {
        let texts = head.texts.snapshot
        return try head.details.withUnsafeBytes { b in
            try write(rows: head.rows, details: { i in
                let r = head.detailRanges[i]
                return UnsafeRawBufferPointer(rebasing: b[Int(r.start)..<Int(r.start + r.count)])
            }, texts: texts, id: id, maxWALFile: maxWALFile, directory: directory, rowOrigins: rowOrigins)
        }
    }

    /// Writes `rows` (fixed fields: spans whose detail arrays are ignored, or head rows) with
    /// `details(i)`, the encoded details of row i whose text ids index `texts`, durably at
    /// `directory/<id>.seg`. Head rows carry their strings as ids into `texts`, and dictionary
    /// columns are then built from those ids rather than from strings.
    func write<R: SegmentRowFields>(rows input: [R], details: (Int) -> UnsafeRawBufferPointer, texts: [String],
                                    id: UInt64, maxWALFile: UInt64, directory: String, rowOrigins: ((_ order: [Int]) -> Void)? = nil) throws -> SegmentSummary {
        precondition(!input.isEmpty, "an empty head is never sealed")
        // Sort small keys, not rows: comparing Span values would copy (retain) every field.
        var keys = [SortKey]()
        keys.reserveCapacity(input.count)
        for i in input.indices {
            keys.append(SortKey(trace: input[i].traceID, start: input[i].startNanos, span: input[i].spanID, index: Int32(i)))
        }
        keys.sort()
        let order = keys.map { Int($0.index) }
        keys = []
        rowOrigins?(order)
        // The column passes read the rows in sorted order many times; through `order` each read would
        // be a cache miss into a large struct somewhere in tens of megabytes (~6 ms per column per
        // 100k rows). So the rows are gathered once, bitwise, into a sorted scratch buffer: a view of
        // rows `input` keeps alive (nothing is retained, so nothing is released or deinitialized).
        let stride = MemoryLayout<R>.stride
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: input.count * stride, alignment: MemoryLayout<R>.alignment)
        defer { scratch.deallocate() }
        input.withUnsafeBufferPointer { src in
            let base = UnsafeRawPointer(src.baseAddress!)
            for (i, j) in order.enumerated() { (scratch + i * stride).copyMemory(from: base + j * stride, byteCount: stride) }
        }
        let spans = UnsafeBufferPointer(start: scratch.bindMemory(to: R.self, capacity: input.count), count: input.count)
        return try withExtendedLifetime(input) {
            try writeSorted(spans, order: order, details: details, texts: texts, id: id, maxWALFile: maxWALFile, directory: directory)
        }
    }

    /// The body of `write(rows:...)` over rows already in segment order (`order[i]` is row i's index
    /// in the caller's numbering, which `details` uses).
    private func writeSorted<R: SegmentRowFields>(_ spans: UnsafeBufferPointer<R>, order: [Int], details: (Int) -> UnsafeRawBufferPointer, texts: [String],
                                                  id: UInt64, maxWALFile: UInt64, directory: String) throws -> SegmentSummary {
        let n = spans.count
        let path = directory + "/" + SegmentFormat.name(id)
        // Streamed to the file as it is built (2 MiB at a time), never held whole: a 20 MB segment
        // in one buffer that doubles as it grows peaked at 48 MB during every seal.
        var out = SegmentOutput(try AtomicFileWriter(path: path))
        out.raw(SegmentFormat.magic)
        out.u16(SegmentFormat.version)
        out.u16(compression.codecID)
        let codec = SegmentBlockEncoder(compression)
        var dictionaries = DictionaryBuilder(texts: texts, byID: R.hasTextIDs)

        var footer = ByteWriter(capacity: 8192)
        var minStart = Int64.max, maxStart = Int64.min
        for i in 0..<n {
            minStart = min(minStart, spans[i].startNanos)
            maxStart = max(maxStart, spans[i].startNanos)
        }
        footer.u64(id)
        footer.u32(UInt32(n))
        footer.i64(minStart)
        footer.i64(maxStart)
        footer.u64(maxWALFile)
        footer.i64(wallNanos())
        footer.u32(UInt32(rowsPerBlock))
        footer.varint(SegmentFormat.Column.allCases.count)

        for col in SegmentFormat.Column.allCases {
            writeColumn(col, spans: spans, details: { details(order[$0]) }, codec: codec, dictionaries: &dictionaries, out: &out, footer: &footer)
        }
        writeTextStore(texts, codec: codec, out: &out, footer: &footer)

        out.raw(footer.bytes)
        out.u32(UInt32(footer.count))
        out.u32(Checksum.crc32(footer.bytes))
        out.raw(SegmentFormat.magic)
        try out.finish()

        var summary = SegmentSummary(id: id, path: path, spanCount: n, minStart: minStart, maxStart: maxStart,
                                     bytes: out.count, maxWALFile: maxWALFile)
        Self.summarize(spans, texts: texts, into: &summary)
        return summary
    }

    /// Index rows for `spans` already in segment row order (also used to re-index an existing file).
    static func summarize(_ spans: [Span], into summary: inout SegmentSummary) {
        spans.withUnsafeBufferPointer { summarize($0, texts: [], into: &summary) }
    }

    static func summarize<R: SegmentRowFields>(_ spans: UnsafeBufferPointer<R>, texts: [String], into summary: inout SegmentSummary) {
        // Rows are grouped by trace, so sessions and users repeat within a run and the project
        // rarely changes from row to row: dedupe per run and accumulate per project run instead of
        // hashing strings into sets and dictionaries for every span. Fields are read in place
        // (`spans[row].field`), never by copying a whole span.
        var sessions: [SessionKey] = []
        var users: [SessionKey] = []
        var runSessions: [(project: String, id: String)] = []
        var runUsers: [(project: String, id: String)] = []
        var runStart = 0
        var current: (project: String, count: Int, minStart: Int64, maxStart: Int64)? = nil
        func flushProject() {
            guard let c = current else { return }
            var p = summary.projects[c.project] ?? (0, Int64.max, Int64.min)
            p.count += c.count
            p.minStart = min(p.minStart, c.minStart)
            p.maxStart = max(p.maxStart, c.maxStart)
            summary.projects[c.project] = p
            current = nil
        }
        func endRun(_ end: Int) {
            let trace = spans[runStart].traceID
            summary.traces.append((trace, runStart, end - runStart, spans[runStart].text(.project, texts)!))
            for x in runSessions { sessions.append(SessionKey(project: x.project, id: x.id, trace: trace)) }
            for x in runUsers { users.append(SessionKey(project: x.project, id: x.id, trace: trace)) }
            runSessions.removeAll(keepingCapacity: true)
            runUsers.removeAll(keepingCapacity: true)
        }
        for row in 0..<spans.count {
            if row > 0 && spans[row].traceID != spans[row - 1].traceID {
                endRun(row)
                runStart = row
            }
            let start = spans[row].startNanos
            let project = spans[row].text(.project, texts)!
            if current != nil && ExactString.equal(current!.project, project) {
                current!.count += 1
                current!.minStart = min(current!.minStart, start)
                current!.maxStart = max(current!.maxStart, start)
            } else {
                flushProject()
                current = (project, 1, start, start)
            }
            if let sid = spans[row].text(.sessionID, texts), !runSessions.contains(where: { ExactString.equal($0.id, sid) && ExactString.equal($0.project, project) }) {
                runSessions.append((project, sid))
            }
            if let uid = spans[row].text(.userID, texts), !runUsers.contains(where: { ExactString.equal($0.id, uid) && ExactString.equal($0.project, project) }) {
                runUsers.append((project, uid))
            }
        }
        flushProject()
        if !spans.isEmpty { endRun(spans.count) }
        // In key order: the index inserts then walk its B-trees left to right instead of touching
        // random pages (~2x faster at a few hundred thousand rows). Each (project, id, trace) is
        // already unique: a trace is one run.
        summary.sessions = byteOrder(sessions).map { ($0.project, $0.id, $0.trace) }
        summary.users = byteOrder(users).map { ($0.project, $0.id, $0.trace) }
    }

    /// `keys` sorted as `SessionKey <` sorts them, with the strings compared once each: the
    /// distinct projects and ids (a few thousand per seal) are ranked by their bytes, then keys
    /// sort by integer ranks. Comparing strings in the sort itself (~15 compares a key, 34k
    /// keys a seal) was a sixth of the sealer's CPU.
    static func byteOrder(_ keys: [SessionKey]) -> [SessionKey] {
        var slot: [ExactString: Int] = [:]
        var strings: [String] = []
        func index(_ s: String) -> Int {
            if let i = slot[ExactString(s)] { return i }
            slot[ExactString(s)] = strings.count
            strings.append(s)
            return strings.count - 1
        }
        let pairs = keys.map { (index($0.project), index($0.id)) }
        var rank = [UInt64](repeating: 0, count: strings.count)
        for (r, i) in strings.indices.sorted(by: { ExactString.less(strings[$0], strings[$1]) }).enumerated() { rank[i] = UInt64(r) }
        // Plain integer tuples sort without a closure reaching into four arrays per comparison.
        var order = [(UInt64, UInt64, UInt64, Int)]()
        order.reserveCapacity(keys.count)
        for k in keys.indices {
            order.append((rank[pairs[k].0] << 32 | rank[pairs[k].1], keys[k].trace.hi, keys[k].trace.lo, k))
        }
        order.sort { $0 < $1 }
        return order.map { keys[$0.3] }
    }

    struct SortKey: Comparable {
        var trace: TraceID
        var start: Int64
        var span: SpanID
        var index: Int32
        static func < (a: SortKey, b: SortKey) -> Bool {
            if a.trace != b.trace { return a.trace < b.trace }
            if a.start != b.start { return a.start < b.start }
            return a.span < b.span
        }
    }

    struct SessionKey: Hashable, Comparable {
        /// UTF-8 byte order, as the index's B-tree keys sort (`byteOrder` sorts a seal's keys
        /// this way without comparing strings in the sort).
        static func < (a: SessionKey, b: SessionKey) -> Bool {
            let p = ExactString.compare(a.project, b.project)
            if p != 0 { return p < 0 }
            let i = ExactString.compare(a.id, b.id)
            if i != 0 { return i < 0 }
            return a.trace < b.trace
        }
        static func == (a: SessionKey, b: SessionKey) -> Bool {
            ExactString.equal(a.project, b.project) && ExactString.equal(a.id, b.id) && a.trace == b.trace
        }
        func hash(into h: inout Hasher) {
            h.combine(ExactString(project))
            h.combine(ExactString(id))
            h.combine(trace)
        }
        var project: String
        var id: String
        var trace: TraceID
    }

    // MARK: Columns

    private struct BlockRef {
        var offset: Int
        var stored: Int
        var raw: Int
        var crc: UInt32
    }

    private func emit(_ block: [UInt8], raw: Int, out: inout SegmentOutput) -> BlockRef {
        let ref = BlockRef(offset: out.count, stored: block.count, raw: raw, crc: Checksum.crc32(block))
        out.raw(block)
        return ref
    }


    /// Writes one column: row i is `spans[i]`, its details `details(i)`.
    private func writeColumn<R: SegmentRowFields>(_ col: SegmentFormat.Column, spans: UnsafeBufferPointer<R>, details: (Int) -> UnsafeRawBufferPointer,
                             codec: SegmentBlockEncoder, dictionaries: inout DictionaryBuilder, out: inout SegmentOutput, footer: inout ByteWriter) {
        let enc = SegmentFormat.encoding(of: col)
        let n = spans.count
        let bs = rowsPerBlock
        var blocks: [BlockRef] = []
        var width: UInt8 = 0
        var minMax: (Int64, Int64)? = nil
        var dictRef: BlockRef? = nil
        var dictCount = 0

        func track(_ v: Int64) {
            if let (lo, hi) = minMax { minMax = (min(lo, v), max(hi, v)) } else { minMax = (v, v) }
        }

        switch enc {
        case .traceRuns:
            for b in stride(from: 0, to: n, by: bs) {
                var w = ByteWriter(capacity: 1024)
                var runs: [(TraceID, Int)] = []
                for i in b..<min(n, b + bs) {
                    if let last = runs.last, last.0 == spans[i].traceID { runs[runs.count - 1].1 += 1 } else { runs.append((spans[i].traceID, 1)) }
                }
                w.varint(runs.count)
                for (t, c) in runs { w.u64(t.hi); w.u64(t.lo); w.varint(c) }
                blocks.append(emit(w.bytes, raw: w.count, out: &out))
            }
        case .rawU64:
            for b in stride(from: 0, to: n, by: bs) {
                var w = ByteWriter(capacity: 8 * bs)
                for i in b..<min(n, b + bs) { w.u64(col == .spanID ? spans[i].spanID.value : spans[i].parentSpanID.value) }
                blocks.append(emit(w.bytes, raw: w.count, out: &out))
            }
        case .deltaVarint, .varint, .nullableVarint:
            // Read-only: segments before version 3 hold them (`SegmentReader` decodes both).
            preconditionFailure("column \(col) is written \(SegmentFormat.encoding(of: col)), not \(enc)")
        case .dictionary:
            let (entries, codes) = dictionaries.build(col, spans)
            width = entries.count < 255 ? 1 : (entries.count < 65535 ? 2 : 4)
            var dw = ByteWriter(capacity: 64 * entries.count + 16)
            for e in entries { dw.string(e) }
            dictRef = emit(codec.encode(dw.bytes), raw: dw.count, out: &out)
            dictCount = entries.count
            for b in stride(from: 0, to: n, by: bs) {
                var w = ByteWriter(capacity: Int(width) * bs)
                for i in b..<min(n, b + bs) {
                    switch width {
                    case 1: w.u8(UInt8(codes[i]))
                    case 2: w.u16(UInt16(codes[i]))
                    default: w.u32(codes[i])
                    }
                }
                blocks.append(emit(w.bytes, raw: w.count, out: &out))
            }
        case .packed, .nullablePacked:
            let nullable = enc == .nullablePacked
            var values = [Int64](repeating: 0, count: min(n, bs))
            var valid = [Bool](repeating: true, count: min(n, bs))
            for b in stride(from: 0, to: n, by: bs) {
                let m = min(n, b + bs) - b
                for k in 0..<m {
                    let v: Int64?
                    switch col {
                    case .start: v = spans[b + k].startNanos
                    case .duration: v = spans[b + k].durationNanos
                    default: v = spans[b + k].intValue(col)
                    }
                    if let v { track(v); values[k] = v; valid[k] = true } else { values[k] = 0; valid[k] = false }
                }
                var w = ByteWriter(capacity: PackedInts.blockSize(count: m, width: 64))
                values.withUnsafeBufferPointer { vp in
                    valid.withUnsafeBufferPointer { ok in
                        PackedInts.encode(UnsafeBufferPointer(rebasing: vp[0..<m]), valid: nullable ? UnsafeBufferPointer(rebasing: ok[0..<m]) : nil, into: &w)
                    }
                }
                blocks.append(emit(w.bytes, raw: w.count, out: &out))
            }
        case .float64:
            var lo = Double.infinity, hi = -Double.infinity
            for b in stride(from: 0, to: n, by: bs) {
                var w = ByteWriter(capacity: 8 * bs)
                for i in b..<min(n, b + bs) {
                    if let d = spans[i].doubleValue(col) {
                        w.f64(d)
                        lo = min(lo, d)
                        hi = max(hi, d)
                    } else {
                        w.u64(SegmentFormat.nullDoubleBits)
                    }
                }
                blocks.append(emit(w.bytes, raw: w.count, out: &out))
            }
            if lo <= hi { minMax = (Int64(bitPattern: lo.bitPattern), Int64(bitPattern: hi.bitPattern)) }
        case .compressedBlobs:
            for b in stride(from: 0, to: n, by: bs) {
                var w = ByteWriter(capacity: 64 * bs)
                for i in b..<min(n, b + bs) {
                    let d = details(i)
                    w.varint(d.count)
                    if d.count > 0 { w.raw(d) }
                }
                blocks.append(emit(codec.encode(w.bytes), raw: w.count, out: &out))
            }
        }

        footer.u16(col.rawValue)
        footer.u8(enc.rawValue)
        footer.u8(width)
        if let (lo, hi) = minMax { footer.u8(1); footer.i64(lo); footer.i64(hi) } else { footer.u8(0); footer.i64(0); footer.i64(0) }
        if enc == .dictionary, let d = dictRef {
            footer.u64(UInt64(d.offset)); footer.u32(UInt32(d.stored)); footer.u32(UInt32(d.raw)); footer.u32(d.crc)
            footer.u32(UInt32(dictCount))
        }
        footer.varint(blocks.count)
        for b in blocks {
            footer.u64(UInt64(b.offset)); footer.u32(UInt32(b.stored)); footer.u32(UInt32(b.raw)); footer.u32(b.crc)
        }
    }

    /// Text store: the distinct strings in id order, cut into compressed blocks of about 16 KiB,
    /// plus an offsets table (u32 per text: its start inside its block).
    private func writeTextStore(_ strings: [String], codec: SegmentBlockEncoder, out: inout SegmentOutput, footer: inout ByteWriter) {
        var offsets = ByteWriter(capacity: 4 * strings.count)
        var blocks: [(first: Int, ref: BlockRef)] = []
        var cur = ByteWriter(capacity: SegmentFormat.textBlockTarget + 4096)
        var first = 0
        func flush(next: Int) {
            if cur.count == 0 && next == first { return }
            blocks.append((first, emit(codec.encode(cur.bytes), raw: cur.count, out: &out)))
            cur.bytes.removeAll(keepingCapacity: true)
            first = next
        }
        for (i, s) in strings.enumerated() {
            if cur.count > 0 && cur.count + s.utf8.count > SegmentFormat.textBlockTarget { flush(next: i) }
            offsets.u32(UInt32(cur.count))
            var s = s
            s.withUTF8 { cur.raw(UnsafeRawBufferPointer($0)) }
        }
        flush(next: strings.count)
        let offRef = emit(offsets.bytes, raw: offsets.count, out: &out)
        footer.varint(strings.count)
        footer.u64(UInt64(offRef.offset)); footer.u32(UInt32(offRef.stored)); footer.u32(offRef.crc)
        footer.varint(blocks.count)
        for (f, b) in blocks {
            footer.u32(UInt32(f)); footer.u64(UInt64(b.offset)); footer.u32(UInt32(b.stored)); footer.u32(UInt32(b.raw)); footer.u32(b.crc)
        }
    }
}


/// The segment file as the writer produces it: bytes are buffered and handed to the file in 2 MiB
/// pieces; `count` is the offset of the next byte. A write error is kept and thrown by `finish`,
/// which also removes the partial file.
struct SegmentOutput {
    private let file: AtomicFileWriter
    private var buffer = ByteWriter(capacity: 2 << 20)
    private var failure: Error?

    init(_ file: AtomicFileWriter) { self.file = file }

    var count: Int { file.written + skipped + buffer.count }

    mutating func raw(_ b: [UInt8]) {
        buffer.raw(b)
        if buffer.count >= 2 << 20 { drain() }
    }

    mutating func u16(_ v: UInt16) { buffer.u16(v) }
    mutating func u32(_ v: UInt32) { buffer.u32(v) }

    private mutating func drain() {
        if failure == nil {
            do { try buffer.bytes.withUnsafeBytes { try file.write($0) } } catch { failure = error }
        }
        // Offsets stay right after a failure (`count` must keep growing), but nothing is written.
        if failure != nil { skipped += buffer.count }
        buffer.bytes.removeAll(keepingCapacity: true)
    }
    /// Bytes dropped after a write failed (so `count` still gives each block its offset).
    private var skipped = 0

    /// Writes the rest, fsyncs and renames the file into place (or removes it and throws).
    mutating func finish() throws {
        drain()
        if let failure {
            file.abandon()
            throw failure
        }
        try file.commit()
    }
}
