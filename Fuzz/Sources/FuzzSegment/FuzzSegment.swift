import Foundation
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore

/// A real segment (and its postings file) with fuzzer-chosen changes, read every way the store and
/// the query engine read one: open, verify, every row, every column, attributes, postings, text
/// search and queries. Everything must succeed or throw an error; nothing may trap.
///
/// The first input byte picks where the changes go and which checksums are then made to match, so
/// the fuzzer gets past each CRC to the parser behind it (the footer layout is parsed here, from
/// FORMAT.md, to find the blocks):
/// - 0: raw overwrites anywhere (the CRCs must catch them);
/// - 1: overwrites in the footer and trailer, footer CRC recomputed;
/// - 2: overwrites in the column and text data, every block CRC and the footer CRC recomputed;
/// - 3: one compressed block (dictionary, details or text) decoded, overwritten, cut or
///   extended, recompressed (LZ4, the segment's codec) and appended with its footer entry and the
///   footer CRC updated;
/// - 4: overwrites in the postings file (hashes, rows and the term section), its CRC recomputed.
/// The rest of the input is overwrites: 4 bytes each (a 3-byte offset into the region, a value).
nonisolated(unsafe) var pristine: [UInt8] = []
nonisolated(unsafe) var pristinePostings: [UInt8] = []
nonisolated(unsafe) var layout = Layout()
nonisolated(unsafe) var dir = ""
nonisolated(unsafe) var matchHashes: Set<Int64> = []

struct BlockRef {
    var offset: Int
    var stored: Int
    var compressed: Bool
    /// Where, in the footer, the block's offset, sizes and CRC fields start.
    var entryAt: Int
    /// Offset of the CRC field in the footer.
    var crcAt: Int
}

struct Layout {
    var footerStart = 0
    var footerLen = 0
    var blocks: [BlockRef] = []
}

