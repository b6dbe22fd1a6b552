import LLMTraceHTTP
import LLMTraceStore

/// Request bodies with a Content-Encoding, decoded with the collector's cap (here 64 KiB). The
/// first input byte picks the header and how the rest becomes the body:
/// - 0-4: the rest as sent, with `gzip`, `x-gzip`, `deflate`, `identity` or an unknown encoding;
/// - 5: the rest gzip-compressed here; 6: zlib-compressed (deflate as RFC 9110 has it);
/// - 7: the rest repeated to 256 KiB and gzip-compressed (a small bomb).
/// Properties: the body decodes or the error is 400, 413 or 415; a decoded body never exceeds the
/// cap; what was compressed here comes back byte for byte when it fits, and is a 413 when not.
let limit = 64 * 1024

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 1 else { return 0 }
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let mode = data[0] % 8
    var original: [UInt8]? = nil
    let encoding: String
    var body = rest
    switch mode {
    case 0: encoding = "gzip"
    case 1: encoding = "x-gzip"
    case 2: encoding = "deflate"
    case 3: encoding = "identity"
    case 4: encoding = "br"
    case 5: encoding = "gzip"; original = rest; body = BodyDecoding.gzip(rest, level: 1)
    case 6: encoding = "deflate"; original = rest; body = Zlib.compress(rest, level: 1)
    default:
        guard !rest.isEmpty else { return 0 }
        var big: [UInt8] = []
        big.reserveCapacity(1 << 18)
        while big.count < 1 << 18 { big += rest.prefix((1 << 18) - big.count) }
        encoding = "gzip"; original = big; body = BodyDecoding.gzip(big, level: 1)
    }
    let req = HTTPRequest(method: "POST", target: "/v1/traces", headers: [("content-encoding", encoding)], body: body)
    do {
        let out = try BodyDecoding.decodedBody(req, limit: limit)
        if encoding != "identity" { precondition(out.count <= limit, "decoded body over the cap") }
        if let original { precondition(out == original, "compressed body did not decode to what was compressed") }
        if mode == 3 { precondition(out == body) }
    } catch {
        precondition([400, 413, 415].contains(error.status), "status \(error.status)")
        if let original { precondition(original.count > limit && error.status == 413, "a body within the cap was refused: \(error)") }
        if mode == 4 { precondition(error.status == 415) }
    }
    return 0
}
