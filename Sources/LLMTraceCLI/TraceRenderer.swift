import LLMTraceModel

/// Renders a trace as an indented tree with a time bar per span, for people.
///
/// Children sit under their parent in start order; spans whose parent is not in the trace (a lost or
/// not-yet-arrived parent) are shown as extra roots, and so is the earliest span of a parent cycle
/// (A's parent is B, B's is A), so nothing is hidden.
public struct TraceRenderer {
    public var color: Bool
    public var full: Bool
    public var width: Int
    /// Characters of each prompt, document or completion shown without `--full`.
    public var previewLength = 240

    public init(color: Bool, full: Bool, width: Int = 100) {
        self.color = color
        self.full = full
        self.width = max(60, width)
    }

    public func render(_ spans: [Span], scores: [Score] = []) -> String {
        let scores = scores.map(Self.printable)
        let spans = spans.map(Self.printable)
        guard let first = spans.first else { return "" }
        let t0 = spans.map(\.startNanos).min()!
        let t1 = spans.map(\.endNanos).max()!
        let total = max(1, t1 - t0)
        let ids = Set(spans.map(\.spanID))
        var children: [SpanID: [Span]] = [:]
        var roots: [Span] = []
        for s in spans {
            if s.parentSpanID.isZero || !ids.contains(s.parentSpanID) || s.parentSpanID == s.spanID {
                roots.append(s)
            } else {
                children[s.parentSpanID, default: []].append(s)
            }
        }
        let order: (Span, Span) -> Bool = { ($0.startNanos, $0.spanID) < ($1.startNanos, $1.spanID) }
        roots.sort(by: order)

        var out = ""
        let tokens = spans.reduce(Int64(0)) { $0 + ($1.inputTokens ?? 0) + ($1.outputTokens ?? 0) }
        let cost = spans.reduce(0.0) { $0 + ($1.costUSD ?? 0) }
        let errors = spans.filter { $0.status == .error }.count
        var head = "Trace \(first.traceID.hex)  ·  \(spans.count) span\(spans.count == 1 ? "" : "s")  ·  \(Self.duration(total))"
        if tokens > 0 { head += "  ·  \(Self.grouped(tokens)) tokens" }
        if cost > 0 { head += "  ·  \(Self.usd(cost))" }
        if errors > 0 { head += "  ·  " + style("\(errors) error\(errors == 1 ? "" : "s")", .red) }
        out += style(head, .bold) + "\n"
        var meta: [String] = []
        if let p = spans.first(where: { !$0.project.isEmpty })?.project { meta.append("project \(p)") }
        if let s = spans.first(where: { $0.sessionID != nil })?.sessionID { meta.append("session \(s)") }
        if let u = spans.first(where: { $0.userID != nil })?.userID { meta.append("user \(u)") }
        if let e = spans.first(where: { $0.environment != nil })?.environment { meta.append("env \(e)") }
        meta.append("started \(Self.timestamp(t0))")
        out += style(meta.joined(separator: "  ·  "), .dim) + "\n"
        let traceScores = scores.filter { $0.spanID == nil || !ids.contains($0.spanID!) }
        if !traceScores.isEmpty { out += "scores  " + traceScores.map(scoreText).joined(separator: "  ·  ") + "\n" }
        out += "\n"
        var spanScores: [SpanID: [Score]] = [:]
        for s in scores { if let id = s.spanID, ids.contains(id) { spanScores[id, default: []].append(s) } }

        let barWidth = max(16, min(40, width / 4))
        let nameWidth = max(24, width - barWidth - 46)
        func walk(_ s: Span, _ prefix: String, _ isLast: Bool, _ depth: Int, _ seen: inout Set<SpanID>) {
            guard seen.insert(s.spanID).inserted else { return }
            let branch = depth == 0 ? "" : (isLast ? "└─ " : "├─ ")
            var label = prefix + branch + s.name
            if label.count > nameWidth { label = String(label.prefix(nameWidth - 1)) + "…" }
            let pad = String(repeating: " ", count: max(0, nameWidth - label.count))
            let kind = s.kind.rawValue + String(repeating: " ", count: max(0, 9 - s.kind.rawValue.count))
            let dur = Self.duration(s.durationNanos).leftPadded(8)
            let bar = Self.bar(start: s.startNanos - t0, duration: s.durationNanos, total: total, width: barWidth)
            var line = label + pad + " " + style(kind, .cyan) + " " + dur + " " + style(bar, s.status == .error ? .red : .blue)
            var extras: [String] = []
            if let m = s.responseModel ?? s.requestModel { extras.append(m) }
            if s.inputTokens != nil || s.outputTokens != nil {
                extras.append("\(Self.grouped(s.inputTokens ?? 0))→\(Self.grouped(s.outputTokens ?? 0)) tok")
            }
            if let c = s.costUSD { extras.append(Self.usd(c)) }
            if let ttft = s.timeToFirstTokenNanos { extras.append("ttft \(Self.duration(ttft))") }
            if let f = s.finishReason, f != "stop" {
                extras.append(f == "length" ? style("truncated (length)", .yellow) : "finish \(f)")
            }
            if s.status == .error { extras.append(style("ERROR" + (s.statusMessage.map { ": \($0)" } ?? ""), .red)) }
            if !extras.isEmpty { line += "  " + extras.joined(separator: "  ") }
            out += line + "\n"
            if let sc = spanScores[s.spanID] {
                let p = depth == 0 ? "   " : prefix + (isLast ? "   " : "│  ") + "   "
                out += p + style("scores", .dim) + " " + sc.map(scoreText).joined(separator: "  ·  ") + "\n"
            }
            let childPrefix = depth == 0 ? "" : prefix + (isLast ? "   " : "│  ")
            let detailPrefix = childPrefix + ((children[s.spanID]?.isEmpty ?? true) ? "   " : "│  ")
            details(s, detailPrefix, &out)
            let kids = (children[s.spanID] ?? []).sorted(by: order)
            for (i, k) in kids.enumerated() { walk(k, childPrefix, i == kids.count - 1, depth + 1, &seen) }
        }
        var seen = Set<SpanID>()
        for r in roots { walk(r, "", true, 0, &seen) }
        // Spans no root reaches sit on a parent cycle: each cycle from its earliest span.
        for s in spans.sorted(by: order) where !seen.contains(s.spanID) {
            out += style("(parent links form a cycle)", .dim) + "\n"
            walk(s, "", true, 0, &seen)
        }
        return out
    }

