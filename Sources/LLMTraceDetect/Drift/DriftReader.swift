import LLMTraceModel
import LLMTraceStore

/// Collects a window's `DriftSample` from a store: the fixed fields of every span in the window
/// straight from the segments' columns (no span is decoded for them), and texts, tool names and
/// retrieval scores from an even sample of at most `textSample` spans (in runs of 16 neighbours) (decoding every span of a
/// million-span window for its prompts would take seconds and gigabytes; an n-gram distribution
/// does not need them all).
public struct DriftReader: Sendable {
    public struct Window: Sendable {
        public var from: Int64
        public var to: Int64
        /// Only spans of this prompt (`name` or `name@version`), when set.
        public var prompt: String?
        public init(from: Int64, to: Int64, prompt: String? = nil) {
            self.from = from
            self.to = to
            self.prompt = prompt
        }
    }

    public var textSample = 2_000
    public init() {}

    /// The sample of `window` in `project` (every project with nil).
    public func collect(_ store: Store, project: String?, window: Window, by: [DriftSample.GroupBy]) throws -> DriftSample {
        var sample = DriftSample(by: by)
        let snap = store.scanSnapshot()
        // Rows in the window, for the text sample: (segment index or -1 for the head, row).
        var refs: [(Int, Int)] = []
        for (si, seg) in snap.segments.enumerated() where seg.maxStart >= window.from && seg.minStart < window.to {
            let rows = try fixedFields(seg, project: project, window: window, into: &sample)
            refs += rows.map { (si, $0) }
        }
        for (i, s) in snap.headRows.enumerated() where s.startNanos >= window.from && s.startNanos < window.to {
            if let project, !ExactString.equal(s.project, project) { continue }
            if let p = window.prompt, !Self.matches(prompt: p, s.promptName, s.promptVersion) { continue }
            sample.add(s, fixed: true, texts: false)
            refs.append((-1, i))
        }
        // Texts: an even sample of runs of 16 neighbouring rows (a run is one read of each column
        // block it touches; single rows spread evenly cost a block decode each, most of the report's
        // time, measured).
        guard !refs.isEmpty, textSample > 0 else { return sample }
        var picked: [Int: [Int]] = [:]
        let run = 16
        let runs = max(1, textSample / run)
        if refs.count <= runs * run {
            for r in refs { picked[r.0, default: []].append(r.1) }
        } else {
            for i in 0..<runs {
                let start = i * refs.count / runs
                for k in start..<min(start + run, refs.count) { picked[refs[k].0, default: []].append(refs[k].1) }
            }
        }
        let headByIndex: [Span]? = picked[-1] == nil ? nil : store.headSpans()
        for (si, rows) in picked {
            if si < 0 {
                guard let head = headByIndex else { continue }
                // headSpans() and the snapshot's head rows list the same rows unless a seal ran in between.
                for r in rows where r < head.count { sample.add(head[r], fixed: false, texts: true) }
                continue
            }
            let seg = snap.segments[si]
            var i = 0
            while i < rows.count {
                var j = i + 1
                while j < rows.count && rows[j] - rows[i] < 16 && j - i < 16 { j += 1 }
                let range = rows[i]..<(rows[j - 1] + 1)
                let wanted = Set(rows[i..<j])
                for (off, s) in try seg.spans(rows: range).enumerated() where wanted.contains(range.lowerBound + off) {
                    sample.add(s, fixed: false, texts: true)
                }
                i = j
            }
        }
        return sample
    }

    static func matches(prompt: String, _ name: String?, _ version: String?) -> Bool {
        guard let name else { return false }
        if ExactString.equal(prompt, name) { return true }
        guard let version else { return false }
        return ExactString.equal(prompt, "\(name)@\(version)")
    }

