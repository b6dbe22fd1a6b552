import LLMTraceModel

/// Any bytes: decoding must return a span or a SpanDecodingError, never crash or hang; a decoded span
/// must survive encode -> decode unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let span = try? Span.decodeJSON(bytes) {
        let again = try! Span.decodeJSON(span.jsonBytes())
        precondition(again == span, "JSON round trip changed a span")
    }
    return 0
}
