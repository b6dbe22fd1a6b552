/// Turns the terminal's screen from the last frame into the next one, writing only the cells that
/// changed (cursor moves, style changes, characters): a frame where nothing changed is 0 bytes, and
/// a changed spinner is a dozen. The first frame, one after a resize, and one after `invalidate()`
/// (the terminal was resumed or something else wrote to it) clear and draw everything.
///
/// Hot path: runs every refresh over every cell; compares cells in place and appends bytes to one
/// buffer, no per-cell allocation besides the grapheme strings already in the cells.
public struct FrameRenderer: Sendable {
    public var mode: ColorMode
    private var previous: ScreenBuffer?
    /// The style the terminal is in after the last frame's bytes (nil: unknown, send in full).
    private var current: Style?

    public init(mode: ColorMode) {
        self.mode = mode
    }

    /// The next frame is drawn whole.
    public mutating func invalidate() {
        previous = nil
        current = nil
    }

    public mutating func render(_ next: ScreenBuffer) -> [UInt8] {
        var out: [UInt8] = []
        let full = previous.map { $0.width != next.width || $0.height != next.height } ?? true
        if full {
            out.append(contentsOf: Array("\u{1b}[0m\u{1b}[H\u{1b}[2J".utf8))
            current = .plain
        }
        var cursor: (x: Int, y: Int)? = full ? (0, 0) : nil
        let w = next.width
        next.cells.withUnsafeBufferPointer { cells in
            for row in 0..<next.height {
                var col = 0
                while col < w {
                    let i = row * w + col
                    var dirty = full ? !(cells[i].text == " " && cells[i].style == .plain) : cells[i] != previous!.cells[i]
                    // A changed right half is redrawn by its left half; a changed left half redraws both.
                    if !dirty, !full, col + 1 < w, cells[i + 1] != previous!.cells[i + 1], cells[i + 1].isContinuation || previous!.cells[i + 1].isContinuation {
                        dirty = true
                    }
                    if !dirty || cells[i].isContinuation {
                        col += 1
                        continue
                    }
                    if cursor == nil || cursor!.x != col || cursor!.y != row {
                        Self.appendMove(&out, row, col)
                    }
                    let cell = cells[i]
                    if current != cell.style {
                        appendStyle(&out, cell.style)
                        current = cell.style
                    }
                    out.append(contentsOf: cell.text.utf8)
                    let width = col + 1 < w && cells[i + 1].isContinuation ? 2 : 1
                    col += width
                    cursor = (col, row)
                }
            }
        }
        previous = next
        return out
    }

    static func appendMove(_ out: inout [UInt8], _ row: Int, _ col: Int) {
        out.append(0x1b); out.append(0x5b)
        appendNumber(&out, row + 1)
        out.append(0x3b)
        appendNumber(&out, col + 1)
        out.append(0x48)
    }

    static func appendNumber(_ out: inout [UInt8], _ n: Int) {
        if n >= 10 { appendNumber(&out, n / 10) }
        out.append(UInt8(0x30 + n % 10))
    }

    /// SGR from a reset: attributes, then the colours the terminal can show.
    func appendStyle(_ out: inout [UInt8], _ s: Style) {
        out.append(0x1b); out.append(0x5b); out.append(0x30)
        if s.bold { out += [0x3b, 0x31] }
        if s.dim { out += [0x3b, 0x32] }
        if s.italic { out += [0x3b, 0x33] }
        if s.underline { out += [0x3b, 0x34] }
        if s.reverse { out += [0x3b, 0x37] }
        Self.appendColor(&out, s.fg.reduced(to: mode), background: false)
        Self.appendColor(&out, s.bg.reduced(to: mode), background: true)
        out.append(0x6d)
    }

    static func appendColor(_ out: inout [UInt8], _ c: Color?, background: Bool) {
        guard let c else { return }
        out.append(0x3b)
        switch c {
        case .default: return
        case .ansi(let i):
            appendNumber(&out, Int(i < 8 ? (background ? 40 : 30) + Int(i) : (background ? 100 : 90) + Int(i & 7)))
        case .indexed(let i):
            appendNumber(&out, background ? 48 : 38); out += [0x3b, 0x35, 0x3b]; appendNumber(&out, Int(i))
        case .rgb(let r, let g, let b):
            appendNumber(&out, background ? 48 : 38); out += [0x3b, 0x32, 0x3b]
            appendNumber(&out, Int(r)); out.append(0x3b); appendNumber(&out, Int(g)); out.append(0x3b); appendNumber(&out, Int(b))
        }
    }
}
