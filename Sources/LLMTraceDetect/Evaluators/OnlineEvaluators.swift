import LLMTraceModel

/// The cheap, model-free evaluators run on every stored span (off the ingest path, on the
/// detectors' thread): personal data, secrets, refusals, prompt injection, truncation, empty
/// output and groundedness. A flag is stored as a score (source `eval`, value 1, a comment naming
/// what was found — kinds and counts, never the matched text); groundedness is stored as its
/// value in [0, 1] whenever it can be computed. Clean spans store nothing: the share of spans
/// flagged is a per-series metric of the detectors (`eval_failure_rate`). What each evaluator
/// flags, with examples: `EVALUATORS.md` beside this file.
public final class OnlineEvaluators: @unchecked Sendable {
    public enum Name: String, CaseIterable, Sendable {
        case pii, secrets, refusal, promptInjection = "prompt_injection", truncated, emptyOutput = "empty_output", groundedness
    }

    public struct Settings: Sendable, Equatable {
        /// The evaluators that run for a project not named in `projects`.
        public var enabled: Set<Name> = Set(Name.allCases)
        /// Per-project sets, replacing `enabled` for that project (an empty set switches all off).
        public var projects: [String: Set<Name>] = [:]
        /// Groundedness below this is a failure (counted in `eval_failure_rate`).
        public var groundednessFloor = 0.2
        public init() {}

        public func enabled(for project: String) -> Set<Name> { projects[project] ?? enabled }

        /// `pii,secrets,…` (or `all`, `none`).
        public static func parseList(_ s: String) throws(EvaluatorSettingsError) -> Set<Name> {
            let t = s.trimmingCharacters(in: " ")
            if t == "all" { return Set(Name.allCases) }
            if t == "none" || t.isEmpty { return [] }
            var out = Set<Name>()
            for part in t.split(separator: ",") {
                let p = part.trimmingCharacters(in: " ")
                guard let n = Name(rawValue: p) else {
                    throw EvaluatorSettingsError("unknown evaluator '\(p)' (known: \(Name.allCases.map(\.rawValue).joined(separator: ", ")), or all, none)")
                }
                out.insert(n)
            }
            return out
        }
    }

    /// What the evaluators made of one span.
    public struct Evaluation: Sendable {
        public var scores: [Score] = []
        /// At least one evaluator flagged the span (or groundedness fell under the floor).
        public var failed = false
        /// Whether any evaluator applied (the denominator of the failure rate).
        public var evaluated = false
    }

    public let settings: Settings
    private let pii = PersonalDataScanner()
    private let secrets = SecretScanner()
    private let groundedness = Groundedness()
    private var scratch: [UInt8] = []

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// Evaluates one span. Not thread-safe (a scratch buffer is reused): one instance per thread.
    public func evaluate(_ s: Span, now: Int64) -> Evaluation {
        var out = Evaluation()
        let on = settings.enabled(for: s.project)
        guard !on.isEmpty else { return out }
        let isModelCall = s.kind == .llm || (s.kind != .embedding && (s.requestModel != nil || s.responseModel != nil) && !s.outputMessages.isEmpty)
        let hasText = !s.inputMessages.isEmpty || !s.outputMessages.isEmpty || !s.documents.isEmpty
        guard isModelCall || hasText else { return out }
        out.evaluated = true
        func flag(_ name: Name, _ comment: String) {
            out.scores.append(Score(project: s.project, traceID: s.traceID, spanID: s.spanID, name: name.rawValue, value: .number(1),
                                    source: .eval, comment: comment, timeNanos: now))
            out.failed = true
        }
        if on.contains(.pii) || on.contains(.secrets) {
            var pIn = PersonalDataScanner.Findings(), pOut = PersonalDataScanner.Findings()
            var sIn = SecretScanner.Findings(), sOut = SecretScanner.Findings()
            for m in s.inputMessages {
                if on.contains(.pii) { pii.scan(m.content, into: &pIn) }
                if on.contains(.secrets) { secrets.scan(m.content, into: &sIn) }
            }
            for m in s.outputMessages {
                if on.contains(.pii) { pii.scan(m.content, into: &pOut) }
                if on.contains(.secrets) { secrets.scan(m.content, into: &sOut) }
                for call in m.toolCalls {
                    if on.contains(.pii) { pii.scan(call.arguments, into: &pOut) }
                    if on.contains(.secrets) { secrets.scan(call.arguments, into: &sOut) }
                }
            }
            if !pIn.isEmpty || !pOut.isEmpty { flag(.pii, Self.where_(pIn.summary, pOut.summary)) }
            if !sIn.isEmpty || !sOut.isEmpty { flag(.secrets, Self.where_(sIn.summary, sOut.summary)) }
        }
        if on.contains(.refusal) {
            for m in s.outputMessages where m.role != "tool" {
                if let p = PhraseDetector.refusal.match(m.content, scratch: &scratch) { flag(.refusal, "output says \"\(p)\""); break }
            }
        }
        if on.contains(.promptInjection) {
            var found: String? = nil
            for m in s.inputMessages where m.role != "system" && m.role != "assistant" {
                if let p = PhraseDetector.injection.match(m.content, scratch: &scratch) { found = "\(m.role) message says \"\(p)\""; break }
            }
            if found == nil {
                for (i, d) in s.documents.enumerated() {
                    if let p = PhraseDetector.injection.match(d.content, scratch: &scratch) { found = "document \(i) says \"\(p)\""; break }
                }
            }
            if let found { flag(.promptInjection, found) }
        }
        if isModelCall {
            if on.contains(.truncated), let f = s.finishReason, Self.truncationReasons.contains(f.lowercased()) {
                flag(.truncated, "finish reason \"\(f)\"")
            }
            if on.contains(.emptyOutput), s.status != .error,
               !s.outputMessages.contains(where: { !$0.toolCalls.isEmpty || $0.content.contains(where: { !$0.isWhitespace }) }),
               s.outputTokens.map({ $0 <= 0 }) ?? true {
                flag(.emptyOutput, s.outputMessages.isEmpty ? "no output message" : "output is empty")
            }
            if on.contains(.groundedness), !s.documents.isEmpty {
                let answer = s.outputMessages.filter { $0.role != "tool" }.map(\.content).joined(separator: "\n")
                if let g = groundedness.score(completion: answer, documents: s.documents.map(\.content)) {
                    out.scores.append(Score(project: s.project, traceID: s.traceID, spanID: s.spanID, name: Name.groundedness.rawValue,
                                            value: .number(g), source: .eval,
                                            comment: "share of the completion's word pairs found in the \(s.documents.count) retrieved document(s)",
                                            timeNanos: now))
                    if g < settings.groundednessFloor { out.failed = true }
                }
            }
        }
        return out
    }

    /// OpenAI "length", Anthropic "max_tokens", Gemini "MAX_TOKENS".
    static let truncationReasons: Set<String> = ["length", "max_tokens", "max_output_tokens"]

    static func where_(_ input: String, _ output: String) -> String {
        [input.isEmpty ? nil : "input: \(input)", output.isEmpty ? nil : "output: \(output)"].compactMap { $0 }.joined(separator: "; ")
    }
}

public struct EvaluatorSettingsError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

extension String {
    func trimmingCharacters(in c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }
}
extension Substring {
    func trimmingCharacters(in c: Character) -> String { String(self).trimmingCharacters(in: c) }
}
