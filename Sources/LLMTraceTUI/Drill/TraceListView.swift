import LLMTraceClient
/// The trace list a panel drills into: newest first or sorted by duration, tokens, cost or time to
/// first token (`s` cycles, `S` reverses); `/` opens a filter prompt whose words narrow the list at
/// every key and whose `key=value` terms (`model=`, `status=error`, `session=`) run the query again on
/// Enter. Enter opens the selected trace; `y` copies it, `e` exports it.
public struct TraceListView: Sendable {
    /// Where the list came from, for the title: `Top models by cost · gpt-4o`.
    public var origin: String
    public var query: TraceListQuery
    /// The rows the query answered (the words filter them for display).
    public private(set) var rows: [TraceSummary] = []
    public private(set) var loading = true
    /// Why the last query failed, or what the prompt cannot read.
    public var message: String? = nil
    /// The prompt, while `/` is open.
    public private(set) var prompt: String? = nil
    var cursor = ListCursor()
    /// The words of the prompt as typed so far (the list narrows before Enter).
    var liveWords: [String]

    public init(origin: String, query: TraceListQuery) {
        self.origin = origin
        self.query = query
        liveWords = query.filter.words
    }

    /// The rows shown: the query's, narrowed by the words.
    public var shown: [TraceSummary] { rows.filter { $0.matches(liveWords) } }

    public var selected: TraceSummary? {
        let s = shown
        return s.indices.contains(cursor.selected) ? s[cursor.selected] : nil
    }

    /// The query's answer (or why it failed).
    public mutating func listed(_ result: Result<[TraceSummary], DrillError>) {
        loading = false
        switch result {
        case .success(let r):
            rows = r
            message = nil
        case .failure(let e):
            rows = []
            message = e.description
        }
        cursor = ListCursor()
    }

    public mutating func handle(_ key: Key, height: Int) -> DrillRequest {
        if prompt != nil { return edit(key) }
        let page = max(1, height - 4)
        if cursor.move(key, count: shown.count, page: page) {
            cursor.keepInView(count: shown.count, page: page)
            return .none
        }
        switch key {
        case .escape, .backspace, .left, .char("h"):
            return .back
        case .enter, .right, .char("l"):
            return selected.map { .trace($0.traceID) } ?? .none
        case .char("/"):
            prompt = query.filter.text + (query.filter.terms.isEmpty ? "" : " ")
            return .none
        case .char("s"):
            query.sort = query.sort.next
            query.descending = true
            return reload()
        case .char("S"):
            query.descending.toggle()
            return reload()
        case .char("r"):
            return reload()
        case .char("y"):
            return selected.map { .copy($0.traceID) } ?? .none
        case .char("e"):
            return selected.map { .export($0.traceID) } ?? .none
        default:
            return .none
        }
    }

    mutating func reload() -> DrillRequest {
        loading = true
        return .list(query)
    }

    /// A key while the prompt is open.
    mutating func edit(_ key: Key) -> DrillRequest {
        guard var text = prompt else { return .none }
        switch key {
        case .escape:
            prompt = nil
            message = nil
            liveWords = query.filter.words
            return .none
        case .enter:
            do {
                let f = try TraceFilter.parse(text)
                prompt = nil
                message = nil
                liveWords = f.words
                cursor = ListCursor()
                let rerun = f.fields != query.filter.fields
                query.filter = f
                return rerun ? reload() : .none
            } catch {
                message = error.description
                return .none
            }
        case .backspace, .delete:
            if !text.isEmpty { text.removeLast() }
        case .ctrl("u"):
            text = ""
        case .char(let c):
            text.append(c)
        default:
            return .none
        }
        prompt = text
        // The words narrow the list as they are typed; an unfinished term is not an error yet.
        if let f = try? TraceFilter.parse(text) { liveWords = f.words }
        cursor = ListCursor()
        return .none
    }

