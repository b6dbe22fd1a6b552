import LLMTraceClient
import LLMTraceModel

/// The drill-down: a stack of views over the dashboard — trace list, waterfall, span, full text —
/// each opened from the one below and left with Esc or Backspace. It asks its owner for what needs
/// the reader (`DrillRequest`) and is handed the answers (`listed`, `opened`).
public struct Drill: Sendable {
    public enum View: Sendable {
        case list(TraceListView)
        case waterfall(WaterfallView)
        case detail(SpanDetailView)
        case text(TextView)
        /// A trace that could not be opened, and why.
        case failed(title: String, reason: String)
    }

    public private(set) var stack: [View]
    /// A flash line over the hint bar: what `y` or `e` did.
    public var notice: String? = nil

    public init(list: TraceListView) { stack = [.list(list)] }

    public init(trace: Result<TraceDocument, DrillError>, id: String) {
        stack = []
        opened(trace, id: id)
    }

    /// Whether keys are text being typed (the filter prompt): `q` is then a letter, not quit.
    public var capturesText: Bool {
        if case .list(let l)? = stack.last { return l.prompt != nil }
        return false
    }

    /// The query the list at the bottom asks, to run on opening and at each refresh.
    public var listQuery: TraceListQuery? {
        for v in stack.reversed() { if case .list(let l) = v { return l.query } }
        return nil
    }

    /// The list's rows (or why its query failed).
    public mutating func listed(_ result: Result<[TraceSummary], DrillError>) {
        for i in stack.indices.reversed() {
            if case .list(var l) = stack[i] {
                l.listed(result)
                stack[i] = .list(l)
                return
            }
        }
    }

    /// The trace asked for with `.trace(id)`: its waterfall, or why it could not be read.
    public mutating func opened(_ result: Result<TraceDocument, DrillError>, id: String) {
        switch result {
        case .success(let d): stack.append(.waterfall(WaterfallView(document: d)))
        case .failure(let e): stack.append(.failed(title: "trace \(id)", reason: e.description))
        }
    }

    /// A key for the view on top. `.back` from the last view means the drill-down is over.
    public mutating func handle(_ key: Key, width: Int, height: Int) -> DrillRequest {
        notice = nil
        guard let top = stack.last else { return .back }
        var request = DrillRequest.none
        switch top {
        case .list(var l):
            request = l.handle(key, height: height)
            stack[stack.count - 1] = .list(l)
        case .waterfall(var w):
            if key == .enter, let span = w.selectedSpan {
                stack.append(.detail(SpanDetailView(span: span, scores: w.document.scores, traceStartNanos: w.t0)))
                return .none
            }
            request = w.handle(key, height: height)
            stack[stack.count - 1] = .waterfall(w)
        case .detail(var d):
            let (r, text) = d.handle(key, height: height)
            stack[stack.count - 1] = .detail(d)
            if let text { stack.append(.text(text)) }
            request = r
        case .text(var t):
            request = t.handle(key, width: width, height: height)
            stack[stack.count - 1] = .text(t)
        case .failed:
            if key == .escape || key == .backspace || key == .left || key == .enter { request = .back }
        }
        if request == .back {
            stack.removeLast()
            return stack.isEmpty ? .back : .none
        }
        return request
    }

    public func draw(on s: inout ScreenBuffer, context: DrillContext) {
        switch stack.last {
        case .list(let l)?: l.draw(on: &s, context: context)
        case .waterfall(let w)?: w.draw(on: &s, context: context)
        case .detail(let d)?: d.draw(on: &s, context: context)
        case .text(let t)?: t.draw(on: &s, context: context)
        case .failed(let title, let reason)?:
            s.clear()
            s.titleBar("LLMTrace · \(title)")
            for (n, l) in TextWrap.lines(reason, width: max(1, s.width - 4)).prefix(max(0, s.height - 4)).enumerated() {
                s.put(l, x: 2, y: 2 + n, style: Style(fg: .red))
            }
            s.hintBar(["Esc back", "q quit"])
        case nil:
            s.clear()
        }
        if let n = notice, s.height > 2 {
            s.fill(x: 0, y: s.height - 2, width: s.width, height: 1, style: Style(reverse: true))
            s.put(TextWrap.cut(" " + n, s.width), x: 0, y: s.height - 2, style: Style(fg: .green, reverse: true))
        }
    }
}