func u32(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24 }
func u64(_ b: [UInt8], _ at: Int) -> Int { u32(b, at) | u32(b, at + 4) << 32 }
func put32(_ b: inout [UInt8], _ at: Int, _ v: Int) { for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
func put64(_ b: inout [UInt8], _ at: Int, _ v: Int) { put32(&b, at, v & 0xFFFF_FFFF); put32(&b, at + 4, v >> 32) }
func crc(_ b: ArraySlice<UInt8>) -> Int { Int(b.withUnsafeBytes { Checksum.crc32($0) }) }

/// The footer of a well-formed segment, as FORMAT.md lays it out.
func parseLayout(_ b: [UInt8]) -> Layout {
    var l = Layout()
    l.footerLen = u32(b, b.count - 12)
    l.footerStart = b.count - 12 - l.footerLen
    var p = l.footerStart + 8 + 4 + 8 + 8 + 8 + 8 + 4
    func varint() -> Int {
        var v = 0, shift = 0
        while true { let x = b[p]; p += 1; v |= Int(x & 0x7F) << shift; if x < 0x80 { return v }; shift += 7 }
    }
    func block(compressed: Bool, hasRaw: Bool = true) {
        let at = p
        let crcAt = p + 8 + 4 + (hasRaw ? 4 : 0)
        l.blocks.append(BlockRef(offset: u64(b, p), stored: u32(b, p + 8), compressed: compressed, entryAt: at - l.footerStart, crcAt: crcAt - l.footerStart))
        p = crcAt + 4
    }
    let nCols = varint()
    for _ in 0..<nCols {
        p += 2
        let enc = b[p]
        p += 2 + 1 + 16
        if enc == SegmentFormat.Encoding.dictionary.rawValue {
            block(compressed: true)
            p += 4
        }
        let nb = varint()
        for _ in 0..<nb { block(compressed: enc == SegmentFormat.Encoding.compressedBlobs.rawValue) }
    }
    _ = varint()
    block(compressed: false, hasRaw: false)
    let ntb = varint()
    for _ in 0..<ntb { p += 4; block(compressed: true) }
    precondition(p == l.footerStart + l.footerLen, "footer layout parse disagrees with the writer")
    return l
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    dir = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()) + "fuzz-seg-\(getpid())"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var spans: [Span] = []
    for i in 1...120 {
        var s = Span(traceID: TraceID(hi: 1, lo: UInt64(i % 7 + 1)), spanID: SpanID(UInt64(i)), parentSpanID: SpanID(i % 7 == 0 ? 0 : 7),
                     project: i % 5 == 0 ? "other" : "default", service: ["chat", "search", "agent"][i % 3], name: "op \(i % 3)",
                     kind: i % 4 == 0 ? .retrieval : .llm, startNanos: 1_767_225_600_000_000_000 + Int64(i) * 1_000_000,
                     endNanos: 1_767_225_600_000_000_000 + Int64(i) * 1_000_000 + Int64(i % 50) * 1_000_000, status: i % 9 == 0 ? .error : .ok)
        if i % 2 == 0 { s.requestModel = ["gpt-4o", "claude-3-5-sonnet"][i % 4 / 2] }
        if i % 3 != 0 { s.inputTokens = Int64(i); s.outputTokens = Int64(i % 100) }
        if i % 4 != 1 { s.costUSD = Double(i) / 1e5 }
        if i % 10 == 0 { s.userID = "user-\(i % 13)"; s.sessionID = "sess-\(i % 17)" }
        if i % 9 == 0 { s.statusMessage = "timeout \(i % 4)" }
        s.inputMessages = [Message(role: "user", content: "question \(i % 40)\n\nshared context paragraph about the refund policy")]
        if i % 4 == 0 { s.documents = [RetrievedDocument(id: "doc-\(i % 30)", content: "refund policy chunk \(i % 30)", score: Double(i % 10) / 10)] }
        s.attributes = [Attribute("app.tier", .string(i % 2 == 0 ? "gold" : "free")), Attribute("app.retries", .int(Int64(i % 3)))]
        if i % 6 == 0 { s.events = [SpanEvent(name: "exception", timeNanos: s.startNanos + 1, attributes: [Attribute("exception.type", .string("Timeout"))])] }
        spans.append(s)
    }
    let summary = try! SegmentWriter(compression: .lz4, rowsPerBlock: 32).write(spans: spans, id: 1, maxWALFile: 1, directory: dir)
    pristine = try! FileIO.readFile(summary.path)
    let reader = try! SegmentReader(path: summary.path)
    let inputs = try! reader.textIndexInputs()
    try! reader.writePostings(inputs)
    pristinePostings = try! FileIO.readFile(TextPostingsFile.path(ofSegment: summary.path))
    matchHashes = Set(inputs.texts.filter { $0.contains("refund") }.map { TextHash.hash($0) })
    layout = parseLayout(pristine)
    precondition(reader.verify().isEmpty)
    return 0
}

func overwrite(_ bytes: inout [UInt8], _ region: Range<Int>, _ input: UnsafeBufferPointer<UInt8>) {
    guard !region.isEmpty else { return }
    var i = 1
    while i + 4 <= input.count {
        let off = (Int(input[i]) | Int(input[i + 1]) << 8 | Int(input[i + 2]) << 16) % region.count
        bytes[region.lowerBound + off] = input[i + 3]
        i += 4
    }
}

func fixFooterCRC(_ b: inout [UInt8], footerStart: Int, footerLen: Int) {
    put32(&b, b.count - 8, crc(b[footerStart..<(footerStart + footerLen)]))
}

