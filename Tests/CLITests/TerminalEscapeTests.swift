import Foundation
import Testing
import LLMTraceCLI
import LLMTraceModel

/// Span text reaches terminals: whatever a span says, no tracectl output carries a control that a
/// terminal would act on (cursor moves, window titles, OSC 52 clipboard writes, carriage-return
/// overwrites, bidi reordering); each is shown as a visible escape instead.
@Suite struct TerminalEscapeTests {
    static let hostile = "a\u{1B}]0;pwned\u{07}b\u{1B}]52;c;ZXZpbA==\u{07}\u{1B}[2Jc\rd\u{9B}31me\u{7F}f\u{202E}g"

    @Test func visibleEscapesEveryControl() {
        let v = Terminal.visible(Self.hostile)
        #expect(v == #"a\x1b]0;pwned\x07b\x1b]52;c;ZXZpbA==\x07\x1b[2Jc\x0dd\u{9b}31me\x7ff\u{202e}g"#)
        #expect(Terminal.visible("line 1\nline 2\ttab", keepNewlines: true) == "line 1\nline 2\ttab")
        #expect(Terminal.visible("line 1\nline 2") == #"line 1\x0aline 2"#)
        #expect(Terminal.visible("plain ünïcode 日本 🙂") == "plain ünïcode 日本 🙂")
    }

    /// JSON output escapes DEL, C1 and bidi controls too, and still decodes to the same string.
    @Test func jsonEscapesTerminalControlsAndRoundTrips() throws {
        var w = JSONWriter()
        w.string(Self.hostile + " — …")
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) || $0.value == 0x202E })
        #expect(text.contains(#"\u001b"#) && text.contains(#"\u009b"#) && text.contains(#"\u202e"#) && text.contains("— …"))
        #expect(try JSONValue.parse(w.bytes).string == Self.hostile + " — …")
    }

    func spans() -> [Span] {
        (1...3).map { i in
            var s = Span(traceID: TraceID(hi: 0xabc, lo: 1), spanID: SpanID(UInt64(i)), parentSpanID: SpanID(i == 1 ? 0 : 1),
                         service: "svc" + Self.hostile, name: "op" + Self.hostile, kind: .llm,
                         startNanos: 1_767_225_600_000_000_000 + Int64(i), endNanos: 1_767_225_601_000_000_000, status: .error)
            s.statusMessage = "boom" + Self.hostile
            s.requestModel = "gpt-4o" + Self.hostile
            s.inputMessages = [Message(role: "user" + Self.hostile, content: "prompt\n" + Self.hostile)]
            s.documents = [RetrievedDocument(id: "doc" + Self.hostile, content: Self.hostile, score: 0.5)]
            return s
        }
    }

    /// A control a terminal would act on (CSV's own CRLF line ends aside).
    static func unsafe(_ out: String) -> Bool {
        out.replacingOccurrences(of: "\r\n", with: "\n").unicodeScalars.contains { ($0.value < 0x20 && $0.value != 0x0A && $0.value != 0x09) || $0.value == 0x7F || (0x80...0x9F).contains($0.value) || (0x202A...0x202E).contains($0.value) }
    }

    @Test func everyOutputOfTracectlIsSafe() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = spans().map { String(decoding: $0.jsonBytes(), as: UTF8.self) }.joined(separator: "\n")
        #expect(try run("tracectl", ["import", "-", "--data", dir], stdin: lines).status == 0)
        let trace = TraceID(hi: 0xabc, lo: 1).hex
        let outputs: [[String]] = [
            ["trace", trace], ["trace", trace, "--full"], ["trace", trace, "--json"],
            ["query", "SELECT name, service, status_message, model FROM spans"],
            ["query", "SELECT name, service, status_message, model FROM spans", "--csv"],
            ["query", "SELECT name, service, status_message, model FROM spans", "--json"],
            ["query", "SELECT name AS \"x\u{1B}[31m\" FROM spans"],
            ["stats"], ["search", "--status", "error"],
        ]
        for args in outputs {
            let r = try run("tracectl", args + ["--data", dir], env: ["NO_COLOR": "1"])
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(!Self.unsafe(r.stdout), "tracectl \(args.joined(separator: " ")) printed a control: \(r.stdout.debugDescription.prefix(400))")
            #expect(!Self.unsafe(r.stderr), "tracectl \(args.joined(separator: " ")) stderr: \(r.stderr.debugDescription.prefix(400))")
        }
        let shown = try run("tracectl", ["trace", trace, "--full", "--data", dir], env: ["NO_COLOR": "1"]).stdout
        #expect(shown.contains(#"op a\x1b]0;pwned\x07b"#) || shown.contains(#"opa\x1b]0;pwned\x07b"#), "\(shown.prefix(600))")
        // A rejected line quoting hostile text is reported safely too.
        let bad = try run("tracectl", ["import", "-", "--data", dir + "/x"], stdin: "{\"trace_id\": \"\u{1B}]0;x\u{07}\"}\n")
        #expect(!Self.unsafe(bad.stderr), "\(bad.stderr.debugDescription)")
    }
}