    /// Adds the fixed fields of the segment's rows in the window; returns those rows.
    private func fixedFields(_ seg: SegmentReader, project: String?, window: Window, into sample: inout DriftSample) throws -> [Int] {
        let (starts, _) = try seg.intColumn(.start)
        let projects = try seg.dictColumn(.project)
        var projectCode: UInt32? = nil
        if let project {
            guard let k = projects.values.firstIndex(where: { ExactString.equal($0, project) }) else { return [] }
            projectCode = UInt32(k + 1)
        }
        let names = try seg.dictColumn(.promptName), versions = try seg.dictColumn(.promptVersion)
        var rows: [Int] = []
        for r in 0..<seg.rowCount where starts[r] >= window.from && starts[r] < window.to {
            if let pc = projectCode, projects.codes[r] != pc { continue }
            if let p = window.prompt {
                let n = names.codes[r] == 0 ? nil : names.values[Int(names.codes[r]) - 1]
                let v = versions.codes[r] == 0 ? nil : versions.values[Int(versions.codes[r]) - 1]
                if !Self.matches(prompt: p, n, v) { continue }
            }
            rows.append(r)
        }
        guard !rows.isEmpty else { return rows }
        func str(_ d: (codes: [UInt32], values: [String]), _ r: Int) -> String? { d.codes[r] == 0 ? nil : d.values[Int(d.codes[r]) - 1] }
        let services = try seg.dictColumn(.service), resp = try seg.dictColumn(.responseModel), req = try seg.dictColumn(.requestModel)
        let status = try seg.dictColumn(.status), kind = try seg.dictColumn(.kind), finish = try seg.dictColumn(.finishReason)
        let (durations, _) = try seg.intColumn(.duration)
        let ttft = try seg.intColumn(.ttft), input = try seg.intColumn(.inputTokens), output = try seg.intColumn(.outputTokens)
        let cost = try seg.doubleColumn(.costUSD)
        // Group per distinct (service, model, prompt) codes, not per row; categories counted by
        // dictionary code in arrays and named once per segment, not hashed as strings per row.
        final class Local {
            let group: DriftSample.Group
            var model: [Int], requestModel: [Int], finish: [Int], status: [Int], kind: [Int]
            init(_ g: DriftSample.Group, _ sizes: [Int]) {
                group = g
                model = [Int](repeating: 0, count: sizes[0]); requestModel = [Int](repeating: 0, count: sizes[1])
                finish = [Int](repeating: 0, count: sizes[2]); status = [Int](repeating: 0, count: sizes[3])
                kind = [Int](repeating: 0, count: sizes[4])
            }
        }
        let sizes = [resp, req, finish, status, kind].map { $0.values.count + 1 }
        var groupOf: [UInt64: Local] = [:]
        var lastCode = UInt64.max
        var last: Local? = nil
        typealias N = DriftSample.NumericField
        typealias C = DriftSample.CategoricalField
        for r in rows {
            let modelCode = resp.codes[r] != 0 ? UInt64(resp.codes[r]) : UInt64(req.codes[r]) | 1 << 31
            let code = UInt64(services.codes[r]) << 42 ^ modelCode << 20 ^ UInt64(names.codes[r]) << 10 ^ UInt64(versions.codes[r])
            let l: Local
            if code == lastCode, let x = last { l = x } else if let x = groupOf[code] { l = x } else {
                let model = str(resp, r) ?? str(req, r)
                let prompt = str(names, r).map { n in str(versions, r).map { "\(n)@\($0)" } ?? n }
                l = Local(sample.group(sample.key(service: str(services, r) ?? "", model: model, prompt: prompt)), sizes)
                groupOf[code] = l
            }
            lastCode = code
            last = l
            let g = l.group
            sample.spans += 1
            g.numeric[N.durationMs.rawValue].append(Double(durations[r]) / 1e6)
            if ttft.valid?[r] ?? true { g.numeric[N.ttftMs.rawValue].append(Double(ttft.values[r]) / 1e6) }
            if input.valid?[r] ?? true { g.numeric[N.inputTokens.rawValue].append(Double(input.values[r])) }
            if output.valid?[r] ?? true { g.numeric[N.outputTokens.rawValue].append(Double(output.values[r])) }
            if cost.valid?[r] ?? true { g.numeric[N.costUSD.rawValue].append(cost.values[r]) }
            if resp.codes[r] != 0 { l.model[Int(resp.codes[r])] += 1 } else if req.codes[r] != 0 { l.requestModel[Int(req.codes[r])] += 1 }
            l.finish[Int(finish.codes[r])] += 1
            l.status[Int(status.codes[r])] += 1
            l.kind[Int(kind.codes[r])] += 1
        }
        for l in groupOf.values {
            func fold(_ counts: [Int], _ values: [String], _ field: C) {
                for (code, n) in counts.enumerated() where code > 0 && n > 0 {
                    l.group.categorical[field.index][values[code - 1], default: 0] += n
                }
            }
            fold(l.model, resp.values, .model)
            fold(l.requestModel, req.values, .model)
            fold(l.finish, finish.values, .finishReason)
            fold(l.status, status.values, .status)
            fold(l.kind, kind.values, .kind)
        }
        return rows
    }
}
