import Foundation
import LLMTraceModel
import LLMTraceStore

/// A valid segment with fuzzer-chosen bytes overwritten: opening, reading and verifying must fail
/// cleanly with a StoreError or succeed, never crash.
nonisolated(unsafe) var pristine: [UInt8] = []

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let dir = NSTemporaryDirectory() + "fuzz-seg-\(getpid())"
    if pristine.isEmpty {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var spans: [Span] = []
        for i in 1...50 {
            var s = Span(traceID: TraceID(hi: 1, lo: UInt64(i % 7 + 1)), spanID: SpanID(UInt64(i)), name: "op \(i % 3)",
                         kind: .llm, startNanos: Int64(i) * 1000, endNanos: Int64(i) * 1000 + 500)
            s.inputMessages = [Message(role: "user", content: "question \(i)\n\nshared context paragraph")]
            s.costUSD = Double(i) / 1000
            spans.append(s)
        }
        let summary = try! SegmentWriter().write(spans: spans, id: 1, maxWALFile: 1, directory: dir)
        pristine = try! FileIO.readFile(summary.path)
    }
    guard let data, size >= 4 else { return 0 }
    var bytes = pristine
    // Each 4 input bytes: a 3-byte offset and a value to write there.
    var i = 0
    while i + 4 <= size {
        let off = (Int(data[i]) | Int(data[i + 1]) << 8 | Int(data[i + 2]) << 16) % bytes.count
        bytes[off] = data[i + 3]
        i += 4
    }
    let path = dir + "/0000000000000002.seg"
    try! FileIO.replaceFile(path, with: bytes)
    if let r = try? SegmentReader(path: path) {
        _ = r.verify()
        _ = try? r.allSpans()
        _ = try? r.spans(rows: 0..<min(3, r.rowCount))
    }
    return 0
}
