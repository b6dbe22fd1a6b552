import LLMTraceIngest

let ingest = Ingest()

/// Any bytes as an OTLP ExportTraceServiceRequest: decoding and mapping must return spans and
/// rejections or an OTLPDecodeError, never crash, hang or allocate without bound.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let r = try? ingest.spans(protobuf: bytes) {
        for s in r.spans { precondition(s.endNanos >= s.startNanos && !s.traceID.isZero && !s.spanID.isZero, "an invalid span was accepted") }
    }
    return 0
}
