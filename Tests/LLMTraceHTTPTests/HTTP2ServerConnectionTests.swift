import Testing
@testable import LLMTraceHTTP

/// The server side of an HTTP/2 connection, driven frame by frame as a client would: a gRPC call
/// read whole and answered with trailers, flow control holding a response until the window opens,
/// and each broken rule ending the stream or the connection with the code RFC 9113 names.
@Suite struct HTTP2ServerConnectionTests {
    static let call = [HPACKHeader(":method", "POST"), HPACKHeader(":scheme", "http"), HPACKHeader(":path", "/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
                       HPACKHeader(":authority", "127.0.0.1:4317"), HPACKHeader("content-type", "application/grpc"), HPACKHeader("te", "trailers")]

    struct Client {
        var bytes: [UInt8] = HTTP2Frame.clientPreface
        init(settings: HTTP2Settings = HTTP2Settings()) {
            HTTP2Frame(.settings, stream: 0, payload: settings.payload).append(to: &bytes)
        }
        mutating func headers(_ id: UInt32, _ fields: [HPACKHeader] = HTTP2ServerConnectionTests.call, end: Bool = false) {
            var block: [UInt8] = []
            HPACKEncoder().encode(fields, into: &block)
            HTTP2Frame(.headers, flags: end ? [.endHeaders, .endStream] : [.endHeaders], stream: id, payload: block).append(to: &bytes)
        }
        mutating func data(_ id: UInt32, _ payload: [UInt8], end: Bool = true) {
            HTTP2Frame(.data, flags: end ? .endStream : [], stream: id, payload: payload).append(to: &bytes)
        }
        mutating func take() -> [UInt8] { defer { bytes = [] }; return bytes }
    }

    /// The frames the server wrote, header blocks decoded.
    static func frames(_ bytes: [UInt8], _ decoder: inout HPACKDecoder) throws -> [(HTTP2Frame, [HPACKHeader])] {
        var r = HTTP2FrameReader(maxFrameSize: 1 << 20)
        r.feed(bytes)
        var out: [(HTTP2Frame, [HPACKHeader])] = []
        while let f = try r.next() {
            out.append((f, f.kind == .headers ? try decoder.decode(f.payload[...]) : []))
        }
        return out
    }

    @Test func aCallIsReadWholeAndAnsweredWithTrailers() throws {
        var server = HTTP2ServerConnection()
        var c = Client()
        c.headers(1)
        c.data(1, GRPCMessage.frame([1, 2, 3]), end: false)
        c.data(1, GRPCMessage.frame([4]))
        HTTP2Frame(.ping, stream: 0, payload: [9, 9, 9, 9, 9, 9, 9, 9]).append(to: &c.bytes)
        // Cut anywhere, the same request comes out.
        let all = c.take()
        var events: [HTTP2ServerConnection.Event] = []
        for i in stride(from: 0, to: all.count, by: 7) { events += server.receive(all[i..<min(all.count, i + 7)]) }
        guard case .request(let req)? = events.first, events.count == 1 else { Issue.record("\(events)"); return }
        #expect(req.stream == 1 && req.header(":path") == Array("/opentelemetry.proto.collector.trace.v1.TraceService/Export".utf8))
        #expect(try GRPCMessage.messages(req.body, encoding: nil, limit: 100) == [[1, 2, 3], [4]])
        server.respond(stream: 1, headers: [HPACKHeader(":status", "200"), HPACKHeader("content-type", "application/grpc")],
                       body: GRPCMessage.frame([]), trailers: [HPACKHeader("grpc-status", "0")])
        var d = HPACKDecoder()
        let out = try Self.frames(server.takeOutput(), &d)
        #expect(out.map { $0.0.kind } == [.settings, .windowUpdate, .settings, .ping, .headers, .data, .headers])
        #expect(out[2].0.flags.contains(.ack) && out[3].0.flags.contains(.ack) && out[3].0.payload == [9, 9, 9, 9, 9, 9, 9, 9])
        #expect(out[4].1 == [HPACKHeader(":status", "200"), HPACKHeader("content-type", "application/grpc")] && !out[4].0.flags.contains(.endStream))
        #expect(out[5].0.payload == [0, 0, 0, 0, 0] && !out[5].0.flags.contains(.endStream))
        #expect(out[6].1 == [HPACKHeader("grpc-status", "0")] && out[6].0.flags.contains(.endStream))
        #expect(server.openStreams == 0)
    }

    @Test func aResponseWaitsForTheWindow() throws {
        var settings = HTTP2Settings()
        settings.initialWindowSize = 10
        var server = HTTP2ServerConnection()
        var c = Client(settings: settings)
        c.headers(1, end: true)
        #expect(server.receive(c.take()).count == 1)
        _ = server.takeOutput()
        server.respond(stream: 1, headers: [HPACKHeader(":status", "200")], body: Array(repeating: 7, count: 25), trailers: [HPACKHeader("grpc-status", "0")])
        var d = HPACKDecoder()
        var out = try Self.frames(server.takeOutput(), &d)
        #expect(out.map { $0.0.kind } == [.headers, .data] && out[1].0.payload.count == 10)
        HTTP2ServerConnection.windowUpdate(1, 15, into: &c.bytes)
        _ = server.receive(c.take())
        out = try Self.frames(server.takeOutput(), &d)
        #expect(out.map { $0.0.kind } == [.data, .headers] && out[0].0.payload.count == 15 && out[1].0.flags.contains(.endStream))
    }

    @Test func brokenRulesEndTheStreamOrTheConnection() throws {
        func goAway(_ bytes: [UInt8], _ code: HTTP2Error.Code, _ why: String) throws {
            var server = HTTP2ServerConnection()
            let events = server.receive(bytes)
            guard case .failed(let e)? = events.last else { Issue.record("no failure for \(why): \(events)"); return }
            #expect(e.code == code && e.reason.contains(why), "\(e)")
            var d = HPACKDecoder()
            let last = try Self.frames(server.takeOutput(), &d).last
            #expect(last?.0.kind == .goAway && server.closed)
        }
        try goAway(Array("POST / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), .protocolError, "not the HTTP/2 connection preface")
        try goAway(HTTP2Frame.clientPreface + [0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], .protocolError, "the first frame is not SETTINGS")
        var c = Client()
        c.headers(2, end: true)
        try goAway(c.take(), .protocolError, "even id 2")
        c = Client()
        HTTP2Frame(.headers, flags: [], stream: 1, payload: [0x82]).append(to: &c.bytes)
        HTTP2Frame(.ping, stream: 0, payload: [0, 0, 0, 0, 0, 0, 0, 0]).append(to: &c.bytes)
        try goAway(c.take(), .protocolError, "CONTINUATION belongs")
        c = Client()
        c.headers(1, [HPACKHeader(":method", "POST")] + [HPACKHeader(Array("x".utf8), [0x41, 0x42])], end: true)
        c.headers(3, end: true)
        c.headers(1, end: true)
        try goAway(c.take(), .streamClosed, "closed or below 3")
        c = Client()
        HTTP2Frame(.headers, flags: [.endHeaders], stream: 1, payload: [0x80]).append(to: &c.bytes)   // index 0
        try goAway(c.take(), .compressionError, "header index 0")

        // A request without :path resets its stream only; the connection goes on.
        var server = HTTP2ServerConnection()
        c = Client()
        c.headers(1, [HPACKHeader(":method", "POST")], end: true)
        c.headers(3, end: true)
        let events = server.receive(c.take())
        #expect(events.count == 1 && !server.closed)
        var d = HPACKDecoder()
        let rst = try Self.frames(server.takeOutput(), &d).first { $0.0.kind == .rstStream }
        #expect(rst?.0.stream == 1 && rst?.0.payload == [0, 0, 0, 1])
    }

    @Test func limitsOnStreamsBodiesAndResets() throws {
        var limits = HTTP2ServerConnection.Limits()
        limits.maxConcurrentStreams = 1
        limits.maxBodyBytes = 100
        var server = HTTP2ServerConnection(limits: limits)
        var c = Client()
        c.headers(1)
        c.headers(3, end: true)
        #expect(server.receive(c.take()).isEmpty)
        var d = HPACKDecoder()
        let refused = try Self.frames(server.takeOutput(), &d).first { $0.0.kind == .rstStream }
        #expect(refused?.0.stream == 3 && refused?.0.payload == [0, 0, 0, 7], "REFUSED_STREAM beyond the limit")
        c.data(1, Array(repeating: 1, count: 150))
        let big = server.receive(c.take())
        #expect(big.count == 1)
        if case .bodyTooLarge(let s, _)? = big.first { #expect(s == 1) } else { Issue.record("\(big)") }

        // Open and reset, again and again: ENHANCE_YOUR_CALM.
        server = HTTP2ServerConnection()
        c = Client()
        for i in 0..<200 {
            let id = UInt32(2 * i + 1)
            c.headers(id)
            HTTP2Frame(.rstStream, stream: id, payload: [0, 0, 0, 8]).append(to: &c.bytes)
        }
        let ev = server.receive(c.take())
        guard case .failed(let e)? = ev.last else { Issue.record("no failure after 200 resets"); return }
        #expect(e.code == .enhanceYourCalm && server.closed)
    }
}

/// gRPC's length-prefixed messages: framed, compressed, cut short or too big.
@Suite struct GRPCMessageTests {
    @Test func messagesAreReadAndRefused() throws {
        let payload = Array("hello, collector".utf8)
        #expect(try GRPCMessage.messages(GRPCMessage.frame(payload) + GRPCMessage.frame([]), encoding: nil, limit: 64) == [payload, []])
        let z = BodyDecoding.gzip(payload)
        let compressed: [UInt8] = [1, 0, 0, 0, UInt8(z.count)] + z
        #expect(try GRPCMessage.messages(compressed, encoding: "gzip", limit: 64) == [payload])
        func fails(_ body: [UInt8], _ enc: String?, _ status: GRPCMessage.Status, _ why: String, limit: Int = 64) {
            do {
                _ = try GRPCMessage.messages(body, encoding: enc, limit: limit)
                Issue.record("read \(body)")
            } catch {
                #expect(error.status == status && error.message.contains(why), "\(error)")
            }
        }
        fails([0, 0, 0], nil, .internalError, "cut short")
        fails([0, 0, 0, 0, 9, 1], nil, .internalError, "with 1 left")
        fails([2, 0, 0, 0, 0], nil, .internalError, "flag of 2")
        fails(compressed, "snappy", .unimplemented, "'snappy'")
        fails(compressed, "gzip", .resourceExhausted, "over the limit", limit: 4)
        fails(GRPCMessage.frame(payload), nil, .resourceExhausted, "limit 4", limit: 4)
        #expect(GRPCMessage.percentEncoded("span 0: bad ✗ 100%") == Array("span 0: bad %E2%9C%97 100%25".utf8))
    }
}
