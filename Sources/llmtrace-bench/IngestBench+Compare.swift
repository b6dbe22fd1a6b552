import Foundation
import LLMTraceCLI

/// `llmtrace-bench ingest --spawn --compare ARG [--compare ARG]… [--pairs N]`: the cost of a
/// server setting, measured as the brief asks for figures on a shared machine — the baseline
/// (the server as spawned) and the variant (the same plus the `--compare` server arguments) run
/// alternately, A B then B A, each for `--seconds`, so that both see the same minutes of a noisy
/// machine. Each run is a child `llmtrace-bench ingest` with the same options; the last line is
/// JSON with each run, the medians and the median of the per-pair ratios (variant / baseline), of
/// throughput and of server CPU a span (the cost itself; with `--rate` below saturation, the one to
/// read on a busy machine).
extension IngestBench {
    static func compare(_ argv: [String], variantArgs: [String], pairs: Int) throws {
        // The child runs get every option but --compare and --pairs.
        var base: [String] = []
        var i = 0
        while i < argv.count {
            let a = argv[i]
            if a == "--compare" || a == "--pairs" { i += 2; continue }
            if a.hasPrefix("--compare=") || a.hasPrefix("--pairs=") { i += 1; continue }
            base.append(a)
            i += 1
        }
        guard base.contains("--spawn") else { throw UsageError("--compare needs --spawn (each run starts its own server)") }
        let variant = base + variantArgs.flatMap { ["--server-arg", $0] }
        struct Run {
            var variant: Bool, spansPerS: Double, serverCPU: Double, seconds: Double, rssMB: Double, load: Double
            var detectorShare: Double?
            /// Server CPU microseconds a span: the cost itself, apart from how fast the machine was.
            var cpuMicrosPerSpan: Double { serverCPU * 1e6 / max(1, spansPerS * seconds) }
        }
        var runs: [Run] = []
        let described = variantArgs.joined(separator: " ")
        for p in 0..<pairs {
            for isVariant in (p % 2 == 0 ? [false, true] : [true, false]) {
                let load = loadAverage()
                let json = try child(isVariant ? variant : base)
                guard let sps = json["spans_per_s"] as? Double, let cpu = json["server_cpu_s"] as? Double else {
                    throw UsageError("a run printed no spans_per_s")
                }
                let run = Run(variant: isVariant, spansPerS: sps, serverCPU: cpu, seconds: json["seconds"] as? Double ?? 0,
                              rssMB: json["peak_rss_mb"] as? Double ?? 0, load: load, detectorShare: json["detector_cpu_share"] as? Double)
                runs.append(run)
                Terminal.error("pair \(p + 1): \(isVariant ? "variant (\(described))" : "baseline") \(Int(sps)) spans/s, server CPU \(String(format: "%.1f", cpu)) s (\(String(format: "%.2f", run.cpuMicrosPerSpan)) µs a span), peak RSS \(String(format: "%.0f", run.rssMB)) MB\(run.detectorShare.map { ", detectors \(String(format: "%.1f", $0 * 100))% of its CPU" } ?? ""), load average \(String(format: "%.2f", load)) before it")
            }
        }
        func median(_ x: [Double]) -> Double {
            let s = x.sorted()
            return s.isEmpty ? .nan : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        let a = runs.filter { !$0.variant }, b = runs.filter(\.variant)
        let ratios = zip(a, b).map { $1.spansPerS / $0.spansPerS }
        let cpuRatios = zip(a, b).map { $1.cpuMicrosPerSpan / $0.cpuMicrosPerSpan }
        let f = { (x: Double) in String(format: "%.0f", x) }
        let r = { (x: Double) in String(format: "%.4f", x) }
        Terminal.print("{\"variant\": \"\(described.replacingOccurrences(of: "\"", with: "'"))\", \"pairs\": \(pairs), "
            + "\"baseline_spans_per_s\": [\(a.map { f($0.spansPerS) }.joined(separator: ", "))], "
            + "\"variant_spans_per_s\": [\(b.map { f($0.spansPerS) }.joined(separator: ", "))], "
            + "\"baseline_median\": \(f(median(a.map(\.spansPerS)))), \"variant_median\": \(f(median(b.map(\.spansPerS)))), "
            + "\"pair_ratios\": [\(ratios.map(r).joined(separator: ", "))], \"median_ratio\": \(r(median(ratios))), "
            + "\"baseline_cpu_us_per_span\": [\(a.map { r($0.cpuMicrosPerSpan) }.joined(separator: ", "))], "
            + "\"variant_cpu_us_per_span\": [\(b.map { r($0.cpuMicrosPerSpan) }.joined(separator: ", "))], "
            + "\"cpu_per_span_ratios\": [\(cpuRatios.map(r).joined(separator: ", "))], \"median_cpu_per_span_ratio\": \(r(median(cpuRatios))), "
            + "\"detector_cpu_shares\": [\(runs.compactMap(\.detectorShare).map(r).joined(separator: ", "))], "
            + "\"load_averages\": [\(runs.map { String(format: "%.2f", $0.load) }.joined(separator: ", "))]}")
    }

    /// Runs `llmtrace-bench ingest ARGS` and returns its last line as JSON.
    private static func child(_ args: [String]) throws -> [String: Any] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        p.arguments = ["ingest"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard p.terminationStatus == 0, let obj = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
            throw UsageError("a run failed (exit \(p.terminationStatus)): \(last)")
        }
        return obj
    }

    /// The 1-minute load average (0 when /proc/loadavg cannot be read).
    static func loadAverage() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return 0 }
        return Double(s.split(separator: " ").first ?? "") ?? 0
    }
}
