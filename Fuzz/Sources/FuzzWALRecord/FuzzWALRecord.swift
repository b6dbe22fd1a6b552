import Foundation
import LLMTraceModel
import LLMTraceStore

/// WAL files as recovery reads them, with records that pass their CRC, so the span decoder behind
/// the frame is what gets fuzzed. The first input byte picks how the rest becomes a file:
///
/// - even: records given by the input, `[u16 length][payload]` each, framed here with their true
///   length and CRC (a length past the end takes what is left); an odd second byte appends the
///   remaining bytes unframed (a torn or garbage tail);
/// - odd: a real WAL file (written by `WAL` from synthetic spans at start-up) whose record payloads
///   get the input's overwrites, 3 bytes each (a 16-bit offset into the payloads and a value),
///   and then their CRCs recomputed.
///
/// Properties: the scan never crashes and never claims more than the file; when every record was
/// framed correctly and decodes it reaches the end; every decoded record re-encodes to bytes that
/// decode to the same encoding (a decoded span is one the encoder can write back unchanged).
/// `FUZZ_WRITE_SEEDS=DIR` writes the real file's records in the even form as seeds and exits.
nonisolated(unsafe) var pristinePayloads: [[UInt8]] = []
nonisolated(unsafe) var scratchDir = ""

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    scratchDir = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()) + "fuzz-wal-\(getpid())"
    try! FileManager.default.createDirectory(atPath: scratchDir, withIntermediateDirectories: true)
    pristinePayloads = realRecords()
    if let dir = ProcessInfo.processInfo.environment["FUZZ_WRITE_SEEDS"] {
        for (i, p) in pristinePayloads.enumerated() where p.count < 65536 {
            var seed: [UInt8] = [0, 0]
            seed += [UInt8(p.count & 0xFF), UInt8(p.count >> 8)] + p
            try! FileIO.replaceFile(dir + "/real-record-\(i).bin", with: seed)
        }
        var all: [UInt8] = [0, 0]
        for p in pristinePayloads where p.count < 65536 { all += [UInt8(p.count & 0xFF), UInt8(p.count >> 8)] + p }
        try! FileIO.replaceFile(dir + "/real-file.bin", with: all)
        exit(0)
    }
    return 0
}

/// The record payloads of a WAL file written by the real writer: several batches of synthetic
/// spans with messages, documents, attributes and events, so later records refer to texts
/// interned by earlier ones.
func realRecords() -> [[UInt8]] {
    let dir = scratchDir + "/real"
    try? FileManager.default.removeItem(atPath: dir)
    let wal = try! WAL(directory: dir, fileNumber: 1, lastSeq: 0)
    for b in 0..<6 {
        var batch: [Span] = []
        for i in 0..<(1 + b) {
            var s = Span(traceID: TraceID(hi: 1, lo: UInt64(b)), spanID: SpanID(UInt64(b * 10 + i + 1)), parentSpanID: SpanID(i == 0 ? 0 : 1),
                         service: "chat", name: "op \(i)", kind: i == 0 ? .agent : .llm,
                         startNanos: 1_767_225_600_000_000_000 + Int64(b * 1000 + i), endNanos: 1_767_225_600_000_000_000 + Int64(b * 1000 + i) + 5_000_000,
                         status: i == 2 ? .error : .ok)
            s.requestModel = "gpt-4o"
            s.inputTokens = Int64(100 * i)
            s.costUSD = Double(i) / 1000
            s.sessionID = "sess-\(b % 2)"
            s.inputMessages = [Message(role: "system", content: "You are a support agent.\n\nBe brief."), Message(role: "user", content: "question \(b)")]
            s.outputMessages = [Message(role: "assistant", content: "answer \(i)")]
            if i == 1 { s.documents = [RetrievedDocument(id: "doc-\(b)", content: "refund policy paragraph", score: 0.5)] }
            s.attributes = [Attribute("app.tier", .string("gold")), Attribute("n", .int(Int64(i))), Attribute("list", .array([.double(1.5), .bool(true)]))]
            s.events = [SpanEvent(name: "first_token", timeNanos: s.startNanos + 10, attributes: [Attribute("k", .bool(false))])]
            s.tags = ["t\(i)"]
            batch.append(s)
        }
        try! wal.append(batch)
    }
    wal.close()
    let file = try! FileIO.readFile(dir + "/" + WALFile.name(1))
    var out: [[UInt8]] = []
    var pos = WALFile.headerSize
    while pos + WALFile.frameSize <= file.count {
        let len = Int(file[pos]) | Int(file[pos + 1]) << 8 | Int(file[pos + 2]) << 16 | Int(file[pos + 3]) << 24
        out.append(Array(file[(pos + WALFile.frameSize)..<(pos + WALFile.frameSize + len)]))
        pos += WALFile.frameSize + len
    }
    precondition(pos == file.count && out.count == 6, "the real WAL file did not parse")
    return out
}

