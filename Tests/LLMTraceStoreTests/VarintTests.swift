import Testing
@testable import LLMTraceStore

/// The varint reader's fast paths (one byte; up to eight bytes at once; the byte loop) and its
/// checked tail agree with the writer for every length, at every position of a buffer.
@Suite struct VarintTests {
    @Test func everyLengthReadsBackWhereverItSits() {
        var rng = SystemRandomNumberGenerator()
        var values: [UInt64] = [0, 1, 127, 128, 16_383, 16_384, .max, .max - 1, 1 << 56 - 1, 1 << 56, 1 << 63]
        for bits in 1...64 {
            for _ in 0..<40 { values.append(UInt64.random(in: 0...UInt64.max, using: &rng) >> (64 - bits)) }
        }
        for lead in 0..<9 {
            var w = ByteWriter()
            for _ in 0..<lead { w.u8(0x80 | 0x7F) ; w.u8(0) }  // two-byte varints before
            for v in values { w.varint(v) }
            let bytes = w.bytes
            bytes.withUnsafeBytes { p in
                var r = ByteReader(p)
                for _ in 0..<lead { #expect(r.varint() == 127) }
                for v in values {
                    let got = r.varint()
                    #expect(got == v, "value \(v) after \(lead) leading varints")
                    if got != v { return }
                }
                #expect(!r.failed && r.isAtEnd)
            }
        }
    }

    @Test func anOverlongVarintFails() {
        let bytes: [UInt8] = Array(repeating: 0xFF, count: 12) + [0]
        bytes.withUnsafeBytes { p in
            var r = ByteReader(p)
            _ = r.varint()
            #expect(r.failed)
        }
    }
}
