/// The LZ4 *block* format (lz4's `doc/lz4_Block_format.md`), written here from that specification:
/// segment blocks are compressed with it since segment version 2 because it is much cheaper than
/// zlib to write and to read, for somewhat larger files. In `llmtrace-bench store --spans 1000000
/// --compression lz4|zlib` (two runs each, load 1.3–1.6) the sealer thread took 2.85–2.89
/// CPU-seconds with LZ4 against 4.67–5.13 with zlib level 1, for segments of 256.4 MB against 209.6.
///
/// A block is a series of sequences, each:
///
/// ```
/// token u8                 high nibble: literal length (15 = more bytes follow),
///                          low nibble: match length − 4 (15 = more bytes follow)
/// [u8 × k]                 literal length extension: each byte is added; 255 means another follows
/// literals                 that many bytes, copied to the output
/// offset u16 LE            1…65535: the match starts that many bytes back in the output
/// [u8 × k]                 match length extension, as for literals
/// ```
///
/// The last sequence has literals only (the block ends after them). As the specification asks,
/// the last 5 bytes are always literals and no match starts within the last 12 bytes, so any LZ4
/// decoder reads what this writes (the tests decode it with the `lz4` tool). The decoder here is
/// strict and bounded: it never reads or writes outside its buffers, and any block that does not
/// produce exactly the expected number of bytes is an error.
public enum LZ4Block {
    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// The most bytes `stored` bytes of LZ4 can decode to: a sequence yields at most 255 bytes of
    /// output per input byte (a length extension byte), plus the fixed lengths of one token.
    public static func maxDecodedSize(_ stored: Int) -> Int { 255 &* stored &+ 64 }

    /// The largest output `compress` can produce for `n` input bytes (all literals).
    public static func maxCompressedSize(_ n: Int) -> Int { n + n / 255 + 16 }

    static let minMatch = 4
    /// No match may start in the last 12 bytes of a block, and the last 5 are literals.
    static let matchStartLimit = 12
    static let lastLiterals = 5
    static let maxOffset = 65535

    /// Decodes `src` into exactly `dst.count` bytes, or throws.
    public static func decompress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) throws {
        func fail(_ why: String) -> Error { Error(description: "LZ4 block: \(why)") }
        guard let s = src.baseAddress, src.count > 0 else { throw fail("empty block for \(dst.count) bytes") }
        // The empty output has one encoding: a token with no literals.
        if dst.count == 0 {
            guard src.count == 1, s.load(as: UInt8.self) == 0 else { throw fail("\(src.count) bytes for an empty output") }
            return
        }
        let d = dst.baseAddress!
        let srcEnd = src.count, dstEnd = dst.count
        var ip = 0, op = 0
        /// Reads a length extension (each byte added, 255 = another follows).
        func length(_ base: Int) throws -> Int {
            var n = base
            while true {
                guard ip < srcEnd else { throw fail("length runs past the end at byte \(ip)") }
                let b = Int(s.load(fromByteOffset: ip, as: UInt8.self))
                ip += 1
                n += b
                // Past the output size the block is wrong anyway; stop before Int overflows.
                guard n <= dstEnd else { throw fail("length \(n) at byte \(ip) exceeds the output (\(dstEnd) bytes)") }
                if b != 255 { return n }
            }
        }
        while true {
            guard ip < srcEnd else { throw fail("ends inside a sequence (output \(op) of \(dstEnd) bytes)") }
            let token = Int(s.load(fromByteOffset: ip, as: UInt8.self))
            ip += 1
            var lit = token >> 4
            if lit == 15 { lit = try length(lit) }
            guard lit <= srcEnd - ip else { throw fail("\(lit) literals at byte \(ip) run past the end") }
            guard lit <= dstEnd - op else { throw fail("\(lit) literals at byte \(ip) exceed the output") }
            if lit <= 16 && srcEnd - ip >= 16 && dstEnd - op >= 16 {
                // Short literals far from both ends: one 16-byte copy (the extra bytes are
                // overwritten by what follows).
                (d + op).storeBytes(of: s.loadUnaligned(fromByteOffset: ip, as: UInt64.self), as: UInt64.self)
                (d + op + 8).storeBytes(of: s.loadUnaligned(fromByteOffset: ip + 8, as: UInt64.self), as: UInt64.self)
            } else if lit > 0 {
                (d + op).copyMemory(from: s + ip, byteCount: lit)
            }
            ip += lit
            op += lit
            if ip == srcEnd {
                guard op == dstEnd else { throw fail("decodes to \(op) bytes, expected \(dstEnd)") }
                return
            }
            guard srcEnd - ip >= 2 else { throw fail("offset cut off at byte \(ip)") }
            let offset = Int(s.load(fromByteOffset: ip, as: UInt8.self)) | Int(s.load(fromByteOffset: ip + 1, as: UInt8.self)) << 8
            ip += 2
            guard offset > 0, offset <= op else { throw fail("offset \(offset) at byte \(ip - 2) points before the output") }
            var ml = token & 15
            if ml == 15 { ml = try length(ml) }
            ml += minMatch
            guard ml <= dstEnd - op else { throw fail("match of \(ml) bytes at byte \(ip) exceeds the output") }
            let from = d + (op - offset)
            let to = d + op
            if offset >= 8 && dstEnd - op >= ml + 8 {
                // 8 bytes at a time, possibly past the match's end (overwritten later); each load
                // reads only bytes already final, since the source is at least 8 bytes behind.
                var k = 0
                repeat {
                    (to + k).storeBytes(of: UnsafeRawPointer(from + k).loadUnaligned(as: UInt64.self), as: UInt64.self)
                    k += 8
                } while k < ml
            } else if offset >= ml {
                to.copyMemory(from: UnsafeRawPointer(from), byteCount: ml)
            } else {
                // A short repeated pattern (a run) or the end of the output: byte by byte.
                let f = from.assumingMemoryBound(to: UInt8.self), t = to.assumingMemoryBound(to: UInt8.self)
                for k in 0..<ml { t[k] = f[k] }
            }
            op += ml
        }
    }

    /// Decodes `src` into a new array of exactly `size` bytes, or throws.
    public static func decompress(_ src: UnsafeRawBufferPointer, size: Int) throws -> [UInt8] {
        guard size >= 0, size <= maxDecodedSize(src.count) else {
            throw Error(description: "LZ4 block: \(src.count) bytes cannot decode to \(size)")
        }
        return try [UInt8](unsafeUninitializedCapacity: size) { buf, n in
            try decompress(src, into: UnsafeMutableRawBufferPointer(buf))
            n = size
        }
    }
}

