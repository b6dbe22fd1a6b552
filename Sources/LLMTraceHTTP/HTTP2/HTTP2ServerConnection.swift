/// The server side of one HTTP/2 connection (RFC 9113) over cleartext with prior knowledge, as a
/// state machine without I/O: bytes go in (`receive`), whole requests come out, and the frames to
/// send (SETTINGS and their ACKs, PING ACKs, WINDOW_UPDATEs, responses, RST_STREAM, GOAWAY) wait in
/// `output`. Enforced: the preface, stream ids (odd, increasing), CONTINUATION right after its
/// HEADERS, the concurrent stream limit (REFUSED_STREAM beyond it), flow control both ways (a
/// response waits for window), the header list and body limits, and resets that come faster than
/// requests finish (ENHANCE_YOUR_CALM: the "rapid reset" attack).
public struct HTTP2ServerConnection: Sendable {
    public struct Limits: Sendable {
        public var maxConcurrentStreams = 100
        public var maxHeaderListSize = 16384
        /// A request body larger than this is refused (the stream reset, `Event.bodyTooLarge`).
        public var maxBodyBytes = 8 << 20
        /// The window each stream gets for its body; the connection's is `streams × this`, capped.
        public var initialWindowSize = 1 << 20
        public var connectionWindowSize = 16 << 20
        public var maxFrameSize = 16384
        public init() {}
    }

    /// A request, whole: its header fields (pseudo-headers first, as sent) and its body.
    public struct Request: Sendable, Equatable {
        public var stream: UInt32
        public var headers: [HPACKHeader]
        public var body: [UInt8]

        public func header(_ name: String) -> [UInt8]? {
            let n = Array(name.utf8)
            return headers.first { $0.name == n }?.value
        }
    }

    public enum Event: Sendable, Equatable {
        case request(Request)
        /// A request body passed `maxBodyBytes`: its stream is reset; answer it or not.
        case bodyTooLarge(stream: UInt32, headers: [HPACKHeader])
        /// The peer reset a stream (a response to it is dropped).
        case reset(stream: UInt32, code: UInt32)
        /// The connection ended with this error; `output` holds the GOAWAY. Close after writing it.
        case failed(HTTP2Error)
        /// The peer said goodbye: finish the streams under way, then close.
        case goAway
    }

    enum StreamState { case open, halfClosedRemote }

    struct Stream {
        var state: StreamState
        var headers: [HPACKHeader]
        var body: [UInt8] = []
        /// What the peer may still send on it, and what we may still send.
        var receiveWindow: Int
        var sendWindow: Int
        /// Response frames waiting for window: DATA payload left, then the trailers.
        var pendingData: [UInt8] = []
        var pendingTrailers: [HPACKHeader]? = nil
        var responded = false
        var tooLarge = false
    }

    public let limits: Limits
    public private(set) var output: [UInt8] = []
    private var reader: HTTP2FrameReader
    private var decoder: HPACKDecoder
    private let encoder = HPACKEncoder()
    private var peer = HTTP2Settings()
    private var streams: [UInt32: Stream] = [:]
    private var lastStream: UInt32 = 0
    private var prefaceLeft = HTTP2Frame.clientPreface.count
    private var sawSettings = false
    /// A HEADERS block waiting for its CONTINUATIONs: stream, block so far, END_STREAM.
    private var continuing: (stream: UInt32, block: [UInt8], endStream: Bool)? = nil
    private var connectionReceiveWindow = 65535
    private var connectionSendWindow = 65535
    private var consumedSinceUpdate = 0
    private var resets = 0, completed = 0
    public private(set) var closed = false
    public private(set) var goingAway = false

    public init(limits: Limits = Limits()) {
        self.limits = limits
        reader = HTTP2FrameReader(maxFrameSize: limits.maxFrameSize)
        decoder = HPACKDecoder(maxTableSize: 4096, maxHeaderListSize: limits.maxHeaderListSize)
        // Our SETTINGS first (RFC 9113 3.4), then the connection window opened up.
        var ours = HTTP2Settings()
        ours.enablePush = false
        ours.maxConcurrentStreams = limits.maxConcurrentStreams
        ours.initialWindowSize = limits.initialWindowSize
        ours.maxFrameSize = limits.maxFrameSize
        ours.maxHeaderListSize = limits.maxHeaderListSize
        HTTP2Frame(.settings, stream: 0, payload: ours.payload).append(to: &output)
        if limits.connectionWindowSize > 65535 {
            Self.windowUpdate(0, limits.connectionWindowSize - 65535, into: &output)
            connectionReceiveWindow = limits.connectionWindowSize
        }
    }

