#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The terminal the dashboard takes over: raw input, the alternate screen, the cursor hidden —
/// and always given back: on a normal exit, Ctrl-C, SIGTERM, SIGHUP, a crash signal (SIGSEGV,
/// SIGBUS, SIGILL, SIGFPE, SIGABRT), and around Ctrl-Z (SIGTSTP gives it back and stops; SIGCONT
/// takes it again and asks for a full redraw). The restoring paths use only async-signal-safe calls
/// (`write`, `tcsetattr`, `signal`, `raise`).
public final class Terminal: @unchecked Sendable {
    public let input: Int32
    public let output: Int32

    public init(input: Int32 = 0, output: Int32 = 1) {
        self.input = input
        self.output = output
    }

    public var isTerminal: Bool { isatty(input) == 1 && isatty(output) == 1 }

    /// The size in cells (80×24 when the terminal does not say).
    public var size: (width: Int, height: Int) {
        var w = winsize()
        if ioctl(output, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0, w.ws_row > 0 { return (Int(w.ws_col), Int(w.ws_row)) }
        return (80, 24)
    }

    /// Enters raw mode and the alternate screen and installs the handlers that give them back.
    public func enter() throws(TerminalError) {
        guard tcgetattr(input, &TerminalState.saved) == 0 else { throw TerminalError("standard input is not a terminal (tracectl dash needs one)") }
        TerminalState.input = input
        TerminalState.output = output
        TerminalState.active = 1
        Self.takeOver()
        for s in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT] { signal(s, Self.onFatalSignal) }
        signal(SIGTSTP, Self.onStop)
        signal(SIGCONT, Self.onContinue)
        signal(SIGWINCH, Self.onResize)
    }

    /// Gives the terminal back (idempotent).
    public func leave() {
        Self.restore()
        for s in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTSTP, SIGCONT, SIGWINCH] { signal(s, SIG_DFL) }
    }

    /// Writes all of `bytes`.
    public func write(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { sysWrite(output, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            off += n
        }
    }

    /// Waits up to `timeoutMillis` for input and returns what arrived (empty on timeout or a signal).
    public func read(timeoutMillis: Int32) -> [UInt8] {
        var p = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMillis) > 0 else { return [] }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { sysRead(input, $0.baseAddress, $0.count) }
        return n > 0 ? Array(buf[0..<n]) : []
    }

    /// A resize happened since the last call (SIGWINCH).
    public func takeResize() -> Bool {
        let r = TerminalState.resized != 0
        TerminalState.resized = 0
        return r
    }

    /// The terminal was resumed after Ctrl-Z since the last call: redraw everything.
    public func takeResume() -> Bool {
        let r = TerminalState.resumed != 0
        TerminalState.resumed = 0
        return r
    }

    // MARK: Signal-safe parts

    private static let enterSequence: [UInt8] = Array("\u{1b}[?1049h\u{1b}[?25l\u{1b}[?7l\u{1b}[H\u{1b}[2J".utf8)
    private static let leaveSequence: [UInt8] = Array("\u{1b}[0m\u{1b}[?7h\u{1b}[?25h\u{1b}[?1049l".utf8)

    private static func takeOver() {
        var raw = TerminalState.saved
        // Raw input: no echo, no line buffering, no signals from keys (Ctrl-C arrives as a byte and
        // quits cleanly; Ctrl-Z too, and is turned into SIGTSTP by the dashboard), no CR/LF mapping.
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL | BRKINT | INPCK | ISTRIP)
        raw.c_cflag |= tcflag_t(CS8)
        tcsetattr(TerminalState.input, TCSAFLUSH, &raw)
        enterSequence.withUnsafeBytes { _ = sysWrite(TerminalState.output, $0.baseAddress, $0.count) }
    }

    static func restore() {
        guard TerminalState.active != 0 else { return }
        TerminalState.active = 0
        leaveSequence.withUnsafeBytes { _ = sysWrite(TerminalState.output, $0.baseAddress, $0.count) }
        tcsetattr(TerminalState.input, TCSAFLUSH, &TerminalState.saved)
    }

    /// A signal that ends the process (asked for, or a crash): give the terminal back, then let the
    /// signal do what it does by default.
    private static let onFatalSignal: @convention(c) (Int32) -> Void = { sig in
        restore()
        signal(sig, SIG_DFL)
        raise(sig)
    }

    private static let onStop: @convention(c) (Int32) -> Void = { _ in
        restore()
        TerminalState.stopped = 1
        signal(SIGTSTP, SIG_DFL)
        raise(SIGTSTP)
    }

    private static let onContinue: @convention(c) (Int32) -> Void = { _ in
        guard TerminalState.stopped != 0 else { return }
        TerminalState.stopped = 0
        TerminalState.active = 1
        takeOver()
        signal(SIGTSTP, onStop)
        TerminalState.resumed = 1
    }

    private static let onResize: @convention(c) (Int32) -> Void = { _ in TerminalState.resized = 1 }
}

public struct TerminalError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

/// What the signal handlers reach: plain globals (no locks, no allocation).
enum TerminalState {
    nonisolated(unsafe) static var saved = termios()
    nonisolated(unsafe) static var input: Int32 = 0
    nonisolated(unsafe) static var output: Int32 = 1
    nonisolated(unsafe) static var active: sig_atomic_t = 0
    nonisolated(unsafe) static var stopped: sig_atomic_t = 0
    nonisolated(unsafe) static var resumed: sig_atomic_t = 0
    nonisolated(unsafe) static var resized: sig_atomic_t = 0
}

@inline(__always) func sysWrite(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}

@inline(__always) func sysRead(_ fd: Int32, _ p: UnsafeMutableRawPointer?, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, p, n)
    #else
    return Darwin.read(fd, p, n)
    #endif
}
