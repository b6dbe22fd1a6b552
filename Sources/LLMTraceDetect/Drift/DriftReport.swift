import LLMTraceModel

/// A drift report: for each group (service, model, prompt version — as `by` chooses), every field
/// compared between a baseline window and a current one, ranked by effect size (the biggest change
/// on top). Numeric fields get KS, normalised Wasserstein-1, PSI and Jensen-Shannon; categorical
/// ones chi-square, Jensen-Shannon and PSI; texts n-gram Jensen-Shannon and the novel share.
///
/// Whether a field drifted follows the references' defaults (Evidently): on small samples (both
/// sides at most `smallSample` values) a test — KS p or chi-square p under `pValue`; on large
/// ones an effect size — normalised Wasserstein-1 (numeric) or Jensen-Shannon (categorical, text)
/// at or over their thresholds. PSI is reported with its usual bands (under 0.1 none, to 0.25
/// moderate, over it major). All are in `Thresholds`, configurable per request.
public struct DriftReport: Sendable {
    public struct Thresholds: Sendable, Equatable {
        public var smallSample = 1_000
        public var pValue = 0.05
        public var wasserstein = 0.1
        public var jensenShannon = 0.1
        /// Text n-gram distributions of two samples of one source differ by sampling alone; a
        /// text field drifts at this Jensen-Shannon distance and `textNovelShare` novel n-grams.
        public var textJensenShannon = 0.35
        public var textNovelShare = 0.15
        /// …and only when the distance and the novel share exceed those between the baseline's own
        /// two halves by these margins (the halves are smaller samples, so their distance errs high:
        /// the test errs towards "no drift").
        public var textJensenShannonOverNull = 0.10
        public var textNovelOverNull = 0.10
        public var psiModerate = 0.1
        public var psiMajor = 0.25
        /// Fewer values on either side than this: the field is not compared.
        public var minimumValues = 20
        public init() {}
    }

    public enum FieldKind: String, Sendable { case numeric, categorical, text }

    public struct Finding: Sendable {
        public var group: [(String, String)]
        public var field: String
        public var kind: FieldKind
        public var baselineCount: Int
        public var currentCount: Int
        public var drifted: Bool
        /// What decided `drifted` ("KS p = 0.0012 < 0.05", "W1/σ = 0.34 ≥ 0.1", …).
        public var reason: String
        /// The ranking key: Jensen-Shannon distance, in [0, 1].
        public var effect: Double
        public var psi: Double?
        public var psiBand: String?
        public var numeric: NumericDrift?
        public var categorical: CategoricalDrift?
        public var text: TextDrift?
    }

    public var findings: [Finding]
    public var baselineSpans: Int
    public var currentSpans: Int

