import Testing
import LLMTraceModel
@testable import LLMTraceDetect

/// A batch's digests name their series by index into the batch's table: every span must land on
/// the series its strings say, whether equal strings share storage or were decoded apart, and
/// strings that differ only in their bytes (not in Unicode equivalence) are different series.
@Suite struct DigestBatchTests {
    static func span(_ i: Int, project: String, service: String, model: String?, prompt: String? = nil, kind: SpanKind = .llm) -> Span {
        var s = Span(traceID: TraceID(hi: 1, lo: UInt64(i) + 1), spanID: SpanID(UInt64(i) + 1), parentSpanID: SpanID(0),
                     project: project, service: service, name: kind == .retrieval ? "search-\(i % 3)" : "chat", kind: kind,
                     startNanos: 1_000, endNanos: 2_000, status: .ok)
        s.responseModel = model
        s.promptName = prompt
        s.promptVersion = prompt == nil ? nil : "v\(i % 2)"
        return s
    }

    @Test func everySpanLandsOnTheSeriesItsStringsName() {
        var spans: [Span] = []
        for i in 0..<2_000 {
            // Long names (not held inline) built anew for each span: equal, in separate storage.
            let model = String(repeating: "m", count: 20) + "-\(i % 90)"
            let service = "service-with-a-long-name-\(i % 3)"
            let project = i % 5 == 0 ? "other" : "main"
            spans.append(Self.span(i, project: project, service: service, model: model, prompt: i % 4 == 0 ? "prompt-\(i % 7)" : nil,
                                   kind: i % 6 == 0 ? .retrieval : .llm))
        }
        spans.append(Self.span(5_000, project: "main", service: "s", model: "caf\u{E9}"))
        spans.append(Self.span(5_001, project: "main", service: "s", model: "cafe\u{301}"))  // equal to Swift, not in bytes
        spans.append(Self.span(5_002, project: "main", service: "s", model: nil, kind: .tool))  // no series, not kept: no digest
        let batch = DigestBatch(spans, keep: { _ in false })
        #expect(batch.spans == spans.count)
        #expect(batch.digests.count == spans.count - 1)
        var expected = Set<String>()
        for (s, d) in zip(spans, batch.digests) {
            func name(_ k: Int32) -> String? {
                k < 0 ? nil : { let k = batch.keys[Int(k)]; return "\(k.project)|\(k.service)|\(k.dimension)|\(Array(k.value.utf8))" }()
            }
            let model = s.responseModel.map { "\(s.project)|\(s.service)|model|\(Array($0.utf8))" }
            let prompt = s.promptName.map { "\(s.project)|\(s.service)|prompt|\(Array($0.utf8))" }
            let retriever = s.kind == .retrieval ? "\(s.project)|\(s.service)|retriever|\(Array(s.name.utf8))" : nil
            #expect(name(d.model) == model)
            #expect(name(d.prompt) == prompt)
            #expect(name(d.retriever) == retriever)
            if d.version >= 0 { #expect(batch.versions[Int(d.version)] == s.promptVersion) } else { #expect(s.promptVersion == nil) }
            for x in [model, prompt, retriever] { if let x { expected.insert(x) } }
        }
        // Each series once in the table, the two spellings of café apart.
        let listed = batch.keys.map { "\($0.project)|\($0.service)|\($0.dimension)|\(Array($0.value.utf8))" }
        #expect(Set(listed) == expected)
        #expect(listed.count == expected.count)
    }
}