    public func draw(on s: inout ScreenBuffer, context: DrillContext) {
        s.clear()
        let list = shown
        let sortName = query.sort == .ttft ? "TTFT" : query.sort.rawValue
        s.titleBar("LLMTrace · traces · \(origin) · last \(query.range)",
                   right: "\(list.count) of \(rows.count) · by \(sortName) \(query.descending ? "↓" : "↑")")
        // The filter line: the prompt while typing, else the filter in force.
        if let p = prompt {
            s.put("/", x: 0, y: 1, style: Style(fg: .cyan, bold: true))
            s.put(TextWrap.cut(p, s.width - 2) , x: 1, y: 1)
            s.put("▏", x: min(s.width - 1, 1 + TextWrap.cells(p)), y: 1, style: Style(fg: .cyan))
        } else {
            let f = query.filter.text
            s.put(f.isEmpty ? "no filter · / to filter (model=gpt-4o status=error session=… duration>2s, or words)" : "filter: " + f,
                  x: 1, y: 1, style: Style(dim: f.isEmpty), maxWidth: s.width - 2)
        }
        if let m = message { s.put(TextWrap.cut(m, s.width - 2), x: 1, y: 1 + (prompt == nil ? 0 : 0) + 1, style: Style(fg: .red)) }
        let top = message == nil ? 2 : 3
        let cols = columns(width: s.width)
        var x = 0
        for c in cols {
            let active = c.sort == query.sort
            s.put(TextWrap.pad(c.title, c.width, right: c.right), x: x, y: top, style: Style(bold: true, underline: active))
            x += c.width + 1
        }
        let page = max(0, s.height - top - 2)
        if loading && rows.isEmpty {
            s.put("…", x: 1, y: top + 1, style: Style(dim: true))
        } else if list.isEmpty {
            s.put(rows.isEmpty ? "no traces in the last \(query.range) match" : "no listed trace has these words",
                  x: 1, y: top + 1, style: Style(dim: true), maxWidth: s.width - 2)
        }
        var view = cursor
        view.keepInView(count: list.count, page: page)
        for (i, row) in list.dropFirst(view.top).prefix(page).enumerated() {
            let y = top + 1 + i
            let isSelected = view.top + i == view.selected
            let base = isSelected ? Style(reverse: true) : Style.plain
            if isSelected { s.fill(x: 0, y: y, width: s.width, height: 1, style: base) }
            var x = 0
            for c in cols {
                var st = base
                if c.title == "err", row.errors > 0 { st.fg = .red; st.bold = true }
                s.put(TextWrap.pad(c.value(row, context), c.width, right: c.right), x: x, y: y, style: st)
                x += c.width + 1
            }
        }
        var hints = prompt != nil ? ["Enter apply", "Esc cancel", "words narrow as you type", "key=value runs the query"]
                                  : ["Enter trace", "/ filter", "s/S sort", "y copy", "e export", "Esc back"]
        if prompt == nil { hints.append("q quit") }
        s.hintBar(hints)
    }

    struct Column {
        var title: String
        var width: Int
        var right: Bool
        var sort: TraceSort?
        var value: (TraceSummary, DrillContext) -> String
    }

    /// The columns that fit: time, duration, id, name, then service, models, tokens, cost, TTFT and
    /// errors as the width allows; the name takes what is left.
    func columns(width: Int) -> [Column] {
        let time = Column(title: "time", width: 8, right: false, sort: .time) { r, c in c.clock(r.startNanos) }
        let dur = Column(title: "duration", width: 8, right: true, sort: .duration) { r, _ in NumberFormat.format(r.durationMs, .milliseconds) }
        let id = Column(title: "trace", width: 8, right: false, sort: nil) { r, _ in String(r.traceID.prefix(8)) }
        let err = Column(title: "err", width: 3, right: true, sort: nil) { r, _ in r.errors > 0 ? String(r.errors) : "" }
        let tokens = Column(title: "tokens", width: 7, right: true, sort: .tokens) { r, _ in r.tokens.map { NumberFormat.format(Double($0), .tokens) } ?? "" }
        let cost = Column(title: "cost", width: 8, right: true, sort: .cost) { r, _ in r.costUSD.map { NumberFormat.format($0, .usd) } ?? "" }
        let ttft = Column(title: "TTFT", width: 7, right: true, sort: .ttft) { r, _ in r.ttftMs.map { NumberFormat.format($0, .milliseconds) } ?? "" }
        // Several models: the first, cut so that "+N" (how many more) always shows.
        let model = Column(title: "model", width: 22, right: false, sort: nil) { r, _ in
            guard r.models.count > 1 else { return r.models.first ?? "" }
            let more = " +\(r.models.count - 1)"
            return TextWrap.cut(r.models[0], 22 - more.count) + more
        }
        let service = Column(title: "service", width: 12, right: false, sort: nil) { r, _ in r.service }
        var cols = [time, dur, id]
        // Optional columns, most wanted first, while the name keeps 16 cells; the model column
        // narrows to fit (12 cells at least).
        var used = cols.reduce(0) { $0 + $1.width + 1 }
        var chosen: [Column] = []
        // The column the list is sorted by comes first.
        let optional = [err, tokens, cost, model, ttft, service]
        for var c in optional.filter({ $0.sort == query.sort }) + optional.filter({ $0.sort != query.sort }) {
            let room = width - used - 17
            if c.title == "model", room >= 13, room < c.width + 1 {
                let w = room - 1
                c.width = w
                c.value = { r, _ in
                    guard r.models.count > 1 else { return r.models.first ?? "" }
                    let more = " +\(r.models.count - 1)"
                    return TextWrap.cut(r.models[0], w - more.count) + more
                }
            }
            guard c.width + 1 <= room else { continue }
            chosen.append(c)
            used += c.width + 1
        }
        cols.append(Column(title: "name", width: max(8, width - used - 1), right: false, sort: nil) { r, _ in r.name })
        // Shown in a fixed order whatever fitted.
        for t in ["model", "service", "tokens", "cost", "TTFT", "err"] { if let c = chosen.first(where: { $0.title == t }) { cols.append(c) } }
        return cols
    }
}