    /// Compares the groups of two collected windows.
    public init(baseline: DriftSample, current: DriftSample, thresholds t: Thresholds = Thresholds()) {
        baselineSpans = baseline.spans
        currentSpans = current.spans
        var out: [Finding] = []
        let keys = Set(baseline.groups.keys).union(current.groups.keys).sorted()
        for key in keys {
            guard let b = baseline.groups[key], let c = current.groups[key] else { continue }
            let group = zip(baseline.by.isEmpty ? current.by : baseline.by, key.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init))
                .map { ($0.0.rawValue, $0.1) }
            for f in DriftSample.NumericField.allCases {
                let bv = b.numeric[f.rawValue], cv = c.numeric[f.rawValue]
                guard bv.count >= t.minimumValues, cv.count >= t.minimumValues else { continue }
                let small = bv.count <= t.smallSample && cv.count <= t.smallSample
                let d = NumericDrift(baseline: bv, current: cv, exactLimit: t.smallSample)
                let drifted: Bool, reason: String
                if small {
                    drifted = d.ksPValue < t.pValue
                    reason = "KS p = \(Self.fmt(d.ksPValue)) \(drifted ? "<" : "≥") \(t.pValue)"
                } else {
                    drifted = d.wasserstein1Normalised >= t.wasserstein
                    reason = "W1/σ = \(Self.fmt(d.wasserstein1Normalised)) \(drifted ? "≥" : "<") \(t.wasserstein)"
                }
                out.append(Finding(group: group, field: f.name, kind: .numeric, baselineCount: bv.count, currentCount: cv.count,
                                   drifted: drifted, reason: reason, effect: d.jensenShannon, psi: d.psi, psiBand: Self.band(d.psi, t),
                                   numeric: d))
            }
            for f in DriftSample.CategoricalField.allCases {
                let bc = b.categorical[f.index], cc = c.categorical[f.index]
                let bn = bc.values.reduce(0, +), cn = cc.values.reduce(0, +)
                guard bn >= t.minimumValues, cn >= t.minimumValues else { continue }
                let cats = Set(bc.keys).union(cc.keys).sorted()
                guard cats.count >= 2 else { continue }
                let d = CategoricalDrift(categories: cats, baseline: cats.map { bc[$0] ?? 0 }, current: cats.map { cc[$0] ?? 0 })
                let small = bn <= t.smallSample && cn <= t.smallSample
                let drifted: Bool, reason: String
                if small {
                    drifted = d.pValue < t.pValue
                    reason = "chi² p = \(Self.fmt(d.pValue)) \(drifted ? "<" : "≥") \(t.pValue)"
                } else {
                    drifted = d.jensenShannon >= t.jensenShannon
                    reason = "JS = \(Self.fmt(d.jensenShannon)) \(drifted ? "≥" : "<") \(t.jensenShannon)"
                }
                out.append(Finding(group: group, field: f.rawValue, kind: .categorical, baselineCount: bn, currentCount: cn,
                                   drifted: drifted, reason: reason, effect: d.jensenShannon, psi: d.psi, psiBand: Self.band(d.psi, t),
                                   categorical: d))
            }
            for f in DriftSample.TextField.allCases {
                let bt = b.texts[f.index], ct = c.texts[f.index]
                guard bt.count >= t.minimumValues, ct.count >= t.minimumValues else { continue }
                let d = TextDrift(baseline: bt, current: ct)
                // What sampling alone gives: the baseline's two halves (alternate texts) against each
                // other. A few dozen texts of varied wording differ from any other few dozen by 0.6
                // or more; only a distance well past the baseline's own differs in substance.
                let null = TextDrift(baseline: bt.enumerated().lazy.filter { $0.offset % 2 == 0 }.map(\.element),
                                     current: bt.enumerated().lazy.filter { $0.offset % 2 == 1 }.map(\.element))
                let pastFloors = d.jensenShannon >= t.textJensenShannon && d.novelShare >= t.textNovelShare
                let pastNull = d.jensenShannon >= null.jensenShannon + t.textJensenShannonOverNull
                    && d.novelShare >= null.novelShare + t.textNovelOverNull
                let drifted = pastFloors && pastNull
                var reason = "JS = \(Self.fmt(d.jensenShannon)), novel n-grams \(Self.fmt(d.novelShare * 100))%"
                if drifted {
                    reason += " (≥ \(t.textJensenShannon) and \(Self.fmt(t.textNovelShare * 100))%, and past the baseline's halves: JS \(Self.fmt(null.jensenShannon)), \(Self.fmt(null.novelShare * 100))%)"
                } else if pastFloors {
                    reason += "; the baseline's halves differ as much (JS \(Self.fmt(null.jensenShannon)), \(Self.fmt(null.novelShare * 100))%)"
                }
                out.append(Finding(group: group, field: f.rawValue, kind: .text, baselineCount: bt.count, currentCount: ct.count,
                                   drifted: drifted, reason: reason, effect: d.jensenShannon, text: d))
            }
        }
        // Drifted first, then by effect; ties in a stable order.
        findings = out.sorted {
            if $0.drifted != $1.drifted { return $0.drifted }
            if $0.effect != $1.effect { return $0.effect > $1.effect }
            return ($0.group.map(\.1).joined(separator: "/"), $0.field) < ($1.group.map(\.1).joined(separator: "/"), $1.field)
        }
    }

    static func band(_ psi: Double, _ t: Thresholds) -> String { psi < t.psiModerate ? "none" : psi < t.psiMajor ? "moderate" : "major" }

    static func fmt(_ x: Double) -> String {
        if x == 0 { return "0" }
        if !x.isFinite { return x > 0 ? "inf" : "-inf" }
        if abs(x) < 1e-3 { return DecimalText.significant(x, 2) }
        return DecimalText.significant(x, 3)
    }
}