/// An LZ4 block compressor with its hash table, reused from block to block (one per writer; not
/// shared between threads). The table holds positions in a virtual stream that grows by each
/// block's length, so it never needs clearing: an entry from an earlier block is simply too old.
public final class LZ4Compressor {
    static let hashLog = 14
    private let table: UnsafeMutablePointer<UInt32>
    /// The virtual position of the current block's first byte (never 0: 0 marks an empty entry).
    private var base: UInt32 = 1

    public init() {
        table = .allocate(capacity: 1 << Self.hashLog)
        table.initialize(repeating: 0, count: 1 << Self.hashLog)
    }

    deinit { table.deallocate() }

    @inline(__always) static func hash(_ v: UInt32) -> Int {
        Int((v &* 2_654_435_761) >> UInt32(32 - hashLog))
    }

    /// The compressed form of `src`.
    public func compress(_ src: UnsafeRawBufferPointer) -> [UInt8] {
        let n = src.count
        // A new virtual range; start over well before the positions could wrap.
        if UInt64(base) + UInt64(n) + 65536 >= UInt64(UInt32.max) {
            table.update(repeating: 0, count: 1 << Self.hashLog)
            base = 1
        }
        let out = [UInt8](unsafeUninitializedCapacity: LZ4Block.maxCompressedSize(n)) { buf, count in
            count = Self.compressBlock(src, into: UnsafeMutableRawPointer(buf.baseAddress!), table: table, base: base)
        }
        base &+= UInt32(n) &+ 65536  // a gap wider than any offset: this block's entries never match the next
        return out
    }

    public func compress(_ src: [UInt8]) -> [UInt8] { src.withUnsafeBytes { compress($0) } }

