import LLMTraceModel

/// One trace as a waterfall: its spans as a tree (children by start time) on the left, each one's
/// time as a bar on a shared axis on the right; the critical path — the chain of spans the trace's
/// end waited on — marked in the gutter and drawn in yellow. ←/→ fold and unfold a span's children,
/// Enter opens the span, `y` copies and `e` exports the trace.
public struct WaterfallView: Sendable {
    public let document: TraceDocument
    /// Spans whose children are hidden.
    public private(set) var folded: Set<SpanID> = []
    /// The spans on the critical path.
    public let critical: Set<SpanID>
    var cursor = ListCursor()
    let children: [SpanID: [Int]]
    let roots: [Int]
    let t0: Int64, t1: Int64

    public init(document: TraceDocument) {
        self.document = document
        let spans = document.spans
        let ids = Set(spans.map(\.spanID))
        var children: [SpanID: [Int]] = [:], roots: [Int] = []
        for (i, s) in spans.enumerated() {
            // A span whose parent is not in the trace (not received, or a cycle's victim) is a root.
            if s.parentSpanID.isZero || !ids.contains(s.parentSpanID) || s.parentSpanID == s.spanID { roots.append(i) }
            else { children[s.parentSpanID, default: []].append(i) }
        }
        let byStart: (Int, Int) -> Bool = { (spans[$0].startNanos, $0) < (spans[$1].startNanos, $1) }
        for k in children.keys { children[k]!.sort(by: byStart) }
        roots.sort(by: byStart)
        self.children = children
        self.roots = roots
        t0 = spans.map(\.startNanos).min() ?? 0
        t1 = max(t0 + 1, spans.map(\.endNanos).max() ?? 0)
        critical = Self.criticalPath(spans, children: children, roots: roots)
    }

    /// From the root that ends last: the span, then backwards from its end the child that ended
    /// last before the point reached, its own critical path, and on from that child's start.
    static func criticalPath(_ spans: [Span], children: [SpanID: [Int]], roots: [Int]) -> Set<SpanID> {
        var out: Set<SpanID> = []
        func walk(_ i: Int, depth: Int) {
            let s = spans[i]
            guard depth < 256, out.insert(s.spanID).inserted else { return }
            var until = s.endNanos
            let kids = (children[s.spanID] ?? []).sorted { spans[$0].endNanos > spans[$1].endNanos }
            for k in kids where spans[k].endNanos <= until && spans[k].endNanos > s.startNanos {
                walk(k, depth: depth + 1)
                until = spans[k].startNanos
            }
        }
        if let last = roots.max(by: { spans[$0].endNanos < spans[$1].endNanos }) { walk(last, depth: 0) }
        return out
    }

    /// A visible row: the span's index, its tree prefix, whether it has children.
    struct Row {
        var index: Int
        var prefix: String
        var hasChildren: Bool
    }

    func rows(ascii: Bool) -> [Row] {
        var out: [Row] = []
        var seen: Set<SpanID> = []
        let (tee, elbow, pipe) = ascii ? ("|-", "`-", "| ") : ("├─", "└─", "│ ")
        func walk(_ i: Int, _ lead: String, _ last: Bool, _ top: Bool) {
            let s = document.spans[i]
            guard seen.insert(s.spanID).inserted else { return }
            let kids = children[s.spanID] ?? []
            out.append(Row(index: i, prefix: top ? "" : lead + (last ? elbow : tee), hasChildren: !kids.isEmpty))
            guard !folded.contains(s.spanID) else { return }
            let next = top ? "" : lead + (last ? "  " : pipe)
            for (n, k) in kids.enumerated() { walk(k, next, n == kids.count - 1, false) }
        }
        for r in roots { walk(r, "", true, true) }
        return out
    }

    public var selectedSpan: Span? {
        let r = rows(ascii: false)
        return r.indices.contains(cursor.selected) ? document.spans[r[cursor.selected].index] : nil
    }

    public mutating func handle(_ key: Key, height: Int) -> DrillRequest {
        let r = rows(ascii: false)
        let page = max(1, height - 4)
        if cursor.move(key, count: r.count, page: page) {
            cursor.keepInView(count: r.count, page: page)
            return .none
        }
        guard r.indices.contains(cursor.selected) else { return key == .escape || key == .backspace ? .back : .none }
        let row = r[cursor.selected], id = document.spans[row.index].spanID
        switch key {
        case .escape, .backspace:
            return .back
        case .left, .char("h"):
            // Fold; on a folded span or a leaf, go to the parent.
            if row.hasChildren && !folded.contains(id) { folded.insert(id) }
            else if let p = r.firstIndex(where: { document.spans[$0.index].spanID == document.spans[row.index].parentSpanID }) { cursor.selected = p }
        case .right, .char("l"):
            folded.remove(id)
        case .char("z"):
            if folded.contains(id) { folded.remove(id) } else if row.hasChildren { folded.insert(id) }
        case .char("Z"):
            // Everything folded below the roots, or everything open.
            folded = folded.isEmpty ? Set(document.spans.filter { children[$0.spanID] != nil && !$0.parentSpanID.isZero }.map(\.spanID)) : []
            cursor = ListCursor()
        case .char("y"):
            return .copy(document.traceID.hex)
        case .char("e"):
            return .export(document.traceID.hex)
        default:
            return .none
        }
        let now = rows(ascii: false)
        cursor.keepInView(count: now.count, page: page)
        return .none
    }

