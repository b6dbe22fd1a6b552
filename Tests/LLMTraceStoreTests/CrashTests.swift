import Testing
import Foundation
import LLMTraceModel
@testable import LLMTraceStore

/// Kills a writer process with SIGKILL mid-stream, over and over, on one data directory; after each
/// kill every acknowledged span must be readable and no span may appear twice.
@Suite(.serialized) struct CrashTests {
    @Test func killNineWhileIngestingLosesNothingAcknowledged() throws {
        let writer = productsDirectory() + "/llmtrace-bench"
        try #require(FileManager.default.isExecutableFile(atPath: writer), "build llmtrace-bench first (swift build)")
        let dir = TempDir()
        defer { dir.cleanup() }
        var acked: [UInt64: Int] = [:]  // first span id of a batch -> count
        let cycles = 24
        var rng = SystemRandomNumberGenerator()
        for run in 1...cycles {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: writer)
            // Small seals so kills also land while segments are written and WAL files dropped.
            p.arguments = ["writer", "--data", dir.path, "--run", "\(run)", "--batch", "\(Int.random(in: 8...96, using: &rng))", "--seal-spans", "700"]
            var env = ProcessInfo.processInfo.environment
            env["SWIFT_BACKTRACE"] = "enable=no"
            p.environment = env
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let wantAcks = Int.random(in: 0...40, using: &rng)
            let deadline = Date().addingTimeInterval(30)
            var buffer = Data()
            var lines: [String] = []
            let fh = out.fileHandleForReading
            while lines.count < wantAcks && Date() < deadline && p.isRunning {
                let chunk = fh.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let nl = buffer.firstIndex(of: 0x0A) {
                    lines.append(String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...nl)
                }
            }
            if wantAcks == 0 { usleep(UInt32.random(in: 0...50_000, using: &rng)) }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // Lines that arrived before the kill but were not read yet still count.
            buffer.append(fh.readDataToEndOfFile())
            while let nl = buffer.firstIndex(of: 0x0A) {
                lines.append(String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self))
                buffer.removeSubrange(buffer.startIndex...nl)
            }
            for line in lines {
                let f = line.split(separator: " ")
                guard f.count == 4, f[0] == "ack", let r = UInt64(f[1]), let first = UInt64(f[2]), let n = Int(f[3]) else { continue }
                acked[r << 40 | first] = n
            }

            // Check after every kill.
            let store = try Store.open(testOptions(dir.path))
            let spans = try allSpans(store)
            var seen = Set<UInt64>()
            var duplicates = 0
            for s in spans where !seen.insert(s.spanID.value).inserted { duplicates += 1 }
            #expect(duplicates == 0, "cycle \(run): \(duplicates) duplicated spans")
            var missing = 0
            for (first, n) in acked {
                for k in 0..<UInt64(n) where !seen.contains(first + k) { missing += 1 }
            }
            #expect(missing == 0, "cycle \(run): \(missing) acknowledged spans missing")
            try store.close()
        }
        let total = acked.values.reduce(0, +)
        #expect(total > 0, "the writers acknowledged nothing")
        let report = StoreVerifier.verify(directory: dir.path)
        #expect(report.ok, "\(report.errors)")
        print("crash test: \(cycles) SIGKILL cycles, \(total) acknowledged spans, 0 lost, 0 duplicated")
    }
}
