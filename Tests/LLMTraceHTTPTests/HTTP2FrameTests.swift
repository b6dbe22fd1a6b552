import Testing
@testable import LLMTraceHTTP

/// HTTP/2 frames: every type's layout checked with the error code RFC 9113 names, padding and
/// priority fields removed, frames read whole however the bytes arrive, SETTINGS both ways.
@Suite struct HTTP2FrameTests {
    static func frame(_ type: UInt8, _ flags: UInt8, _ stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
                UInt8(stream >> 24), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
    }

    @Test func framesArriveWholeHoweverTheBytesAreCut() throws {
        var stream: [UInt8] = []
        HTTP2Frame(.settings, stream: 0, payload: [0, 4, 0, 1, 0, 0]).append(to: &stream)
        HTTP2Frame(.headers, flags: [.endHeaders], stream: 1, payload: [0x82, 0x86]).append(to: &stream)
        HTTP2Frame(.data, flags: [.endStream], stream: 1, payload: Array(repeating: 7, count: 1000)).append(to: &stream)
        HTTP2Frame(.ping, stream: 0, payload: [1, 2, 3, 4, 5, 6, 7, 8]).append(to: &stream)
        for cut in [1, 3, 9, 10, 500, stream.count] {
            var r = HTTP2FrameReader()
            var got: [HTTP2Frame] = []
            var i = 0
            while i < stream.count {
                r.feed(stream[i..<min(stream.count, i + cut)])
                i += cut
                while let f = try r.next() { got.append(f) }
            }
            #expect(got.map(\.kind) == [.settings, .headers, .data, .ping], "cut \(cut)")
            #expect(got[2].payload.count == 1000 && got[2].flags.contains(.endStream) && got[1].stream == 1)
            #expect(r.buffered == 0)
        }
    }

    @Test func paddingAndPriorityAreRemoved() throws {
        var r = HTTP2FrameReader()
        // DATA, padded by 3: pad length, 2 octets, 3 zeros.
        r.feed(Self.frame(0, 0x8 | 0x1, 3, [3, 0xAA, 0xBB, 0, 0, 0]))
        // HEADERS, padded by 1 and with priority (5 octets) before the block.
        r.feed(Self.frame(1, 0x8 | 0x20 | 0x4, 5, [1, 0, 0, 0, 3, 16, 0x82, 0x86, 0]))
        let d = try #require(try r.next()), h = try #require(try r.next())
        #expect(d.payload == [0xAA, 0xBB] && h.payload == [0x82, 0x86])
        // An unknown type is read and handed on (the caller ignores it).
        r.feed(Self.frame(0xEE, 0, 0, [1, 2, 3]))
        let u = try #require(try r.next())
        #expect(u.kind == nil && u.rawType == 0xEE && u.payload == [1, 2, 3])
    }

    @Test func brokenFramesNameTheirError() {
        func fails(_ bytes: [UInt8], _ code: HTTP2Error.Code, stream: UInt32? = nil, _ why: String, max: Int = 16384) {
            var r = HTTP2FrameReader(maxFrameSize: max)
            r.feed(bytes)
            do {
                let f = try r.next()
                Issue.record("read \(String(describing: f))")
            } catch {
                #expect(error.code == code && error.stream == stream && error.reason.contains(why), "\(error)")
            }
        }
        fails(Self.frame(0, 0, 0, [1]), .protocolError, "data on stream 0")
        fails(Self.frame(4, 0, 1, []), .protocolError, "SETTINGS on stream 1")
        fails(Self.frame(4, 0, 0, [0, 1, 0]), .frameSizeError, "a multiple of 6")
        fails(Self.frame(4, 1, 0, [0, 1, 0, 0, 0, 0]), .frameSizeError, "ACK with a payload")
        fails(Self.frame(6, 0, 0, [1, 2, 3]), .frameSizeError, "PING of 3 octets")
        fails(Self.frame(8, 0, 1, [0, 0, 1]), .frameSizeError, "WINDOW_UPDATE of 3 octets")
        fails(Self.frame(3, 0, 1, [0, 0]), .frameSizeError, "RST_STREAM of 2 octets")
        fails(Self.frame(2, 0, 1, [0, 0, 0, 0]), .frameSizeError, stream: 1, "PRIORITY of 4 octets")
        fails(Self.frame(7, 0, 0, [0, 0, 0]), .frameSizeError, "GOAWAY of 3 octets")
        fails(Self.frame(0, 0x8, 1, [5, 1, 2]), .protocolError, "padding of 5 octets in a 3-octet frame")
        fails(Self.frame(1, 0x20, 7, [0, 0, 0, 7, 16, 0x82]), .protocolError, stream: 7, "depends on itself")
        fails(Self.frame(0, 0, 1, Array(repeating: 0, count: 16385)), .frameSizeError, "above SETTINGS_MAX_FRAME_SIZE 16384")
    }

    @Test func settingsBothWays() throws {
        var s = HTTP2Settings()
        s.maxConcurrentStreams = 100
        s.initialWindowSize = 1 << 20
        s.enablePush = false
        var back = HTTP2Settings()
        try back.apply(s.payload + [0xFF, 0xFF, 0, 0, 0, 1])   // an unknown identifier is ignored
        #expect(back == s)
        var bad = HTTP2Settings()
        #expect(throws: HTTP2Error.self) { try bad.apply([0, 5, 0, 0, 0x10, 0]) }   // max frame size 4096
        #expect(throws: HTTP2Error.self) { try bad.apply([0, 4, 0x80, 0, 0, 0]) }   // window 2^31
        #expect(throws: HTTP2Error.self) { try bad.apply([0, 2, 0, 0, 0, 2]) }      // push 2
    }
}
