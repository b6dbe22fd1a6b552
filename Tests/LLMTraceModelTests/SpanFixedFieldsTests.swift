import Testing
import LLMTraceModel
import LLMTraceSynthetic

@Suite struct SpanFixedFieldsTests {
    /// `fixedFields` keeps every field but the detail arrays. Checked by reflection over every
    /// stored property, so a field added to `Span` later and not copied fails here.
    @Test func keepsEveryFieldButTheDetails() {
        let s = SampleSpans.full()
        let f = s.fixedFields
        let details: Set<String> = ["inputMessages", "outputMessages", "documents", "tags", "attributes", "events"]
        let before = Mirror(reflecting: s).children, after = Mirror(reflecting: f).children
        #expect(before.count == after.count)
        var checked = 0
        for (a, b) in zip(before, after) {
            let name = a.label ?? "?"
            if details.contains(name) {
                #expect("\(b.value)" == "[]", "\(name) is left out")
                #expect("\(a.value)" != "[]", "the sample span has \(name), so the check means something")
            } else {
                #expect("\(a.value)" == "\(b.value)", "\(name) is kept")
                #expect(!"\(a.value)".hasPrefix("nil"), "the sample span sets \(name)")
                checked += 1
            }
        }
        #expect(checked >= 29)
    }
}
