import LLMTraceHTTP

/// Any bytes as a request stream, fed in two pieces split where the first byte says: the parser
/// must return requests, ask for more, or throw an HTTPError with a 4xx/5xx status, never crash.
/// The requests must not depend on where the stream was split.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var limits = HTTPParser.Limits()
    limits.maxHeaderBytes = 4096
    limits.maxBodyBytes = 65536
    func run(_ pieces: [ArraySlice<UInt8>]) -> ([String], Int?) {
        var p = HTTPParser(limits: limits)
        var out: [String] = []
        for piece in pieces {
            p.feed(Array(piece))
            do {
                while let r = try p.next() { out.append("\(r.method) \(r.target) \(r.body.count) \(r.keepAlive)") }
            } catch {
                precondition((400...599).contains(error.status), "status \(error.status)")
                return (out, error.status)
            }
        }
        return (out, nil)
    }
    let cut = min(Int(bytes[0]), bytes.count)
    let whole = run([bytes[...]])
    let split = run([bytes[..<cut], bytes[cut...]])
    precondition(whole.0 == split.0 && whole.1 == split.1, "the result depends on the split")
    return 0
}
