/// HTTP/2 frames (RFC 9113, section 4 and 6): the 9-octet header, each type's fixed layout checked,
/// padding removed. A frame that breaks the rules is an `HTTP2Error` with the error code the RFC
/// names and whether it ends the connection or only its stream.
public struct HTTP2Frame: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case data = 0, headers = 1, priority = 2, rstStream = 3, settings = 4, pushPromise = 5, ping = 6, goAway = 7, windowUpdate = 8, continuation = 9
    }

    public struct Flags: OptionSet, Sendable, Equatable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// DATA and HEADERS: the last frame of the stream from this side. SETTINGS and PING: ACK.
        public static let endStream = Flags(rawValue: 0x1)
        public static let ack = Flags(rawValue: 0x1)
        public static let endHeaders = Flags(rawValue: 0x4)
        public static let padded = Flags(rawValue: 0x8)
        public static let priority = Flags(rawValue: 0x20)
    }

    /// The frame's type as sent; frames of unknown types are ignored (RFC 9113 4.1), kept as nil.
    public var kind: Kind?
    public var rawType: UInt8
    public var flags: Flags
    public var stream: UInt32
    /// The payload without padding or HEADERS' priority fields.
    public var payload: [UInt8]

    public init(_ kind: Kind, flags: Flags = [], stream: UInt32, payload: [UInt8] = []) {
        self.kind = kind
        rawType = kind.rawValue
        self.flags = flags
        self.stream = stream
        self.payload = payload
    }

    /// The frame as sent: header and payload (never padded).
    public func append(to out: inout [UInt8]) {
        let n = payload.count
        out += [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), rawType, flags.rawValue,
                UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)]
        out += payload
    }

    /// The connection preface a client sends first (RFC 9113 3.4).
    public static let clientPreface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
}

/// An HTTP/2 error code (RFC 9113 section 7) and its scope.
public struct HTTP2Error: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: UInt32, Sendable {
        case noError = 0, protocolError = 1, internalError = 2, flowControlError = 3, settingsTimeout = 4, streamClosed = 5,
             frameSizeError = 6, refusedStream = 7, cancel = 8, compressionError = 9, connectError = 10, enhanceYourCalm = 11,
             inadequateSecurity = 12, http11Required = 13
    }

    public var code: Code
    /// Nil: the whole connection (GOAWAY); else only this stream (RST_STREAM).
    public var stream: UInt32?
    public var reason: String

    public init(_ code: Code, stream: UInt32? = nil, _ reason: String) {
        self.code = code
        self.stream = stream
        self.reason = reason
    }

    public var description: String { "\(code) \(stream.map { "on stream \($0)" } ?? "for the connection"): \(reason)" }
}

