import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LLMTraceCLI
import LLMTraceCollector
import LLMTraceOTLP
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic

/// `llmtrace-bench ingest`: OTLP/HTTP protobuf load against a running (or spawned) llmtraced.
///
/// Each connection is a thread with a keep-alive socket that posts batches of realistic LLM spans
/// (the synthetic workload, GenAI attribute names) and waits for the answer, as an exporter does.
/// Bodies are encoded once; every request rewrites the trace ids in place, so each sends new traces
/// without the client spending CPU on encoding (client and server share the machine's two cores).
enum IngestBench {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["endpoint", "connections", "seconds", "batch", "rate", "server-pid", "key",
                                                         "data", "server-arg", "bodies", "compare", "pairs"],
                                         flags: ["spawn", "gzip", "keep", "help", "grpc", "query-loop"])
        if a.has("help") { Terminal.print(BenchMain.usage); return }
        if !a.values("compare").isEmpty {
            return try compare(argv, variantArgs: a.values("compare"), pairs: max(1, try a.int("pairs", default: 3)))
        }
        let connections = max(1, try a.int("connections", default: 8))
        let seconds = try a.double("seconds", default: 60)
        let batch = max(1, try a.int("batch", default: 512))
        let rate = try a.double("rate", default: 0)
        let bodiesPerConnection = max(1, try a.int("bodies", default: 4))
        let gzip = a.has("gzip")
        var endpoint = a.value("endpoint") ?? "http://127.0.0.1:4318"
        var serverPID: Int32? = try a.value("server-pid").map {
            guard let p = Int32($0) else { throw UsageError("--server-pid expects a process id") }
            return p
        }

        // Optionally start the server: the llmtraced next to this binary, a temp data directory.
        var spawned: SpawnedCollector? = nil
        // --grpc: OTLP over gRPC to the spawned collector's --grpc-listen (or to --grpc-endpoint).
        let grpc = a.has("grpc")
        var grpcPort = 0
        if grpc, !a.has("spawn") { throw UsageError("--grpc runs with --spawn (the collector is started with --grpc-listen)") }
        if a.has("spawn") {
            var extra = a.values("server-arg")
            if grpc {
                grpcPort = try FreePort.loopback()
                extra += ["--grpc-listen", "127.0.0.1:\(grpcPort)"]
            }
            let server = try SpawnedCollector(directory: a.value("data"), arguments: extra, keepDirectory: a.has("keep"))
            try server.start()
            spawned = server
            serverPID = server.pid
            endpoint = server.endpoint
            Terminal.error("spawned \(server.binary) (pid \(server.pid ?? 0)) on \(endpoint), data in \(server.directory)")
        }
        defer { spawned?.finish() }
        let (host, port, path) = try parseEndpoint(endpoint)
        try waitForHealth(host: host, port: port, seconds: 30)

        // Request bodies: distinct batches per connection, encoded once.
        Terminal.error("encoding \(connections * bodiesPerConnection) OTLP batches of \(batch) spans…")
        var bodies: [[(bytes: [UInt8], offsets: [Int])]] = []
        var rawBytes = 0
        for c in 0..<connections {
            // Stamped from now, so the detectors see current minutes (as they do in production).
            var gen = SyntheticWorkload(seed: 1000 + UInt64(c), startNanos: wallNanos())
            var mine: [(bytes: [UInt8], offsets: [Int])] = []
            for _ in 0..<bodiesPerConnection {
                var spans = gen.nextBatch(count: batch)
                spans.removeLast(spans.count - batch)
                let enc = OTLPEncoder.encode(spans)
                var e: (bytes: [UInt8], offsets: [Int]) = (enc.bytes, enc.traceIDOffsets)
                rawBytes += e.bytes.count
                if gzip { e = (BodyDecoding.gzip(e.bytes, level: 1), []) }
                mine.append(e)
            }
            bodies.append(mine)
        }
        if gzip { Terminal.error("note: with --gzip, trace ids cannot be rewritten in place; batches repeat") }

        let results = Results()
        let t0 = monotonicNanos()
        let deadline = t0 + Int64(seconds * 1e9)
        let serverCPU0 = serverPID.flatMap { procStatCPU("/proc/\($0)/stat")?.seconds } ?? 0
        let detectorCPU0 = scrapeCounter(host: host, port: port, key: a.value("key"), family: "llmtrace_detector_cpu_seconds_total")
        let clientCPU0 = processCPUSeconds()
        let interval = rate > 0 ? Double(connections * batch) / rate : 0
        Terminal.error("posting to \(grpc ? "grpc://127.0.0.1:\(grpcPort) (OTLP over gRPC)" : endpoint + path) from \(connections) connection(s) for \(seconds) s"
                       + (rate > 0 ? " at \(Int(rate)) spans/s" : " as fast as answered") + (gzip ? ", gzip" : ""))
        var threads: [Thread] = []
        let grpcTarget = grpcPort
        for c in 0..<connections {
            let mine = bodies[c]
            let t = Thread {
                setCurrentThreadName("ingest-\(c)")
                var conn: Int32 = -1
                var h2: GRPCBenchClient? = nil
                var local = Results.Local()
                var bodies = mine
                var n: UInt64 = 0
                var next = Double(monotonicNanos())
                // Stagger paced connections so requests do not arrive in bursts.
                if interval > 0 { next += interval * 1e9 * Double(c) / Double(connections) }
                while monotonicNanos() < deadline {
                    if interval > 0 {
                        let now = Double(monotonicNanos())
                        if now < next { usleep(UInt32((next - now) / 1000)) }
                        next += interval * 1e9
                        if monotonicNanos() >= deadline { break }
                    }
                    let i = Int(n % UInt64(bodies.count))
                    // Fresh trace ids: the connection and the request counter in the first 8 bytes.
                    let stamp = (UInt64(c + 1) << 48) | (n + 1)
                    for off in bodies[i].offsets {
                        bodies[i].bytes.withUnsafeMutableBytes { $0.storeBytes(of: stamp.bigEndian, toByteOffset: off, as: UInt64.self) }
                    }
                    n += 1
                    let status: Int
                    let s: Int64
                    if grpc {
                        if h2 == nil { h2 = GRPCBenchClient(host: host, port: grpcTarget) }
                        if h2 == nil { local.ioErrors += 1; usleep(100_000); continue }
                        s = monotonicNanos()
                        status = h2!.call(path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export", message: bodies[i].bytes, gzipped: gzip)
                        if status == -1 { h2?.shutdown(); h2 = nil }
                    } else {
                        if conn < 0 { conn = connect(host: host, port: port) }
                        if conn < 0 { local.ioErrors += 1; usleep(100_000); continue }
                        s = monotonicNanos()
                        status = post(conn, host: host, path: path, body: bodies[i].bytes, gzip: gzip)
                    }
                    let ms = Double(monotonicNanos() - s) / 1e6
                    switch status {
                    case 200:
                        local.latencies.append(ms)
                        local.spans += batch
                        results.tick(batch)
                    case 429, 503:
                        local.overloaded += 1
                        usleep(50_000)
                    case -1:
                        local.ioErrors += 1
                        if conn >= 0 { close(conn) }
                        conn = -1
                    default:
                        local.errors += 1
                        if local.firstError == nil { local.firstError = status }
                    }
                }
                if conn >= 0 { close(conn) }
                h2?.shutdown()
                results.add(local)
            }
            t.stackSize = 1 << 20
            threads.append(t)
            t.start()
        }
        // Progress every 10 s on stderr: throughput drifting down over a run shows up here.
        let reporter = Thread {
            var last = 0
            var t = t0
            while !results.allDone(connections) {
                usleep(200_000)
                let now = monotonicNanos()
                if now - t >= 10_000_000_000 {
                    let n = results.liveSpans
                    Terminal.error("  \(Int(Double(now - t0) / 1e9)) s: \(Int(Double(n - last) / (Double(now - t) / 1e9))) spans/s")
                    last = n
                    t = now
                }
            }
        }
        reporter.start()
        let queryLoop = a.has("query-loop") ? QueryLoop(host: host, port: port, key: a.value("key")) : nil
        queryLoop?.start()
        // With the ClickHouse sink on: how far behind ClickHouse was, sampled each second.
        let sink = SinkSampler(host: host, port: port, key: a.value("key"))
        sink?.start(until: { results.allDone(connections) })
        results.waitFor(connections)
        let elapsed = Double(monotonicNanos() - t0) / 1e9
        let sinkFigures = sink?.finish()
        let serverCPU = serverPID.flatMap { procStatCPU("/proc/\($0)/stat").map { $0.seconds - serverCPU0 } } ?? 0
        let clientCPU = processCPUSeconds() - clientCPU0
        let queryFigures = queryLoop?.finish() ?? []
        let serverRSS = serverPID.map { Terminal.peakRSSMiB(pid: String($0)) } ?? 0
        // The detectors' own account of their CPU (their thread, and the ingest threads' digests).
        let detectorCPU = detectorCPU0.flatMap { c0 in
            scrapeCounter(host: host, port: port, key: a.value("key"), family: "llmtrace_detector_cpu_seconds_total").map { $0 - c0 }
        }

        var lat = results.latencies
        lat.sort()
        func pct(_ p: Double) -> Double { lat.isEmpty ? 0 : lat[min(lat.count - 1, Int(Double(lat.count) * p))] }
        Terminal.error("\(results.spans) spans in \(String(format: "%.1f", elapsed)) s; CPU seconds: server \(String(format: "%.1f", serverCPU)), client \(String(format: "%.1f", clientCPU))"
                       + (results.firstError.map { "; first error status \($0)" } ?? ""))
        let out: [(String, String)] = [
            ("spans_per_s", String(format: "%.0f", Double(results.spans) / elapsed)),
            ("requests", "\(lat.count)"),
            ("p50_ms", String(format: "%.2f", pct(0.5))), ("p90_ms", String(format: "%.2f", pct(0.9))),
            ("p99_ms", String(format: "%.2f", pct(0.99))), ("max_ms", String(format: "%.2f", lat.last ?? 0)),
            ("errors", "\(results.errors + results.ioErrors)"), ("overloaded_429_503", "\(results.overloaded)"),
            ("peak_rss_mb", String(format: "%.1f", serverRSS)),
            ("server_cpu_s", String(format: "%.1f", serverCPU)), ("client_cpu_s", String(format: "%.1f", clientCPU)),
            ("detector_cpu_s", detectorCPU.map { String(format: "%.2f", $0) } ?? "null"),
            ("detector_cpu_share", detectorCPU.map { serverCPU > 0 ? String(format: "%.4f", $0 / serverCPU) : "null" } ?? "null"),
            ("seconds", String(format: "%.1f", elapsed)), ("connections", "\(connections)"), ("batch", "\(batch)"),
            ("target_rate", String(format: "%.0f", rate)), ("gzip", gzip ? "true" : "false"), ("grpc", grpc ? "true" : "false"),
            ("protobuf_bytes_per_span", String(format: "%.0f", Double(rawBytes) / Double(connections * bodiesPerConnection * batch))),
        ] + (sinkFigures ?? []) + queryFigures
        Terminal.print("{" + out.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }

    final class Results: @unchecked Sendable {
        struct Local {
            var latencies: [Double] = []
            var spans = 0
            var errors = 0
            var ioErrors = 0
            var overloaded = 0
            var firstError: Int?
        }
        private let c = Condition()
        private(set) var latencies: [Double] = []
        private(set) var spans = 0, errors = 0, ioErrors = 0, overloaded = 0, done = 0
        private(set) var firstError: Int?
        func add(_ l: Local) {
            c.withLock {
                latencies += l.latencies
                spans += l.spans
                errors += l.errors
                ioErrors += l.ioErrors
                overloaded += l.overloaded
                if firstError == nil { firstError = l.firstError }
                done += 1
                c.broadcast()
            }
        }
        func waitFor(_ n: Int) { c.withLock { while done < n { c.wait() } } }
        func allDone(_ n: Int) -> Bool { c.withLock { done >= n } }
        private(set) var liveSpans = 0
        func tick(_ n: Int) { c.withLock { liveSpans += n } }
    }

    static func parseEndpoint(_ s: String) throws -> (String, Int, String) {
        guard s.hasPrefix("http://") else { throw UsageError("--endpoint must be http://HOST:PORT (got \(s))") }
        var rest = s.dropFirst(7)
        var path = "/v1/traces"
        if let slash = rest.firstIndex(of: "/") {
            let p = String(rest[slash...])
            if p != "/" { path = p }
            rest = rest[..<slash]
        }
        let (h, port) = try CollectorConfig.parseListen(String(rest.contains(":") ? rest : rest + ":80"))
        return (h, port, path)
    }

    static func connect(host: String, port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 { close(fd); return -1 }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(4))
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// One request on a keep-alive connection; the response status, or -1 on an I/O error.
    static func post(_ fd: Int32, host: String, path: String, body: [UInt8], gzip: Bool) -> Int {
        let head = "POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/x-protobuf\r\n"
            + (gzip ? "Content-Encoding: gzip\r\n" : "") + "Content-Length: \(body.count)\r\n\r\n"
        guard writeAll(fd, Array(head.utf8)), writeAll(fd, body) else { return -1 }
        var buf = [UInt8](repeating: 0, count: 16384)
        var have = 0
        var headerEnd = -1
        while headerEnd < 0 {
            if have == buf.count { buf += [UInt8](repeating: 0, count: buf.count) }
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + have, $0.count - have, 0) }
            if n <= 0 { return -1 }
            have += n
            if have >= 4 {
                for i in max(0, have - n - 3)..<(have - 3) where buf[i] == 13 && buf[i + 1] == 10 && buf[i + 2] == 13 && buf[i + 3] == 10 {
                    headerEnd = i + 4
                    break
                }
            }
        }
        let head2 = String(decoding: buf[0..<headerEnd], as: UTF8.self).lowercased()
        let parts = head2.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return -1 }
        var length = 0
        if let r = head2.range(of: "content-length:") {
            length = Int(head2[r.upperBound...].prefix { $0 != "\r" }.trimmingCharacters(in: .whitespaces)) ?? 0
        }
        var remaining = length - (have - headerEnd)
        while remaining > 0 {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min($0.count, remaining), 0) }
            if n <= 0 { return -1 }
            remaining -= n
        }
        if head2.contains("connection: close") { return -1 }  // the server will close: reconnect
        return status
    }

    static func writeAll(_ fd: Int32, _ b: [UInt8]) -> Bool {
        var off = 0
        while off < b.count {
            let n = b.withUnsafeBytes { send(fd, $0.baseAddress! + off, b.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { if errno == EINTR { continue }; return false }
            off += n
        }
        return true
    }

    /// Everything the peer sends until it closes (a `Connection: close` response).
    static func readToClose(_ fd: Int32) -> [UInt8] {
        var all: [UInt8] = []
        var b = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = b.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            all += b[0..<n]
        }
        return all
    }

    /// The sum of a counter family's series on the server's `/metrics` (nil when not there).
    static func scrapeCounter(host: String, port: Int, key: String?, family: String) -> Double? {
        let fd = connect(host: host, port: port)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let auth = key.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        guard writeAll(fd, Array("GET /metrics HTTP/1.1\r\nHost: \(host)\r\n\(auth)Connection: close\r\n\r\n".utf8)) else { return nil }
        let all = readToClose(fd)
        var sum: Double? = nil
        for line in String(decoding: all, as: UTF8.self).split(separator: "\n") where line.hasPrefix(family + "{") || line.hasPrefix(family + " ") {
            if let v = line.split(separator: " ").last.flatMap({ Double($0) }) { sum = (sum ?? 0) + v }
        }
        return sum
    }

    /// Samples the ClickHouse sink's lag (`llmtrace_clickhouse_lag_*`) every second while the load
    /// runs, then waits for it to reach zero: the figures of "sink lag under a sustained rate".
    final class SinkSampler: @unchecked Sendable {
        let host: String, port: Int, key: String?
        private let c = Condition()
        private var maxSeconds = 0.0, maxSpans = 0.0, samples = 0
        /// `llmtrace_ingest_in_flight` summed over the samples (what the sink's deferral reads).
        private var inFlightSum = 0.0
        private var thread: Thread?
        private var done = false

        init?(host: String, port: Int, key: String?) {
            guard IngestBench.scrapeCounter(host: host, port: port, key: key, family: "llmtrace_clickhouse_lag_spans") != nil else { return nil }
            self.host = host
            self.port = port
            self.key = key
        }

        func scrape(_ f: String) -> Double? { IngestBench.scrapeCounter(host: host, port: port, key: key, family: f) }

        func start(until finished: @escaping @Sendable () -> Bool) {
            let t = Thread { [self] in
                while !finished() {
                    let s = scrape("llmtrace_clickhouse_lag_seconds") ?? 0, n = scrape("llmtrace_clickhouse_lag_spans") ?? 0
                    let f = scrape("llmtrace_ingest_in_flight") ?? 0
                    c.withLock { maxSeconds = max(maxSeconds, s); maxSpans = max(maxSpans, n); samples += 1; inFlightSum += f }
                    usleep(1_000_000)
                }
                c.withLock { done = true; c.broadcast() }
            }
            thread = t
            t.start()
        }

        /// After the load: waits (up to 120 s) for ClickHouse to have everything.
        func finish() -> [(String, String)] {
            c.withLock { while !done { c.wait() } }
            let t0 = monotonicNanos()
            while (scrape("llmtrace_clickhouse_lag_spans") ?? 0) > 0 && monotonicNanos() - t0 < 120_000_000_000 { usleep(100_000) }
            let catchUp = Double(monotonicNanos() - t0) / 1e9
            let sent = scrape("llmtrace_clickhouse_sent_spans_total") ?? 0
            let bytes = scrape("llmtrace_clickhouse_sent_bytes_total") ?? 0
            let failures = scrape("llmtrace_clickhouse_insert_failures_total") ?? 0
            let inserts = scrape("llmtrace_clickhouse_inserts_total") ?? 0
            let deferred = scrape("llmtrace_clickhouse_deferred_seconds_total") ?? 0
            return c.withLock {
                [("clickhouse_lag_max_s", String(format: "%.2f", maxSeconds)), ("clickhouse_lag_max_spans", String(format: "%.0f", maxSpans)),
                 ("clickhouse_lag_samples", "\(samples)"), ("clickhouse_catch_up_s", String(format: "%.2f", catchUp)),
                 ("clickhouse_sent_spans", String(format: "%.0f", sent)), ("clickhouse_inserts", String(format: "%.0f", inserts)),
                 ("clickhouse_row_bytes_per_span", String(format: "%.0f", sent > 0 ? bytes / sent : 0)),
                 ("clickhouse_insert_failures", String(format: "%.0f", failures)),
                 ("clickhouse_deferred_s", String(format: "%.2f", deferred)),
                 ("ingest_in_flight_mean", String(format: "%.2f", samples > 0 ? inFlightSum / Double(samples) : 0))]
            }
        }
    }

    static func waitForHealth(host: String, port: Int, seconds: Double) throws {
        let end = monotonicNanos() + Int64(seconds * 1e9)
        while monotonicNanos() < end {
            let fd = connect(host: host, port: port)
            if fd >= 0 {
                defer { close(fd) }
                let req = Array("GET /healthz HTTP/1.1\r\nHost: \(host)\r\n\r\n".utf8)
                if writeAll(fd, req) {
                    var b = [UInt8](repeating: 0, count: 256)
                    let n = b.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if n > 12, String(decoding: b[0..<n], as: UTF8.self).hasPrefix("HTTP/1.1 200") { return }
                }
            }
            usleep(100_000)
        }
        throw UsageError("no answer from http://\(host):\(port)/healthz within \(Int(seconds)) s")
    }
}
