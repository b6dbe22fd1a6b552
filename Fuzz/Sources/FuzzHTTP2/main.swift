import LLMTraceHTTP

/// Any bytes as what a client sends after the HTTP/2 preface, cut at an input-derived width, with
/// every request answered at once (a body, trailers): the server connection must return events or
/// end the connection with a GOAWAY, never crash; whatever it writes must read back as well-formed
/// frames whose header blocks decode; and it must hold no more streams than its limit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 1 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var limits = HTTP2ServerConnection.Limits()
    limits.maxConcurrentStreams = 8
    limits.maxBodyBytes = 4096
    limits.maxHeaderListSize = 4096
    var server = HTTP2ServerConnection(limits: limits)
    let step = Int(bytes[0]) + 1
    var written: [UInt8] = []
    var input = HTTP2Frame.clientPreface + bytes.dropFirst()
    var i = 0
    while i < input.count && !server.closed {
        let events = server.receive(input[i..<min(input.count, i + step)])
        i += step
        for e in events {
            if case .request(let r) = e {
                server.respond(stream: r.stream, headers: [HPACKHeader(":status", "200")], body: GRPCMessage.frame(Array(r.body.prefix(64))),
                               trailers: [HPACKHeader("grpc-status", "0")])
            }
        }
        precondition(server.openStreams <= 8, "more streams than the limit")
        written += server.takeOutput()
    }
    input = []
    // What the server wrote reads back as frames, its header blocks decoding in order.
    var reader = HTTP2FrameReader(maxFrameSize: 1 << 24)
    reader.feed(written)
    var decoder = HPACKDecoder(maxTableSize: 4096, maxHeaderListSize: 1 << 20)
    do {
        while let f = try reader.next() {
            if f.kind == .headers || f.kind == .continuation {
                // The server's blocks fit one frame each here (no CONTINUATION needed at 16 KiB).
                if f.kind == .headers { _ = try decoder.decode(f.payload[...]) }
            }
        }
    } catch {
        preconditionFailure("the server wrote a frame that does not read back: \(error)")
    }
    precondition(reader.buffered == 0, "the server wrote a partial frame")
    return 0
}