    /// `name=value (source)`, with the comment when there is one.
    private func scoreText(_ s: Score) -> String {
        var v: String
        switch s.value {
        case .number(let d): v = DecimalText.significant(d, 4)
        case .category(let c): v = c
        }
        v = "\(s.name)=" + style(v, .bold) + " (\(s.source.rawValue))"
        if let c = s.comment, !c.isEmpty { v += " “" + (c.count > 80 ? String(c.prefix(79)) + "…" : c) + "”" }
        return v
    }

    private func details(_ s: Span, _ prefix: String, _ out: inout String) {
        let showText = s.kind == .llm || s.kind == .retrieval || s.kind == .embedding || full
        guard showText else { return }
        for m in s.inputMessages { message(m, prefix, "▸", .yellow, &out) }
        for d in s.documents {
            var label = "doc"
            if let id = d.id { label += " \(id)" }
            if let sc = d.score { label += " (\(Self.fixed(sc, 3)))" }
            out += block(prefix, label + " ▸", d.content, .magenta)
        }
        for m in s.outputMessages { message(m, prefix, "◂", .green, &out) }
    }

    /// A message: its text (a tool's answer labelled with the call it answers), then each tool
    /// call as `name(arguments)`; an assistant turn that only calls tools shows just the calls.
    private func message(_ m: Message, _ prefix: String, _ arrow: String, _ st: Terminal.Style, _ out: inout String) {
        if !m.content.isEmpty || m.toolCalls.isEmpty {
            let label = m.toolCallID.map { "\(m.role) [\($0)] \(arrow)" } ?? "\(m.role) \(arrow)"
            out += block(prefix, label, m.content, st)
        }
        for c in m.toolCalls {
            let label = "\(m.role) calls" + (c.id.map { " [\($0)]" } ?? "") + " \(arrow)"
            out += block(prefix, label, "\(c.name)(\(c.arguments))", .cyan)
        }
    }

    private func block(_ prefix: String, _ label: String, _ text: String, _ st: Terminal.Style) -> String {
        var body = text
        if !full {
            body = body.replacingNewlines()
            if body.count > previewLength { body = String(body.prefix(previewLength)) + "… (\(text.count) chars; --full shows all)" }
        }
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        var out = prefix + style(label, st) + " " + (lines.first.map(String.init) ?? "") + "\n"
        for l in lines.dropFirst() { out += prefix + "  " + l + "\n" }
        return out
    }

