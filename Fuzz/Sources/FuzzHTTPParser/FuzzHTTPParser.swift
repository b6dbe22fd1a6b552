import LLMTraceHTTP

/// Any bytes as a request stream on one connection. The parser must return requests, ask for
/// more, or throw an HTTPError with a 4xx/5xx status, never crash; and what it returns must not
/// depend on how the stream arrived. The stream is fed whole, one byte at a time, and in three
/// pieces cut at points derived from the input's hash (so every position gets cut, not only the
/// request line), and the three runs must agree on every request (method, target, version, every
/// header, body bytes, keep-alive), on the error (status and message), on `100 Continue` requests
/// and on what is left buffered at the end.
struct Run: Equatable {
    var requests: [String] = []
    var error: HTTPError?
    var continues = 0
    var midRequest = false
    var buffered = 0
}

let limits: HTTPParser.Limits = {
    var l = HTTPParser.Limits()
    l.maxHeaderBytes = 4096
    l.maxHeaderCount = 32
    l.maxBodyBytes = 65536
    return l
}()

func describe(_ r: HTTPRequest) -> String {
    var s = "\(r.method) \(r.target) 1.\(r.versionMinor) keepAlive=\(r.keepAlive)"
    for h in r.headers { s += "\n\(h.name): \(h.value)" }
    s += "\nbody \(r.body.count): \(r.body)"
    return s
}

/// `absorb`: as the event loop does, `absorb()` after each piece (head parsed and body moved
/// early); the requests, the error and what is left must not change.
func run(_ bytes: [UInt8], cuts: [Int], absorb: Bool = false) -> Run {
    var p = HTTPParser(limits: limits)
    var out = Run()
    var from = 0
    for cut in cuts + [bytes.count] where cut >= from {
        p.feed(Array(bytes[from..<cut]))
        if absorb { p.absorb() }
        from = cut
        if p.wantsContinue { out.continues += 1; p.continueSent() }
        do {
            while let r = try p.next() {
                precondition(r.body.count <= limits.maxBodyBytes, "body over the limit")
                out.requests.append(describe(r))
                if p.wantsContinue { out.continues += 1; p.continueSent() }
            }
            if p.wantsContinue { out.continues += 1; p.continueSent() }
        } catch {
            precondition((400...599).contains(error.status), "status \(error.status)")
            out.error = error
            return out
        }
    }
    out.midRequest = p.isMidRequest
    out.buffered = p.bufferedBytes
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var h: UInt64 = 0xcbf29ce484222325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
    let a = Int(h % UInt64(size + 1)), b = Int((h >> 32) % UInt64(size + 1))
    let whole = run(bytes, cuts: [])
    let pieces = run(bytes, cuts: [min(a, b), max(a, b)], absorb: h & 1 == 1)
    precondition(whole.requests == pieces.requests && whole.error == pieces.error, "the result depends on where the stream was cut (\(a), \(b)):\n\(whole)\nvs\n\(pieces)")
    if size <= 8192 {
        let single = run(bytes, cuts: Array(1..<size), absorb: h & 2 == 2)
        precondition(whole.requests == single.requests && whole.error == single.error, "byte-at-a-time differs:\n\(whole)\nvs\n\(single)")
        // Whether a 100 Continue goes out depends on whether the body had arrived with the head;
        // fed one byte at a time it never has, so every request that asked gets one.
        if whole.error == nil {
            precondition(whole.buffered == single.buffered && whole.midRequest == single.midRequest, "leftover differs")
            precondition(single.continues >= whole.continues, "fewer 100 Continue byte-at-a-time")
        }
    }
    return 0
}
