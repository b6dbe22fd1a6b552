/// One client connection, owned by one event loop (never touched from another thread).
final class Connection {
    let fd: Int32
    let id: UInt64
    let remote: String
    var parser: HTTPParser
    /// Response bytes not yet written, from `outOffset`.
    var out: [UInt8] = []
    var outOffset = 0
    /// A request of this connection is at a worker; the next one (pipelined) waits in the parser.
    var inFlight = false
    /// The request being answered, for the access log.
    var current: (method: String, target: String, bytes: Int, started: Int64, keepAlive: Bool, head: Bool)?
    /// Close once `out` is written (error, `Connection: close`, shutdown).
    var closeAfterFlush = false
    /// Write side shut; reading and discarding until the client closes or `lingerDeadline`.
    var lingering = false
    var lingerDeadline: Int64 = 0
    /// The client closed its side while a request was in flight: answer, then close.
    var peerClosed = false
    var requestStarted: Int64 = 0
    var lastRead: Int64
    var lastWrite: Int64
    var interest: UInt32 = 0
    /// Until the first byte arrives, a connection is held to the header timeout, not the idle one:
    /// sockets that never speak must not hold the connection slots for 75 s.
    var silent = true

    init(fd: Int32, id: UInt64, remote: String, limits: HTTPParser.Limits, now: Int64) {
        self.fd = fd
        self.id = id
        self.remote = remote
        self.parser = HTTPParser(limits: limits)
        self.lastRead = now
        self.lastWrite = now
    }

    var hasPendingOutput: Bool { outOffset < out.count }
}
