import Foundation
import Testing
import LLMTraceModel
import LLMTraceSynthetic
@testable import LLMTraceStore

/// The LZ4 block codec of segment version 2: round trips over the shapes segment blocks take, the
/// errors a corrupt block must give (never a trap or a read outside the buffers), and agreement
/// with the reference `lz4` tool in both directions.
@Suite struct LZ4BlockTests {
    static func roundTrip(_ input: [UInt8], _ c: LZ4Compressor = LZ4Compressor()) throws -> [UInt8] {
        let packed = c.compress(input)
        #expect(packed.count <= LZ4Block.maxCompressedSize(input.count))
        let back = try packed.withUnsafeBytes { try LZ4Block.decompress($0, size: input.count) }
        #expect(back == input, "round trip of \(input.count) bytes")
        return packed
    }

    /// Text like a segment's text store: sentences from a pool, numbers mixed in.
    static func text(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        let words = ["the", "refund", "policy", "allows", "returns", "within", "thirty", "days", "of", "purchase",
                     "customer", "asked", "about", "shipping", "to", "Zürich", "🙂", "order", "status", "is"]
        var out: [UInt8] = []
        while out.count < n {
            out += Array(words[Int(rng.next() % UInt64(words.count))].utf8)
            out.append(rng.next() % 9 == 0 ? UInt8(ascii: ".") : UInt8(ascii: " "))
            if rng.next() % 13 == 0 { out += Array(" #\(rng.next() % 100_000)".utf8) }
        }
        return Array(out.prefix(n))
    }

    @Test func roundTripsEveryShape() throws {
        let c = LZ4Compressor()
        // Every small length, where the end-of-block rules (last 5 literals, no match in the last
        // 12 bytes) decide everything.
        for n in 0...80 {
            _ = try Self.roundTrip(Array(repeating: 7, count: n), c)
            _ = try Self.roundTrip(Self.text(n, seed: UInt64(n)), c)
        }
        var rng = SplitMix64(seed: 3)
        let random = (0..<70_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let packedRandom = try Self.roundTrip(random, c)
        #expect(packedRandom.count > random.count, "random bytes do not compress (and the segment keeps them raw)")
        let runs = try Self.roundTrip(Array(repeating: 0x41, count: 300_000), c)
        #expect(runs.count < 1_300, "a long run is a few length bytes per 255 (\(runs.count) bytes)")
        // Text across block sizes, including blocks longer than the 64 KiB window.
        for n in [16 * 1024, 64 * 1024, 200_000] {
            let t = Self.text(n, seed: UInt64(n))
            let packed = try Self.roundTrip(t, c)
            #expect(packed.count < t.count * 6 / 10, "text of \(n) bytes compresses (\(packed.count))")
        }
        // Short periods (overlapping matches at offsets 1...8) and a period just over 8.
        for period in 1...10 {
            let pattern = (0..<period).map { UInt8(65 + $0) }
            _ = try Self.roundTrip(Array((0..<5000).flatMap { _ in pattern }.prefix(4999)) + Self.text(100, seed: 9), c)
        }
    }

    /// One compressor reused for many blocks (as a segment writer does) gives the same bytes as a
    /// fresh one each time: positions from an earlier block are never matched.
    @Test func reusedCompressorMatchesFreshOne() throws {
        let shared = LZ4Compressor()
        for i in 0..<40 {
            let block = Self.text(1000 + 997 * i, seed: 11)  // each block repeats the previous ones' text
            #expect(shared.compress(block) == LZ4Compressor().compress(block))
        }
    }

    @Test func corruptBlocksAreErrors() throws {
        let input = Self.text(5000, seed: 1)
        let packed = LZ4Compressor().compress(input)
        func decode(_ b: [UInt8], _ size: Int) -> String? {
            do {
                _ = try b.withUnsafeBytes { try LZ4Block.decompress($0, size: size) }
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(decode(packed, input.count) == nil)
        #expect(decode(packed, input.count - 1)?.contains("exceed") == true)
        #expect(decode(packed, input.count + 1)?.contains("expected") == true)
        #expect(decode(Array(packed.prefix(packed.count - 3)), input.count) != nil)
        for cut in stride(from: 0, to: packed.count, by: 37) { #expect(decode(Array(packed.prefix(cut)), input.count) != nil) }
        #expect(decode([], 5)?.contains("empty") == true)
        #expect(decode([0x00], 0) == nil, "the empty block")
        #expect(decode([0x10, 0x41], 0)?.contains("empty output") == true)
        // A match before the start of the output, and offset 0.
        #expect(decode([0x10, 0x41, 0x05, 0x00], 10)?.contains("points before") == true)
        #expect(decode([0x10, 0x41, 0x00, 0x00], 10)?.contains("points before") == true)
        // Literal lengths that run past the input, and a length extension that never ends.
        #expect(decode([0xF0, 0xFF, 0xFF], 600)?.contains("length") == true)
        #expect(decode([0x50, 0x41], 5)?.contains("run past") == true)
        // A size the footer could never honestly claim.
        #expect(throws: LZ4Block.Error.self) { try [UInt8](repeating: 0, count: 4).withUnsafeBytes { try LZ4Block.decompress($0, size: 1 << 40) } }
    }

    /// Random garbage never traps: every input either decodes to exactly the size asked or throws.
    @Test func garbageNeverTraps() {
        var rng = SplitMix64(seed: 77)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 64)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let size = Int(rng.next() % 600)
            if let out = try? bytes.withUnsafeBytes({ try LZ4Block.decompress($0, size: size) }) { #expect(out.count == size) }
        }
    }

    // MARK: The reference implementation

    /// An LZ4 "legacy frame": magic 0x184C2102, then per block a u32 compressed length and the
    /// block (independent blocks of up to 8 MiB). The `lz4` tool reads and writes it.
    static func legacyFrame(_ blocks: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [0x02, 0x21, 0x4C, 0x18]
        for b in blocks {
            for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: b.count >> (8 * k))) }
            out += b
        }
        return out
    }

