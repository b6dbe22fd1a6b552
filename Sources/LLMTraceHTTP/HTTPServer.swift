import Foundation
#if canImport(Glibc)
import Glibc
#endif
import CLinux
import LLMTraceSupport

public struct HTTPServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// An HTTP/1.1 server on raw sockets: `eventLoops` epoll threads share one listening socket and
/// parse requests; handlers run on `workers` threads behind a bounded queue (429 + Retry-After when
/// it is full). Keep-alive, pipelining, chunked bodies, 100-continue, limits and timeouts.
public final class HTTPServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 4318
        public var eventLoops = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))
        /// Handler threads. Handlers block on WAL fsyncs; several in flight let one fsync cover them all.
        public var workers = 8
        /// Requests waiting for a worker before new ones get 429.
        public var queueDepth = 64
        /// Body bytes waiting for a worker before new ones get 429.
        public var queueBytes = 256 * 1024 * 1024
        public var limits = HTTPParser.Limits()
        /// Seconds for a request's headers to arrive once its first byte has.
        public var headerTimeout = 10.0
        /// Seconds a request body may stall between reads.
        public var bodyTimeout = 30.0
        /// Seconds an idle keep-alive connection stays open.
        public var idleTimeout = 75.0
        /// Seconds a client may leave a response unread.
        public var writeTimeout = 30.0
        public var maxConnections = 1024
        public var retryAfterSeconds = 1
        /// Seconds shutdown waits for in-flight requests.
        public var shutdownGraceSeconds = 10.0
        public init() {}
    }

    /// Runs on a worker thread; may block.
    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse
    /// Runs on the event loop for every request first; must not block. A response answers the
    /// request there (health checks, metrics: served even when the workers are saturated).
    public typealias InlineHandler = @Sendable (HTTPRequest) -> HTTPResponse?

    public struct AccessLogEntry: Sendable {
        public var method: String
        public var target: String
        public var status: Int
        public var requestBytes: Int
        public var responseBytes: Int
        public var durationNanos: Int64
        public var remote: String
    }

    public struct Stats: Sendable {
        public var openConnections = 0
        public var rejectedConnections = 0
        public var overloadRejections = 0
        public var parseErrors = 0
        public var timeouts = 0
        public var queueDepth = 0
    }

    public let configuration: Configuration
    let inlineHandler: InlineHandler?
    private let handler: Handler
    private let accessLog: (@Sendable (AccessLogEntry) -> Void)?
    private let errorLog: @Sendable (String) -> Void
    private(set) var pool: WorkerPool!
    private var loops: [EventLoop] = []
    private var listenFD: Int32 = -1
    private let lock = Condition()
    private var stats = Stats()
    private var stopping = false
    private var loopsRunning = 0
    public private(set) var boundPort = 0

    public init(configuration: Configuration, handler: @escaping Handler, inline: InlineHandler? = nil,
                accessLog: (@Sendable (AccessLogEntry) -> Void)? = nil, errorLog: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.handler = handler
        self.inlineHandler = inline
        self.accessLog = accessLog
        self.errorLog = errorLog
    }

    /// Binds and starts the loops and workers; returns the bound port (useful with port 0).
    @discardableResult
    public func start() throws -> Int {
        listenFD = try Self.bind(host: configuration.host, port: configuration.port)
        boundPort = Epoll.boundPort(listenFD)
        pool = WorkerPool(threads: configuration.workers, maxJobs: configuration.queueDepth, maxBytes: configuration.queueBytes, handler: handler)
        for i in 0..<configuration.eventLoops {
            let loop = try EventLoop(server: self, index: i)
            loop.addListener(listenFD)
            loops.append(loop)
        }
        lock.withLock { loopsRunning = loops.count }
        for loop in loops {
            let t = Thread { [self] in
                loop.run()
                lock.withLock { loopsRunning -= 1; lock.broadcast() }
            }
            t.stackSize = 1 << 20
            t.start()
        }
        return boundPort
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), closes every
    /// connection and stops the workers. Safe to call once.
    public func shutdown() {
        lock.withLock { stopping = true }
        for l in loops { l.requestStop() }
        lock.withLock { while loopsRunning > 0 { lock.wait() } }
        if listenFD >= 0 { close(listenFD); listenFD = -1 }
        pool?.close()
    }

    public var currentStats: Stats {
        var s = lock.withLock { stats }
        s.queueDepth = pool?.depth ?? 0
        return s
    }

    // MARK: Called by the loops

    var isStopping: Bool { lock.withLock { stopping } }
    func log(_ s: String) { errorLog(s) }
    func logAccess(_ e: AccessLogEntry) { accessLog?(e) }

    func connectionOpened() -> Bool {
        lock.withLock {
            if stats.openConnections >= configuration.maxConnections { return false }
            stats.openConnections += 1
            return true
        }
    }
    func connectionClosed() { lock.withLock { stats.openConnections -= 1 } }
    func countRejectedConnection() { lock.withLock { stats.rejectedConnections += 1 } }
    func countOverload() { lock.withLock { stats.overloadRejections += 1 } }
    func countParseError() { lock.withLock { stats.parseErrors += 1 } }
    func countTimeout() { lock.withLock { stats.timeouts += 1 } }

    // MARK: Socket

    static func bind(host: String, port: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var res: UnsafeMutablePointer<addrinfo>? = nil
        let h = host.isEmpty ? nil : host
        let rc = getaddrinfo(h, String(port), &hints, &res)
        guard rc == 0, let first = res else {
            throw HTTPServerError("cannot resolve listen address '\(host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(res) }
        var lastError = "no usable address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            defer { ai = a.pointee.ai_next }
            let fd = socket(a.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd < 0 { lastError = String(cString: strerror(errno)); continue }
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(4))
            if Glibc.bind(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) != 0 || listen(fd, 1024) != 0 {
                lastError = String(cString: strerror(errno))
                close(fd)
                continue
            }
            return fd
        }
        throw HTTPServerError("cannot listen on \(host):\(port): \(lastError)")
    }
}
