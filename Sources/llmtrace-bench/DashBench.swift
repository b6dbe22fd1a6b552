import Foundation
#if canImport(Glibc)
import Glibc
#endif
import CLinux
import LLMTraceCLI
import LLMTraceOTLP
import LLMTraceSupport
import LLMTraceSynthetic
import LLMTraceTUI

/// `llmtrace-bench dash`: what the terminal dashboard costs.
///
/// 1. Its drawing in process: a full redraw of the overview at 200×60 (panels into the cell buffer,
///    then every cell written, as after a resize), and the bytes of a frame where nothing changed.
/// 2. With `--live`: a spawned llmtraced holding `--spans` spans (1M by default) and receiving
///    `--rate` spans/s (5,000), `tracectl dash` at 1 s refresh in a 200×60 pseudo-terminal for
///    `--seconds` (60): the dashboard process's CPU over wall time (its drawing and its reading of
///    the answers), and the collector's extra CPU for answering it (its CPU with the dashboard open
///    less its CPU over the same traffic before the dashboard started).
enum DashBench {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["runs", "spans", "rate", "seconds"], flags: ["help", "live"])
        if a.has("help") { Terminal.print(BenchMain.usage); return }
        let runs = max(10, try a.int("runs", default: 300))
        guard let text = Dashboard.builtIn["overview"] else { throw UsageError("no built-in overview dashboard") }
        let board = try Dashboard.load(Array(text.utf8), file: "dashboards/overview.json")
        let data = sampleData()
        var screen = DashboardScreen(dashboard: board)
        screen.source = "collector 127.0.0.1:4318"
        var renderer = FrameRenderer(mode: .truecolor)
        var times: [Double] = []
        var bytes = 0
        for i in 0..<(runs + 20) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            var s = ScreenBuffer(width: 200, height: 60)
            screen.draw(data, clock: "14:05:09", on: &s)
            renderer.invalidate()
            bytes = renderer.render(s).count
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            if i >= 20 { times.append(ms) }
        }
        times.sort()
        // A frame with nothing changed: the same data drawn again.
        var s = ScreenBuffer(width: 200, height: 60)
        screen.draw(data, clock: "14:05:09", on: &s)
        let idle = renderer.render(s).count
        // A frame where only the clock moved.
        screen.draw(data, clock: "14:05:10", on: &s)
        let tick = renderer.render(s).count
        Terminal.error("full redraw 200x60: median \(String(format: "%.2f", times[times.count / 2])) ms, p99 \(String(format: "%.2f", times[times.count * 99 / 100])) ms, \(bytes) bytes; unchanged frame \(idle) bytes; clock tick \(tick) bytes")
        var fields: [(String, String)] = [("full_redraw_ms_200x60", String(format: "%.3f", times[times.count / 2])),
                                          ("full_redraw_ms_200x60_p99", String(format: "%.3f", times[times.count * 99 / 100])),
                                          ("full_redraw_bytes", "\(bytes)"), ("idle_frame_bytes", "\(idle)"), ("clock_tick_frame_bytes", "\(tick)")]
        if a.has("live") {
            fields += try live(spans: max(1000, try a.int("spans", default: 1_000_000)), rate: max(0, try a.double("rate", default: 5000)),
                               seconds: max(5, try a.double("seconds", default: 60)))
        }
        Terminal.print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }

    /// Spans posted as OTLP protobuf on one keep-alive connection, in batches of 2,000.
    final class Poster: @unchecked Sendable {
        let host = "127.0.0.1"
        let port: Int
        var fd: Int32 = -1
        var gen: SyntheticWorkload

        init(port: Int, seed: UInt64, start: Int64) {
            self.port = port
            gen = SyntheticWorkload(seed: seed, startNanos: start)
        }

        func post(_ count: Int) throws {
            var left = count
            while left > 0 {
                let n = min(2000, left)
                let body = OTLPEncoder.encode(gen.nextBatch(count: n)).bytes
                if fd < 0 { fd = IngestBench.connect(host: host, port: port) }
                let status = IngestBench.post(fd, host: host, path: "/v1/traces", body: body, gzip: false)
                if status != 200 {
                    if fd >= 0 { close(fd); fd = -1 }
                    if status == 429 || status == 503 || status == -1 { usleep(100_000); continue }
                    throw UsageError("the collector answered \(status) to a batch")
                }
                left -= n
            }
        }
    }

    static func live(spans: Int, rate: Double, seconds: Double) throws -> [(String, String)] {
        let server = try SpawnedCollector()
        try server.start()
        defer { server.finish() }
        guard let serverPID = server.pid else { throw UsageError("llmtraced did not start") }
        // 1M spans over the last 40 minutes (the synthetic clock moves ~10 ms a trace).
        Terminal.error("loading \(spans) spans into \(server.endpoint)…")
        let t0 = monotonicNanos()
        let loader = Poster(port: server.port, seed: 11, start: wallNanos() - 2_400_000_000_000)
        try loader.post(spans)
        Terminal.error("loaded in \(String(format: "%.1f", Double(monotonicNanos() - t0) / 1e9)) s")

        // Traffic at `rate` from now on, on its own thread.
        let stop = Flag()
        let traffic = Poster(port: server.port, seed: 12, start: wallNanos())
        let sender = Thread {
            let tick: Int64 = 100_000_000
            var next = monotonicNanos()
            var carry = 0.0
            while !stop.isSet {
                carry += rate * Double(tick) / 1e9
                let n = Int(carry)
                carry -= Double(n)
                if n > 0 { try? traffic.post(n) }
                next += tick
                let wait = next - monotonicNanos()
                if wait > 0 { usleep(UInt32(wait / 1000)) }
            }
        }
        sender.start()
        defer { stop.set() }

        // The collector's CPU under the traffic alone, then with the dashboard open.
        let baseSeconds = min(20, seconds / 2)
        sleep(2)
        let b0 = procStatCPU("/proc/\(serverPID)/stat")?.seconds ?? 0, bt0 = monotonicNanos()
        usleep(UInt32(baseSeconds * 1e6))
        let baseShare = ((procStatCPU("/proc/\(serverPID)/stat")?.seconds ?? 0) - b0) / (Double(monotonicNanos() - bt0) / 1e9)

        // tracectl dash in a 200×60 pseudo-terminal.
        let master = posix_openpt(O_RDWR | O_NOCTTY)
        guard master >= 0, grantpt(master) == 0, unlockpt(master) == 0, let name = ptsname(master) else { throw UsageError("no pseudo-terminal") }
        var size = winsize(ws_row: 60, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
        let slavePath = String(cString: name)
        guard let slave = FileHandle(forUpdatingAtPath: slavePath) else { throw UsageError("cannot open \(slavePath)") }
        let dash = Process()
        dash.executableURL = URL(fileURLWithPath: server.binary).deletingLastPathComponent().appendingPathComponent("tracectl")
        dash.arguments = ["dash", "--endpoint", server.endpoint]
        var env = ProcessInfo.processInfo.environment
        env["TERM"] = "xterm-256color"
        env["COLORTERM"] = "truecolor"
        env["SWIFT_BACKTRACE"] = "enable=no"
        env.removeValue(forKey: "NO_COLOR")
        dash.environment = env
        dash.standardInput = slave
        dash.standardOutput = slave
        dash.standardError = slave
        try dash.run()
        let written = Counter()
        let drain = Thread {
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buf.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                written.add(n)
            }
        }
        drain.start()
        sleep(3)   // the first frames and every panel's first answers
        let d0 = procStatCPU("/proc/\(dash.processIdentifier)/stat")?.seconds ?? 0
        let s0 = procStatCPU("/proc/\(serverPID)/stat")?.seconds ?? 0
        let w0 = written.value, m0 = monotonicNanos()
        Terminal.error("tracectl dash open on a 200x60 pseudo-terminal; measuring \(Int(seconds)) s with \(Int(rate)) spans/s arriving…")
        usleep(UInt32(seconds * 1e6))
        let wall = Double(monotonicNanos() - m0) / 1e9
        let dashCPU = (procStatCPU("/proc/\(dash.processIdentifier)/stat")?.seconds ?? 0) - d0
        let serverCPU = (procStatCPU("/proc/\(serverPID)/stat")?.seconds ?? 0) - s0
        let bytesPerSecond = Double(written.value - w0) / wall
        _ = "q".withCString { write(master, $0, 1) }
        dash.waitUntilExit()
        close(master)
        let dashShare = dashCPU / wall
        let queryShare = max(0, serverCPU / wall - baseShare)
        Terminal.error("dash: \(String(format: "%.2f", dashCPU)) CPU-s in \(String(format: "%.1f", wall)) s (\(String(format: "%.2f%%", dashShare * 100)) of a core), \(Int(bytesPerSecond)) bytes/s to the terminal; collector \(String(format: "%.1f%%", serverCPU / wall * 100)) with the dashboard, \(String(format: "%.1f%%", baseShare * 100)) without; exit \(dash.terminationStatus)")
        return [("spans_stored", "\(spans)"), ("rate", String(format: "%.0f", rate)), ("seconds", String(format: "%.0f", wall)),
                ("draw_core_share", String(format: "%.4f", dashShare)), ("collector_core_share", String(format: "%.4f", queryShare)),
                ("collector_core_share_with_traffic", String(format: "%.4f", serverCPU / wall)), ("collector_core_share_traffic_only", String(format: "%.4f", baseShare)),
                ("terminal_bytes_per_s", String(format: "%.0f", bytesPerSecond)), ("dash_exit", "\(dash.terminationStatus)"),
                ("load_avg_end", String(format: "%.2f", IngestBench.loadAverage()))]
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var v = false
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return v }
        func set() { lock.lock(); v = true; lock.unlock() }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        var value: Int { lock.lock(); defer { lock.unlock() }; return n }
        func add(_ k: Int) { lock.lock(); n += k; lock.unlock() }
    }

    /// A busy afternoon, as the golden screens draw it.
    static func sampleData() -> [PanelData] {
        var wave: [Double?] = [], mini: [Double?] = [], sonnet: [Double?] = []
        for i in 0..<60 {
            wave.append(4800 + 400 * sin(Double(i) / 6))
            mini.append(9000 + 1500 * sin(Double(i) / 8))
            sonnet.append(4000 + 800 * cos(Double(i) / 5))
        }
        let rows = (0..<20).map { i in ["4bf92f3577b34da6a3ce929d0e0e47\(10 + i)", "agent.run", "\(15040 - i * 300)", "0.00\(88 - i)"] }
        var out: [PanelData] = (0..<6).map { i in .stat(value: 5012 + Double(i), previous: 4630, history: wave) }
        out.append(.series([.init(name: "gpt-4o-mini", values: mini), .init(name: "claude-sonnet-4", values: sonnet)]))
        out.append(.bars([("claude-sonnet-4", 2.91), ("gpt-4o", 0.84), ("gpt-4o-mini", 0.41)]))
        out.append(.alerts([.init(state: "firing", name: "error rate · support-bot · claude-sonnet-4", since: "12m")]))
        out.append(.table(columns: ["trace_id", "name", "duration_ms", "cost_usd"], rows: rows))
        out.append(.table(columns: ["trace_id", "name", "errors", "start"], rows: rows))
        return out
    }
}
