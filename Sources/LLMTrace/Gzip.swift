/// gzip (RFC 1952) of a DEFLATE stream (RFC 1951) written here, so that the SDK compresses its
/// exports without zlib (Foundation has no compressor on Linux, and the SDK links nothing else).
///
/// One block with the fixed Huffman codes, matches found by hashing three bytes into chains of at
/// most `maxChain` earlier positions in the last 32 KiB (greedy, no lazy matching). On OTLP
/// protobuf and span JSON — repeated keys, ids, model names — that keeps most of what zlib's
/// level 1 gains, at a fraction of the code; any inflater reads it.
enum Gzip {
    static func compress(_ input: [UInt8], maxChain: Int = 16) -> [UInt8] {
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]
        out.reserveCapacity(input.count / 3 + 64)
        var bits = BitWriter(out: out)
        bits.write(1, 1)   // BFINAL
        bits.write(1, 2)   // BTYPE 01: fixed codes
        input.withUnsafeBufferPointer { deflate($0, maxChain: maxChain, &bits) }
        bits.writeSymbol(256)
        bits.flush()
        out = bits.out
        let crc = CRC32.checksum(input)
        for v in [crc, UInt32(truncatingIfNeeded: input.count)] {
            out.append(UInt8(v & 0xff)); out.append(UInt8(v >> 8 & 0xff)); out.append(UInt8(v >> 16 & 0xff)); out.append(UInt8(v >> 24))
        }
        return out
    }

    private static let window = 1 << 15
    private static let hashBits = 15

    private static func deflate(_ b: UnsafeBufferPointer<UInt8>, maxChain: Int, _ bits: inout BitWriter) {
        let n = b.count
        var head = [Int32](repeating: -1, count: 1 << hashBits)
        var prev = [Int32](repeating: -1, count: window)
        @inline(__always) func hash(_ i: Int) -> Int {
            let v = UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16
            return Int((v &* 0x9E37_79B1) >> (32 - UInt32(hashBits)))
        }
        @inline(__always) func insert(_ i: Int) {
            let h = hash(i)
            prev[i & (window - 1)] = head[h]
            head[h] = Int32(i)
        }
        var i = 0
        while i < n {
            var bestLen = 0, bestDist = 0
            if i + 3 <= n {
                let h = hash(i)
                var cand = Int(head[h])
                prev[i & (window - 1)] = head[h]
                head[h] = Int32(i)
                var chain = maxChain
                let maxLen = min(258, n - i)
                while cand >= 0 && i - cand <= window && chain > 0 {
                    if b[cand + bestLen] == b[i + bestLen] || bestLen == 0 {
                        var l = 0
                        while l < maxLen && b[cand + l] == b[i + l] { l += 1 }
                        if l > bestLen { bestLen = l; bestDist = i - cand; if l == maxLen { break } }
                    }
                    let p = Int(prev[cand & (window - 1)])
                    if p >= cand { break }   // the slot was reused by a newer position
                    cand = p
                    chain -= 1
                }
            }
            if bestLen >= 3 {
                bits.writeLength(bestLen)
                bits.writeDistance(bestDist)
                let end = i + bestLen
                i += 1
                while i < end {
                    if i + 3 <= n { insert(i) }
                    i += 1
                }
            } else {
                bits.writeSymbol(Int(b[i]))
                i += 1
            }
        }
    }

    /// Bits least significant first, as DEFLATE packs them; Huffman codes are stored reversed.
    struct BitWriter {
        var out: [UInt8]
        var acc: UInt64 = 0
        var count: UInt64 = 0

        @inline(__always) mutating func write(_ value: UInt32, _ n: Int) {
            acc |= UInt64(value) << count
            count += UInt64(n)
            while count >= 8 {
                out.append(UInt8(truncatingIfNeeded: acc))
                acc >>= 8
                count -= 8
            }
        }

        mutating func flush() {
            if count > 0 { out.append(UInt8(truncatingIfNeeded: acc)) }
            acc = 0
            count = 0
        }

        @inline(__always) mutating func writeSymbol(_ s: Int) {
            let c = Tables.shared.literal[s]
            write(UInt32(c >> 8), Int(c & 0xff))
        }

        @inline(__always) mutating func writeLength(_ len: Int) {
            let t = Tables.shared
            let code = Int(t.lengthCode[len])
            writeSymbol(257 + code)
            let extra = Tables.lengthExtra[code]
            if extra > 0 { write(UInt32(len - Tables.lengthBase[code]), extra) }
        }

        @inline(__always) mutating func writeDistance(_ d: Int) {
            let t = Tables.shared
            let code = d <= 256 ? Int(t.distanceLow[d - 1]) : Int(t.distanceHigh[(d - 1) >> 7])
            write(UInt32(t.distanceReversed[code]), 5)
            let extra = Tables.distanceExtra[code]
            if extra > 0 { write(UInt32(d - Tables.distanceBase[code]), extra) }
        }
    }

    final class Tables: Sendable {
        static let shared = Tables()
        static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
        static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
        static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                                   4097, 6145, 8193, 12289, 16385, 24577]
        static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

        /// Per literal/length symbol: the reversed code << 8 | its length in bits.
        let literal: [UInt32]
        let lengthCode: [UInt8]
        let distanceLow: [UInt8]
        let distanceHigh: [UInt8]
        let distanceReversed: [UInt8]

        private init() {
            func reverse(_ code: UInt32, _ len: Int) -> UInt32 {
                var r: UInt32 = 0
                for k in 0..<len where code & (1 << k) != 0 { r |= 1 << (len - 1 - k) }
                return r
            }
            var lit = [UInt32](repeating: 0, count: 288)
            for s in 0..<288 {
                let (code, len): (UInt32, Int)
                switch s {
                case 0...143: (code, len) = (0x30 + UInt32(s), 8)
                case 144...255: (code, len) = (0x190 + UInt32(s - 144), 9)
                case 256...279: (code, len) = (UInt32(s - 256), 7)
                default: (code, len) = (0xC0 + UInt32(s - 280), 8)
                }
                lit[s] = reverse(code, len) << 8 | UInt32(len)
            }
            literal = lit
            var lc = [UInt8](repeating: 0, count: 259)
            for code in 0..<29 {
                let lo = Self.lengthBase[code], hi = code == 28 ? 258 : min(258, Self.lengthBase[code] + (1 << Self.lengthExtra[code]) - 1)
                for l in lo...hi { lc[l] = UInt8(code) }
            }
            lc[258] = 28
            lengthCode = lc
            func distanceCode(_ d: Int) -> UInt8 {
                var c = 29
                while Self.distanceBase[c] > d { c -= 1 }
                return UInt8(c)
            }
            distanceLow = (1...256).map(distanceCode)
            distanceHigh = (0..<256).map { distanceCode(($0 << 7) + 1) }
            distanceReversed = (0..<30).map { UInt8(reverse(UInt32($0), 5)) }
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected), as gzip's trailer carries it.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}
