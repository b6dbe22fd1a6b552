import Foundation
import Testing
@testable import LLMTraceHTTP

/// HPACK (RFC 7541) for HTTP/2: header blocks a peer implementation encoded (the Python `hpack`
/// package: `Tests/Fixtures/hpack/make_vectors.py`, the RFC's own examples among them) decode to
/// what it encoded, dynamic table and evictions included; the encoder's blocks decode back; and
/// each malformed block is refused with its reason.
@Suite struct HPACKTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = [], chars = Array(s.utf8), i = 0
        while i + 1 < chars.count {
            out.append(UInt8(String(decoding: chars[i...i + 1], as: UTF8.self), radix: 16)!)
            i += 2
        }
        return out
    }

    @Test func blocksAPeerEncodedDecode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/Fixtures/hpack/vectors.json"))) as! [String: Any]
        let cases = doc["cases"] as! [[String: Any]]
        #expect(cases.count == 6)
        var blocks = 0
        for c in cases {
            var decoder = HPACKDecoder()
            for b in c["blocks"] as! [[String: Any]] {
                let want = (b["headers"] as! [[Any]]).map { HPACKHeader(Self.hex($0[0] as! String), Self.hex($0[1] as! String), neverIndexed: $0[2] as! Bool) }
                let got = try decoder.decode(Self.hex(b["hex"] as! String)[...])
                #expect(got == want, "\(c["name"]!)")
                blocks += 1
            }
            if (c["name"] as! String).contains("C.5") {
                // RFC 7541 C.5.3: after the third response the table holds three entries, 215 octets.
                #expect(decoder.table.count == 3 && decoder.table.size == 215)
                #expect(decoder.table[newest: 0] == HPACKHeader("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"))
            }
        }
        #expect(blocks == 3 + 3 + 3 + 3 + 3 + 20)
    }

    @Test func integersAsTheRFCWritesThem() throws {
        // RFC 7541 C.1: 10 and 1337 with a 5-bit prefix, 42 at an octet boundary.
        for (value, prefix, bytes) in [(10, 5, [0x0A]), (1337, 5, [0x1F, 0x9A, 0x0A]), (42, 8, [0x2A]), (126, 7, [0x7E]), (127, 7, [0x7F, 0x00])] as [(Int, Int, [UInt8])] {
            var out: [UInt8] = []
            HPACKPrimitive.appendInteger(value, prefix: prefix, flags: 0, into: &out)
            #expect(out == bytes, "\(value)")
            var i = 0
            #expect(try HPACKPrimitive.integer(bytes[...], &i, prefix: prefix) == value && i == bytes.count)
        }
    }

    @Test func huffmanRoundTripsAndRefusesBadPadding() throws {
        var rng = SystemRandomNumberGenerator()
        for n in [0, 1, 2, 7, 100, 4000] {
            let input = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var coded: [UInt8] = []
            Huffman.encode(input, into: &coded)
            #expect(coded.count == Huffman.encodedLength(input))
            var back: [UInt8] = []
            try Huffman.decode(coded[...], into: &back)
            #expect(back == input)
        }
        // "www.example.com" as RFC 7541 C.4.1 codes it.
        var coded: [UInt8] = []
        Huffman.encode(Array("www.example.com".utf8), into: &coded)
        #expect(coded == Self.hex("f1e3c2e5f23a6ba0ab90f4ff"))
        var out: [UInt8] = []
        // Eight padding bits, a zero in the padding, and EOS itself are refused.
        #expect(throws: Huffman.Failure.badPadding) { try Huffman.decode([0xFF][...], into: &out) }
        #expect(throws: Huffman.Failure.badPadding) { try Huffman.decode([0xF1, 0xE0][...], into: &out) }   // 'w' then 0b1110_0000
        #expect(throws: Huffman.Failure.eos) { try Huffman.decode([0xFF, 0xFF, 0xFF, 0xFF][...], into: &out) }
    }

    @Test func theEncodersBlocksDecode() throws {
        let headers = [HPACKHeader(":status", "200"), HPACKHeader("content-type", "application/grpc"), HPACKHeader("grpc-status", "0"),
                       HPACKHeader("grpc-message", "2 spans rejected: span 0: trace_id is not 32 hex digits ✗"),
                       HPACKHeader(Array("x-raw".utf8), [0x00, 0xFF, 0x80, 0x0A]), HPACKHeader(Array("authorization".utf8), Array("Bearer k".utf8), neverIndexed: true)]
        var block: [UInt8] = []
        HPACKEncoder().encode(headers, into: &block)
        #expect(block.first == 0x88, ":status 200 is static index 8")
        var d = HPACKDecoder()
        #expect(try d.decode(block[...]) == headers)
        #expect(d.table.count == 0, "the encoder indexes nothing")
    }

    @Test func malformedBlocksSayWhy() {
        func fails(_ bytes: [UInt8], _ why: String, table: Int = 4096, list: Int = 65536) {
            var d = HPACKDecoder(maxTableSize: table, maxHeaderListSize: list)
            do {
                let h = try d.decode(bytes[...])
                Issue.record("decoded \(h) from \(bytes)")
            } catch {
                #expect(error.description.contains(why), "\(error)")
            }
        }
        fails([0x80], "header index 0")
        fails([0xBE], "header index 62 is not in the tables")
        fails([0x3F, 0xE1, 0x1F], "a table size update to 4096, above the 4095 allowed", table: 4095)   // 31 + 0x61 + (0x1F << 7)
        fails([0x82, 0x20], "a table size update after a header field")
        fails([0x40, 0x05, 0x61], "runs past the header block")
        fails([0x40, 0x01, 0x61, 0x81, 0xFF], "EOS prefix")
        fails([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], "longer than 4 continuation octets")
        fails([0x1F], "ends inside an integer")
        fails([0x00, 0x03, 0x61, 0x62, 0x63, 0x03, 0x64, 0x65, 0x66], "passes 32 octets", list: 32)
    }

    @Test func aSizeUpdateEvictsAndABigEntryEmptiesTheTable() throws {
        var d = HPACKDecoder(maxTableSize: 4096)
        var block: [UInt8] = [0x40, 0x03] + Array("abc".utf8) + [0x03] + Array("def".utf8)   // 38 octets, indexed
        _ = try d.decode(block[...])
        #expect(d.table.count == 1 && d.table.size == 38)
        #expect(try d.decode([0xBE][...]) == [HPACKHeader("abc", "def")], "index 62 is the newest entry")
        _ = try d.decode([0x20][...])   // size 0: emptied
        #expect(d.table.count == 0)
        _ = try d.decode([0x3F, 0x09][...])   // back to 40
        block = [0x40, 0x03] + Array("abc".utf8) + [0x04] + Array("defg".utf8)   // 39: fits
        _ = try d.decode(block[...])
        block = [0x40, 0x03] + Array("xyz".utf8) + [0x0A] + Array("0123456789".utf8)   // 45: larger than 40
        _ = try d.decode(block[...])
        #expect(d.table.count == 0 && d.table.size == 0)
    }
}
