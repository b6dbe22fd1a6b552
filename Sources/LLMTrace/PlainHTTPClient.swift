#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// HTTP/1.1 POSTs over one keep-alive TCP connection, blocking, on the export thread: what the
/// exporter uses for `http://` endpoints (a collector on the host, a sidecar, the cluster), where
/// URLSession on Linux costs a dispatch thread and a dozen wake-ups per request. `https://` goes
/// through URLSession.
///
/// A request that finds its idle connection closed by the server is sent once more on a new one
/// (the collector drops re-sent spans, so a repeat stores nothing twice). Bodies are read whole:
/// `Content-Length` or chunked.
final class PlainHTTPClient {
    struct Response {
        var status: Int
        var retryAfter: Double?
    }

    let host: String
    let port: Int
    let path: String
    private let timeoutSeconds: Double
    private var fd: Int32 = -1
    private var buffer = [UInt8](repeating: 0, count: 16384)

    /// nil unless `url` is `http://host[:port][/path]`.
    init?(url: String, timeoutSeconds: Double) {
        guard url.hasPrefix("http://") else { return nil }
        var rest = Substring(url.dropFirst(7))
        var p = "/"
        if let slash = rest.firstIndex(of: "/") {
            p = String(rest[slash...])
            rest = rest[..<slash]
        }
        var h = String(rest)
        var port = 80
        if h.hasPrefix("["), let close = h.firstIndex(of: "]") {   // [::1]:4318
            let after = h[h.index(after: close)...]
            if after.hasPrefix(":") { guard let n = Int(after.dropFirst()) else { return nil }; port = n }
            h = String(h[h.index(after: h.startIndex)..<close])
        } else if let colon = h.lastIndex(of: ":") {
            guard let n = Int(h[h.index(after: colon)...]) else { return nil }
            port = n
            h = String(h[..<colon])
        }
        guard !h.isEmpty, (1...65535).contains(port), !p.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f }) else { return nil }
        host = h
        self.port = port
        path = p
        self.timeoutSeconds = timeoutSeconds
    }

    /// A client on a connected socket (the fuzz target's socket pair).
    init(connected socket: Int32, timeoutSeconds: Double) {
        host = "127.0.0.1"
        port = 80
        path = "/"
        self.timeoutSeconds = timeoutSeconds
        fd = socket
    }

    deinit { disconnect() }

    func disconnect() {
        if fd >= 0 { close(fd); fd = -1 }
    }

    /// Sends the request; status 0 when no answer came (refused, reset, timed out).
    func post(path: String? = nil, headers: [(String, String)], body: [UInt8]) -> Response {
        for attempt in 0..<2 {
            let reused = fd >= 0
            if !reused && !connect() { return Response(status: 0) }
            if let r = exchange(path: path ?? self.path, headers: headers, body: body) { return r }
            disconnect()
            // A fresh connection that failed is an answer; a reused one may have been closed by
            // the server while idle: once more on a new one.
            if !reused || attempt == 1 { break }
        }
        return Response(status: 0)
    }

    private func connect() -> Bool {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return false }
        defer { freeaddrinfo(list) }
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let s = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if s >= 0 {
                var one: Int32 = 1
                setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(4))
                #if canImport(Darwin)
                setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(4))
                #endif
                var tv = timeval()
                tv.tv_sec = .init(timeoutSeconds)
                tv.tv_usec = .init((timeoutSeconds - Double(Int(timeoutSeconds))) * 1e6)
                setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                if Self.connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { fd = s; return true }
                close(s)
            }
            ai = a.pointee.ai_next
        }
        return false
    }

    private static func connect(_ s: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ len: socklen_t) -> Int32 {
        #if canImport(Darwin)
        return Darwin.connect(s, addr, len)
        #else
        return Glibc.connect(s, addr, len)
        #endif
    }

    private func sendAll(_ b: UnsafeRawBufferPointer) -> Bool {
        var off = 0
        while off < b.count {
            #if canImport(Darwin)
            let n = send(fd, b.baseAddress! + off, b.count - off, 0)
            #else
            let n = send(fd, b.baseAddress! + off, b.count - off, Int32(MSG_NOSIGNAL))
            #endif
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// One request and its response on the open connection; nil on an I/O or protocol error.
    func exchange(path: String, headers: [(String, String)], body: [UInt8]) -> Response? {
        var head = "POST \(path) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\nContent-Length: \(body.count)\r\n"
        for (k, v) in headers { head += k + ": " + v + "\r\n" }
        head += "\r\n"
        var headBytes = Array(head.utf8)
        guard headBytes.withUnsafeBytes({ sendAll($0) }), body.withUnsafeBytes({ sendAll($0) }) else { return nil }
        headBytes.removeAll()

        // The head: up to the blank line.
        var have = 0
        var headerEnd = -1
        while headerEnd < 0 {
            if have == buffer.count {
                if buffer.count >= 1 << 20 { return nil }
                buffer += [UInt8](repeating: 0, count: buffer.count)
            }
            guard let n = receive(into: have) else { return nil }
            let from = max(0, have - 3)
            have += n
            if have >= 4 {
                for i in from..<(have - 3) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
                    headerEnd = i + 4
                    break
                }
            }
        }
        let lines = String(decoding: buffer[0..<headerEnd], as: UTF8.self).split(separator: "\r\n")
        // "HTTP/1.x NNN": three ASCII digits, nothing else.
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."), statusLine.utf8.count >= 12,
              statusLine.utf8.dropFirst(9).prefix(3).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let status = Int(statusLine.dropFirst(9).prefix(3)) else { return nil }
        var length: Int? = nil
        var chunked = false
        var closeAfter = statusLine.hasPrefix("HTTP/1.0")
        var retryAfter: Double? = nil
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmedOf(" \t")
            switch name {
            case "content-length": length = Int(value)
            case "transfer-encoding": chunked = value.lowercased().contains("chunked")
            case "connection": closeAfter = value.lowercased().contains("close") ? true : (value.lowercased().contains("keep-alive") ? false : closeAfter)
            case "retry-after": retryAfter = Double(value)
            default: break
            }
        }

        // The body, discarded: what was read past the head, then the rest.
        var pending = Array(buffer[headerEnd..<have])
        if chunked {
            guard readChunked(&pending) else { return nil }
        } else if let length {
            var left = length - pending.count
            while left > 0 {
                guard let n = receive(into: 0, max: min(left, buffer.count)) else { return nil }
                left -= n
            }
        } else if status >= 200 && status != 204 && status != 304 {
            closeAfter = true   // read to the end
            while receive(into: 0) != nil {}
        }
        if closeAfter { disconnect() }
        return Response(status: status, retryAfter: retryAfter)
    }

    /// Bytes read into `buffer` at `offset`; nil at the end of the stream or on an error.
    private func receive(into offset: Int, max: Int? = nil) -> Int? {
        while true {
            let want = Swift.min(max ?? (buffer.count - offset), buffer.count - offset)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + offset, want, 0) }
            if n < 0 && errno == EINTR { continue }
            return n > 0 ? n : nil
        }
    }

    /// Reads a chunked body to its end (sizes, data, the terminating chunk and trailers).
    private func readChunked(_ pending: inout [UInt8]) -> Bool {
        func line() -> [UInt8]? {
            while true {
                if let i = pending.firstIndex(of: 10) {
                    let l = Array(pending[..<i])
                    pending.removeFirst(i + 1)
                    return l.last == 13 ? Array(l.dropLast()) : l
                }
                if pending.count > 65536 { return nil }
                guard let n = receive(into: 0) else { return nil }
                pending += buffer[0..<n]
            }
        }
        while true {
            guard let sizeLine = line() else { return false }
            let hex = String(decoding: sizeLine.prefix { $0 != 0x3B }, as: UTF8.self).trimmedOf(" \t")
            guard let size = Int(hex, radix: 16), size >= 0, size < 1 << 30 else { return false }
            if size == 0 {
                while let t = line() { if t.isEmpty { return true } }
                return false
            }
            var left = size + 2   // data and its CRLF
            let take = Swift.min(left, pending.count)
            pending.removeFirst(take)
            left -= take
            while left > 0 {
                guard let n = receive(into: 0, max: Swift.min(left, buffer.count)) else { return false }
                left -= n
            }
        }
    }
}

private extension StringProtocol {
    func trimmedOf(_ set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s.removeFirst() }
        while let l = s.last, chars.contains(l) { s.removeLast() }
        return String(s)
    }
}
