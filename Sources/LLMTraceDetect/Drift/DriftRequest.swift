import Dispatch
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore
import LLMTraceSupport

/// What `GET /api/drift` and `tracectl drift` take, parsed one way:
/// - `current`: a duration (`1h`, the default: the last hour) or `FROM..TO`, each end an RFC 3339
///   time, nanoseconds since 1970, or a duration ago (`2h..1h`).
/// - `baseline`: a duration (`7d`, the default: the 7 days before the current window), `FROM..TO`,
///   or `prompt:NAME@VERSION` (that prompt version's spans over the 7 days up to the current
///   window's end — "compare with how v6 behaved").
/// - `by`: group fields separated by commas among `service`, `model`, `prompt` (default
///   `service,model`), or `none`.
public struct DriftRequest: Sendable {
    public var baseline: DriftReader.Window
    public var current: DriftReader.Window
    public var by: [DriftSample.GroupBy]
    public var baselineText: String
    public var currentText: String

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(baseline: String?, current: String?, by: String?, now: Int64) throws(Invalid) {
        currentText = current ?? "1h"
        baselineText = baseline ?? "7d"
        self.current = try Self.window(currentText, end: now, now: now, name: "current")
        if baselineText.hasPrefix("prompt:") {
            let p = String(baselineText.dropFirst(7))
            guard !p.isEmpty else { throw Invalid(description: "baseline=prompt: needs a prompt name, e.g. prompt:support@v6") }
            self.baseline = DriftReader.Window(from: self.current.to - 7 * 86_400_000_000_000, to: self.current.to, prompt: p)
        } else {
            self.baseline = try Self.window(baselineText, end: self.current.from, now: now, name: "baseline")
        }
        let b = by ?? "service,model"
        if b == "none" || b.isEmpty {
            self.by = []
        } else {
            var out: [DriftSample.GroupBy] = []
            for part in b.split(separator: ",") {
                guard let g = DriftSample.GroupBy(rawValue: String(part)) else {
                    throw Invalid(description: "by: unknown field '\(part)' (service, model, prompt, or none)")
                }
                if !out.contains(g) { out.append(g) }
            }
            self.by = out
        }
        if self.baseline.prompt != nil && self.by.contains(.prompt) {
            throw Invalid(description: "a prompt-version baseline cannot be grouped by prompt (the versions differ by design); use by=service,model")
        }
    }

    /// A duration ending at `end`, or `FROM..TO`.
    static func window(_ s: String, end: Int64, now: Int64, name: String) throws(Invalid) -> DriftReader.Window {
        let help = "\(name) must be a duration (1h, 7d) or FROM..TO, each an RFC 3339 time, nanoseconds, or a duration ago; got '\(s)'"
        if let dots = s.range(of: "..") {
            guard let from = QueryValue.parseTimeArgument(String(s[..<dots.lowerBound]), now: now),
                  let to = QueryValue.parseTimeArgument(String(s[dots.upperBound...]), now: now) else { throw Invalid(description: help) }
            guard from < to else { throw Invalid(description: "\(name): the window's start must come before its end ('\(s)')") }
            return DriftReader.Window(from: from, to: to)
        }
        guard let ago = QueryValue.parseTimeArgument(s, now: now), ago < now, QueryValue.parseTime(s) == nil, Int64(s) == nil else {
            throw Invalid(description: help)
        }
        return DriftReader.Window(from: end - (now - ago), to: end)
    }

    /// Runs the report over `store` for `project` (every project with nil).
    public func run(_ store: Store, project: String?, thresholds: DriftReport.Thresholds = .init()) throws -> DriftReport {
        // The two windows are read at once, one per core.
        let reader = DriftReader()
        let windows = [baseline, current]
        let results = ResultBox(count: 2)
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            results.set(i, Result { try reader.collect(store, project: project, window: windows[i], by: by) })
        }
        let b = try results.get(0), c = try results.get(1)
        return DriftReport(baseline: b, current: c, thresholds: thresholds)
    }
}

extension DriftReport {
    /// The report as `GET /api/drift` answers it.
    public func json(_ request: DriftRequest, limit: Int = 200) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        for (name, win, text) in [("baseline", request.baseline, request.baselineText), ("current", request.current, request.currentText)] {
            w.key(name); w.beginObject()
            w.key("spec"); w.string(text)
            w.key("from"); w.string(QueryValue.formatTime(win.from))
            w.key("to"); w.string(QueryValue.formatTime(win.to))
            if let p = win.prompt { w.key("prompt"); w.string(p) }
            w.key("spans"); w.int(Int64(name == "baseline" ? baselineSpans : currentSpans))
            w.endObject()
        }
        w.key("by"); w.beginArray(); for b in request.by { w.string(b.rawValue) }; w.endArray()
        w.key("drifted"); w.int(Int64(findings.filter(\.drifted).count))
        w.key("findings"); w.beginArray()
        for f in findings.prefix(limit) {
            w.beginObject()
            w.key("group"); w.beginObject(); for (k, v) in f.group { w.key(k); w.string(v) }; w.endObject()
            w.key("field"); w.string(f.field)
            w.key("type"); w.string(f.kind.rawValue)
            w.key("drifted"); w.bool(f.drifted)
            w.key("reason"); w.string(f.reason)
            w.key("effect"); w.double(f.effect)
            w.key("baseline_count"); w.int(Int64(f.baselineCount))
            w.key("current_count"); w.int(Int64(f.currentCount))
            if let p = f.psi { w.key("psi"); w.double(Self.finite(p)) }
            if let b = f.psiBand { w.key("psi_band"); w.string(b) }
            if let n = f.numeric {
                w.key("ks_statistic"); w.double(n.ksStatistic)
                w.key("ks_p_value"); w.double(n.ksPValue)
                w.key("ks_p_value_exact"); w.bool(n.ksPValueIsExact)
                w.key("wasserstein"); w.double(n.wasserstein1)
                w.key("wasserstein_normalised"); w.double(Self.finite(n.wasserstein1Normalised))
                w.key("jensen_shannon"); w.double(n.jensenShannon)
                w.key("baseline_mean"); w.double(n.baselineMean)
                w.key("current_mean"); w.double(n.currentMean)
            }
            if let c = f.categorical {
                w.key("chi_square"); w.double(c.chiSquare)
                w.key("degrees_of_freedom"); w.int(Int64(c.degreesOfFreedom))
                w.key("p_value"); w.double(c.pValue)
                w.key("jensen_shannon"); w.double(c.jensenShannon)
                w.key("categories"); w.beginObject()
                for (k, name) in c.categories.enumerated() {
                    w.key(name); w.beginArray(); w.int(Int64(c.baselineCounts[k])); w.int(Int64(c.currentCounts[k])); w.endArray()
                }
                w.endObject()
            }
            if let t = f.text {
                w.key("jensen_shannon"); w.double(t.jensenShannon)
                w.key("novel_share"); w.double(t.novelShare)
            }
            w.endObject()
        }
        w.endArray()
        w.endObject()
        let out = w.lineBytes
        return out
    }

    /// JSON has no infinity: a constant baseline's normalised distance is reported as 1e308.
    static func finite(_ x: Double) -> Double { x.isFinite ? x : (x > 0 ? 1e308 : -1e308) }
}

/// Results written by concurrent workers, each to its own slot.
final class ResultBox: @unchecked Sendable {
    private let lock = Condition()
    private var slots: [Result<DriftSample, Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<DriftSample, Error>) { lock.withLock { slots[i] = r } }
    func get(_ i: Int) throws -> DriftSample { try lock.withLock { slots[i]! }.get() }
}