    public func draw(on s: inout ScreenBuffer, context: DrillContext) {
        s.clear()
        let spans = document.spans
        let ascii = context.glyphs == .ascii
        let root = roots.first.map { spans[$0] }
        let tokens = spans.reduce(Int64(0)) { $0 + ($1.inputTokens ?? 0) + ($1.outputTokens ?? 0) }
        let cost = spans.reduce(0.0) { $0 + ($1.costUSD ?? 0) }
        let errors = spans.filter { $0.status == .error }.count
        var facts = ["\(spans.count) spans", NumberFormat.format(Double(t1 - t0) / 1e6, .milliseconds)]
        if tokens > 0 { facts.append(NumberFormat.format(Double(tokens), .count) + " tokens") }
        if cost > 0 { facts.append(NumberFormat.format(cost, .usd)) }
        if errors > 0 { facts.append("\(errors) error\(errors == 1 ? "" : "s")") }
        if let session = root?.sessionID { facts.append("session \(session)") }
        if let user = root?.userID { facts.append("user \(user)") }
        s.titleBar("LLMTrace · trace \(document.traceID.hex) · \(root?.name ?? "")")
        s.put(TextWrap.cut(facts.joined(separator: " · "), s.width - 2), x: 1, y: 1, style: Style(dim: true))

        // Columns: gutter (critical path), tree and name, duration, bar.
        let leftWidth = min(70, max(24, s.width * 2 / 5))
        let durWidth = 8
        let barX = 1 + leftWidth + 1 + durWidth + 1
        let barWidth = max(1, s.width - barX - 1)
        // The time axis: offsets at the quarters.
        s.put(TextWrap.pad("span", leftWidth), x: 1, y: 2, style: Style(bold: true))
        s.put(TextWrap.pad("duration", durWidth, right: true), x: 1 + leftWidth + 1, y: 2, style: Style(bold: true))
        let total = Double(t1 - t0)
        for q in 0...4 {
            let label = q == 0 ? "0" : NumberFormat.format(total * Double(q) / 4 / 1e6, .milliseconds)
            let at = barX + (barWidth - 1) * q / 4 - (q == 4 ? TextWrap.cells(label) - 1 : q == 0 ? 0 : TextWrap.cells(label) / 2)
            s.put(label, x: max(barX, at), y: 2, style: Style(dim: true))
        }
        let r = rows(ascii: ascii)
        let page = max(0, s.height - 4)
        var view = cursor
        view.keepInView(count: r.count, page: page)
        for (n, row) in r.dropFirst(view.top).prefix(page).enumerated() {
            let sp = spans[row.index], y = 3 + n
            let isSelected = view.top + n == view.selected
            let base = isSelected ? Style(reverse: true) : Style.plain
            if isSelected { s.fill(x: 0, y: y, width: s.width, height: 1, style: base) }
            let onPath = critical.contains(sp.spanID)
            if onPath { s.put(ascii ? "*" : "▌", x: 0, y: y, style: Style(fg: .yellow, bold: true, reverse: isSelected)) }
            let fold = row.hasChildren ? (folded.contains(sp.spanID) ? (ascii ? "+ " : "▸ ") : (ascii ? "- " : "▾ ")) : "  "
            var name = row.prefix + fold + sp.name
            if folded.contains(sp.spanID) { name += " (+\(descendants(sp.spanID)))" }
            var st = base
            if sp.status == .error { st.fg = .red }
            var used = s.put(TextWrap.cut(name, leftWidth), x: 1, y: y, style: st)
            if let model = sp.responseModel ?? sp.requestModel, !sp.name.contains(model), used + 3 < leftWidth {
                var dim = base
                dim.dim = true
                used += s.put(TextWrap.cut(" · " + model, leftWidth - used), x: 1 + used, y: y, style: dim)
            }
            s.put(TextWrap.pad(NumberFormat.format(Double(sp.durationNanos) / 1e6, .milliseconds), durWidth, right: true), x: 1 + leftWidth + 1, y: y, style: base)
            let a = Int(Double(sp.startNanos - t0) / total * Double(barWidth))
            let b = max(a + 1, Int((Double(sp.endNanos - t0) / total * Double(barWidth)).rounded(.up)))
            var bar = Style(fg: sp.status == .error ? .red : onPath ? .yellow : sp.kind == .llm ? .magenta : .cyan, reverse: isSelected)
            bar.bold = onPath
            s.put(String(repeating: ascii ? "=" : "█", count: max(1, min(b, barWidth) - min(a, barWidth - 1))), x: barX + min(a, barWidth - 1), y: y, style: bar)
        }
        let tail = r.isEmpty ? "" : " · \(view.selected + 1)/\(r.count)"
        s.hintBar(["Enter span", "←/→ fold", "Z all", "\(ascii ? "*" : "▌") critical path", "y copy", "e export", "Esc back" + tail])
    }

    func descendants(_ id: SpanID) -> Int {
        var n = 0, stack = children[id] ?? [], seen: Set<Int> = []
        while let i = stack.popLast() {
            guard seen.insert(i).inserted else { continue }
            n += 1
            stack += children[document.spans[i].spanID] ?? []
        }
        return n
    }
}
