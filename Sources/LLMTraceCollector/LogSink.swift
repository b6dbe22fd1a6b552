#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel
import LLMTraceStore

/// Access and error logs: one line per event on stderr, as text or JSON (`--log-format json`).
/// Each line is one `write(2)`, so lines from different threads never interleave.
public struct LogSink: Sendable {
    public enum Format: String, Sendable { case text, json }
    public var format: Format
    public var accessLog: Bool

    public init(format: Format = .text, accessLog: Bool = true) {
        self.format = format
        self.accessLog = accessLog
    }

    public func log(_ level: String, _ message: String, _ fields: [(String, String)] = []) {
        var line: [UInt8]
        let ts = Self.timestamp(wallNanos())
        switch format {
        case .text:
            var s = "\(ts) \(level) \(message)"
            for (k, v) in fields { s += " \(k)=\(v.contains(" ") ? "\"\(v)\"" : v)" }
            line = Array(s.utf8)
        case .json:
            var w = JSONWriter()
            w.beginObject()
            w.key("ts"); w.string(ts)
            w.key("level"); w.string(level)
            w.key("msg"); w.string(message)
            for (k, v) in fields { w.key(k); w.string(v) }
            w.endObject()
            line = w.bytes
        }
        line.append(0x0A)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    public func info(_ m: String, _ f: [(String, String)] = []) { log("info", m, f) }
    public func warn(_ m: String, _ f: [(String, String)] = []) { log("warn", m, f) }
    public func error(_ m: String, _ f: [(String, String)] = []) { log("error", m, f) }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp(_ nanos: Int64) -> String {
        var t = time_t(nanos / 1_000_000_000)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func p2(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = Int(nanos / 1_000_000 % 1000)
        let msS = ms < 10 ? "00\(ms)" : (ms < 100 ? "0\(ms)" : "\(ms)")
        return "\(tmv.tm_year + 1900)-\(p2(tmv.tm_mon + 1))-\(p2(tmv.tm_mday))T\(p2(tmv.tm_hour)):\(p2(tmv.tm_min)):\(p2(tmv.tm_sec)).\(msS)Z"
    }
}
