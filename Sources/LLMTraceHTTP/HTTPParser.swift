#if canImport(Glibc)
import Glibc
#endif

/// A request the parser refuses, with the status to answer before closing the connection.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
    public var description: String { "\(status): \(message)" }
}

/// Incremental HTTP/1.0 and 1.1 request parser (RFC 9112): bytes go in as they arrive, whole
/// requests come out. Content-Length and chunked bodies, pipelining, limits on header and body size.
///
/// Strict where leniency has bitten servers (request smuggling): a request with both
/// Transfer-Encoding and Content-Length, differing Content-Lengths, obsolete line folding, whitespace
/// before a header colon or control bytes in a header are refused with 400.
public struct HTTPParser {
    public struct Limits: Sendable {
        /// Request line plus headers, in bytes (431 beyond).
        public var maxHeaderBytes = 32 * 1024
        public var maxHeaderCount = 128
        /// The body as sent, before content decoding (413 beyond).
        public var maxBodyBytes = 16 * 1024 * 1024
        public init() {}
    }

    private enum State {
        case head
        /// Content-Length body: `remaining` bytes still to come.
        case body(Head, remaining: Int)
        case chunkSize(Head)
        case chunkData(Head, remaining: Int)
        case chunkEnd(Head)
        case trailers(Head, bytes: Int)
    }

    struct Head {
        var method: String
        var target: String
        var minor: Int
        var headers: [(name: String, value: String)]
        var keepAlive: Bool
    }

    public let limits: Limits
    private(set) var buffer: [UInt8] = []
    private var start = 0
    /// Where the search for the end of the head resumes (it never rescans bytes already searched).
    private var scanFrom = 0
    /// Where the search for a bare LF in the head resumes (bytes before it were checked).
    private var lfCheckedTo = 0
    private var state = State.head
    private var body: [UInt8] = []
    /// Set when a request asked for `100 Continue` and its body has not arrived yet; the server
    /// sends the interim response once and clears it with `continueSent()`.
    public private(set) var wantsContinue = false

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// True when some bytes of a request that is not complete yet have arrived.
    public var isMidRequest: Bool {
        if case .head = state { return start < buffer.count }
        return true
    }

    /// True while headers are still arriving (the header timeout applies), false in a body.
    public var isReadingHead: Bool {
        if case .head = state { return true }
        return false
    }

    /// Bytes received and not yet returned as part of a request.
    public var bufferedBytes: Int { buffer.count - start + body.count }

    public mutating func continueSent() { wantsContinue = false }

    /// An error `absorb()` met, thrown by the next `next()`.
    private var deferredError: HTTPError?

