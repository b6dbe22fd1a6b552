import LLMTraceIngest
import LLMTraceModel

let ingest = Ingest()

/// Any bytes as an OTLP/JSON ExportTraceServiceRequest: decoding and mapping must return spans and
/// rejections or an OTLPDecodeError, never crash, hang or allocate without bound; every accepted
/// span has valid ids and times and survives the native JSON round trip.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let r = try? ingest.spans(json: bytes) {
        for s in r.spans {
            precondition(s.endNanos >= s.startNanos && s.startNanos > 0 && !s.traceID.isZero && !s.spanID.isZero, "an invalid span was accepted")
            let again = try! Span.decodeJSON(s.jsonBytes())
            precondition(again.jsonBytes() == s.jsonBytes(), "an accepted span does not survive the native JSON round trip")
        }
    }
    return 0
}
