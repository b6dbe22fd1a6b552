#if canImport(Glibc)
import Glibc
#endif
import CLinux
import LLMTraceSupport

/// One epoll loop on its own thread: accepts from the shared listening socket, reads and parses
/// requests, hands them to the worker pool, writes responses, enforces timeouts. Nothing it does
/// blocks, so a slow client costs a few buffers, never another client's latency.
final class EventLoop: @unchecked Sendable {
    private let server: HTTPServer
    private let index: Int
    private let epfd: Int32
    private let wakeFD: Int32
    private var conns: [Int32: Connection] = [:]
    private var nextID: UInt64 = 1
    private var listenFD: Int32 = -1

    /// Finished responses posted by workers, drained by the loop after an eventfd wake-up.
    private let inbox = Condition()
    private var completions: [(fd: Int32, connection: UInt64, response: HTTPResponse, handlerNanos: Int64)] = []
    private var stopRequested = false

    private static let listenerTag: Int32 = -1
    private static let wakeTag: Int32 = -2
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    init(server: HTTPServer, index: Int) throws(HTTPServerError) {
        self.server = server
        self.index = index
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epfd >= 0 else { throw HTTPServerError("epoll_create1: \(String(cString: strerror(errno)))") }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else { throw HTTPServerError("eventfd: \(String(cString: strerror(errno)))") }
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue
        ev.data.fd = Self.wakeTag
        _ = epoll_ctl(epfd, EPOLL_CTL_ADD, wakeFD, &ev)
    }

    deinit {
        close(epfd)
        close(wakeFD)
    }

