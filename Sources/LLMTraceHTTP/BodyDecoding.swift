import CZlib

/// `Content-Encoding` of request bodies: identity, gzip and deflate (zlib-wrapped, or raw as some
/// clients send it), inflated with a cap so a small compressed bomb cannot take the memory.
public enum BodyDecoding {
    /// The body of `request` decoded per its `Content-Encoding`. Throws 415 for an unknown encoding,
    /// 400 for corrupt data and 413 when the decoded body would exceed `limit` bytes.
    /// `reserve` is asked before the decoded buffer grows by that many bytes (the collector's
    /// budget of decoded bytes in flight): false stops with a 503.
    public static func decodedBody(_ request: HTTPRequest, limit: Int, reserve: ((Int) -> Bool)? = nil) throws(HTTPError) -> [UInt8] {
        guard let enc = request.header("content-encoding")?.lowercased(), enc != "identity", !enc.isEmpty else {
            return request.body
        }
        switch enc {
        case "gzip", "x-gzip": return try inflate(request.body, windowBits: 15 + 16, limit: limit, name: "gzip", reserve: reserve)
        case "deflate":
            // RFC 9110 says zlib format; some clients send raw deflate. The zlib header tells them apart.
            if let b = request.body.first, b & 0x0F == 8, request.body.count >= 2,
               (UInt16(request.body[0]) << 8 | UInt16(request.body[1])) % 31 == 0 {
                return try inflate(request.body, windowBits: 15, limit: limit, name: "deflate", reserve: reserve)
            }
            return try inflate(request.body, windowBits: -15, limit: limit, name: "deflate", reserve: reserve)
        default:
            throw HTTPError(415, "unsupported Content-Encoding '\(enc)' (gzip, deflate or identity)")
        }
    }

    static let overBudget = HTTPError(503, "the server is decoding too many compressed request bodies at once; retry shortly")

    static func inflate(_ input: [UInt8], windowBits: Int32, limit: Int, name: String,
                        reserve: ((Int) -> Bool)? = nil) throws(HTTPError) -> [UInt8] {
        if input.isEmpty { throw HTTPError(400, "empty \(name) body") }
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw HTTPError(500, "zlib inflateInit failed")
        }
        defer { inflateEnd(&stream) }
        let initial = min(limit + 1, max(4096, input.count * 4))
        if let reserve, !reserve(initial) { throw overBudget }
        var out = [UInt8](repeating: 0, count: initial)
        var produced = 0
        var rc: Int32 = Z_OK
        var failure: HTTPError? = nil
        input.withUnsafeBufferPointer { inp in
            stream.next_in = UnsafeMutablePointer(mutating: inp.baseAddress!)
            stream.avail_in = UInt32(inp.count)
            while true {
                if produced == out.count {
                    if out.count > limit { failure = HTTPError(413, "decoded request body is over the limit of \(limit) bytes"); return }
                    let grow = min(out.count, limit + 1 - out.count)
                    if let reserve, !reserve(grow) { failure = overBudget; return }
                    out.append(contentsOf: repeatElement(0, count: grow))
                }
                rc = out.withUnsafeMutableBufferPointer { o -> Int32 in
                    stream.next_out = o.baseAddress! + produced
                    stream.avail_out = UInt32(o.count - produced)
                    let r = CZlib.inflate(&stream, Z_NO_FLUSH)
                    produced = o.count - Int(stream.avail_out)
                    return r
                }
                if rc == Z_STREAM_END { return }
                if rc == Z_BUF_ERROR && stream.avail_in == 0 { failure = HTTPError(400, "truncated \(name) body"); return }
                if rc != Z_OK && rc != Z_BUF_ERROR { failure = HTTPError(400, "corrupt \(name) body (zlib code \(rc))"); return }
            }
        }
        if let failure { throw failure }
        if produced > limit { throw HTTPError(413, "decoded request body is over the limit of \(limit) bytes") }
        out.removeSubrange(produced...)
        return out
    }

    /// Gzip-compresses `input` (for clients: the ingest benchmark, tests).
    public static func gzip(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        precondition(deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        var input = input
        let produced = input.withUnsafeMutableBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o -> Int in
                stream.next_in = inp.baseAddress
                stream.avail_in = UInt32(inp.count)
                stream.next_out = o.baseAddress
                stream.avail_out = UInt32(o.count)
                let rc = deflate(&stream, Z_FINISH)
                precondition(rc == Z_STREAM_END, "deflate: \(rc)")
                return o.count - Int(stream.avail_out)
            }
        }
        out.removeSubrange(produced...)
        return out
    }
}
