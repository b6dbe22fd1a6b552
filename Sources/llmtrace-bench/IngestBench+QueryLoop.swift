#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LLMTraceModel
import LLMTraceSupport

/// `llmtrace-bench ingest --query-loop`: while the load runs, one client asks the collector the
/// query bench's set (`QueryBench.queries`, over the last hour and day by `now()`) through
/// `POST /api/query`, one after another: what a collector holds while it ingests at full rate and
/// answers a dashboard's questions (its peak RSS is the run's `peak_rss_mb`).
extension IngestBench {
    final class QueryLoop: @unchecked Sendable {
        let host: String, port: Int, key: String?
        private let c = Condition()
        private var stopped = false
        private var times: [String: [Double]] = [:]
        private var statuses: [Int: Int] = [:]
        private var thread: Thread?

        init(host: String, port: Int, key: String?) {
            self.host = host
            self.port = port
            self.key = key
        }

        func start() {
            let queries = QueryBench.queries(hourAgo: "now() - 1h", dayAgo: "now() - 1d")
            let t = Thread { [self] in
                while !c.withLock({ stopped }) {
                    for (name, sql) in queries {
                        let t0 = monotonicNanos()
                        let status = IngestBench.postQuery(host: host, port: port, key: key, sql: sql)
                        let ms = Double(monotonicNanos() - t0) / 1e6
                        c.withLock {
                            statuses[status, default: 0] += 1
                            if status == 200 { times[name, default: []].append(ms) }
                        }
                    }
                }
            }
            t.start()
            thread = t
        }

        /// Stops the loop (after the query in flight) and returns the figures for the run's JSON:
        /// queries answered, answers by HTTP status, each query's median time.
        func finish() -> [(String, String)] {
            c.withLock { stopped = true }
            while thread?.isFinished == false { usleep(10_000) }
            return c.withLock {
                let total = statuses.values.reduce(0, +)
                let byStatus = statuses.keys.sorted().map { "\"\($0)\": \(statuses[$0]!)" }.joined(separator: ", ")
                let medians = times.keys.sorted().map { name -> String in
                    let t = times[name]!.sorted()
                    return "\"\(name)\": " + String(format: "%.1f", t[t.count / 2])
                }.joined(separator: ", ")
                return [("queries", "\(total)"), ("query_statuses", "{\(byStatus)}"), ("query_p50_ms", "{\(medians)}")]
            }
        }
    }

    /// One `POST /api/query` (text/plain) on its own connection; the response status, or -1.
    static func postQuery(host: String, port: Int, key: String?, sql: String) -> Int {
        let fd = connect(host: host, port: port)
        guard fd >= 0 else { return -1 }
        defer { close(fd) }
        let body = Array(sql.utf8)
        let auth = key.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        let head = "POST /api/query HTTP/1.1\r\nHost: \(host)\r\n\(auth)Content-Type: text/plain\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        guard writeAll(fd, Array(head.utf8)), writeAll(fd, body) else { return -1 }
        let all = readToClose(fd)
        let parts = String(decoding: all.prefix(64), as: UTF8.self).split(separator: " ", maxSplits: 2)
        return parts.count >= 2 ? Int(parts[1]) ?? -1 : -1
    }
}
