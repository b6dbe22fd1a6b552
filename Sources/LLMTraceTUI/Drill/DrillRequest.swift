import LLMTraceClient
/// What a drill-down view asks of whoever holds the reader, after a key.
public enum DrillRequest: Sendable, Equatable {
    /// Only the screen changed.
    case none
    /// The view was left (Esc, Backspace): back to what opened it.
    case back
    /// The trace list's query changed (filter, sort, range): run it and hand the rows to `listed`.
    case list(TraceListQuery)
    /// Open this trace: fetch it and hand it to `opened`.
    case trace(String)
    /// Copy the trace as JSON to the terminal's clipboard (OSC 52).
    case copy(String)
    /// Write the trace as JSON to a file.
    case export(String)
}

/// Why a drill-down step failed, in words for the screen: a filter that does not read, a query or
/// a trace that could not be read.
public struct DrillError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// What the drill-down views draw with besides their own state: the glyphs and how a time of day
/// is written (injected, so that golden screens do not depend on the time zone).
public struct DrillContext: Sendable {
    public var glyphs: Chart.Glyphs
    public var clock: @Sendable (Int64) -> String

    public init(glyphs: Chart.Glyphs = .braille, clock: @escaping @Sendable (Int64) -> String) {
        self.glyphs = glyphs
        self.clock = clock
    }
}

extension ScreenBuffer {
    /// The reverse-video title line at the top.
    mutating func titleBar(_ left: String, right: String = "") {
        fill(x: 0, y: 0, width: width, height: 1, style: Style(reverse: true))
        let r = right.isEmpty ? "" : right + " "
        let room = TextWrap.cells(r) + 1 < width - TextWrap.cells(left) ? r : ""
        put(TextWrap.cut(" " + left, width - TextWrap.cells(room)), x: 0, y: 0, style: Style(bold: true, reverse: true))
        if !room.isEmpty { put(room, x: width - TextWrap.cells(room), y: 0, style: Style(reverse: true)) }
    }

    /// The dim key-hint line at the bottom.
    mutating func hintBar(_ hints: [String]) {
        put(TextWrap.cut(" " + hints.joined(separator: " · "), width), x: 0, y: height - 1, style: Style(dim: true))
    }
}

/// A list cursor: the selected row and the first row shown, kept in view.
struct ListCursor: Sendable, Equatable {
    var selected = 0
    var top = 0

    /// Moves for a navigation key over `count` rows shown `page` at a time; false for other keys.
    mutating func move(_ key: Key, count: Int, page: Int) -> Bool {
        let last = max(0, count - 1)
        switch key {
        case .char("j"), .down: selected = min(last, selected + 1)
        case .char("k"), .up: selected = max(0, selected - 1)
        case .pageDown, .char(" "), .ctrl("f"): selected = min(last, selected + max(1, page))
        case .pageUp, .ctrl("b"): selected = max(0, selected - max(1, page))
        case .char("g"), .home: selected = 0
        case .char("G"), .end: selected = last
        default: return false
        }
        return true
    }

    /// `top` moved so that the selection is among the `page` rows shown.
    mutating func keepInView(count: Int, page: Int) {
        selected = max(0, min(selected, count - 1))
        if selected < top { top = selected }
        if selected >= top + page { top = selected - page + 1 }
        top = max(0, min(top, max(0, count - page)))
    }
}
