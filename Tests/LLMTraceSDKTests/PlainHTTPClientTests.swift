import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import LLMTrace

/// A loopback server that answers each request with the next scripted reply (raw bytes), and
/// records what it received and on which connection.
final class ScriptedServer: @unchecked Sendable {
    struct Received { var connection: Int; var head: String; var body: [UInt8] }
    enum Reply { case send(String), closeWithoutAnswer }

    let port: Int
    private let fd: Int32
    private let lock = NSLock()
    private var script: [Reply]
    private var _received: [Received] = []
    private var connections = 0

    init(_ script: [Reply]) {
        self.script = script
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, 4)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        listen(s, 16)
        fd = s
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    var received: [Received] { lock.lock(); defer { lock.unlock() }; return _received }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            lock.lock(); connections += 1; let id = connections; lock.unlock()
            Thread { [self] in serve(c, id) }.start()
        }
    }

    private func serve(_ c: Int32, _ id: Int) {
        defer { close(c) }
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // One request: the head, then Content-Length bytes.
            var headEnd: Int? = nil
            while headEnd == nil {
                if let r = buf.firstRange(of: [13, 10, 13, 10]) { headEnd = r.upperBound; break }
                let n = recv(c, &chunk, chunk.count, 0)
                if n <= 0 { return }
                buf += chunk[0..<n]
            }
            let head = String(decoding: buf[0..<headEnd!], as: UTF8.self)
            let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            while buf.count < headEnd! + length {
                let n = recv(c, &chunk, chunk.count, 0)
                if n <= 0 { return }
                buf += chunk[0..<n]
            }
            let body = Array(buf[headEnd!..<(headEnd! + length)])
            buf.removeFirst(headEnd! + length)
            lock.lock()
            _received.append(Received(connection: id, head: head, body: body))
            let reply = script.isEmpty ? .send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") : script.removeFirst()
            lock.unlock()
            switch reply {
            case .closeWithoutAnswer: return
            case .send(let s):
                let bytes = Array(s.utf8)
                _ = bytes.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if s.lowercased().contains("connection: close") { return }
            }
        }
    }
}

@Suite(.serialized) struct PlainHTTPClientTests {
    @Test func keepAliveChunkedCloseAndAStaleConnection() throws {
        let server = ScriptedServer([
            .send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
            .send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: 1\r\n\r\n"),
            .send("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            .send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            .closeWithoutAnswer,   // the server dropped the idle connection: the request goes again
        ])
        defer { server.stop() }
        let client = try #require(PlainHTTPClient(url: "http://127.0.0.1:\(server.port)/prefix", timeoutSeconds: 5))
        #expect(client.path == "/prefix")
        let body = Array("payload".utf8)
        #expect(client.post(headers: [("Content-Type", "text/plain")], body: body).status == 200)
        #expect(client.post(headers: [], body: body).status == 200)
        #expect(client.post(headers: [], body: body).status == 202)
        #expect(client.post(headers: [], body: body).status == 200)
        #expect(client.post(headers: [], body: body).status == 200)
        let got = server.received
        #expect(got.count == 6)
        #expect(got.map(\.connection) == [1, 1, 1, 2, 2, 3])
        #expect(got.allSatisfy { $0.body == body && $0.head.hasPrefix("POST /prefix HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n") })
        #expect(got[0].head.contains("Content-Type: text/plain\r\n"))
    }

    @Test func nothingListeningIsStatusZero() throws {
        let server = ScriptedServer([])
        let port = server.port
        server.stop()
        let client = try #require(PlainHTTPClient(url: "http://127.0.0.1:\(port)", timeoutSeconds: 2))
        #expect(client.post(headers: [], body: [1]).status == 0)
    }

    @Test func urlsItTakesAndRefuses() {
        #expect(PlainHTTPClient(url: "http://[::1]:4318/x", timeoutSeconds: 1)?.host == "::1")
        #expect(PlainHTTPClient(url: "http://collector", timeoutSeconds: 1)?.port == 80)
        #expect(PlainHTTPClient(url: "https://collector", timeoutSeconds: 1) == nil)
        #expect(PlainHTTPClient(url: "http://collector:99999", timeoutSeconds: 1) == nil)
        #expect(PlainHTTPClient(url: "http://collector/a b", timeoutSeconds: 1) == nil)
    }

    /// The exporter retries 503 and 429 (Retry-After honoured) and gives up on 400; a header with a
    /// line break never reaches the wire.
    @Test func exporterRetriesWhatIsRetryable() throws {
        let server = ScriptedServer([
            .send("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"),
            .send("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"),
            .send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"),
            .send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
        ])
        defer { server.stop() }
        var c = LLMTrace.Configuration(serviceName: "retry")
        c.endpoint = "http://127.0.0.1:\(server.port)"
        c.headers = ["authorization": "Bearer k", "x-evil": "a\r\nInjected: yes"]
        c.gzip = true
        let e = HTTPExporter(c)
        let span = SpanRecord(traceID: TraceID(hi: 1, lo: 2), spanID: SpanID(3), service: "retry", name: "op", startNanos: 1, endNanos: 2)
        #expect(e.export([span]))
        #expect(!e.export([span]))
        let got = server.received
        #expect(got.count == 4)
        #expect(got.allSatisfy { $0.head.hasPrefix("POST /v1/traces ") && $0.head.contains("authorization: Bearer k\r\n") && !$0.head.contains("Injected") })
        #expect(got[0].head.contains("Content-Encoding: gzip\r\n") && got[0].body.starts(with: [0x1f, 0x8b]))
    }
}
