import Testing
@testable import LLMTraceModel

@Suite struct JSONReaderTests {
    func read<T>(_ s: String, _ body: (inout JSONReader) throws(JSONError) -> T) throws -> T {
        let bytes = Array(s.utf8)
        return try bytes.withUnsafeBufferPointer { p in
            var r = JSONReader(p)
            return try body(&r)
        }
    }

    @Test(arguments: [
        (#""plain""#, "plain"),
        (#""q\"b\\s\/n\nt\tr\r""#, "q\"b\\s/n\nt\tr\r"),
        (#""\u00e9\u4e2d""#, "é中"),
        (#""\ud83d\ude00""#, "😀"),
        (#""lone \ud83d x""#, "lone \u{FFFD} x"),
        (#""""#, ""),
        ("\"caf\u{e9}\"", "café"),
    ])
    func strings(input: String, expected: String) throws {
        #expect(try read(input) { (r: inout JSONReader) throws(JSONError) in try r.readString() } == expected)
    }

    @Test(arguments: [
        ("0", JSONNumber.int(0)), ("-12", .int(-12)), ("9223372036854775807", .int(Int64.max)),
        ("-9223372036854775808", .int(Int64.min)), ("1.5", .double(1.5)), ("-0.25e2", .double(-25)),
        ("1e-7", .double(1e-7)), ("9223372036854775808", .double(9223372036854775808.0)),
        ("0.1", .double(0.1)), ("123456789.123456789", .double(123456789.123456789)),
        ("2.2250738585072014e-308", .double(2.2250738585072014e-308)),
    ])
    func numbers(input: String, expected: JSONNumber) throws {
        #expect(try read(input) { (r: inout JSONReader) throws(JSONError) in try r.readNumber() } == expected)
    }

    @Test(arguments: [
        ("\"abc", "unterminated string"), ("01", "leading zero"), ("1.", "digits after decimal"),
        ("1e", "digits in exponent"), ("\"a\\x\"", "invalid escape"), ("\"a\u{01}\"", "control character"),
        ("-", "expected a number"),
    ])
    func errorsNameTheProblem(input: String, fragment: String) {
        do {
            _ = try read(input) { (r: inout JSONReader) throws(JSONError) -> JSONNumber in
                if input.hasPrefix("\"") { _ = try r.readString(); return .int(0) }
                return try r.readNumber()
            }
            Issue.record("expected an error for \(input)")
        } catch {
            #expect("\(error)".contains(fragment), "\(error)")
        }
    }

    @Test func skipsNestedValuesAndBoundsDepth() throws {
        let ok = #"{"a":[1,{"b":null,"c":[true,false,"x"]}],"d":-1.5e3}"#
        try read(ok) { (r: inout JSONReader) throws(JSONError) in
            try r.skipValue()
            try r.expectEnd()
        }
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONError.self) {
            try read(deep) { (r: inout JSONReader) throws(JSONError) in try r.skipValue() }
        }
    }

    @Test func objectIterationWithKeys() throws {
        let keys = try read(#" { "x" : 1 , "y\u0041" : "s" } "#) { (r: inout JSONReader) throws(JSONError) -> [String] in
            try r.beginObject()
            var first = true
            var out: [String] = []
            while let k = try r.nextKey(first: &first) {
                out.append(k.string)
                try r.skipValue()
            }
            return out
        }
        #expect(keys == ["x", "yA"])
    }

    @Test func writerEscapesAndReaderReadsBack() throws {
        let nasty = "quote\" backslash\\ newline\n tab\t ctrl\u{01} unicode é 😀"
        var w = JSONWriter()
        w.beginObject()
        w.key("s"); w.string(nasty)
        w.key("i"); w.int(Int64.min)
        w.key("d"); w.double(0.1)
        w.key("a"); w.beginArray(); w.bool(true); w.null(); w.endArray()
        w.endObject()
        #expect(w.string == #"{"s":"quote\" backslash\\ newline\n tab\t ctrl\u0001 unicode é 😀","i":-9223372036854775808,"d":0.1,"a":[true,null]}"#)
        let back = try read(w.string) { (r: inout JSONReader) throws(JSONError) -> String in
            try r.beginObject()
            var first = true
            _ = try r.nextKey(first: &first)
            return try r.readString()
        }
        #expect(back == nasty)
    }

    /// The writer's eight-bytes-at-a-time scan against a plain scalar-by-scalar escaper, on
    /// random strings with every byte that needs a look at every offset of an 8-byte word.
    @Test func escapingMatchesAScalarReference() throws {
        func reference(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u.value {
                case 0x22: out += "\\\""
                case 0x5C: out += "\\\\"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                case 0..<0x20, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069:
                    out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        let pieces: [String] = ["a", "b", "z", " ", "0", "~", "\"", "\\", "\n", "\r", "\t", "\u{01}", "\u{1F}", "\u{7F}", "\u{80}", "\u{9F}",
                                "\u{A0}", "é", "\u{202A}", "\u{202E}", "\u{202F}", "\u{2066}", "\u{2069}", "\u{2029}", "€", "😀", "字"]
        var rng = SystemRandomNumberGenerator()
        for round in 0..<3_000 {
            var s = String(repeating: "x", count: round % 9)  // shifts where the special bytes fall in a word
            for _ in 0..<Int.random(in: 0...40, using: &rng) {
                s += Bool.random(using: &rng) ? String(repeating: "plain", count: Int.random(in: 0...4, using: &rng)) : pieces.randomElement(using: &rng)!
            }
            var w = JSONWriter()
            w.string(s)
            #expect(w.string == reference(s), "\(Array(s.utf8))")
            let back = try read(w.string) { (r: inout JSONReader) throws(JSONError) -> String in try r.readString() }
            #expect(back == s)
        }
    }

    /// A document written nested (escaped in one pass, as ClickHouse's `span` column is) reads
    /// back as a string holding exactly the document written on its own.
    @Test func nestedDocumentIsTheDocumentAsAString() throws {
        func document(_ w: inout JSONWriter, _ text: String) {
            w.beginObject()
            w.key("s"); w.string(text)
            w.key(ascii: "n"); w.int(-42)
            w.key("a"); w.beginArray(); w.double(0.5); w.null(); w.bool(false); w.string(text); w.endArray()
            w.key("raw"); w.raw(Array(#"{"q":"a\"b"}"#.utf8))
            w.key("o"); w.beginObject(); w.endObject()
            w.endObject()
        }
        for text in ["plain", "quote\" back\\ nl\n tab\t \u{01} \u{7F} \u{85} \u{202E} é 😀", "", "\"\"\\\\"] {
            var alone = JSONWriter()
            document(&alone, text)
            var outer = JSONWriter()
            outer.beginObject()
            outer.key("before"); outer.int(1)
            outer.key("doc"); outer.beginNestedDocument(); document(&outer, text); outer.endNestedDocument()
            outer.key("after"); outer.beginArray(); outer.int(2); outer.endArray()
            outer.endObject()
            let parsed = try JSONValue.parse(outer.bytes)
            #expect(parsed["doc"]?.string == alone.string)
            #expect(parsed["before"]?.int == 1 && parsed["after"]?.array?.count == 1)
        }
    }
}
