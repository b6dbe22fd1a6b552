import LLMTraceModel

/// Reads WAL files back: recovery replay (which truncates a torn or corrupt tail) and verification
/// (which only reports).
public enum WALReader {
    /// One decoded record.
    public struct Record {
        public var seq: UInt64
        public var spans: [Span]
    }

    /// What a scan of one file found.
    public struct FileScan {
        public var path: String
        public var number: UInt64
        public var records: Int = 0
        public var spans: Int = 0
        public var firstSeq: UInt64 = 0
        public var lastSeq: UInt64 = 0
        /// Offset just past the last good record.
        public var validEnd: Int = 0
        public var size: Int = 0
        /// Why the scan stopped before the end of the file, if it did.
        public var problem: String?
    }

    /// Scans one file, handing each good record to `onRecord`, and stops at the first bad one.
    public static func scan(path: String, number: UInt64, onRecord: (Record) throws -> Void) throws -> FileScan {
        let data = try FileIO.readFile(path)
        var result = FileScan(path: path, number: number)
        result.size = data.count
        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            guard buf.count >= WALFile.headerSize else {
                result.problem = "file shorter than its \(WALFile.headerSize)-byte header"
                return
            }
            var h = ByteReader(buf)
            let magic = h.bytes(4)
            guard magic.elementsEqual(WALFile.magic) else { result.problem = "bad magic"; return }
            let version = h.u32()
            guard version == WALFile.version else { result.problem = "unsupported WAL version \(version)"; return }
            let fileNo = h.u64()
            guard fileNo == number else { result.problem = "header says file \(fileNo), name says \(number)"; return }
            var texts: [String] = []
            var pos = WALFile.headerSize
            result.validEnd = pos
            while pos < buf.count {
                guard pos + WALFile.frameSize <= buf.count else { result.problem = "torn record header"; return }
                var f = ByteReader(buf, at: pos)
                let len = Int(f.u32())
                let crc = f.u32()
                guard len > 0, len <= WALFile.maxRecordSize else { result.problem = "invalid record length \(len)"; return }
                guard pos + WALFile.frameSize + len <= buf.count else { result.problem = "torn record (\(len) bytes declared, \(buf.count - pos - WALFile.frameSize) present)"; return }
                let payload = UnsafeRawBufferPointer(rebasing: buf[(pos + WALFile.frameSize)..<(pos + WALFile.frameSize + len)])
                guard Checksum.crc32(payload) == crc else { result.problem = "CRC mismatch"; return }
                var r = ByteReader(payload)
                guard r.u8() == WALFile.recordSpanBatch else { result.problem = "unknown record type"; return }
                let seq = r.u64()
                let textsBefore = texts.count
                let nTexts = r.count(limit: r.remaining)
                for _ in 0..<nTexts {
                    texts.append(r.string())
                    if r.failed { break }
                }
                let nSpans = r.count(limit: r.remaining)
                var spans: [Span] = []
                spans.reserveCapacity(nSpans)
                for _ in 0..<nSpans {
                    guard let s = SpanBinaryCodec.decode(&r, texts: texts) else { break }
                    spans.append(s)
                }
                guard !r.failed, spans.count == nSpans, r.isAtEnd else {
                    texts.removeSubrange(textsBefore...)
                    result.problem = "record passes its CRC but does not decode"
                    return
                }
                if result.records == 0 { result.firstSeq = seq }
                guard result.records == 0 || seq > result.lastSeq else {
                    result.problem = "sequence number \(seq) after \(result.lastSeq)"
                    return
                }
                try onRecord(Record(seq: seq, spans: spans))
                result.records += 1
                result.spans += nSpans
                result.lastSeq = seq
                pos += WALFile.frameSize + len
                result.validEnd = pos
            }
        }
        return result
    }

    /// WAL files in `directory`, by number.
    public static func files(in directory: String) -> [(number: UInt64, path: String)] {
        FileIO.list(directory).compactMap { name in
            WALFile.number(fromName: name).map { ($0, directory + "/" + name) }
        }.sorted { $0.number < $1.number }
    }
}