    static func lz4Tool(_ args: [String], input: [UInt8]) throws -> [UInt8] {
        let dir = TempDir()
        defer { dir.cleanup() }
        let inPath = dir.path + "/in", outPath = dir.path + "/out"
        try Data(input).write(to: URL(fileURLWithPath: inPath))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["lz4"] + args + ["-f", "-q", inPath, outPath]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw StoreError("lz4 \(args) exited with \(p.terminationStatus)") }
        return Array(try Data(contentsOf: URL(fileURLWithPath: outPath)))
    }

    /// `lz4` must be installed (`.ci/run` installs it): a test of agreement with the reference
    /// decoder and encoder cannot pass without them.
    @Test func referenceToolDecodesOursAndWeDecodeIts() throws {
        let c = LZ4Compressor()
        let inputs: [[UInt8]] = [Self.text(16 * 1024, seed: 5), Self.text(100_000, seed: 6), Array(repeating: 0, count: 70_000),
                                 Array(Self.text(2_000, seed: 7) + Self.text(2_000, seed: 7)), Self.text(13, seed: 8)]
        for input in inputs {
            let decoded = try Self.lz4Tool(["-d"], input: Self.legacyFrame([c.compress(input)]))
            #expect(decoded == input, "lz4 -d reads our block of \(input.count) bytes")
        }
        // The reference encoder's blocks (legacy frame, -l), at a fast and a high level.
        for level in ["-1", "-9"] {
            let input = Self.text(3 << 20, seed: 9)
            let frame = try Self.lz4Tool(["-l", level], input: input)
            #expect(Array(frame.prefix(4)) == [0x02, 0x21, 0x4C, 0x18])
            var at = 4, out: [UInt8] = []
            while at + 4 <= frame.count {
                let n = (0..<4).reduce(0) { $0 | Int(frame[at + $1]) << (8 * $1) }
                at += 4
                let block = Array(frame[at..<(at + n)])
                at += n
                let size = min(8 << 20, input.count - out.count)
                out += try block.withUnsafeBytes { try LZ4Block.decompress($0, size: size) }
            }
            #expect(out == input, "we read lz4 \(level)'s blocks")
        }
    }
}
