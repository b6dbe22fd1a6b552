#if canImport(Glibc)
import Glibc
#endif
import LLMTraceHTTP

/// The ingest bench's gRPC side: one HTTP/2 connection (prior knowledge, cleartext) making unary
/// calls one after another, as an OTLP exporter does, built on the server's own frame and HPACK
/// code and held to the server's windows and frame size. A call's outcome is told as the HTTP
/// bench tells it: 200 for grpc-status 0, 429 for RESOURCE_EXHAUSTED or UNAVAILABLE, -1 when the
/// connection failed, 500 + the grpc-status otherwise.
struct GRPCBenchClient {
    let fd: Int32
    let authority: String
    private var reader = HTTP2FrameReader(maxFrameSize: 1 << 20)
    private var decoder = HPACKDecoder()
    private var peer = HTTP2Settings()
    private var connectionWindow = 65535
    private var nextStream: UInt32 = 1
    private var buf = [UInt8](repeating: 0, count: 65536)

    init?(host: String, port: Int) {
        fd = IngestBench.connect(host: host, port: port)
        guard fd >= 0 else { return nil }
        authority = "\(host):\(port)"
        var hello = HTTP2Frame.clientPreface
        var ours = HTTP2Settings()
        ours.enablePush = false
        ours.initialWindowSize = 1 << 24
        HTTP2Frame(.settings, stream: 0, payload: ours.payload).append(to: &hello)
        // The connection window too: answers are small, but a client keeps it open.
        HTTP2Frame(.windowUpdate, stream: 0, payload: [0x00, 0xFF, 0x00, 0x00]).append(to: &hello)
        guard IngestBench.writeAll(fd, hello) else { close(fd); return nil }
    }

    func shutdown() { close(fd) }

    /// Reads one frame, answering SETTINGS and PING and keeping the windows.
    private mutating func nextFrame(_ streamWindow: inout Int, stream: UInt32) -> HTTP2Frame? {
        while true {
            do {
                if let f = try reader.next() {
                    switch f.kind {
                    case .settings? where !f.flags.contains(.ack):
                        let before = peer.initialWindowSize
                        try? peer.apply(f.payload)
                        streamWindow += peer.initialWindowSize - before
                        var ack: [UInt8] = []
                        HTTP2Frame(.settings, flags: .ack, stream: 0).append(to: &ack)
                        _ = IngestBench.writeAll(fd, ack)
                    case .ping? where !f.flags.contains(.ack):
                        var ack: [UInt8] = []
                        HTTP2Frame(.ping, flags: .ack, stream: 0, payload: f.payload).append(to: &ack)
                        _ = IngestBench.writeAll(fd, ack)
                    case .windowUpdate?:
                        let n = Int(f.payload[0] & 0x7F) << 24 | Int(f.payload[1]) << 16 | Int(f.payload[2]) << 8 | Int(f.payload[3])
                        if f.stream == 0 { connectionWindow += n } else if f.stream == stream { streamWindow += n }
                    default:
                        break
                    }
                    return f
                }
            } catch {
                return nil
            }
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            reader.feed(buf[0..<n])
        }
    }

    /// One unary call: the message framed (flagged compressed, with `grpc-encoding: gzip`, when it
    /// is gzip bytes already), sent as the windows allow, the trailers read.
    mutating func call(path: String, message: [UInt8], gzipped: Bool = false) -> Int {
        let id = nextStream
        nextStream += 2
        var streamWindow = peer.initialWindowSize
        var out: [UInt8] = []
        var block: [UInt8] = []
        HPACKEncoder().encode([HPACKHeader(":method", "POST"), HPACKHeader(":scheme", "http"), HPACKHeader(":path", path),
                               HPACKHeader(":authority", authority), HPACKHeader("content-type", "application/grpc"),
                               HPACKHeader("te", "trailers")] + (gzipped ? [HPACKHeader("grpc-encoding", "gzip")] : []), into: &block)
        HTTP2Frame(.headers, flags: .endHeaders, stream: id, payload: block).append(to: &out)
        guard IngestBench.writeAll(fd, out) else { return -1 }
        var body = GRPCMessage.frame(message)
        if gzipped { body[0] = 1 }
        var sent = 0
        while sent < body.count {
            let n = min(body.count - sent, peer.maxFrameSize, streamWindow, connectionWindow)
            if n <= 0 {
                // Wait for window.
                guard nextFrame(&streamWindow, stream: id) != nil else { return -1 }
                continue
            }
            out = []
            HTTP2Frame(.data, flags: sent + n == body.count ? .endStream : [], stream: id, payload: Array(body[sent..<(sent + n)])).append(to: &out)
            guard IngestBench.writeAll(fd, out) else { return -1 }
            sent += n
            streamWindow -= n
            connectionWindow -= n
        }
        // Read until the stream ends: its HEADERS with END_STREAM carry grpc-status.
        var status: Int? = nil
        while true {
            guard let f = nextFrame(&streamWindow, stream: id) else { return -1 }
            if f.kind == .goAway { return -1 }
            guard f.stream == id else { continue }
            if f.kind == .rstStream { return -1 }
            if f.kind == .headers {
                guard let fields = try? decoder.decode(f.payload[...]) else { return -1 }
                if let s = fields.first(where: { $0.name == Array("grpc-status".utf8) }) { status = Int(String(decoding: s.value, as: UTF8.self)) }
            }
            if f.flags.contains(.endStream) { break }
        }
        switch status {
        case 0?: return 200
        case 8?, 14?: return 429
        case let s?: return 500 + s
        case nil: return -1
        }
    }
}