/// The values of one window, per group, that a drift report compares.
public struct DriftSample: Sendable {
    public enum GroupBy: String, Sendable, CaseIterable { case service, model, prompt }

    public enum NumericField: Int, CaseIterable, Sendable {
        case durationMs, ttftMs, inputTokens, outputTokens, costUSD, retrievalScore
        public var name: String { ["duration_ms", "ttft_ms", "input_tokens", "output_tokens", "cost_usd", "retrieval_score"][rawValue] }
    }

    public enum CategoricalField: String, CaseIterable, Sendable {
        case model, finishReason = "finish_reason", status, kind, toolName = "tool_name"
        var index: Int { Self.allCases.firstIndex(of: self)! }
    }

    public enum TextField: String, CaseIterable, Sendable {
        case prompt, completion, documents
        var index: Int { Self.allCases.firstIndex(of: self)! }
    }

    public final class Group: @unchecked Sendable {
        public var numeric = [[Double]](repeating: [], count: NumericField.allCases.count)
        public var categorical = [[String: Int]](repeating: [:], count: CategoricalField.allCases.count)
        public var texts = [[String]](repeating: [], count: TextField.allCases.count)
    }

    public let by: [GroupBy]
    public var groups: [String: Group] = [:]
    public var spans = 0

    public init(by: [GroupBy]) { self.by = by }

    public func key(service: String, model: String?, prompt: String?) -> String {
        by.map { b -> String in
            switch b {
            case .service: return service
            case .model: return model ?? "(none)"
            case .prompt: return prompt ?? "(none)"
            }
        }.joined(separator: "\u{1F}")
    }

    public mutating func group(_ key: String) -> Group {
        if let g = groups[key] { return g }
        let g = Group()
        groups[key] = g
        return g
    }

    /// Adds a whole span (fixed fields, and texts, tools and retrieval scores when it has them).
    public mutating func add(_ s: Span, fixed: Bool = true, texts: Bool = true) {
        let prompt = s.promptName.map { n in s.promptVersion.map { "\(n)@\($0)" } ?? n }
        let g = group(key(service: s.service, model: s.responseModel ?? s.requestModel, prompt: prompt))
        if fixed {
            spans += 1
            g.numeric[NumericField.durationMs.rawValue].append(Double(s.durationNanos) / 1e6)
            if let t = s.timeToFirstTokenNanos { g.numeric[NumericField.ttftMs.rawValue].append(Double(t) / 1e6) }
            if let t = s.inputTokens { g.numeric[NumericField.inputTokens.rawValue].append(Double(t)) }
            if let t = s.outputTokens { g.numeric[NumericField.outputTokens.rawValue].append(Double(t)) }
            if let c = s.costUSD { g.numeric[NumericField.costUSD.rawValue].append(c) }
            if let m = s.responseModel ?? s.requestModel { g.categorical[CategoricalField.model.index][m, default: 0] += 1 }
            if let f = s.finishReason { g.categorical[CategoricalField.finishReason.index][f, default: 0] += 1 }
            g.categorical[CategoricalField.status.index][s.status.rawValue, default: 0] += 1
            g.categorical[CategoricalField.kind.index][s.kind.rawValue, default: 0] += 1
        }
        if texts { addTexts(s, to: g) }
    }

    func addTexts(_ s: Span, to g: Group) {
        for d in s.documents { if let sc = d.score { g.numeric[NumericField.retrievalScore.rawValue].append(sc) } }
        for m in s.outputMessages { for c in m.toolCalls { g.categorical[CategoricalField.toolName.index][c.name, default: 0] += 1 } }
        let prompt = s.inputMessages.filter { $0.role == "user" }.map(\.content).joined(separator: "\n")
        if !prompt.isEmpty { g.texts[TextField.prompt.index].append(prompt) }
        let completion = s.outputMessages.filter { $0.role != "tool" }.map(\.content).joined(separator: "\n")
        if !completion.isEmpty { g.texts[TextField.completion.index].append(completion) }
        if !s.documents.isEmpty { g.texts[TextField.documents.index].append(s.documents.map(\.content).joined(separator: "\n")) }
    }
}