/// Frames out of a byte stream, as much as has arrived: `feed` bytes, then `next()` until nil.
public struct HTTP2FrameReader: Sendable {
    /// SETTINGS_MAX_FRAME_SIZE this side announced (16,384 to 16,777,215).
    public var maxFrameSize: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxFrameSize: Int = 16384) {
        self.maxFrameSize = maxFrameSize
    }

    public var buffered: Int { buffer.count - start }

    public mutating func feed(_ bytes: some Collection<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer += bytes
    }

    /// The next whole frame, or nil until more bytes arrive.
    public mutating func next() throws(HTTP2Error) -> HTTP2Frame? {
        guard buffer.count - start >= 9 else { return nil }
        let h = start
        let length = Int(buffer[h]) << 16 | Int(buffer[h + 1]) << 8 | Int(buffer[h + 2])
        let type = buffer[h + 3], flags = HTTP2Frame.Flags(rawValue: buffer[h + 4])
        let stream = (UInt32(buffer[h + 5]) << 24 | UInt32(buffer[h + 6]) << 16 | UInt32(buffer[h + 7]) << 8 | UInt32(buffer[h + 8])) & 0x7FFF_FFFF
        guard length <= maxFrameSize else {
            throw HTTP2Error(.frameSizeError, "a frame of \(length) octets, above SETTINGS_MAX_FRAME_SIZE \(maxFrameSize)")
        }
        guard buffer.count - start >= 9 + length else { return nil }
        var payload = Array(buffer[(h + 9)..<(h + 9 + length)])
        start += 9 + length
        var frame = HTTP2Frame(.data, flags: flags, stream: stream, payload: [])
        frame.rawType = type
        frame.kind = HTTP2Frame.Kind(rawValue: type)
        guard let kind = frame.kind else {
            frame.payload = payload
            return frame   // unknown types are ignored by the caller
        }
        try Self.check(kind, flags: flags, stream: stream, length: length)
        if kind == .data || kind == .headers || kind == .pushPromise, flags.contains(.padded) {
            guard let pad = payload.first.map(Int.init), pad < length else {
                throw HTTP2Error(.protocolError, "padding of \(payload.first.map(String.init) ?? "?") octets in a \(length)-octet frame")
            }
            payload = Array(payload[1..<(length - pad)])
        }
        if kind == .headers, flags.contains(.priority) {
            guard payload.count >= 5 else { throw HTTP2Error(.frameSizeError, "HEADERS with PRIORITY shorter than 5 octets") }
            let dependency = (UInt32(payload[0]) << 24 | UInt32(payload[1]) << 16 | UInt32(payload[2]) << 8 | UInt32(payload[3])) & 0x7FFF_FFFF
            guard dependency != stream else { throw HTTP2Error(.protocolError, stream: stream, "stream \(stream) depends on itself") }
            payload.removeFirst(5)
        }
        frame.payload = payload
        return frame
    }

    /// The layout RFC 9113 section 6 fixes for each type.
    static func check(_ kind: HTTP2Frame.Kind, flags: HTTP2Frame.Flags, stream: UInt32, length: Int) throws(HTTP2Error) {
        switch kind {
        case .data, .headers, .continuation, .pushPromise:
            guard stream != 0 else { throw HTTP2Error(.protocolError, "\(kind) on stream 0") }
        case .priority:
            guard stream != 0 else { throw HTTP2Error(.protocolError, "PRIORITY on stream 0") }
            guard length == 5 else { throw HTTP2Error(.frameSizeError, stream: stream, "PRIORITY of \(length) octets (5)") }
        case .rstStream:
            guard stream != 0 else { throw HTTP2Error(.protocolError, "RST_STREAM on stream 0") }
            guard length == 4 else { throw HTTP2Error(.frameSizeError, "RST_STREAM of \(length) octets (4)") }
        case .settings:
            guard stream == 0 else { throw HTTP2Error(.protocolError, "SETTINGS on stream \(stream)") }
            guard length % 6 == 0 else { throw HTTP2Error(.frameSizeError, "SETTINGS of \(length) octets (a multiple of 6)") }
            guard !flags.contains(.ack) || length == 0 else { throw HTTP2Error(.frameSizeError, "a SETTINGS ACK with a payload") }
        case .ping:
            guard stream == 0 else { throw HTTP2Error(.protocolError, "PING on stream \(stream)") }
            guard length == 8 else { throw HTTP2Error(.frameSizeError, "PING of \(length) octets (8)") }
        case .goAway:
            guard stream == 0 else { throw HTTP2Error(.protocolError, "GOAWAY on stream \(stream)") }
            guard length >= 8 else { throw HTTP2Error(.frameSizeError, "GOAWAY of \(length) octets (8 or more)") }
        case .windowUpdate:
            guard length == 4 else { throw HTTP2Error(.frameSizeError, "WINDOW_UPDATE of \(length) octets (4)") }
        }
    }
}

/// SETTINGS parameters (RFC 9113 6.5.2).
public struct HTTP2Settings: Sendable, Equatable {
    public var headerTableSize = 4096
    public var enablePush = true
    public var maxConcurrentStreams: Int? = nil
    public var initialWindowSize = 65535
    public var maxFrameSize = 16384
    public var maxHeaderListSize: Int? = nil

    public init() {}

    /// Applies a SETTINGS frame's payload; unknown identifiers are ignored.
    public mutating func apply(_ payload: [UInt8]) throws(HTTP2Error) {
        var i = 0
        while i + 6 <= payload.count {
            let id = Int(payload[i]) << 8 | Int(payload[i + 1])
            let v = Int(payload[i + 2]) << 24 | Int(payload[i + 3]) << 16 | Int(payload[i + 4]) << 8 | Int(payload[i + 5])
            i += 6
            switch id {
            case 1: headerTableSize = v
            case 2:
                guard v <= 1 else { throw HTTP2Error(.protocolError, "SETTINGS_ENABLE_PUSH \(v)") }
                enablePush = v == 1
            case 3: maxConcurrentStreams = v
            case 4:
                guard v <= 0x7FFF_FFFF else { throw HTTP2Error(.flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE \(v) above 2^31-1") }
                initialWindowSize = v
            case 5:
                guard (16384...16_777_215).contains(v) else { throw HTTP2Error(.protocolError, "SETTINGS_MAX_FRAME_SIZE \(v) outside 16384...16777215") }
                maxFrameSize = v
            case 6: maxHeaderListSize = v
            default: break
            }
        }
    }

    /// The parameters that differ from the defaults, as a SETTINGS payload.
    public var payload: [UInt8] {
        var out: [UInt8] = []
        func put(_ id: Int, _ v: Int) {
            out += [UInt8(id >> 8), UInt8(id & 0xFF), UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
        }
        let d = HTTP2Settings()
        if headerTableSize != d.headerTableSize { put(1, headerTableSize) }
        if enablePush != d.enablePush { put(2, enablePush ? 1 : 0) }
        if let m = maxConcurrentStreams { put(3, m) }
        if initialWindowSize != d.initialWindowSize { put(4, initialWindowSize) }
        if maxFrameSize != d.maxFrameSize { put(5, maxFrameSize) }
        if let m = maxHeaderListSize { put(6, m) }
        return out
    }
}