func frame(_ payload: [UInt8], into file: inout [UInt8]) {
    let n = UInt32(payload.count)
    let crc = payload.withUnsafeBytes { Checksum.crc32($0) }
    for v in [n, crc] { withUnsafeBytes(of: v.littleEndian) { file.append(contentsOf: $0) } }
    file += payload
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 2 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    var file = WALFile.header(number: 1)
    var framedEnd = file.count
    var allFramed = true
    if input[0] & 1 == 0 {
        var pos = 2
        while pos + 2 <= size {
            let n = min(Int(input[pos]) | Int(input[pos + 1]) << 8, size - pos - 2)
            frame(Array(input[(pos + 2)..<(pos + 2 + n)]), into: &file)
            pos += 2 + n
        }
        framedEnd = file.count
        if input[1] & 1 == 1 && pos < size {
            file += input[pos...]
            allFramed = false
        }
    } else {
        var payloads = pristinePayloads
        let total = payloads.reduce(0) { $0 + $1.count }
        var i = 1
        while i + 3 <= size {
            var off = (Int(input[i]) | Int(input[i + 1]) << 8) % total
            var r = 0
            while off >= payloads[r].count { off -= payloads[r].count; r += 1 }
            payloads[r][off] = input[i + 2]
            i += 3
        }
        for p in payloads { frame(p, into: &file) }
        framedEnd = file.count
    }
    let path = scratchDir + "/" + WALFile.name(1)
    try! FileIO.replaceFile(path, with: file)
    var problemSeen = false
    let scan = try! WALReader.scan(path: path, number: 1) { rec in
        // Re-encode the decoded spans; the encoding must decode to the same encoding.
        var interner = TextInterner()
        var w = ByteWriter(capacity: 256)
        for s in rec.spans { SpanBinaryCodec.encode(s, into: &w, texts: &interner) }
        interner.commit()
        let texts = interner.strings
        var again = ByteWriter(capacity: w.count)
        var interner2 = TextInterner()
        w.bytes.withUnsafeBytes { p in
            var r = ByteReader(p)
            for _ in rec.spans {
                guard let s = SpanBinaryCodec.decode(&r, texts: texts) else { problemSeen = true; return }
                SpanBinaryCodec.encode(s, into: &again, texts: &interner2)
            }
            precondition(r.isAtEnd, "re-encoded record has trailing bytes")
        }
        precondition(again.bytes == w.bytes, "a decoded span does not re-encode to the same bytes")
    }
    precondition(!problemSeen, "a re-encoded span does not decode")
    precondition(scan.validEnd <= file.count && scan.validEnd >= WALFile.headerSize)
    precondition(scan.problem != nil || scan.validEnd == file.count, "scan stopped early without a reason")
    if allFramed && scan.problem == nil { precondition(scan.validEnd == framedEnd) }
    return 0
}