    /// The block compressor proper (LZ4's greedy parse with skip acceleration). Returns bytes written.
    private static func compressBlock(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawPointer,
                                      table: UnsafeMutablePointer<UInt32>, base: UInt32) -> Int {
        let n = src.count
        var op = 0
        @inline(__always) func emitLength(_ v: Int) {
            var v = v
            while v >= 255 { dst.storeBytes(of: 255, toByteOffset: op, as: UInt8.self); op += 1; v -= 255 }
            dst.storeBytes(of: UInt8(v), toByteOffset: op, as: UInt8.self)
            op += 1
        }
        /// Starts a sequence: a token whose high nibble holds `lit` (completed by the caller),
        /// the literal length extension and the literals `from..<from + lit`. Returns where the
        /// token is and its value so far.
        func literals(from: Int, _ lit: Int) -> (at: Int, token: UInt8) {
            let tokenAt = op
            op += 1
            let token: UInt8
            if lit >= 15 {
                token = 0xF0
                emitLength(lit - 15)
            } else {
                token = UInt8(lit << 4)
            }
            if lit > 0, let s = src.baseAddress { (dst + op).copyMemory(from: s + from, byteCount: lit) }
            op += lit
            return (tokenAt, token)
        }
        func lastLiterals(_ anchor: Int) -> Int {
            let (at, token) = literals(from: anchor, n - anchor)
            dst.storeBytes(of: token, toByteOffset: at, as: UInt8.self)
            return op
        }
        guard n >= LZ4Block.matchStartLimit + 1, let s = src.baseAddress else { return lastLiterals(0) }
        @inline(__always) func read32(_ i: Int) -> UInt32 { s.loadUnaligned(fromByteOffset: i, as: UInt32.self) }
        @inline(__always) func read64(_ i: Int) -> UInt64 { s.loadUnaligned(fromByteOffset: i, as: UInt64.self) }
        let matchStartLimit = n - LZ4Block.matchStartLimit  // a match may start at ip < this
        let matchEndLimit = n - LZ4Block.lastLiterals        // and must end by this
        /// Records position `i` in the table and returns the earlier position it held, when that
        /// one starts with the same 4 bytes and is within an offset's reach.
        @inline(__always) func probe(_ i: Int) -> Int? {
            let v = read32(i)
            let h = hash(v)
            let entry = table[h]
            table[h] = base &+ UInt32(i)
            guard entry >= base else { return nil }
            let c = Int(entry &- base)
            return i - c <= LZ4Block.maxOffset && read32(c) == v ? c : nil
        }
        var anchor = 0
        var ip = 0
        table[hash(read32(0))] = base
        ip = 1
        outer: while true {
            // Find a match: probe forward, taking bigger steps the longer nothing matches.
            var cand = 0
            var attempts = 1 << 6
            while true {
                let step = attempts >> 6
                attempts += 1
                if ip >= matchStartLimit { break outer }
                if let c = probe(ip) { cand = c; break }
                ip += step
            }
            // Extend backwards over equal bytes not yet emitted.
            while ip > anchor && cand > 0 && s.load(fromByteOffset: ip - 1, as: UInt8.self) == s.load(fromByteOffset: cand - 1, as: UInt8.self) {
                ip -= 1
                cand -= 1
            }
            while true {
                // Sequence: literals anchor..<ip, then the match at ip against cand.
                var (tokenAt, token) = literals(from: anchor, ip - anchor)
                let offset = ip - cand
                dst.storeBytes(of: UInt8(truncatingIfNeeded: offset), toByteOffset: op, as: UInt8.self)
                dst.storeBytes(of: UInt8(truncatingIfNeeded: offset >> 8), toByteOffset: op + 1, as: UInt8.self)
                op += 2
                // Match length beyond the 4 bytes known equal, 8 bytes at a time.
                var a = ip + LZ4Block.minMatch, b = cand + LZ4Block.minMatch
                var ended = false
                while a + 8 <= matchEndLimit {
                    let x = read64(a) ^ read64(b)
                    if x != 0 { a += x.trailingZeroBitCount >> 3; ended = true; break }
                    a += 8
                    b += 8
                }
                if !ended {
                    while a < matchEndLimit && s.load(fromByteOffset: a, as: UInt8.self) == s.load(fromByteOffset: b, as: UInt8.self) {
                        a += 1
                        b += 1
                    }
                }
                let ml = a - ip - LZ4Block.minMatch
                if ml >= 15 {
                    token |= 15
                    emitLength(ml - 15)
                } else {
                    token |= UInt8(ml)
                }
                dst.storeBytes(of: token, toByteOffset: tokenAt, as: UInt8.self)
                ip = a
                anchor = ip
                if ip >= matchStartLimit { break outer }
                // Index a position inside the match, then try for another match right here.
                table[hash(read32(ip - 2))] = base &+ UInt32(ip - 2)
                if let c = probe(ip) { cand = c; continue }
                ip += 1
                continue outer
            }
        }
        return lastLiterals(anchor)
    }
}