    func addListener(_ fd: Int32) {
        listenFD = fd
        var ev = epoll_event()
        // Every loop waits on the one listening socket; EXCLUSIVE wakes one of them per connection.
        ev.events = EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue
        ev.data.fd = Self.listenerTag
        _ = epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)
    }

    // MARK: Cross-thread entry points

    func complete(fd: Int32, connection: UInt64, response: HTTPResponse, handlerNanos: Int64) {
        inbox.withLock { completions.append((fd, connection, response, handlerNanos)) }
        wake()
    }

    func requestStop() {
        inbox.withLock { stopRequested = true }
        wake()
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: The loop

    func run() {
        setCurrentThreadName("http-loop-\(index)")
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var lastSweep = monotonicNanos()
        var stopping = false
        var stopDeadline: Int64 = 0
        while true {
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epfd, $0.baseAddress, Int32($0.count), 250) }
            if n < 0 && errno != EINTR { server.log("error: epoll_wait: \(String(cString: strerror(errno)))"); break }
            let now = monotonicNanos()
            for i in 0..<max(0, Int(n)) {
                let ev = events[i]
                let tag = ev.data.fd
                if tag == Self.listenerTag {
                    if !stopping { acceptAll(now: now) }
                } else if tag == Self.wakeTag {
                    var v: UInt64 = 0
                    _ = read(wakeFD, &v, 8)
                } else if let c = conns[tag] {
                    if ev.events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                        // Reset or fully closed: nothing can be written back any more.
                        closeConnection(c)
                        continue
                    }
                    if ev.events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 { readable(c, now: now) }
                    if conns[tag] === c, ev.events & EPOLLOUT.rawValue != 0 { flush(c, now: now) }
                }
            }
            drainCompletions(now: now)
            if !stopping && inbox.withLock({ stopRequested }) {
                stopping = true
                stopDeadline = now + Int64(server.configuration.shutdownGraceSeconds * 1e9)
                if listenFD >= 0 { _ = epoll_ctl(epfd, EPOLL_CTL_DEL, listenFD, nil) }
            }
            if stopping {
                // Finish what is in flight; close everything idle; give up at the grace deadline.
                for c in Array(conns.values) where !c.inFlight && !c.hasPendingOutput && !c.parser.isMidRequest {
                    closeConnection(c)
                }
                if conns.isEmpty || now > stopDeadline { break }
            }
            if now - lastSweep > 250_000_000 {
                lastSweep = now
                sweepTimeouts(now: now)
            }
        }
        for c in Array(conns.values) { closeConnection(c) }
    }

    private func acceptAll(now: Int64) {
        while true {
            var addr = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept4(listenFD, $0, &len, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)) }
            }
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno != EAGAIN && errno != EWOULDBLOCK { server.log("error: accept: \(String(cString: strerror(errno)))") }
                return
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(4))
            if !server.connectionOpened() {
                // Over the connection limit: a short 503 and close, rather than leave it unanswered.
                let r = HTTPResponse.error(503, "too many connections", headers: [("retry-after", "\(server.configuration.retryAfterSeconds)")])
                let bytes = r.serialized(close: true)
                _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(fd)
                server.countRejectedConnection()
                continue
            }
            let c = Connection(fd: fd, id: nextID, remote: Self.describe(addr), limits: server.configuration.limits, now: now)
            nextID += 1
            conns[fd] = c
            c.interest = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
            Epoll.watch(epfd, fd, c.interest, add: true)
        }
    }

    private func readable(_ c: Connection, now: Int64) {
        if c.inFlight && !c.lingering {
            // Not reading while a request is at a worker (backpressure on pipelining clients); a
            // hang-up is noted so the connection closes after the answer.
            var b: UInt8 = 0
            let r = recv(c.fd, &b, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            if r == 0 { c.peerClosed = true; setInterest(c) }
            return
        }
        var gotEOF = false
        var readAny = false
        while true {
            let r = scratch.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            if r > 0 {
                readAny = true
                if c.lingering { continue }
                let wasMid = c.parser.isMidRequest
                scratch.withUnsafeBytes { c.parser.feed(UnsafeRawBufferPointer(rebasing: $0[0..<r])) }
                c.parser.absorb()
                if !wasMid { c.requestStarted = now }
                // Stop reading while one connection's unparsed bytes exceed a body and a head: the
                // parser will refuse it anyway, and the loop must move on to other clients.
                if c.parser.bufferedBytes > server.configuration.limits.maxBodyBytes + server.configuration.limits.maxHeaderBytes { break }
                if r < scratch.count { break }
                continue
            }
            if r == 0 { gotEOF = true; break }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { break }
            closeConnection(c)  // ECONNRESET and friends
            return
        }
        if readAny { c.lastRead = now; c.silent = false }
        if c.lingering {
            if gotEOF { closeConnection(c) }
            return
        }
        process(c, now: now)
        guard conns[c.fd] === c else { return }
        if gotEOF {
            if c.inFlight { c.peerClosed = true; setInterest(c) }
            else if !c.hasPendingOutput { closeConnection(c) }
            else { c.closeAfterFlush = true; c.peerClosed = true }
        }
    }

    /// Parses and dispatches requests until one is in flight or more bytes are needed.
    private func process(_ c: Connection, now: Int64) {
        while !c.inFlight && !c.closeAfterFlush {
            let request: HTTPRequest?
            do {
                request = try c.parser.next()
            } catch {
                server.countParseError()
                let r = HTTPResponse.error(error.status, error.message)
                c.current = ("-", "-", c.parser.bufferedBytes, c.requestStarted, false, false)
                send(c, r, now: now, forceClose: true)
                return
            }
            guard let req = request else { break }
            dispatch(c, req, now: now)
            if c.parser.isMidRequest == false { c.requestStarted = now }
        }
        if !c.inFlight && !c.closeAfterFlush && c.parser.wantsContinue {
            c.parser.continueSent()
            c.out.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8)
            flush(c, now: now)
        }
        if conns[c.fd] === c { setInterest(c) }
    }

    private func dispatch(_ c: Connection, _ req: HTTPRequest, now: Int64) {
        c.current = (req.method, req.target, req.body.count, c.requestStarted == 0 ? now : c.requestStarted, req.keepAlive, req.method == "HEAD")
        if server.isStopping {
            send(c, HTTPResponse.error(503, "server is shutting down", headers: [("retry-after", "\(server.configuration.retryAfterSeconds)")]), now: now, forceClose: true)
            return
        }
        if let inline = server.inlineHandler, let r = inline(req) {
            send(c, r, now: now)
            return
        }
        if server.pool.offer(WorkerPool.Job(loop: self, fd: c.fd, connection: c.id, request: req)) {
            c.inFlight = true
        } else {
            server.countOverload()
            send(c, HTTPResponse.error(429, "ingest queue is full; retry after \(server.configuration.retryAfterSeconds)s",
                                       headers: [("retry-after", "\(server.configuration.retryAfterSeconds)")]), now: now)
        }
    }

    private func drainCompletions(now: Int64) {
        let done = inbox.withLock { () -> [(fd: Int32, connection: UInt64, response: HTTPResponse, handlerNanos: Int64)] in
            let d = completions
            completions.removeAll(keepingCapacity: true)
            return d
        }
        for d in done {
            guard let c = conns[d.fd], c.id == d.connection else { continue }  // the client went away
            c.inFlight = false
            send(c, d.response, now: now, forceClose: c.peerClosed)
            if conns[c.fd] === c && !c.closeAfterFlush { process(c, now: now) }
        }
    }

    /// Queues a response and writes what the socket takes.
    private func send(_ c: Connection, _ r: HTTPResponse, now: Int64, forceClose: Bool = false) {
        let cur = c.current
        let close = forceClose || !(cur?.keepAlive ?? false) || server.isStopping
        let bytes = r.serialized(close: close, headOnly: cur?.head ?? false)
        if c.hasPendingOutput { c.out.append(contentsOf: bytes) } else { c.out = bytes; c.outOffset = 0 }
        if close { c.closeAfterFlush = true }
        if let cur {
            server.logAccess(HTTPServer.AccessLogEntry(method: cur.method, target: cur.target, status: r.status,
                                                       requestBytes: cur.bytes, responseBytes: r.body.count,
                                                       durationNanos: now - cur.started, remote: c.remote))
        }
        c.current = nil
        flush(c, now: now)
    }

    private func flush(_ c: Connection, now: Int64) {
        while c.hasPendingOutput {
            let r = c.out.withUnsafeBytes { b in
                Glibc.send(c.fd, b.baseAddress! + c.outOffset, b.count - c.outOffset, Int32(MSG_NOSIGNAL))
            }
            if r > 0 {
                c.outOffset += r
                c.lastWrite = now
                continue
            }
            if r < 0 && errno == EINTR { continue }
            if r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
            closeConnection(c)
            return
        }
        if !c.hasPendingOutput {
            if c.out.capacity > 1 << 20 { c.out = [] } else { c.out.removeAll(keepingCapacity: true) }
            c.outOffset = 0
            if c.closeAfterFlush && !c.lingering {
                if c.peerClosed {
                    closeConnection(c)
                    return
                }
                // Half-close and drain what the client is still sending, so it reads our answer
                // instead of a reset (a 413 usually arrives mid-upload).
                shutdown(c.fd, Int32(SHUT_WR))
                c.lingering = true
                c.lingerDeadline = now + 2_000_000_000
            }
        }
        if conns[c.fd] === c { setInterest(c) }
    }

    private func setInterest(_ c: Connection) {
        var want: UInt32 = EPOLLRDHUP.rawValue
        if c.lingering || (!c.inFlight && !c.closeAfterFlush) { want |= EPOLLIN.rawValue }
        if c.hasPendingOutput { want |= EPOLLOUT.rawValue }
        if c.inFlight && c.peerClosed { want = c.hasPendingOutput ? EPOLLOUT.rawValue : 0 }
        if want == c.interest { return }
        c.interest = want
        Epoll.watch(epfd, c.fd, want)
    }

    private func closeConnection(_ c: Connection) {
        guard conns[c.fd] === c else { return }
        conns[c.fd] = nil
        _ = epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nil)
        close(c.fd)
        server.connectionClosed()
    }

    private func sweepTimeouts(now: Int64) {
        let cfg = server.configuration
        for c in Array(conns.values) {
            if c.lingering {
                if now > c.lingerDeadline { closeConnection(c) }
                continue
            }
            if c.hasPendingOutput {
                if Double(now - c.lastWrite) / 1e9 > cfg.writeTimeout { closeConnection(c) }
                continue
            }
            if c.inFlight { continue }
            if c.parser.isMidRequest {
                let late = c.parser.isReadingHead
                    ? Double(now - c.requestStarted) / 1e9 > cfg.headerTimeout
                    : Double(now - c.lastRead) / 1e9 > cfg.bodyTimeout
                if late {
                    server.countTimeout()
                    c.current = ("-", "-", c.parser.bufferedBytes, c.requestStarted, false, false)
                    send(c, HTTPResponse.error(408, c.parser.isReadingHead ? "request headers not received in time" : "request body stalled"),
                         now: now, forceClose: true)
                }
            } else if Double(now - max(c.lastRead, c.lastWrite)) / 1e9 > (c.silent ? cfg.headerTimeout : cfg.idleTimeout) {
                if c.silent { server.countTimeout() }
                closeConnection(c)
            }
        }
    }

    static func cString(_ b: [CChar]) -> String {
        String(decoding: b.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func describe(_ addr: sockaddr_storage) -> String {
        var a = addr
        var buf = [CChar](repeating: 0, count: 64)
        switch Int32(a.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                    var sin = p.pointee.sin_addr
                    inet_ntop(AF_INET, &sin, &buf, 64)
                    return Self.cString(buf) + ":\(UInt16(bigEndian: p.pointee.sin_port))"
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                    var sin = p.pointee.sin6_addr
                    inet_ntop(AF_INET6, &sin, &buf, 64)
                    return "[" + Self.cString(buf) + "]:\(UInt16(bigEndian: p.pointee.sin6_port))"
                }
            }
        default:
            return "-"
        }
    }
}
