import Foundation
import Testing
import LLMTraceModel
import LLMTraceSynthetic
@testable import LLMTraceStore

@Suite struct HeadRowTests {
    /// A head row keeps every fixed field of a span (numbers inline, strings as text ids), and a
    /// scan of the head reads them back with empty details. Checked by reflection over every
    /// stored property of `Span`, so a field added later and not carried by `HeadRow` fails here.
    @Test func keepsEveryFixedField() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store.open(testOptions(dir.path))
        defer { try? store.close() }
        var nils = SampleSpans.full(2)
        nils.statusMessage = nil; nils.provider = nil; nils.inputTokens = nil; nils.costUSD = nil; nils.topP = nil; nils.finishReason = nil
        nils.maxTokens = 0; nils.temperature = -0.0
        let sent = [SampleSpans.full(1), nils]
        try store.append(sent)
        let rows = store.scanSnapshot().headRows
        #expect(rows.count == 2)
        let details: Set<String> = ["inputMessages", "outputMessages", "documents", "tags", "attributes", "events"]
        var checked = 0
        for (s, r) in zip(sent, rows) {
            for (a, b) in zip(Mirror(reflecting: s).children, Mirror(reflecting: r).children) {
                let name = a.label ?? "?"
                if details.contains(name) {
                    #expect("\(b.value)" == "[]", "\(name) is not in a head row")
                } else {
                    #expect("\(a.value)" == "\(b.value)", "\(name) is kept")
                    checked += 1
                }
            }
        }
        #expect(checked == 2 * (Mirror(reflecting: sent[0]).children.count - details.count))
        // The full sample sets every field, so the check above compared real values.
        #expect(Mirror(reflecting: sent[0]).children.allSatisfy { !"\($0.value)".hasPrefix("nil") && "\($0.value)" != "[]" })
        // And whole spans (details included) come back from the head as sent.
        #expect(try store.trace(sent[0].traceID).contains(sent[0]))
        #expect(store.headSpans().sorted { $0.spanID < $1.spanID } == sent.sorted { $0.spanID < $1.spanID })
    }
}
