import LLMTraceModel

/// One span in full: what it is and how long it took, the model and its settings, tokens, cost and
/// time to first token, the prompt's messages, the retrieved context, the completion, tool calls,
/// scores, attributes and events. Each part is an item (j/k move between them); a long one shows
/// its first lines and Enter opens it whole in a scrollable text view.
public struct SpanDetailView: Sendable {
    public let span: Span
    public let traceStartNanos: Int64
    public let items: [Item]
    var cursor = ListCursor()
    /// Lines of an item shown before "Enter reads it all".
    static let preview = 6

    public struct Item: Sendable, Equatable {
        public var title: String
        public var text: String
        /// Short facts (span, model, tokens): always shown whole, never opened.
        public var facts: Bool
    }

    public init(span: Span, scores: [Score], traceStartNanos: Int64) {
        self.span = span
        self.traceStartNanos = traceStartNanos
        items = Self.items(span, scores: scores, traceStart: traceStartNanos)
    }

    static func ms(_ nanos: Int64) -> String { NumberFormat.format(Double(nanos) / 1e6, .milliseconds) }

    static func items(_ s: Span, scores: [Score], traceStart: Int64) -> [Item] {
        var out: [Item] = []
        func fact(_ title: String, _ parts: [String?]) {
            let p = parts.compactMap { $0 }
            if !p.isEmpty { out.append(Item(title: title, text: p.joined(separator: " · "), facts: true)) }
        }
        var status = s.status.rawValue
        if let m = s.statusMessage, !m.isEmpty { status += ": " + m }
        fact("span", ["\(s.kind.rawValue) · \(s.service)", "status \(status)", "at +\(ms(s.startNanos - traceStart))", "took \(ms(s.durationNanos))",
                      "span \(s.spanID.hex)", s.parentSpanID.isZero ? "root" : "parent \(s.parentSpanID.hex)"])
        var model: String? = s.responseModel ?? s.requestModel
        if let asked = s.requestModel, let got = s.responseModel, asked != got { model = "\(got) (asked \(asked))" }
        fact("model", [s.provider, model, s.temperature.map { "temperature \(DecimalText.shortest($0))" },
                       s.topP.map { "top_p \(DecimalText.shortest($0))" }, s.maxTokens.map { "max_tokens \($0)" },
                       s.finishReason.map { "finish \($0)" }])
        let total: Int64? = s.inputTokens == nil && s.outputTokens == nil ? nil : (s.inputTokens ?? 0) + (s.outputTokens ?? 0)
        fact("usage", [s.inputTokens.map { "input \(DecimalText.grouped($0))" }, s.outputTokens.map { "output \(DecimalText.grouped($0))" },
                       s.cachedTokens.map { "cached \(DecimalText.grouped($0))" }, s.reasoningTokens.map { "reasoning \(DecimalText.grouped($0))" },
                       total.map { "total \(DecimalText.grouped($0))" }, s.costUSD.map { "cost $" + DecimalText.significant($0, 3) },
                       s.timeToFirstTokenNanos.map { "first token \(ms($0))" }])
        fact("context", [s.promptName.map { "prompt \($0)" + (s.promptVersion.map { $0.hasPrefix("v") ? " \($0)" : " v\($0)" } ?? "") }, s.sessionID.map { "session \($0)" },
                         s.userID.map { "user \($0)" }, s.environment.map { "env \($0)" }, s.tags.isEmpty ? nil : "tags " + s.tags.joined(separator: ", ")])
        for m in s.inputMessages { out.append(message(m, "prompt")) }
        for (i, d) in s.documents.enumerated() {
            let title = "retrieved \(i + 1)" + (d.id.map { " · \($0)" } ?? "") + (d.score.map { " · score \(DecimalText.significant($0, 3))" } ?? "")
            out.append(Item(title: title, text: d.content, facts: false))
        }
        for m in s.outputMessages { out.append(message(m, "completion")) }
        let mine = scores.filter { $0.spanID == s.spanID || ($0.spanID == nil && s.parentSpanID.isZero) }
        if !mine.isEmpty {
            out.append(Item(title: "scores", text: mine.map { sc in
                let v: String
                switch sc.value {
                case .number(let n): v = DecimalText.shortest(n)
                case .category(let c): v = c
                }
                return "\(sc.name) = \(v) (\(sc.source.rawValue)\(sc.spanID == nil ? ", trace" : ""))" + (sc.comment.map { " — \($0)" } ?? "")
            }.joined(separator: "\n"), facts: false))
        }
        if !s.attributes.isEmpty {
            out.append(Item(title: "attributes (\(s.attributes.count))", text: s.attributes.map { "\($0.key) = \(text($0.value))" }.joined(separator: "\n"), facts: false))
        }
        for e in s.events {
            out.append(Item(title: "event · \(e.name) · +\(ms(e.timeNanos - traceStart))",
                            text: e.attributes.map { "\($0.key) = \(text($0.value))" }.joined(separator: "\n"), facts: false))
        }
        return out
    }

    static func message(_ m: Message, _ part: String) -> Item {
        var title = "\(part) · \(m.role)"
        if let id = m.toolCallID { title += " · answers \(id)" }
        var text = m.content
        for c in m.toolCalls {
            if !text.isEmpty { text += "\n" }
            text += "→ tool call \(c.name)(\(c.arguments))" + (c.id.map { " [\($0)]" } ?? "")
        }
        return Item(title: title, text: text, facts: false)
    }