let queries = [
    "SELECT model, count(), sum(cost_usd), p95(duration_ms) FROM spans GROUP BY 1",
    "SELECT service, kind, avg(error), max(input_tokens) FROM spans WHERE start > '2026-01-01T00:00:00Z' GROUP BY 1, 2",
    "SELECT trace_id, name, spans, cost_usd, session_id FROM traces ORDER BY cost_usd DESC LIMIT 5",
    "SELECT attr['app.tier'], count(), sum(attr['app.retries']) FROM spans GROUP BY 1",
    "SELECT trace_id, span_id, status_message FROM spans WHERE text MATCH 'refund' AND user_id IS NOT NULL LIMIT 20",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 1 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    var bytes = pristine
    var postings = pristinePostings
    let f = layout
    switch input[0] % 5 {
    case 0:
        overwrite(&bytes, 0..<bytes.count, input)
    case 1:
        overwrite(&bytes, f.footerStart..<(bytes.count - 4), input)
        let len = u32(bytes, bytes.count - 12)
        if len > 0, len <= bytes.count - 12 - SegmentFormat.headerSize { fixFooterCRC(&bytes, footerStart: bytes.count - 12 - len, footerLen: len) }
    case 2:
        overwrite(&bytes, SegmentFormat.headerSize..<f.footerStart, input)
        for blk in f.blocks { put32(&bytes, f.footerStart + blk.crcAt, crc(bytes[blk.offset..<(blk.offset + blk.stored)])) }
        fixFooterCRC(&bytes, footerStart: f.footerStart, footerLen: f.footerLen)
    case 3:
        let compressed = f.blocks.filter(\.compressed)
        guard size >= 3 else { return 0 }
        let blk = compressed[Int(input[1]) % compressed.count]
        let raw = u32(bytes, f.footerStart + blk.entryAt + 12)
        // The pristine segment is LZ4 (the default); a block no smaller compressed is stored as it is.
        var inflated = blk.stored == raw ? Array(bytes[blk.offset..<(blk.offset + blk.stored)])
            : try! bytes.withUnsafeBytes { try LZ4Block.decompress(UnsafeRawBufferPointer(rebasing: $0[blk.offset..<(blk.offset + blk.stored)]), size: raw) }
        // Second byte's high bits: cut the block (to a fraction) or grow it by the input's bytes.
        switch input[2] >> 6 {
        case 1: inflated.removeLast(inflated.count * Int(input[2] & 63) / 64)
        case 2: inflated += input[3...]
        default: break
        }
        overwrite(&inflated, 0..<inflated.count, UnsafeBufferPointer(rebasing: input[2...]))
        let packed = LZ4Compressor().compress(inflated)
        var footer = Array(bytes[f.footerStart..<(f.footerStart + f.footerLen)])
        put64(&footer, blk.entryAt, f.footerStart)
        put32(&footer, blk.entryAt + 8, packed.count)
        put32(&footer, blk.entryAt + 12, inflated.count)
        put32(&footer, blk.crcAt, crc(packed[...]))
        bytes = Array(bytes[..<f.footerStart]) + packed + footer + Array(bytes[(bytes.count - 12)...])
        fixFooterCRC(&bytes, footerStart: f.footerStart + packed.count, footerLen: f.footerLen)
    default:
        overwrite(&postings, 0..<(postings.count - 8), input)
        put32(&postings, postings.count - 8, crc(postings[..<(postings.count - 8)]))
    }
    let path = dir + "/" + SegmentFormat.name(1)
    try! FileIO.replaceFile(path, with: bytes)
    try! FileIO.replaceFile(TextPostingsFile.path(ofSegment: path), with: postings)
    guard let r = try? SegmentReader(path: path) else { return 0 }
    _ = r.verify()
    _ = try? r.allSpans()
    _ = try? r.spans(rows: 0..<min(3, r.rowCount))
    _ = try? r.spans(rows: (r.rowCount / 2)..<r.rowCount)
    for c in SegmentFormat.Column.allCases {
        switch SegmentFormat.encoding(of: c) {
        case .dictionary: _ = try? r.dictColumn(c)
        case .float64: _ = try? r.doubleColumn(c)
        case .rawU64, .deltaVarint, .varint, .nullableVarint, .packed, .nullablePacked: _ = try? r.intColumn(c)
        case .traceRuns: _ = try? r.traceIDColumn()
        case .compressedBlobs: _ = try? r.attributeColumns(["app.tier", "db.system"], rows: [0, Int32(r.rowCount - 1)])
        }
    }
    _ = try? r.textIndexInputs()
    _ = try? r.rows(matchingParagraphs: matchHashes)
    // Plain words through the postings file's terms, one term absent, and FTS5 syntax by hashes.
    let hashes = matchHashes
    for q in ["refund policy", "refund zeppelin", "chunk", "refund OR policy"] {
        _ = try? r.rows(matching: TextMatch(query: q, terms: TextMatch.plainTerms(q), fts: { hashes }))
    }
    let engine = QueryEngine(snapshot: { _ in Store.ScanSnapshot(segments: [r], headRows: []) },
                             textMatcher: { q in TextMatch(query: q, terms: TextMatch.plainTerms(q), fts: { hashes }) })
    var limits = QueryEngine.Limits()
    limits.threads = 1
    for q in queries {
        do { _ = try engine.run(q, limits: limits, now: 1_767_232_800_000_000_000) } catch is QueryError {} catch {}
    }
    return 0
}
