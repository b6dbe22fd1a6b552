import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LLMTraceCLI
import LLMTraceHTTP
import LLMTraceCollector

/// The llmtraced next to this binary, started on a free loopback port with a temporary data
/// directory (`--access-log off`), for the benchmarks that need a real collector. `stop` ends it
/// with SIGTERM (a graceful stop: what it acknowledged is stored); `start` again reuses the port
/// and the directory, as a restart does.
final class SpawnedCollector {
    let binary: String
    let directory: String
    let port: Int
    let extraArguments: [String]
    private(set) var process: Process?
    private let keepDirectory: Bool

    var endpoint: String { "http://127.0.0.1:\(port)" }
    var pid: Int32? { process?.processIdentifier }

    init(directory: String? = nil, port: Int? = nil, arguments: [String] = [], keepDirectory: Bool = false) throws {
        binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("llmtraced").path
        self.directory = directory ?? (NSTemporaryDirectory() + "llmtrace-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try? FileManager.default.removeItem(atPath: self.directory)
        self.port = try port ?? FreePort.loopback()
        extraArguments = arguments
        self.keepDirectory = keepDirectory
    }

    /// Starts it and waits for `/healthz`.
    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["--listen", "127.0.0.1:\(port)", "--data", directory, "--access-log", "off"] + extraArguments
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        p.environment = env
        try p.run()
        process = p
        try IngestBench.waitForHealth(host: "127.0.0.1", port: port, seconds: 30)
    }

    func stop() {
        guard let p = process else { return }
        p.terminate()
        p.waitUntilExit()
        process = nil
    }

    /// Stops it and removes its directory (unless kept).
    func finish() {
        stop()
        if !keepDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// A counter family's sum on its `/metrics`.
    func counter(_ family: String) -> Double? {
        IngestBench.scrapeCounter(host: "127.0.0.1", port: port, key: nil, family: family)
    }
}