    /// The bytes to write now (taken: the next call returns only what came after).
    public mutating func takeOutput() -> [UInt8] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }

    /// Streams open (for the caller's bookkeeping and tests).
    public var openStreams: Int { streams.count }

    static func windowUpdate(_ stream: UInt32, _ n: Int, into out: inout [UInt8]) {
        HTTP2Frame(.windowUpdate, stream: stream, payload: [UInt8(n >> 24 & 0x7F), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]).append(to: &out)
    }

    /// Reads what arrived; returns the requests and happenings it completed.
    public mutating func receive(_ bytes: some Collection<UInt8>) -> [Event] {
        guard !closed else { return [] }
        var input = bytes[...]
        if prefaceLeft > 0 {
            let want = HTTP2Frame.clientPreface.suffix(prefaceLeft)
            let n = min(prefaceLeft, input.count)
            guard input.prefix(n).elementsEqual(want.prefix(n)) else {
                return [fail(HTTP2Error(.protocolError, "not the HTTP/2 connection preface (an HTTP/1 request on the gRPC port?)"))]
            }
            prefaceLeft -= n
            input = input.dropFirst(n)
        }
        reader.feed(input)
        var events: [Event] = []
        while !closed {
            do {
                guard let frame = try reader.next() else { break }
                try handle(frame, &events)
            } catch {
                if let s = error.stream {
                    resetStream(s, error.code)
                } else {
                    events.append(fail(error))
                }
            }
        }
        return events
    }

    private mutating func fail(_ e: HTTP2Error) -> Event {
        var payload = [UInt8(lastStream >> 24 & 0x7F), UInt8(lastStream >> 16 & 0xFF), UInt8(lastStream >> 8 & 0xFF), UInt8(lastStream & 0xFF)]
        let code = e.code.rawValue
        payload += [UInt8(code >> 24), UInt8(code >> 16 & 0xFF), UInt8(code >> 8 & 0xFF), UInt8(code & 0xFF)]
        payload += Array(e.reason.utf8.prefix(256))
        HTTP2Frame(.goAway, stream: 0, payload: payload).append(to: &output)
        closed = true
        return .failed(e)
    }

    private mutating func resetStream(_ id: UInt32, _ code: HTTP2Error.Code) {
        let c = code.rawValue
        HTTP2Frame(.rstStream, stream: id, payload: [UInt8(c >> 24), UInt8(c >> 16 & 0xFF), UInt8(c >> 8 & 0xFF), UInt8(c & 0xFF)]).append(to: &output)
        streams[id] = nil
    }

    private mutating func handle(_ f: HTTP2Frame, _ events: inout [Event]) throws(HTTP2Error) {
        if !sawSettings {
            guard f.kind == .settings, !f.flags.contains(.ack) else { throw HTTP2Error(.protocolError, "the first frame is not SETTINGS") }
            sawSettings = true
        }
        if let c = continuing, f.kind != .continuation || f.stream != c.stream {
            throw HTTP2Error(.protocolError, "a \(f.kind.map { "\($0)" } ?? "frame of type \(f.rawType)") where stream \(c.stream)'s CONTINUATION belongs")
        }
        switch f.kind {
        case nil, .priority?:
            return
        case .settings?:
            if f.flags.contains(.ack) { return }
            let before = peer.initialWindowSize
            try peer.apply(f.payload)
            // A new initial window moves every stream's send window by the difference.
            let delta = peer.initialWindowSize - before
            if delta != 0 {
                for k in streams.keys {
                    streams[k]!.sendWindow += delta
                    guard streams[k]!.sendWindow <= 0x7FFF_FFFF else { throw HTTP2Error(.flowControlError, "a stream window past 2^31-1") }
                }
            }
            HTTP2Frame(.settings, flags: .ack, stream: 0).append(to: &output)
            flushAll()
        case .ping?:
            if !f.flags.contains(.ack) { HTTP2Frame(.ping, flags: .ack, stream: 0, payload: f.payload).append(to: &output) }
        case .goAway?:
            goingAway = true
            events.append(.goAway)
        case .windowUpdate?:
            let n = Int(f.payload[0] & 0x7F) << 24 | Int(f.payload[1]) << 16 | Int(f.payload[2]) << 8 | Int(f.payload[3])
            guard n > 0 else { throw HTTP2Error(.protocolError, stream: f.stream == 0 ? nil : f.stream, "WINDOW_UPDATE of 0") }
            if f.stream == 0 {
                connectionSendWindow += n
                guard connectionSendWindow <= 0x7FFF_FFFF else { throw HTTP2Error(.flowControlError, "the connection window past 2^31-1") }
                flushAll()
            } else if streams[f.stream] != nil {
                streams[f.stream]!.sendWindow += n
                guard streams[f.stream]!.sendWindow <= 0x7FFF_FFFF else { throw HTTP2Error(.flowControlError, stream: f.stream, "the stream window past 2^31-1") }
                flush(f.stream)
            }
        case .rstStream?:
            guard f.stream <= lastStream else { throw HTTP2Error(.protocolError, "RST_STREAM on idle stream \(f.stream)") }
            if streams.removeValue(forKey: f.stream) != nil {
                resets += 1
                let code = UInt32(f.payload[0]) << 24 | UInt32(f.payload[1]) << 16 | UInt32(f.payload[2]) << 8 | UInt32(f.payload[3])
                events.append(.reset(stream: f.stream, code: code))
                // Resets far outnumbering finished requests: a client opening and cancelling streams
                // to make the server work for nothing.
                if resets > 100 && resets > 2 * (completed + 50) {
                    throw HTTP2Error(.enhanceYourCalm, "\(resets) streams reset against \(completed) finished")
                }
            }
        case .pushPromise?:
            throw HTTP2Error(.protocolError, "PUSH_PROMISE from a client")
        case .headers?:
            let end = f.flags.contains(.endStream)
            if f.flags.contains(.endHeaders) {
                try headers(f.stream, f.payload[...], endStream: end, &events)
            } else {
                continuing = (f.stream, f.payload, end)
            }
        case .continuation?:
            guard var c = continuing else { throw HTTP2Error(.protocolError, "CONTINUATION without HEADERS") }
            c.block += f.payload
            guard c.block.count <= limits.maxHeaderListSize * 2 else { throw HTTP2Error(.enhanceYourCalm, "a header block of more than \(limits.maxHeaderListSize * 2) octets") }
            if f.flags.contains(.endHeaders) {
                continuing = nil
                try headers(c.stream, c.block[...], endStream: c.endStream, &events)
            } else {
                continuing = c
            }
        case .data?:
            try data(f, &events)
        }
    }

    private mutating func headers(_ id: UInt32, _ block: ArraySlice<UInt8>, endStream: Bool, _ events: inout [Event]) throws(HTTP2Error) {
        // The block is decoded whatever becomes of the stream: the table must stay in step.
        let fields: [HPACKHeader]
        do { fields = try decoder.decode(block) } catch { throw HTTP2Error(.compressionError, error.description) }
        if var s = streams[id] {
            // Trailers: allowed once, ending the stream.
            guard s.state == .open, endStream else { throw HTTP2Error(.protocolError, stream: id, "HEADERS on stream \(id) after its request headers, without END_STREAM") }
            s.state = .halfClosedRemote
            streams[id] = s
            try finish(id, &events)
            return
        }
        guard id % 2 == 1 else { throw HTTP2Error(.protocolError, "a client stream with the even id \(id)") }
        guard id > lastStream else { throw HTTP2Error(.streamClosed, "HEADERS on stream \(id), closed or below \(lastStream)") }
        lastStream = id
        guard !goingAway else { return }
        guard streams.count < limits.maxConcurrentStreams else {
            resetStream(id, .refusedStream)
            return
        }
        guard Self.wellFormed(fields) else { throw HTTP2Error(.protocolError, stream: id, "a request without :method, :scheme and :path, or with a pseudo-header after a field") }
        streams[id] = Stream(state: endStream ? .halfClosedRemote : .open, headers: fields, receiveWindow: limits.initialWindowSize, sendWindow: peer.initialWindowSize)
        if endStream { try finish(id, &events) }
    }

    /// Pseudo-headers first, the three a request needs (RFC 9113 8.3.1).
    static func wellFormed(_ fields: [HPACKHeader]) -> Bool {
        var sawRegular = false, has: Set<[UInt8]> = []
        for f in fields {
            if f.name.first == UInt8(ascii: ":") {
                if sawRegular { return false }
                has.insert(f.name)
            } else {
                sawRegular = true
            }
        }
        return has.isSuperset(of: [Array(":method".utf8), Array(":scheme".utf8), Array(":path".utf8)])
    }

    private mutating func data(_ f: HTTP2Frame, _ events: inout [Event]) throws(HTTP2Error) {
        // Flow control counts the whole frame, padding included (RFC 9113 6.9.1); the reader
        // dropped the padding, so the payload is a lower bound only when padded.
        let counted = f.payload.count
        guard counted <= connectionReceiveWindow else { throw HTTP2Error(.flowControlError, "DATA past the connection window") }
        connectionReceiveWindow -= counted
        // Taken out of the table while it grows: a copy left there would make every append copy
        // the whole body so far (quadratic in the frames of a request).
        guard var s = streams.removeValue(forKey: f.stream) else {
            // Reset or refused: the window is given back, the data dropped.
            giveBack(counted, stream: nil)
            if f.stream > lastStream { throw HTTP2Error(.protocolError, "DATA on idle stream \(f.stream)") }
            throw HTTP2Error(.streamClosed, stream: f.stream, "DATA on closed stream \(f.stream)")
        }
        guard s.state == .open else { streams[f.stream] = s; throw HTTP2Error(.streamClosed, stream: f.stream, "DATA after END_STREAM") }
        guard counted <= s.receiveWindow else { throw HTTP2Error(.flowControlError, stream: f.stream, "DATA past the stream window") }
        s.receiveWindow -= counted
        if !s.tooLarge {
            if s.body.count + counted > limits.maxBodyBytes {
                s.tooLarge = true
                s.body = []
                events.append(.bodyTooLarge(stream: f.stream, headers: s.headers))
            } else {
                s.body += f.payload
            }
        }
        if f.flags.contains(.endStream) { s.state = .halfClosedRemote }
        streams[f.stream] = s
        giveBack(counted, stream: f.stream)
        if s.state == .halfClosedRemote {
            if s.tooLarge { resetStream(f.stream, .cancel) } else { try finish(f.stream, &events) }
        }
    }

    /// Opens the windows again once half of them is used (the body is buffered per stream, each
    /// within its window and `maxBodyBytes`, so the connection's credit comes back as data arrives).
    private mutating func giveBack(_ n: Int, stream: UInt32?) {
        consumedSinceUpdate += n
        if consumedSinceUpdate >= limits.connectionWindowSize / 2 {
            Self.windowUpdate(0, consumedSinceUpdate, into: &output)
            connectionReceiveWindow += consumedSinceUpdate
            consumedSinceUpdate = 0
        }
        if let id = stream, var s = streams[id], s.state == .open {
            let used = limits.initialWindowSize - s.receiveWindow
            if used >= limits.initialWindowSize / 2 {
                Self.windowUpdate(id, used, into: &output)
                s.receiveWindow += used
                streams[id] = s
            }
        }
    }

    private mutating func finish(_ id: UInt32, _ events: inout [Event]) throws(HTTP2Error) {
        guard let s = streams[id] else { return }
        completed += 1
        events.append(.request(Request(stream: id, headers: s.headers, body: s.body)))
        streams[id]!.body = []
    }

    /// Answers a request: HEADERS, the body as DATA (as the windows allow; the rest when they
    /// open), then the trailers ending the stream (or END_STREAM on the last DATA without them).
    public mutating func respond(stream id: UInt32, headers: [HPACKHeader], body: [UInt8], trailers: [HPACKHeader]?) {
        guard !closed, var s = streams[id], !s.responded else { return }
        s.responded = true
        var block: [UInt8] = []
        encoder.encode(headers, into: &block)
        let endNow = body.isEmpty && trailers == nil
        writeHeaders(id, block, endStream: endNow)
        s.pendingData = body
        s.pendingTrailers = trailers
        streams[id] = s
        if endNow { streams[id] = nil; return }
        flush(id)
    }

    private mutating func writeHeaders(_ id: UInt32, _ block: [UInt8], endStream: Bool) {
        let max = peer.maxFrameSize
        var first = true, rest = block[...]
        repeat {
            let chunk = rest.prefix(max)
            rest = rest.dropFirst(chunk.count)
            var flags: HTTP2Frame.Flags = rest.isEmpty ? .endHeaders : []
            if first && endStream { flags.insert(.endStream) }
            HTTP2Frame(first ? .headers : .continuation, flags: flags, stream: id, payload: Array(chunk)).append(to: &output)
            first = false
        } while !rest.isEmpty
    }

    private mutating func flushAll() {
        for id in streams.keys.sorted() where streams[id]?.responded == true { flush(id) }
    }

    private mutating func flush(_ id: UInt32) {
        guard var s = streams[id], s.responded else { return }
        while !s.pendingData.isEmpty {
            let n = min(s.pendingData.count, s.sendWindow, connectionSendWindow, peer.maxFrameSize)
            guard n > 0 else { streams[id] = s; return }
            let last = n == s.pendingData.count && s.pendingTrailers == nil
            HTTP2Frame(.data, flags: last ? .endStream : [], stream: id, payload: Array(s.pendingData.prefix(n))).append(to: &output)
            s.pendingData.removeFirst(n)
            s.sendWindow -= n
            connectionSendWindow -= n
        }
        if let t = s.pendingTrailers {
            var block: [UInt8] = []
            encoder.encode(t, into: &block)
            writeHeaders(id, block, endStream: true)
        }
        streams[id] = nil
    }
}