    static func text(_ v: AttributeValue) -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return DecimalText.shortest(d)
        case .bool(let b): return b ? "true" : "false"
        case .array(let a): return "[" + a.map(text).joined(separator: ", ") + "]"
        }
    }

    /// The selected item, for Enter.
    public var selectedItem: Item? { items.indices.contains(cursor.selected) ? items[cursor.selected] : nil }

    public mutating func handle(_ key: Key, height: Int) -> (DrillRequest, TextView?) {
        if cursor.move(key, count: items.count, page: 3) { return (.none, nil) }
        switch key {
        case .escape, .backspace, .left, .char("h"):
            return (.back, nil)
        case .enter, .right, .char("l"):
            guard let item = selectedItem, !item.facts else { return (.none, nil) }
            return (.none, TextView(title: "\(span.name) · \(item.title)", text: item.text))
        case .char("y"):
            return (.copy(span.traceID.hex), nil)
        case .char("e"):
            return (.export(span.traceID.hex), nil)
        default:
            return (.none, nil)
        }
    }

    public func draw(on s: inout ScreenBuffer, context: DrillContext) {
        s.clear()
        s.titleBar("LLMTrace · span \(span.name) · trace \(span.traceID.hex.prefix(16))",
                   right: "\(span.kind.rawValue) · \(Self.ms(span.durationNanos))\(span.status == .error ? " · error" : "")")
        // Every item's lines, then the window that shows the selected item's title.
        let width = max(10, s.width - 4)
        var lines: [(item: Int, text: String, title: Bool)] = []
        var firstLine: [Int] = []
        for (i, item) in items.enumerated() {
            firstLine.append(lines.count)
            if item.facts {
                let body = TextWrap.lines(item.text, width: max(8, width - 10))
                for (n, l) in body.enumerated() { lines.append((i, (n == 0 ? TextWrap.pad(item.title, 9) + " " : String(repeating: " ", count: 10)) + l, n == 0)) }
                continue
            }
            lines.append((i, item.title, true))
            let body = item.text.isEmpty ? [item.title.hasPrefix("event") ? "(no attributes)" : "(empty)"] : TextWrap.lines(item.text, width: width)
            for l in body.prefix(Self.preview) { lines.append((i, "  " + l, false)) }
            if body.count > Self.preview { lines.append((i, "  … \(body.count - Self.preview) more lines · Enter reads it all", false)) }
        }
        let page = max(1, s.height - 2)
        var top = 0
        if let first = firstLine.indices.contains(cursor.selected) ? firstLine[cursor.selected] : nil {
            let end = cursor.selected + 1 < firstLine.count ? firstLine[cursor.selected + 1] : lines.count
            // The whole item when it fits, else from its title.
            top = end - first <= page ? max(0, end - page) : first
            top = min(top, first)
        }
        for (n, line) in lines.dropFirst(top).prefix(page).enumerated() {
            let y = 1 + n
            let selected = line.item == cursor.selected
            let item = items[line.item]
            var st = Style.plain
            if line.title && !item.facts { st = Style(fg: item.title.hasPrefix("completion") ? .green : item.title.hasPrefix("prompt") ? .cyan : .yellow, bold: true) }
            if item.facts && line.title { st.bold = false }
            if line.text.hasPrefix("  … ") { st = Style(dim: true) }
            if selected { s.put(context.glyphs == .ascii ? ">" : "▌", x: 0, y: y, style: Style(fg: .cyan, bold: true)) }
            if selected && line.title { st.reverse = true }
            s.put(TextWrap.cut(line.text, s.width - 2), x: 2, y: y, style: st)
        }
        s.hintBar(["j/k item", "Enter read whole", "y copy", "e export", "Esc back", "q quit"])
    }
}

/// A long value whole: wrapped to the screen's width, scrolled with j/k, Space/PgDn, PgUp, g/G.
public struct TextView: Sendable {
    public let title: String
    public let text: String
    public private(set) var top = 0
    /// Lines as last drawn (the width decides them), for scrolling limits.
    var lineCount = 0

    public init(title: String, text: String) {
        self.title = title
        self.text = text
    }

    public mutating func handle(_ key: Key, width: Int, height: Int) -> DrillRequest {
        let count = TextWrap.lines(text, width: max(1, width - 2)).count
        let page = max(1, height - 2)
        let last = max(0, count - page)
        switch key {
        case .escape, .backspace, .left, .char("h"): return .back
        case .char("j"), .down: top = min(last, top + 1)
        case .char("k"), .up: top = max(0, top - 1)
        case .pageDown, .char(" "), .ctrl("f"): top = min(last, top + page)
        case .pageUp, .ctrl("b"): top = max(0, top - page)
        case .char("g"), .home: top = 0
        case .char("G"), .end: top = last
        default: break
        }
        return .none
    }

    public func draw(on s: inout ScreenBuffer, context: DrillContext) {
        s.clear()
        let lines = TextWrap.lines(text, width: max(1, s.width - 2))
        let page = max(1, s.height - 2)
        let from = min(top, max(0, lines.count - page))
        s.titleBar("LLMTrace · \(title)", right: "lines \(lines.isEmpty ? 0 : from + 1)–\(min(lines.count, from + page)) of \(lines.count)")
        for (n, l) in lines.dropFirst(from).prefix(page).enumerated() { s.put(l, x: 1, y: 1 + n) }
        s.hintBar(["j/k line", "Space/PgDn page", "PgUp", "g/G top/end", "Esc back"])
    }
}
