import CLinux
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking HTTP/1.1 client (the command-line tools talking to a collector, the
/// collector posting alert notifications): one request per connection (`Connection: close`),
/// bodies by Content-Length, chunked or to EOF.
/// Plain http only; the collector binds loopback by default and TLS belongs in a proxy.
public struct HTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        public func header(_ name: String) -> String? { headers.first { $0.0 == name.lowercased() }?.1 }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let host: String
    public let port: Int
    /// Path prefix from the endpoint URL (`http://host:4318/llmtrace` → `/llmtrace`).
    public let basePath: String
    public var timeoutSeconds = 60

    /// `http://HOST[:PORT][/prefix]`.
    public init(endpoint: String) throws {
        guard endpoint.hasPrefix("http://") else {
            throw Failure(description: "the endpoint must be an http:// URL such as http://127.0.0.1:4318 (got '\(endpoint)')")
        }
        var rest = Substring(endpoint.dropFirst(7))
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
            while path.hasSuffix("/") { path.removeLast() }
        }
        var h = String(rest), p = 80
        if let colon = rest.lastIndex(of: ":") {
            guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
                throw Failure(description: "bad port in endpoint '\(endpoint)'")
            }
            h = String(rest[..<colon])
            p = port
        }
        guard !h.isEmpty else { throw Failure(description: "no host in endpoint '\(endpoint)'") }
        host = h
        port = p
        basePath = path
    }

    public func request(_ method: String, _ path: String, body: [UInt8] = [], headers: [(String, String)] = []) throws -> Response {
        let fd = try connect()
        defer { close(fd) }
        var head = "\(method) \(basePath)\(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nUser-Agent: tracectl\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        // Head and body sent apart: a body of tens of megabytes (a ClickHouse insert) is not copied.
        try writeAll(fd, Array(head.utf8), more: !body.isEmpty)
        try writeAll(fd, body)
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: errno == EAGAIN ? "no answer from \(host):\(port) within \(timeoutSeconds) s" : "reading from \(host):\(port): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            data.append(contentsOf: buf[0..<n])
        }
        return try Self.parse(data, from: "\(host):\(port)")
    }

    /// Whether a host name or address is this machine's loopback (`[::1]` as URLs bracket it).
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }

    /// `name=value&…` with values percent-encoded (RFC 3986 unreserved characters kept).
    public static func queryString(_ params: [(String, String)]) -> String {
        params.map { "\($0.0)=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    public static func percentEncode(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF")
        var out = ""
        for b in s.utf8 {
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
            }
        }
        return out
    }

    static func parse(_ data: [UInt8], from: String) throws -> Response {
        var end = -1
        if data.count >= 4 {
            for i in 0..<(data.count - 3) where data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10 { end = i; break }
        }
        guard end >= 0 else { throw Failure(description: "\(from) closed the connection without a complete HTTP response") }
        let lines = String(decoding: data[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw Failure(description: "\(from) did not answer HTTP: \(lines[0].prefix(80))")
        }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var body = Array(data[(end + 4)...])
        if headers.contains(where: { $0.0 == "transfer-encoding" && $0.1.lowercased().contains("chunked") }) {
            var out: [UInt8] = []
            var i = 0
            while i < body.count {
                var j = i
                while j + 1 < body.count, !(body[j] == 13 && body[j + 1] == 10) { j += 1 }
                let sizeText = String(decoding: body[i..<j], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                    throw Failure(description: "\(from) sent a bad chunk size '\(sizeText.prefix(20))'")
                }
                if size == 0 { break }
                let start = j + 2
                guard start <= body.count, size <= body.count - start else { throw Failure(description: "\(from) sent a truncated chunked body") }
                out.append(contentsOf: body[start..<(start + size)])
                i = start + size + 2
            }
            body = out
        } else if let len = headers.first(where: { $0.0 == "content-length" }).flatMap({ Int($0.1) }) {
            guard len >= 0 else { throw Failure(description: "\(from) sent Content-Length \(len)") }
            guard body.count >= len else { throw Failure(description: "\(from) sent \(body.count) of \(len) body bytes") }
            body = Array(body[0..<len])
        }
        return Response(status: status, headers: headers, body: body)
    }

    private func connect() throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(res) }
        var lastError = ECONNREFUSED
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let fd = socket(a.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd >= 0 {
                var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
                lastError = errno
                close(fd)
            }
            ai = a.pointee.ai_next
        }
        throw Failure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(lastError))) (is llmtraced running? see --endpoint)")
    }

    /// `more`: the kernel may hold the bytes back to send them with what follows (MSG_MORE).
    private func writeAll(_ fd: Int32, _ bytes: [UInt8], more: Bool = false) throws {
        var off = 0
        let flags = Int32(MSG_NOSIGNAL) | (more ? Int32(MSG_MORE) : 0)
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, flags) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "sending to \(host):\(port): \(String(cString: strerror(errno)))")
            }
            off += n
        }
    }
}
