@_spi(Fuzzing) import LLMTrace

/// Any bytes as what the Swift SDK reads from servers: an OpenAI-compatible request, answer and
/// server-sent-event stream (chat, responses, embeddings), and the collector's HTTP response on
/// the exporter's own keep-alive connection (status line, headers, Content-Length or chunked
/// body). Every read must end in a value or an error: no crash, no hang, no unbounded memory.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    SDKFuzzing.openAI(bytes)
    if let status = SDKFuzzing.httpResponse(bytes) {
        precondition((0...999).contains(status), "a status outside three digits: \(status)")
    }
    return 0
}
