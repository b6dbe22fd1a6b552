import Foundation
import Testing
@testable import LLMTrace
@testable import LLMTraceHTTP
import LLMTraceOTLP

/// The SDK's own gzip is read back by zlib (the collector's inflater, which checks the CRC and the
/// length in the trailer) byte for byte, and it shrinks what the SDK sends.
@Suite struct GzipTests {
    static func inflate(_ gz: [UInt8]) throws -> [UInt8] {
        try BodyDecoding.inflate(gz, windowBits: 15 + 16, limit: 1 << 26, name: "gzip", reserve: nil)
    }

    @Test func zlibReadsBackEveryShape() throws {
        var rng = SystemRandomNumberGenerator()
        var cases: [[UInt8]] = [[], [0], [1, 2], Array("aaa".utf8), [UInt8](repeating: 7, count: 100_000),
                                (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &rng) },
                                (0..<70_000).map { UInt8(truncatingIfNeeded: $0 % 251) }]
        // Text with repeats at every distance up to and past the 32 KiB window, and long runs.
        var text: [UInt8] = []
        for i in 0..<5_000 { text += Array("{\"key\":\"gen_ai.usage.input_tokens\",\"value\":\(i % 97)} ".utf8); if i % 500 == 0 { text += [UInt8](repeating: 0x41, count: 300 + i % 700) } }
        cases.append(text)
        for _ in 0..<50 {
            let n = Int.random(in: 0..<5_000, using: &rng)
            let alphabet = Int.random(in: 1...8, using: &rng)
            cases.append((0..<n).map { _ in UInt8.random(in: 0..<UInt8(alphabet), using: &rng) })
        }
        for c in cases {
            let gz = Gzip.compress(c)
            #expect(try Self.inflate(gz) == c, "\(c.count) bytes")
        }
    }

    @Test func anExportShrinks() throws {
        var spans: [SpanRecord] = []
        for i in 0..<200 {
            var s = SpanRecord(traceID: TraceID(hi: UInt64(i), lo: 99), spanID: SpanID(UInt64(i + 1)), service: "checkout", name: "chat", kind: .llm,
                               startNanos: 1_767_225_600_000_000_000 + Int64(i) * 1_000_000, endNanos: 1_767_225_600_900_000_000 + Int64(i) * 1_000_000)
            s.requestModel = "gpt-4o-mini"; s.provider = "openai"; s.inputTokens = Int64(100 + i); s.outputTokens = 20
            s.inputMessages = [Message(role: "user", content: "Where is my order \(i)? It has not arrived yet.")]
            spans.append(s)
        }
        let body = OTLPEncoder.encode(spans, sdk: .init(name: "llmtrace-swift", version: LLMTrace.version)).bytes
        let gz = Gzip.compress(body)
        #expect(try Self.inflate(gz) == body)
        #expect(gz.count * 3 < body.count, "\(body.count) → \(gz.count)")
    }
}
