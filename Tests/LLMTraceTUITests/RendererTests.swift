import Testing
@testable import LLMTraceTUI

/// The frame renderer writes what changed and nothing else; the screen buffer keeps terminal
/// control out of what spans carry; colours come down to what the terminal shows.
@Suite struct RendererTests {
    static func string(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    @Test func anUnchangedFrameIsZeroBytes() {
        var r = FrameRenderer(mode: .truecolor)
        var s = ScreenBuffer(width: 80, height: 24)
        s.put("LLMTrace — overview", x: 0, y: 0, style: Style(fg: .cyan, bold: true))
        s.put("spans/s 5,012", x: 2, y: 2)
        let first = r.render(s)
        #expect(Self.string(first).hasPrefix("\u{1b}[0m\u{1b}[H\u{1b}[2J"))
        #expect(r.render(s).isEmpty)
        #expect(r.render(s).isEmpty)
    }

    @Test func onlyChangedCellsAreWritten() {
        var r = FrameRenderer(mode: .truecolor)
        var s = ScreenBuffer(width: 20, height: 5)
        s.put("spans/s 5012", x: 0, y: 2)
        _ = r.render(s)
        s.put("5013", x: 8, y: 2)
        // One cell changed: a move to row 3, column 12, and the digit; the style is the same.
        #expect(Self.string(r.render(s)) == "\u{1b}[3;12H3")
        s.put("6120", x: 8, y: 2)
        // Three neighbours changed: one move, then the characters in a run.
        #expect(Self.string(r.render(s)) == "\u{1b}[3;9H6120")
        s.put("x", x: 0, y: 0, style: Style(fg: .red, bold: true))
        s.put("y", x: 19, y: 4)
        #expect(Self.string(r.render(s)) == "\u{1b}[1;1H\u{1b}[0;1;31mx\u{1b}[5;20H\u{1b}[0my")
    }

    @Test func aResizeOrInvalidateRedrawsEverything() {
        var r = FrameRenderer(mode: .ansi16)
        var a = ScreenBuffer(width: 10, height: 2)
        a.put("hello", x: 0, y: 0)
        _ = r.render(a)
        var b = ScreenBuffer(width: 12, height: 2)
        b.put("hello", x: 0, y: 0)
        #expect(Self.string(r.render(b)) == "\u{1b}[0m\u{1b}[H\u{1b}[2Jhello")
        r.invalidate()
        #expect(Self.string(r.render(b)) == "\u{1b}[0m\u{1b}[H\u{1b}[2Jhello")
        #expect(r.render(b).isEmpty)
    }

    @Test func wideCharactersTakeTwoCellsAndClipWhole() {
        var s = ScreenBuffer(width: 5, height: 1)
        #expect(s.put("日本語", x: 0, y: 0) == 4)   // the third does not fit in the last cell
        #expect(s.text == "日本")
        #expect(s[1, 0].isContinuation && s[4, 0] == .blank)
        var r = FrameRenderer(mode: .none)
        _ = r.render(s)
        s.put("ab", x: 2, y: 0)   // overwrites 本 with two narrow characters
        #expect(Self.string(r.render(s)) == "\u{1b}[1;3Hab")
        #expect(s.text == "日ab")
    }

    /// What a prompt may carry — escape sequences, bells, carriage returns, bidi overrides — is
    /// drawn as visible symbols; the only escapes in the output are the renderer's own.
    @Test func controlCharactersNeverReachTheTerminal() {
        var s = ScreenBuffer(width: 60, height: 1)
        s.put("ok\u{1b}]0;pwned\u{07}\u{1b}[2J\r\n\u{9b}1m\u{202e}txt", x: 0, y: 0)
        #expect(!s.text.unicodeScalars.contains { $0.value < 0x20 || (0x7f..<0xa0).contains($0.value) || $0.value == 0x202e })
        #expect(s.text == "ok␛]0;pwned␇␛[2J␍␊·1m·txt")
        var r = FrameRenderer(mode: .truecolor)
        let out = r.render(s)
        #expect(out.filter { $0 == 0x1b }.count == 3)   // reset, home, clear: nothing else
        // Joiners stay: an emoji family is one wide grapheme.
        var e = ScreenBuffer(width: 6, height: 1)
        #expect(e.put("👨\u{200d}👩\u{200d}👧!", x: 0, y: 0) == 3 && e.text == "👨\u{200d}👩\u{200d}👧!")
    }

    @Test func coloursComeDownToWhatTheTerminalShows() {
        #expect(Color.rgb(255, 0, 0).reduced(to: .truecolor) == .rgb(255, 0, 0))
        #expect(Color.rgb(255, 0, 0).reduced(to: .indexed256) == .indexed(196))
        #expect(Color.rgb(255, 0, 0).reduced(to: .ansi16) == .ansi(9))
        #expect(Color.rgb(128, 128, 128).reduced(to: .indexed256) == .indexed(244))
        #expect(Color.indexed(21).reduced(to: .ansi16) == .ansi(4))   // (0, 0, 255): xterm blue is (0, 0, 238)
        #expect(Color.cyan.reduced(to: .none) == nil && Color.default.reduced(to: .truecolor) == nil)
        var r = FrameRenderer(mode: .indexed256)
        var s = ScreenBuffer(width: 3, height: 1)
        s.put("x", x: 0, y: 0, style: Style(fg: .rgb(255, 135, 0), bg: .gray))
        #expect(Self.string(r.render(s)).hasSuffix("\u{1b}[0;38;5;208;100mx"))
    }

    @Test func colourModeFromTheEnvironment() {
        #expect(ColorMode.detect(["TERM": "xterm-256color", "NO_COLOR": ""], isTerminal: true) == .none)
        #expect(ColorMode.detect(["TERM": "xterm-256color"], isTerminal: false) == .none)
        #expect(ColorMode.detect(["TERM": "dumb"], isTerminal: true) == .none)
        #expect(ColorMode.detect(["TERM": "xterm-256color", "COLORTERM": "truecolor"], isTerminal: true) == .truecolor)
        #expect(ColorMode.detect(["TERM": "tmux-256color"], isTerminal: true) == .indexed256)
        #expect(ColorMode.detect(["TERM": "xterm"], isTerminal: true) == .ansi16)
    }
}

/// Charts as golden rows: braille, blocks and ASCII for the same values.
@Suite struct ChartTests {
    @Test func brailleBlocksAndASCII() {
        let values: [Double?] = [0, 1, 2, 3, 4, 5, 6, 7, 8]
        #expect(Chart.area(values, width: 4, height: 1, glyphs: .braille, high: 8) == ["⢀⣠⣴⣾"])
        #expect(Chart.area(values, width: 4, height: 2, glyphs: .braille, high: 8) == ["\u{2800}\u{2800}⢀⣼", "⢀⣴⣿⣿"])
        #expect(Chart.area(values, width: 9, height: 1, glyphs: .blocks, high: 8) == [" ▁▂▃▄▅▆▇█"])
        #expect(Chart.area(values, width: 9, height: 1, glyphs: .ascii, high: 8) == [" ...++++#"])
        // A line: one dot per column at its value, joined to the previous column's.
        #expect(Chart.line([0, 8], width: 1, height: 1, low: 0, high: 8) == ["⣸"])
        #expect(Chart.line([0, 0, 8, 8], width: 2, height: 2, low: 0, high: 8) == ["\u{2800}⡏", "⣀⡇"])
    }

    @Test func gapsFewValuesAndResampling() {
        // Fewer values than columns: each spans its share of the width (the values are the whole
        // range); nil is a gap.
        #expect(Chart.sparkline([8, nil, 8], width: 5) == "██  █")
        // More values than columns: each column is the mean of its values.
        #expect(Chart.sparkline([0, 8, 8, 8], width: 2, glyphs: .blocks) == "▄█")
        // A flat zero series draws nothing; negative values lower the floor.
        #expect(Chart.sparkline([0, 0, 0], width: 3) == "   ")
        #expect(Chart.sparkline([-4, 0, 4], width: 3) == " ▄█")
        #expect(Chart.area([], width: 3, height: 2) == ["\u{2800}\u{2800}\u{2800}", "\u{2800}\u{2800}\u{2800}"])
    }
}
