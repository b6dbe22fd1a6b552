#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// What the two servers' event loops (HTTP/1 and gRPC) share about sockets: epoll registrations
/// and the port a listening socket got.
enum Epoll {
    /// Registers (`EPOLL_CTL_ADD`) or changes (`EPOLL_CTL_MOD`) what `fd` is watched for, tagged
    /// with `tag` (the fd itself, or a negative tag for the listener and the wake-up eventfd).
    static func watch(_ epfd: Int32, _ fd: Int32, _ events: UInt32, tag: Int32? = nil, add: Bool = false) {
        var ev = epoll_event()
        ev.events = events
        ev.data.fd = tag ?? fd
        _ = epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev)
    }

    /// The port a bound socket listens on (IPv4 or IPv6).
    static func boundPort(_ fd: Int32) -> Int {
        var addr = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let family = Int32(addr.ss_family)
        return withUnsafePointer(to: &addr) { p -> Int in
            if family == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }
}
