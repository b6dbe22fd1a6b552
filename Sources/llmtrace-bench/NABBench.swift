import Foundation
import LLMTraceCLI
import LLMTraceDetect
import LLMTraceStore

/// `llmtrace-bench nab`: runs the server's anomaly detector (`AnomalyDetector`, its one fixed
/// configuration) over the Numenta Anomaly Benchmark series, writes NAB-format results
/// (`timestamp,value,anomaly_score`, mirroring the data tree) and scores them with NAB's scorer
/// at the server's one alarm threshold.
enum NABBench {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["data", "out", "scorer", "labels", "set"], flags: ["help"])
        if a.has("help") { Terminal.print(BenchMain.usage); return }
        guard let root = a.value("data") else { throw UsageError("--data DIR is required (the NAB folder with data/ and labels/)") }
        let out = a.value("out") ?? (NSTemporaryDirectory() + "llmtrace-nab-\(getpid())")
        let labels = a.value("labels") ?? root + "/labels/combined_windows.json"
        let scorer = a.value("scorer") ?? root + "/../../tools/nab_score.py"
        let fm = FileManager.default
        guard fm.fileExists(atPath: root + "/data") else { throw UsageError("\(root)/data: no such folder") }
        guard fm.fileExists(atPath: scorer) else { throw UsageError("\(scorer): NAB scorer not found (--scorer PATH)") }

        let files = (fm.enumerator(atPath: root + "/data")?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".csv") }.sorted()
        guard !files.isEmpty else { throw UsageError("\(root)/data holds no .csv series") }
        // --set name=value,... tries another configuration (to explore; the server runs the defaults).
        var config = AnomalyDetector.Configuration()
        for item in (a.value("set") ?? "").split(separator: ",") where !item.isEmpty {
            let kv = item.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let v = Double(kv[1]) else { throw UsageError("--set takes name=value pairs, got '\(item)'") }
            switch kv[0] {
            case "history": config.historyLength = Int(v)
            case "short": config.shortWindow = Int(v)
            case "long": config.longWindow = Int(v)
            case "warmup": config.warmUp = Int(v)
            case "quiet": config.quietRows = Int(v)
            case "zscale": config.zScale = v
            case "tail": config.tailAtThreshold = v
            case "shape": config.shapeLength = Int(v)
            case "shapehistory": config.shapeHistory = Int(v)
            case "shapeshort": config.shapeShort = Int(v)
            case "shapeblocks": config.shapeBlocks = Int(v)
            case "shapemargin": config.shapeMargin = v
            case "coarse": config.shapeCoarseSeconds = v == 0 ? [] : [v]
            case "coarse2": config.shapeCoarseSeconds.append(v)
            default: throw UsageError("--set: unknown parameter '\(kv[0])' (history, short, long, warmup, quiet, zscale, tail, shape, shapehistory, shapeshort, shapeblocks, shapemargin, coarse (seconds per point of one coarse layer, 0 for none), coarse2 (adds one))")
            }
        }
        if config != AnomalyDetector.Configuration() { Terminal.error("configuration: \(config) (not the server's defaults)") }
        let t0 = monotonicNanos()
        var rows = 0
        for rel in files {
            let text = try String(contentsOfFile: root + "/data/" + rel, encoding: .utf8)
            // "\r\n" is one Character in Swift: splitting on "\n" alone left CRLF files whole.
            var lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            guard let header = lines.first, header.hasPrefix("timestamp,") else { throw UsageError("\(rel): expected a 'timestamp,value' header") }
            lines.removeFirst()
            // The series' sampling interval, as the server knows its own resolution: the median gap
            // of the first 11 rows (known by row 10; every score before row 300 is 0 anyway, so the
            // detector stays causal).
            var seriesConfig = config
            seriesConfig.rowSeconds = try Self.rowSeconds(lines.prefix(11), file: rel)
            var detector = AnomalyDetector(seriesConfig)
            var result = "timestamp,value,anomaly_score\n"
            for (k, line) in lines.enumerated() {
                guard let comma = line.firstIndex(of: ","), let value = Double(line[line.index(after: comma)...]) else {
                    throw UsageError("\(rel):\(k + 2): expected 'timestamp,value'")
                }
                let score = detector.update(value)
                result += "\(line[..<comma]),\(line[line.index(after: comma)...]),\(String(format: "%.6f", score))\n"
            }
            rows += lines.count
            let path = out + "/" + rel
            try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try result.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let seconds = Double(monotonicNanos() - t0) / 1e9
        Terminal.error("scored \(rows) rows of \(files.count) series in \(String(format: "%.2f", seconds)) s; results in \(out)")

        let json = out + "/nab_score.json"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", scorer, out, "--labels", labels, "--threshold", "\(AnomalyDetector.threshold)", "--json", json]
        p.standardOutput = FileHandle.standardError  // its table is progress; the last stdout line is ours
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let data = fm.contents(atPath: json),
              let scores = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw UsageError("the NAB scorer failed (exit \(p.terminationStatus))")
        }
        func score(_ profile: String) -> String {
            let profiles = scores["profiles"] as? [String: Any]
            let s = (profiles?[profile] as? [String: Any])?["normalized"] as? Double ?? .nan
            return String(format: "%.2f", s)
        }
        Terminal.print("{\"threshold\": \(AnomalyDetector.threshold), \"standard\": \(score("standard")), \"reward_low_FP_rate\": \(score("reward_low_FP_rate")), \"reward_low_FN_rate\": \(score("reward_low_FN_rate")), \"series\": \(files.count), \"rows\": \(rows), \"detector_seconds\": \(String(format: "%.2f", seconds))}")
    }

    /// The median gap in seconds between consecutive `YYYY-MM-DD HH:MM:SS` timestamps of `lines`.
    static func rowSeconds(_ lines: ArraySlice<Substring>, file: String) throws -> Double {
        var stamps: [Int] = []
        for line in lines {
            let t = Array(line.utf8.prefix(19))
            func num(_ a: Int, _ b: Int) -> Int? {
                var v = 0
                for c in t[a..<b] { guard c >= 48 && c <= 57 else { return nil }; v = v * 10 + Int(c - 48) }
                return v
            }
            guard t.count == 19, let y = num(0, 4), let mo = num(5, 7), let d = num(8, 10),
                  let h = num(11, 13), let mi = num(14, 16), let sec = num(17, 19) else {
                throw UsageError("\(file): expected timestamps as YYYY-MM-DD HH:MM:SS")
            }
            // Days from the civil date (proleptic Gregorian), then seconds.
            let yy = mo <= 2 ? y - 1 : y
            let era = yy / 400, yoe = yy - era * 400
            let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
            let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy
            stamps.append(((days * 24 + h) * 60 + mi) * 60 + sec)
        }
        let gaps = zip(stamps.dropFirst(), stamps).map { $0 - $1 }.filter { $0 > 0 }.sorted()
        guard !gaps.isEmpty else { return 60 }
        return Double(gaps[gaps.count / 2])
    }
}
