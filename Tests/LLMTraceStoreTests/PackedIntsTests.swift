import Testing
@testable import LLMTraceStore

/// Frame-of-reference blocks read back exactly, at every width, whole and row by row.
@Suite struct PackedIntsTests {
    /// A small deterministic generator (the tests must not depend on the system's random source).
    struct Mix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func roundTrip(_ values: [Int64], valid: [Bool]?) -> (width: Int, size: Int) {
        var w = ByteWriter(capacity: 64)
        values.withUnsafeBufferPointer { v in
            if let valid {
                valid.withUnsafeBufferPointer { ok in PackedInts.encode(v, valid: ok, into: &w) }
            } else {
                PackedInts.encode(v, valid: nil, into: &w)
            }
        }
        let bytes = w.bytes
        return bytes.withUnsafeBytes { block -> (Int, Int) in
            guard let (base, width) = PackedInts.header(block, count: values.count, nullable: valid != nil) else {
                Issue.record("header rejected \(values.count) rows")
                return (-1, bytes.count)
            }
            var out = [Int64](repeating: 7, count: values.count)
            var ok = [Bool](repeating: true, count: values.count)
            let nulls = out.withUnsafeMutableBufferPointer { o in
                ok.withUnsafeMutableBufferPointer { okp in
                    PackedInts.decode(block, count: values.count, base: base, width: width, into: o.baseAddress!,
                                      valid: valid == nil ? nil : okp.baseAddress!)
                }
            }
            for k in values.indices {
                let isValid = valid?[k] ?? true
                let one = PackedInts.value(block, row: k, count: values.count, base: base, width: width, nullable: valid != nil)
                if isValid {
                    #expect(out[k] == values[k], "row \(k) of \(values.count), width \(width)")
                    #expect(one == values[k], "row \(k) alone, width \(width)")
                    #expect(ok[k])
                } else {
                    #expect(!ok[k], "row \(k) should be null")
                    #expect(one == nil)
                }
            }
            #expect(nulls == (valid?.filter { !$0 }.count ?? 0))
            return (width, bytes.count)
        }
    }

    @Test func everyWidthReadsBack() {
        var mix = Mix(state: 1)
        for bits in 0...64 {
            for count in [1, 7, 64, 2048, 2047] {
                let base = Int64(bitPattern: mix.next()) >> 2
                let values = (0..<count).map { _ -> Int64 in
                    let r = bits == 0 ? 0 : mix.next() >> UInt64(64 - bits)
                    return base &+ Int64(bitPattern: r)
                }
                let (width, size) = roundTrip(values, valid: nil)
                #expect(width <= max(bits, 0) || width == 64)
                #expect(size == PackedInts.blockSize(count: count, width: width, nullable: false))
            }
        }
    }

    @Test func nullsAndExtremes() {
        var mix = Mix(state: 2)
        for bits in [0, 1, 5, 13, 31, 55, 56, 57, 63, 64] {
            let values = (0..<3000).map { _ in bits == 0 ? 42 : Int64(bitPattern: mix.next() >> UInt64(64 - bits)) }
            let valid = (0..<3000).map { _ in mix.next() % 3 != 0 }
            _ = roundTrip(values, valid: valid)
        }
        _ = roundTrip([Int64.min, Int64.max, 0, -1], valid: nil)
        _ = roundTrip([Int64.min, Int64.max, 0, -1], valid: [true, true, false, true])
        _ = roundTrip([Int64.max, Int64.max], valid: [true, false])
        let (width, _) = roundTrip([5, 5, 5], valid: [false, false, false])
        #expect(width == 0)
    }

    @Test func narrowRangesPackNarrow() {
        // Tokens 0…4095 from a base: 12 bits a row, not the 64 of raw integers.
        let values = (0..<2048).map { Int64(1_000_000 + ($0 * 37) % 4096) }
        let (width, size) = roundTrip(values, valid: nil)
        #expect(width == 12)
        #expect(size == 9 + 2048 * 12 / 8 + 8)
    }

    @Test func malformedBlocksAreRefused() {
        var w = ByteWriter(capacity: 64)
        (0..<10).map { Int64($0 * 1000) }.withUnsafeBufferPointer { PackedInts.encode($0, valid: nil, into: &w) }
        var bytes = w.bytes
        bytes.withUnsafeBytes { #expect(PackedInts.header($0, count: 10, nullable: false) != nil) }
        bytes.withUnsafeBytes { #expect(PackedInts.header($0, count: 11, nullable: false) == nil) }  // wrong row count
        bytes[8] = 60  // a width no writer uses
        bytes.withUnsafeBytes { #expect(PackedInts.header($0, count: 10, nullable: false) == nil) }
        bytes.withUnsafeBytes { #expect(PackedInts.header(UnsafeRawBufferPointer(rebasing: $0[0..<5]), count: 10, nullable: false) == nil) }
    }
}
