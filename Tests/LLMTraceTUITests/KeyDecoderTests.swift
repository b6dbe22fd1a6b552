import Testing
@testable import LLMTraceTUI

/// Keys from the bytes terminals send, whole or split across reads.
@Suite struct KeyDecoderTests {
    @Test(arguments: [
        ("\u{1b}[A\u{1b}[B\u{1b}[C\u{1b}[D", [Key.up, .down, .right, .left]),
        ("\u{1b}OA\u{1b}OH\u{1b}[F", [.up, .home, .end]),                    // SS3 arrows (application mode)
        ("\u{1b}[1;5A\u{1b}[5~\u{1b}[6~\u{1b}[3~", [.up, .pageUp, .pageDown, .delete]),   // modifiers ignored
        ("\t\u{1b}[Z\r\u{7f}", [.tab, .backTab, .enter, .backspace]),
        ("jkgG/?q", "jkgG/?q".map { Key.char($0) }),
        ("\u{03}\u{1a}", [.ctrl("c"), .ctrl("z")]),
        ("é日🙂", [.char("é"), .char("日"), .char("🙂")]),
        ("\u{1b}[200~x", [.char("x")]),                                      // an unknown sequence is skipped whole
    ])
    func whole(_ input: String, _ keys: [Key]) {
        var d = KeyDecoder()
        #expect(d.feed(Array(input.utf8)) == keys)
    }

    @Test func splitAnywhere() {
        let bytes = Array("a\u{1b}[1;5Cé\u{1b}[6~b".utf8)
        for cut in 0...bytes.count {
            var d = KeyDecoder()
            let keys = d.feed(bytes[..<cut]) + d.feed(bytes[cut...])
            #expect(keys == [.char("a"), .right, .char("é"), .pageDown, .char("b")], "cut at \(cut)")
        }
    }

    @Test func aLoneEscapeIsEscapeAfterAPause() {
        var d = KeyDecoder()
        #expect(d.feed([0x1b]).isEmpty)
        #expect(d.flush() == [.escape])
        #expect(d.feed([0x1b, 0x1b]) == [.escape])
        #expect(d.flush() == [.escape])
    }
}