    /// Adds received bytes. Bytes of a body being read (after `absorb()` or `next()` reached it)
    /// go straight into the body.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if case .body(let head, let remaining) = state, remaining > 0, start == buffer.count {
            let take = min(remaining, bytes.count)
            body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<take]))
            state = .body(head, remaining: remaining - take)
            if take < bytes.count { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[take...])) }
            return
        }
        buffer.append(contentsOf: bytes)
    }

    /// Parses a complete head and moves the body bytes received so far into the body, without
    /// returning a request. The event loop calls it after each read, so a large body is copied
    /// once and never held twice: read whole into the buffer first, a 1 MB OTLP export grew it to
    /// 2 MiB, a mapping of its own (over the collector's mmap threshold) page-faulted in and
    /// unmapped again for every request. An error is kept for `next()` to throw.
    public mutating func absorb() {
        guard deferredError == nil else { return }
        if case .head = state {
            do throws(HTTPError) {
                guard try parseHead() else { return }
            } catch {
                deferredError = error
                return
            }
        }
        guard case .body(let head, let remaining) = state, remaining > 0 else { return }
        _ = takeBufferedBody(head, remaining)
    }

    /// Moves the buffered bytes of a body (up to `remaining`) into it, and the state with them;
    /// returns how many are still to come (then the buffer is compacted).
    private mutating func takeBufferedBody(_ head: Head, _ remaining: Int) -> Int {
        let take = min(remaining, buffer.count - start)
        if take > 0 {
            body.append(contentsOf: buffer[start..<start + take])
            start += take
            state = .body(head, remaining: remaining - take)
        }
        if take < remaining { compact() }
        return remaining - take
    }

    public mutating func feed(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete request, or nil when more bytes are needed. After an error the
    /// connection must be closed: the parser's position in the stream is lost.
    public mutating func next() throws(HTTPError) -> HTTPRequest? {
        if let e = deferredError { throw e }
        while true {
            switch state {
            case .head:
                guard try parseHead() else { return nil }
            case .body(let head, let remaining):
                if takeBufferedBody(head, remaining) > 0 { return nil }
                return finish(head)
            case .chunkSize(let head):
                guard let lineEnd = findCRLF(from: start, maxLine: 1024) else {
                    if buffer.count - start > 1024 { throw HTTPError(400, "chunk size line too long") }
                    compact()
                    return nil
                }
                let size = try parseChunkSize(start..<lineEnd)
                start = lineEnd + 2
                if size == 0 {
                    state = .trailers(head, bytes: 0)
                } else {
                    if body.count + size > limits.maxBodyBytes {
                        throw HTTPError(413, "request body over the limit of \(limits.maxBodyBytes) bytes")
                    }
                    state = .chunkData(head, remaining: size)
                }
            case .chunkData(let head, let remaining):
                let take = min(remaining, buffer.count - start)
                if take > 0 {
                    body.append(contentsOf: buffer[start..<start + take])
                    start += take
                }
                if take < remaining {
                    state = .chunkData(head, remaining: remaining - take)
                    compact()
                    return nil
                }
                state = .chunkEnd(head)
            case .chunkEnd(let head):
                guard buffer.count - start >= 2 else { return nil }
                guard buffer[start] == 0x0D, buffer[start + 1] == 0x0A else {
                    throw HTTPError(400, "chunk data is not followed by CRLF")
                }
                start += 2
                state = .chunkSize(head)
            case .trailers(let head, let seen):
                guard let lineEnd = findCRLF(from: start, maxLine: limits.maxHeaderBytes) else {
                    if seen + buffer.count - start > limits.maxHeaderBytes { throw HTTPError(431, "trailer section too large") }
                    compact()
                    return nil
                }
                let len = lineEnd - start
                start = lineEnd + 2
                if len == 0 { return finish(head) }
                if seen + len > limits.maxHeaderBytes { throw HTTPError(431, "trailer section too large") }
                state = .trailers(head, bytes: seen + len + 2)  // trailer fields are read and ignored
            }
        }
    }

    private mutating func finish(_ head: Head) -> HTTPRequest {
        let req = HTTPRequest(method: head.method, target: head.target, versionMinor: head.minor, headers: head.headers,
                              body: body, keepAlive: head.keepAlive)
        body = []
        state = .head
        wantsContinue = false
        compact()
        return req
    }

    /// Drops consumed bytes once they are a large share of the buffer (amortized O(1) per byte).
    private mutating func compact() {
        if start == buffer.count {
            if buffer.capacity > 1 << 20 { buffer = [] } else { buffer.removeAll(keepingCapacity: true) }
            scanFrom = 0
            lfCheckedTo = 0
            start = 0
        } else if start > 65536 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            scanFrom = max(0, scanFrom - start)
            lfCheckedTo = max(0, lfCheckedTo - start)
            start = 0
        }
    }

    private func findCRLF(from: Int, maxLine: Int) -> Int? {
        var i = from
        let end = min(buffer.count - 1, from + maxLine + 1)
        while i < end {
            if buffer[i] == 0x0D && buffer[i + 1] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    private func parseChunkSize(_ r: Range<Int>) throws(HTTPError) -> Int {
        var size = 0
        var digits = 0
        var i = r.lowerBound
        while i < r.upperBound, let v = HTTPRequest.hexValue(buffer[i]) {
            size = size << 4 | Int(v)
            digits += 1
            i += 1
            if digits > 15 { throw HTTPError(400, "chunk size too large") }
        }
        guard digits > 0 else { throw HTTPError(400, "bad chunk size") }
        while i < r.upperBound, buffer[i] == 0x20 || buffer[i] == 0x09 { i += 1 }
        guard i == r.upperBound || buffer[i] == UInt8(ascii: ";") else { throw HTTPError(400, "bad chunk size") }
        return size
    }

    /// Parses a request head when it is complete and sets the body state; false when more bytes are needed.
    private mutating func parseHead() throws(HTTPError) -> Bool {
        // Tolerate blank lines before a request line (RFC 9112 2.2).
        while start < buffer.count, buffer[start] == 0x0D || buffer[start] == 0x0A { start += 1 }
        if start == buffer.count { compact(); return false }
        scanFrom = max(scanFrom, start)
        var end = -1
        buffer.withUnsafeBufferPointer { b in
            var i = scanFrom
            let n = b.count
            while i + 3 < n {
                // memchr for the CR, then check the rest: heads are short, but bodies of pipelined
                // requests are not scanned (this runs only in the head state).
                guard let p = memchr(b.baseAddress! + i, 0x0D, n - i - 3) else { i = n - 3; break }
                i = UnsafePointer<UInt8>(p.assumingMemoryBound(to: UInt8.self)) - b.baseAddress!
                if b[i + 1] == 0x0A && b[i + 2] == 0x0D && b[i + 3] == 0x0A { end = i; return }
                i += 1
            }
            scanFrom = max(start, i)
        }
        // Lines end with CRLF (RFC 9112 2.2). A client ending them with a bare LF would otherwise
        // wait, unanswered, for a CRLF CRLF that never comes: it gets a 400 instead.
        let headEnd = end < 0 ? buffer.count : end
        if let lf = bareLF(from: max(start, lfCheckedTo), to: headEnd) {
            start = lf + 1
            throw HTTPError(400, "request line or header ends with a bare LF; HTTP lines end with CRLF")
        }
        lfCheckedTo = headEnd
        if end < 0 {
            if buffer.count - start > limits.maxHeaderBytes {
                throw HTTPError(431, "request headers over the limit of \(limits.maxHeaderBytes) bytes")
            }
            return false
        }
        if end - start > limits.maxHeaderBytes {
            throw HTTPError(431, "request headers over the limit of \(limits.maxHeaderBytes) bytes")
        }
        let head = try parseHeadLines(start..<end)
        start = end + 4
        scanFrom = start
        try beginBody(head)
        return true
    }

    /// The first LF in `from..<to` that no CR precedes.
    private func bareLF(from: Int, to: Int) -> Int? {
        buffer.withUnsafeBufferPointer { b -> Int? in
            var i = from
            while i < to {
                guard let p = memchr(b.baseAddress! + i, 0x0A, to - i) else { return nil }
                let at = UnsafePointer<UInt8>(p.assumingMemoryBound(to: UInt8.self)) - b.baseAddress!
                if at == 0 || b[at - 1] != 0x0D { return at }
                i = at + 1
            }
            return nil
        }
    }

    private func parseHeadLines(_ range: Range<Int>) throws(HTTPError) -> Head {
        // Request line.
        var lineEnd = range.lowerBound
        while lineEnd < range.upperBound && !(buffer[lineEnd] == 0x0D && buffer[lineEnd + 1] == 0x0A) { lineEnd += 1 }
        let line = buffer[range.lowerBound..<lineEnd]
        guard let sp1 = line.firstIndex(of: 0x20), sp1 > line.startIndex else { throw HTTPError(400, "malformed request line") }
        guard let sp2 = line[(sp1 + 1)...].firstIndex(of: 0x20), sp2 > sp1 + 1 else { throw HTTPError(400, "malformed request line") }
        let method = line[line.startIndex..<sp1]
        for c in method where !Self.isTokenChar(c) { throw HTTPError(400, "malformed request method") }
        let target = line[(sp1 + 1)..<sp2]
        for c in target where c <= 0x20 || c == 0x7F { throw HTTPError(400, "malformed request target") }
        guard target.first == UInt8(ascii: "/") || target.elementsEqual("*".utf8) || target.starts(with: "http://".utf8) || target.starts(with: "https://".utf8) else {
            throw HTTPError(400, "malformed request target")
        }
        let version = line[(sp2 + 1)...]
        let minor: Int
        if version.elementsEqual("HTTP/1.1".utf8) { minor = 1 }
        else if version.elementsEqual("HTTP/1.0".utf8) { minor = 0 }
        else if version.starts(with: "HTTP/".utf8) && version.count == 8 { throw HTTPError(505, "only HTTP/1.0 and HTTP/1.1 are served") }
        else { throw HTTPError(400, "malformed request line") }

        var headers: [(name: String, value: String)] = []
        var i = lineEnd + 2
        while i < range.upperBound {
            var e = i
            while e < range.upperBound && !(buffer[e] == 0x0D && buffer[e + 1] == 0x0A) { e += 1 }
            let first = buffer[i]
            if first == 0x20 || first == 0x09 { throw HTTPError(400, "obsolete header line folding is not accepted") }
            var colon = i
            while colon < e && buffer[colon] != UInt8(ascii: ":") {
                guard Self.isTokenChar(buffer[colon]) else { throw HTTPError(400, "malformed header name") }
                colon += 1
            }
            guard colon < e, colon > i else { throw HTTPError(400, "malformed header line") }
            var vs = colon + 1, ve = e
            while vs < ve && (buffer[vs] == 0x20 || buffer[vs] == 0x09) { vs += 1 }
            while ve > vs && (buffer[ve - 1] == 0x20 || buffer[ve - 1] == 0x09) { ve -= 1 }
            for k in vs..<ve {
                let c = buffer[k]
                if (c < 0x20 && c != 0x09) || c == 0x7F { throw HTTPError(400, "control character in a header value") }
            }
            headers.append((Self.lowerASCII(buffer[i..<colon]), String(decoding: buffer[vs..<ve], as: UTF8.self)))
            if headers.count > limits.maxHeaderCount { throw HTTPError(431, "more than \(limits.maxHeaderCount) header fields") }
            i = e + 2
        }
        // HTTP/1.1 requires exactly one Host (RFC 9112 3.2).
        if minor == 1 {
            let hosts = headers.lazy.filter { $0.name == "host" }.count
            if hosts != 1 { throw HTTPError(400, hosts == 0 ? "HTTP/1.1 request without a Host header" : "more than one Host header") }
        }
        var keepAlive = minor == 1
        for h in headers where h.name == "connection" {
            for token in h.value.lowercased().split(separator: ",") {
                let t = String(token).trimmingASCIIWhitespace()
                if t == "close" { keepAlive = false } else if t == "keep-alive" && minor == 0 { keepAlive = true }
            }
        }
        return Head(method: String(decoding: method, as: UTF8.self), target: String(decoding: target, as: UTF8.self),
                    minor: minor, headers: headers, keepAlive: keepAlive)
    }

    private mutating func beginBody(_ head: Head) throws(HTTPError) {
        var contentLength: Int? = nil
        var chunked = false
        var sawTE = false
        var expect: String? = nil
        for h in head.headers {
            switch h.name {
            case "content-length":
                // A list of identical values is allowed (RFC 9110 8.6); anything else is not.
                for part in h.value.split(separator: ",", omittingEmptySubsequences: false) {
                    let p = String(part).trimmingASCIIWhitespace()
                    guard !p.isEmpty, p.count <= 18, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(p) else {
                        throw HTTPError(400, "invalid Content-Length")
                    }
                    if let c = contentLength, c != n { throw HTTPError(400, "conflicting Content-Length values") }
                    contentLength = n
                }
            case "transfer-encoding":
                sawTE = true
                let codings = h.value.lowercased().split(separator: ",").map { String($0).trimmingASCIIWhitespace() }
                guard codings == ["chunked"] else {
                    throw HTTPError(501, "unsupported Transfer-Encoding '\(h.value)' (only chunked)")
                }
                if chunked { throw HTTPError(400, "repeated Transfer-Encoding") }
                chunked = true
            case "expect":
                expect = h.value.lowercased()
            default:
                break
            }
        }
        if sawTE && contentLength != nil { throw HTTPError(400, "both Transfer-Encoding and Content-Length") }
        if sawTE && head.minor == 0 { throw HTTPError(400, "Transfer-Encoding in an HTTP/1.0 request") }
        if let expect, expect != "100-continue" { throw HTTPError(417, "unsupported Expect '\(expect)'") }
        if let n = contentLength, n > limits.maxBodyBytes {
            throw HTTPError(413, "request body of \(n) bytes is over the limit of \(limits.maxBodyBytes) bytes")
        }
        body = []
        if chunked {
            state = .chunkSize(head)
            wantsContinue = expect != nil
        } else if let n = contentLength, n > 0 {
            body.reserveCapacity(n)
            state = .body(head, remaining: n)
            wantsContinue = expect != nil && buffer.count - start < n
        } else {
            state = .body(head, remaining: 0)
        }
    }

    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func lowerASCII(_ b: ArraySlice<UInt8>) -> String {
        String(unsafeUninitializedCapacity: b.count) { out in
            var k = 0
            for c in b {
                out[k] = (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
                k += 1
            }
            return k
        }
    }
}
