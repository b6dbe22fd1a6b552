#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import LLMTraceSupport
@testable import LLMTraceHTTP

/// A blocking loopback client for the server tests.
final class RawClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 { throw HTTPServerError("connect failed: \(errno)") }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ s: String) { send(Array(s.utf8)) }
    func send(_ b: [UInt8]) {
        var off = 0
        while off < b.count {
            let n = b.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, b.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    /// Reads until `count` complete responses (status line, headers, content-length body) arrived,
    /// the peer closed, or the timeout.
    func responses(_ count: Int) -> [(status: Int, headers: [String: String], body: String)] {
        var buf: [UInt8] = []
        var out: [(Int, [String: String], String)] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while out.count < count {
            // Parse what is buffered.
            if let r = Self.parseOne(&buf) { out.append(r); continue }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            buf.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// True when the server closed the connection (recv returns 0) within the timeout.
    func closedByServer() -> Bool {
        var b: UInt8 = 0
        while true {
            let n = recv(fd, &b, 1, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    static func parseOne(_ buf: inout [UInt8]) -> (Int, [String: String], String)? {
        guard let end = buf.indices.dropLast(3).first(where: { buf[$0] == 13 && buf[$0 + 1] == 10 && buf[$0 + 2] == 13 && buf[$0 + 3] == 10 }) else { return nil }
        let head = String(decoding: buf[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            let kv = line.split(separator: ":", maxSplits: 1)
            if kv.count == 2 { headers[kv[0].lowercased()] = kv[1].trimmingCharacters(in: .whitespaces) }
        }
        let len = Int(headers["content-length"] ?? "0") ?? 0
        guard buf.count >= end + 4 + len else { return nil }
        let body = String(decoding: buf[(end + 4)..<(end + 4 + len)], as: UTF8.self)
        buf.removeFirst(end + 4 + len)
        return (status, headers, body)
    }
}

/// Blocks handlers until released (for queue-full and shutdown tests).
final class Gate: @unchecked Sendable {
    let c = Condition()
    var open = false
    var waiting = 0
    func wait() { c.withLock { waiting += 1; c.broadcast(); while !open { c.wait() } } }
    func release() { c.withLock { open = true; c.broadcast() } }
    func waitForWaiters(_ n: Int) { c.withLock { while waiting < n { c.wait(nanos: 10_000_000) } } }
}

@Suite(.serialized) struct HTTPServerTests {
    func server(_ configure: (inout HTTPServer.Configuration) -> Void = { _ in }, handler: @escaping HTTPServer.Handler = { req in
        HTTPResponse(status: 200, body: Array("\(req.method) \(req.target) \(req.body.count)".utf8))
    }) throws -> HTTPServer {
        var c = HTTPServer.Configuration()
        c.port = 0
        c.eventLoops = 2
        c.workers = 2
        configure(&c)
        let s = HTTPServer(configuration: c, handler: handler, inline: { $0.target == "/inline" ? HTTPResponse(status: 204) : nil }, errorLog: { _ in })
        try s.start()
        return s
    }

    /// A client that ends its lines with bare LFs gets an answer, not silence until a timeout.
    @Test func aBareLFRequestIsAnswered() throws {
        let s = try server()
        defer { s.shutdown() }
        let c = try RawClient(port: s.boundPort)
        let t0 = monotonicNanos()
        c.send("GET /a HTTP/1.1\nHost: x\n\n")
        #expect(c.responses(1).first?.status == 400)
        #expect(monotonicNanos() - t0 < 2_000_000_000)
    }

    @Test func keepAliveAndPipelining() throws {
        let s = try server()
        defer { s.shutdown() }
        let c = try RawClient(port: s.boundPort)
        c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(c.responses(1).first?.body == "GET /a 0")
        // Three requests in one write come back in order.
        c.send("POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET /inline HTTP/1.1\r\nHost: t\r\n\r\nPOST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n")
        let rs = c.responses(3)
        #expect(rs.map(\.status) == [200, 204, 200])
        #expect(rs.map(\.body) == ["POST /b 3", "", "POST /c 2"])
        c.send("GET /close HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let last = c.responses(1)
        #expect(last.first?.headers["connection"] == "close")
        #expect(c.closedByServer())
    }

    @Test func slowClientDoesNotStallOthers() throws {
        let s = try server { $0.eventLoops = 1 }
        defer { s.shutdown() }
        let slow = try RawClient(port: s.boundPort)
        slow.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part of the body")
        let t0 = monotonicNanos()
        for i in 0..<20 {
            let c = try RawClient(port: s.boundPort)
            c.send("GET /fast\(i) HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.responses(1).first?.body == "GET /fast\(i) 0")
        }
        #expect(monotonicNanos() - t0 < 2_000_000_000)
        slow.send(String(repeating: "z", count: 79))
        #expect(slow.responses(1).first?.body == "POST /slow 100")
    }

    @Test func headerAndBodyTimeoutsAnswer408() throws {
        let s = try server {
            $0.headerTimeout = 0.4
            $0.bodyTimeout = 0.4
        }
        defer { s.shutdown() }
        let a = try RawClient(port: s.boundPort)
        a.send("GET /never-finished HTTP/1.1\r\nHost: x\r\n")
        let b = try RawClient(port: s.boundPort)
        b.send("POST /stalled HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        #expect(a.responses(1).first?.status == 408)
        #expect(b.responses(1).first?.status == 408)
        #expect(a.closedByServer())
        #expect(s.currentStats.timeouts == 2)
    }

    @Test func fullQueueAnswers429WithRetryAfter() throws {
        let gate = Gate()
        let s = try server({
            $0.workers = 1
            $0.queueDepth = 1
        }, handler: { _ in gate.wait(); return HTTPResponse(status: 200) })
        defer { s.shutdown() }
        let a = try RawClient(port: s.boundPort), b = try RawClient(port: s.boundPort), c = try RawClient(port: s.boundPort)
        a.send("POST /1 HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx")
        gate.waitForWaiters(1)   // the only worker is busy
        b.send("POST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx")  // queued
        usleep(100_000)
        c.send("POST /3 HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx")  // refused
        let r = c.responses(1).first
        #expect(r?.status == 429)
        #expect(r?.headers["retry-after"] == "1")
        // Inline routes still answer while the workers are saturated.
        c.send("GET /inline HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(c.responses(1).first?.status == 204)
        gate.release()
        #expect(a.responses(1).first?.status == 200)
        #expect(b.responses(1).first?.status == 200)
        #expect(s.currentStats.overloadRejections == 1)
    }

    @Test func oversizedBodyGets413NotAReset() throws {
        let s = try server { $0.limits.maxBodyBytes = 1000 }
        defer { s.shutdown() }
        let c = try RawClient(port: s.boundPort)
        c.send("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 5000000\r\n\r\n")
        c.send([UInt8](repeating: 0x41, count: 200_000))  // the client keeps sending meanwhile
        let r = c.responses(1).first
        #expect(r?.status == 413)
        #expect(r?.body.contains("limit") == true)
        let h = try RawClient(port: s.boundPort)
        h.send("GET /x HTTP/1.1\r\nHost: y\r\nX-Big: \(String(repeating: "a", count: 40_000))\r\n\r\n")
        #expect(h.responses(1).first?.status == 431)
    }

    @Test func expectContinue() throws {
        let s = try server()
        defer { s.shutdown() }
        let c = try RawClient(port: s.boundPort)
        c.send("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 100)
        let n = chunk.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
        buf.append(contentsOf: chunk[0..<max(0, n)])
        #expect(String(decoding: buf, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        c.send("body")
        #expect(c.responses(1).first?.body == "POST /e 4")
    }

    @Test func connectionLimit() throws {
        let s = try server { $0.maxConnections = 2 }
        defer { s.shutdown() }
        let a = try RawClient(port: s.boundPort), b = try RawClient(port: s.boundPort)
        a.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
        b.send("GET /b HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(a.responses(1).count == 1 && b.responses(1).count == 1)
        let c = try RawClient(port: s.boundPort)
        #expect(c.responses(1).first?.status == 503)
    }

    /// Sockets that connect and never send a byte are closed after the header timeout, not the
    /// idle one: a flood of them holds the connection slots for seconds, not 75 s.
    @Test func silentConnectionsAreClosedAfterTheHeaderTimeout() throws {
        let s = try server { $0.maxConnections = 8; $0.headerTimeout = 0.5 }
        defer { s.shutdown() }
        let silent = try (0..<8).map { _ in try RawClient(port: s.boundPort) }
        Thread.sleep(forTimeInterval: 0.2)
        #expect(try RawClient(port: s.boundPort).responses(1).first?.status == 503, "all slots held")
        let t0 = monotonicNanos()
        #expect(silent.allSatisfy { $0.closedByServer() })
        #expect(monotonicNanos() - t0 < 3_000_000_000)
        let c = try RawClient(port: s.boundPort)
        c.send("GET /inline HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(c.responses(1).first?.status == 204)
    }

    @Test func shutdownFinishesInFlightRequests() throws {
        let gate = Gate()
        let s = try server(handler: { _ in gate.wait(); return HTTPResponse(status: 200, body: Array("done".utf8)) })
        let c = try RawClient(port: s.boundPort)
        c.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        gate.waitForWaiters(1)
        let stopper = Thread { s.shutdown() }
        stopper.start()
        usleep(200_000)
        gate.release()
        let r = c.responses(1).first
        #expect(r?.body == "done")
        #expect(r?.headers["connection"] == "close")
        #expect(c.closedByServer())
    }
}