    private func style(_ s: String, _ st: Terminal.Style) -> String { Terminal.style(s, st, color: color) }

    static func printable(_ s: Score) -> Score {
        var p = s
        p.name = Terminal.visible(s.name)
        if case .category(let c) = s.value { p.value = .category(Terminal.visible(c)) }
        p.comment = s.comment.map { Terminal.visible($0) }
        return p
    }

    /// The span with every text it shows made safe for a terminal (`Terminal.visible`; prompts
    /// and documents keep their line breaks).
    static func printable(_ s: Span) -> Span {
        var p = s
        func v(_ t: String) -> String { Terminal.visible(t) }
        func lines(_ t: String) -> String { Terminal.visible(t, keepNewlines: true) }
        p.name = v(s.name)
        p.service = v(s.service)
        p.project = v(s.project)
        p.sessionID = s.sessionID.map(v)
        p.userID = s.userID.map(v)
        p.environment = s.environment.map(v)
        p.requestModel = s.requestModel.map(v)
        p.responseModel = s.responseModel.map(v)
        p.statusMessage = s.statusMessage.map(v)
        func message(_ m: Message) -> Message {
            Message(role: v(m.role), content: lines(m.content),
                    toolCalls: m.toolCalls.map { ToolCall(id: $0.id.map(v), name: v($0.name), arguments: lines($0.arguments)) },
                    toolCallID: m.toolCallID.map(v))
        }
        p.inputMessages = s.inputMessages.map(message)
        p.outputMessages = s.outputMessages.map(message)
        p.finishReason = s.finishReason.map(v)
        p.documents = s.documents.map { RetrievedDocument(id: $0.id.map(v), content: lines($0.content), score: $0.score) }
        return p
    }

    // MARK: Formatting

    static func bar(start: Int64, duration: Int64, total: Int64, width: Int) -> String {
        let a = Int((Double(start) / Double(total) * Double(width)).rounded(.down))
        var b = Int((Double(start + duration) / Double(total) * Double(width)).rounded(.up))
        b = max(b, a + 1)
        var s = ""
        for i in 0..<width { s += (i >= a && i < b) ? "█" : "·" }
        return s
    }

    public static func duration(_ ns: Int64) -> String {
        let v = Double(ns)
        if ns < 1_000 { return "\(ns)ns" }
        if ns < 1_000_000 { return fixed(v / 1e3, 1) + "µs" }
        if ns < 1_000_000_000 { return fixed(v / 1e6, ns < 10_000_000 ? 2 : 0) + "ms" }
        if ns < 60_000_000_000 { return fixed(v / 1e9, 2) + "s" }
        return fixed(v / 6e10, 1) + "m"
    }

    public static func grouped(_ v: Int64) -> String { DecimalText.grouped(v) }

    public static func usd(_ v: Double) -> String {
        if v == 0 { return "$0" }
        // Under a cent, three significant digits ($0.00000765); else cents, or tenths of a cent.
        if abs(v) < 0.01 { return "$" + DecimalText.significant(v, 3) }
        return "$" + fixed(v, v < 1 ? 4 : 2)
    }

    public static func fixed(_ v: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (v * scale).rounded() / scale
        var s = "\(r)"
        if s.contains("e") { return "\(v)" }
        if digits == 0 { return String(s.prefix(while: { $0 != "." })) }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        var frac = parts.count > 1 ? String(parts[1]) : ""
        while frac.count < digits { frac += "0" }
        s = parts[0] + "." + frac.prefix(digits)
        return s
    }

    /// UTC time of a Unix-nanosecond timestamp, e.g. 2026-01-01T00:00:00.123Z.
    public static func timestamp(_ ns: Int64) -> String {
        var secs = ns / 1_000_000_000
        let ms = (ns % 1_000_000_000) / 1_000_000
        var days = secs / 86400
        secs %= 86400
        if secs < 0 { secs += 86400; days -= 1 }
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        if m <= 2 { y += 1 }
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let msS = ms < 10 ? "00\(ms)" : (ms < 100 ? "0\(ms)" : "\(ms)")
        return "\(y)-\(two(m))-\(two(d))T\(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60)).\(msS)Z"
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
    func replacingNewlines() -> String { String(map { $0 == "\n" || $0 == "\r" ? " " : $0 }) }
}
