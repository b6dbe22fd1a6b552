#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Foundation
import LLMTraceSupport

/// A gRPC call as the handler sees it: the method's path, the metadata, the request's messages
/// already taken out of their frames and decompressed.
public struct GRPCCall: Sendable {
    public var path: String
    public var metadata: [HPACKHeader]
    public var messages: [[UInt8]]

    /// A metadata value by (lower-case) name, as text.
    public func metadata(_ name: String) -> String? {
        let n = Array(name.utf8)
        return metadata.first { $0.name == n }.map { String(decoding: $0.value, as: UTF8.self) }
    }
}

/// The outcome of a call: a status, its message, the response message when OK, and more trailers
/// (`grpc-status-details-bin` with retry information, for instance).
public struct GRPCReply: Sendable {
    public var status: GRPCMessage.Status
    public var message: String
    public var response: [UInt8]?
    public var trailers: [HPACKHeader]

    public init(status: GRPCMessage.Status, message: String = "", response: [UInt8]? = nil, trailers: [HPACKHeader] = []) {
        self.status = status
        self.message = message
        self.response = response
        self.trailers = trailers
    }
}

/// gRPC over cleartext HTTP/2 with prior knowledge (what OTLP exporters use against `:4317`): one
/// epoll thread owns the connections (`HTTP2ServerConnection` each), calls run on `workers` threads
/// behind a bounded queue; a full queue is answered at once with `overloaded` (RESOURCE_EXHAUSTED
/// with retry information), never buffered without bound.
public final class GRPCServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 4317
        public var workers = 4
        public var queueDepth = 64
        public var limits = HTTP2ServerConnection.Limits()
        public var maxConnections = 1024
        /// Seconds an idle connection stays open (no stream open, nothing read).
        public var idleTimeout = 300.0
        /// What a call gets when the queue is full.
        public var overloaded = GRPCReply(status: .unavailable, message: "the server is busy; retry")
        public init() {}
    }

    public typealias Handler = @Sendable (GRPCCall) -> GRPCReply

    final class Conn {
        let fd: Int32
        let id: UInt64
        var h2: HTTP2ServerConnection
        var out: [UInt8] = []
        var outOffset = 0
        var lastActive: Int64
        var interest: UInt32 = 0
        var closeAfterFlush = false
        init(fd: Int32, id: UInt64, limits: HTTP2ServerConnection.Limits, now: Int64) {
            self.fd = fd
            self.id = id
            h2 = HTTP2ServerConnection(limits: limits)
            lastActive = now
        }
    }

    struct Job {
        let connection: UInt64
        let stream: UInt32
        let call: GRPCCall?
        let failure: GRPCReply?
    }

    public let configuration: Configuration
    private let handler: Handler
    private let log: @Sendable (String) -> Void
    private var listenFD: Int32 = -1
    private var epfd: Int32 = -1
    private var wakeFD: Int32 = -1
    private var conns: [Int32: Conn] = [:]
    private var byID: [UInt64: Int32] = [:]
    private var nextID: UInt64 = 1
    private let queue = Condition()
    private var jobs: [Job] = []
    private var done: [(connection: UInt64, stream: UInt32, reply: GRPCReply)] = []
    private var stopping = false
    private var threads = 0
    public private(set) var boundPort = 0
    /// Calls answered, and refused because the queue was full (read from any thread).
    private let counters = Condition()
    private var answered = 0, refused = 0

    public init(configuration: Configuration, handler: @escaping Handler, log: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.handler = handler
        self.log = log
    }

    public var stats: (answered: Int, refused: Int) { counters.withLock { (answered, refused) } }

    @discardableResult
    public func start() throws -> Int {
        listenFD = try HTTPServer.bind(host: configuration.host, port: configuration.port)
        boundPort = Epoll.boundPort(listenFD)
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard epfd >= 0, wakeFD >= 0 else { throw HTTPServerError("epoll or eventfd: \(String(cString: strerror(errno)))") }
        Epoll.watch(epfd, listenFD, EPOLLIN.rawValue, tag: -1, add: true)
        Epoll.watch(epfd, wakeFD, EPOLLIN.rawValue, tag: -2, add: true)
        queue.withLock { threads = configuration.workers + 1 }
        for i in 0..<configuration.workers {
            let t = Thread { [self] in
                setCurrentThreadName("grpc-worker-\(i)")
                work()
                queue.withLock { threads -= 1; queue.broadcast() }
            }
            t.stackSize = 1 << 20
            t.start()
        }
        let loop = Thread { [self] in
            setCurrentThreadName("grpc-loop")
            run()
            queue.withLock { threads -= 1; queue.broadcast() }
        }
        loop.stackSize = 1 << 20
        loop.start()
        return boundPort
    }

    /// Stops accepting, lets queued calls finish, closes every connection.
    public func shutdown() {
        queue.withLock { stopping = true; queue.broadcast() }
        wake()
        queue.withLock { while threads > 0 { queue.wait() } }
        if listenFD >= 0 { close(listenFD); listenFD = -1 }
        if epfd >= 0 { close(epfd); epfd = -1 }
        if wakeFD >= 0 { close(wakeFD); wakeFD = -1 }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: Workers

    private func work() {
        while true {
            let job: Job? = queue.withLock {
                while jobs.isEmpty && !stopping { queue.wait() }
                return jobs.isEmpty ? nil : jobs.removeFirst()
            }
            guard let job else { return }
            let reply = job.failure ?? handler(job.call!)
            queue.withLock { done.append((job.connection, job.stream, reply)) }
            wake()
        }
    }

    // MARK: The loop

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 128)
        var scratch = [UInt8](repeating: 0, count: 64 * 1024)
        var lastSweep = monotonicNanos()
        while true {
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epfd, $0.baseAddress, Int32($0.count), 250) }
            let now = monotonicNanos()
            for i in 0..<max(0, Int(n)) {
                let tag = events[i].data.fd, flags = events[i].events
                if tag == -1 { acceptAll(now) }
                else if tag == -2 { var v: UInt64 = 0; _ = read(wakeFD, &v, 8) }
                else if let c = conns[tag] {
                    if flags & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { drop(c); continue }
                    if flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 { readable(c, &scratch, now) }
                    if conns[tag] === c, flags & EPOLLOUT.rawValue != 0 { flush(c, now) }
                }
            }
            let finished = queue.withLock { () -> [(connection: UInt64, stream: UInt32, reply: GRPCReply)] in
                defer { done.removeAll(keepingCapacity: true) }
                return done
            }
            for f in finished {
                guard let fd = byID[f.connection], let c = conns[fd] else { continue }
                respond(c, f.stream, f.reply)
                flush(c, now)
            }
            if queue.withLock({ stopping }) {
                let pending = queue.withLock { jobs.count + done.count }
                if pending == 0 { break }
            }
            if now - lastSweep > 1_000_000_000 {
                lastSweep = now
                for c in Array(conns.values) where c.h2.openStreams == 0 && Double(now - c.lastActive) / 1e9 > configuration.idleTimeout { drop(c) }
            }
        }
        for c in Array(conns.values) { drop(c) }
    }

    private func acceptAll(_ now: Int64) {
        while true {
            let fd = accept4(listenFD, nil, nil, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            guard conns.count < configuration.maxConnections else { close(fd); continue }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(4))
            let c = Conn(fd: fd, id: nextID, limits: configuration.limits, now: now)
            nextID += 1
            conns[fd] = c
            byID[c.id] = fd
            c.interest = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
            Epoll.watch(epfd, fd, c.interest, add: true)
            // The server's SETTINGS go first.
            c.out += c.h2.takeOutput()
            flush(c, now)
        }
    }

    private func readable(_ c: Conn, _ scratch: inout [UInt8], _ now: Int64) {
        var eof = false
        while !c.closeAfterFlush {
            let r = scratch.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            if r > 0 {
                c.lastActive = now
                let events = c.h2.receive(scratch[0..<r])
                for e in events { handle(c, e) }
                if c.h2.closed { c.closeAfterFlush = true }
                if r < scratch.count { break }
                continue
            }
            if r == 0 { eof = true; break }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { break }
            drop(c)
            return
        }
        c.out += c.h2.takeOutput()
        if eof && c.h2.openStreams == 0 { c.closeAfterFlush = true }
        flush(c, now)
    }

    private func handle(_ c: Conn, _ e: HTTP2ServerConnection.Event) {
        switch e {
        case .request(let r):
            let path = String(decoding: r.header(":path") ?? [], as: UTF8.self)
            var job: Job
            let encoding = r.header("grpc-encoding").map { String(decoding: $0, as: UTF8.self) }
            if r.header(":method") != Array("POST".utf8) {
                job = Job(connection: c.id, stream: r.stream, call: nil, failure: GRPCReply(status: .unimplemented, message: "gRPC calls are POSTs"))
            } else {
                do {
                    let messages = try GRPCMessage.messages(r.body, encoding: encoding, limit: configuration.limits.maxBodyBytes * 4)
                    job = Job(connection: c.id, stream: r.stream, call: GRPCCall(path: path, metadata: r.headers, messages: messages), failure: nil)
                } catch {
                    job = Job(connection: c.id, stream: r.stream, call: nil, failure: GRPCReply(status: error.status, message: error.message))
                }
            }
            let accepted = queue.withLock { () -> Bool in
                guard jobs.count < configuration.queueDepth, !stopping else { return false }
                jobs.append(job)
                queue.broadcast()
                return true
            }
            if !accepted {
                counters.withLock { refused += 1 }
                respond(c, r.stream, configuration.overloaded)
            }
        case .bodyTooLarge(let stream, _):
            respond(c, stream, GRPCReply(status: .resourceExhausted, message: "a request of more than \(configuration.limits.maxBodyBytes) octets"))
        case .reset, .goAway:
            break
        case .failed(let why):
            log("grpc connection closed: \(why)")
            c.closeAfterFlush = true
        }
    }

    private func respond(_ c: Conn, _ stream: UInt32, _ reply: GRPCReply) {
        counters.withLock { answered += 1 }
        var trailers = [HPACKHeader(Array("grpc-status".utf8), Array(String(reply.status.rawValue).utf8))]
        if !reply.message.isEmpty { trailers.append(HPACKHeader(Array("grpc-message".utf8), GRPCMessage.percentEncoded(reply.message))) }
        trailers += reply.trailers
        let head = [HPACKHeader(":status", "200"), HPACKHeader("content-type", "application/grpc")]
        if let body = reply.response, reply.status == .ok {
            c.h2.respond(stream: stream, headers: head, body: GRPCMessage.frame(body), trailers: trailers)
        } else {
            // Trailers-only: one HEADERS frame with the status (gRPC's "Trailers-Only" response).
            c.h2.respond(stream: stream, headers: head + trailers, body: [], trailers: nil)
        }
        c.out += c.h2.takeOutput()
    }

    private func flush(_ c: Conn, _ now: Int64) {
        guard conns[c.fd] === c else { return }
        while c.outOffset < c.out.count {
            let r = c.out.withUnsafeBytes { b in Glibc.send(c.fd, b.baseAddress! + c.outOffset, b.count - c.outOffset, Int32(MSG_NOSIGNAL)) }
            if r > 0 { c.outOffset += r; continue }
            if r < 0 && errno == EINTR { continue }
            if r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
            drop(c)
            return
        }
        if c.outOffset >= c.out.count {
            c.out.removeAll(keepingCapacity: c.out.capacity < 1 << 20)
            c.outOffset = 0
            if c.closeAfterFlush { drop(c); return }
        }
        var want: UInt32 = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        if c.outOffset < c.out.count { want |= EPOLLOUT.rawValue }
        if want != c.interest {
            c.interest = want
            Epoll.watch(epfd, c.fd, want)
        }
    }

    private func drop(_ c: Conn) {
        guard conns[c.fd] === c else { return }
        conns[c.fd] = nil
        byID[c.id] = nil
        _ = epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nil)
        close(c.fd)
    }
}
