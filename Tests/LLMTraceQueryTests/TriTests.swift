import Testing
@testable import LLMTraceQuery

/// The branch-free three-valued logic against `Ops`, which defines it one value at a time.
@Suite struct TriTests {
    @Test func everyPairAgreesWithOps() {
        for a: UInt8 in 0...2 {
            #expect(Tri.isTrue(a) == (a == 1 ? 1 : 0))
            for b: UInt8 in 0...2 {
                #expect(Tri.and(a, b) == Ops.and(a, b), "AND \(a) \(b)")
                #expect(Tri.or(a, b) == Ops.or(a, b), "OR \(a) \(b)")
            }
        }
    }

    @Test func combineRunsOverWholeVectors() {
        let a: [UInt8] = [0, 0, 0, 1, 1, 1, 2, 2, 2]
        let b: [UInt8] = [0, 1, 2, 0, 1, 2, 0, 1, 2]
        #expect(Tri.combine(a, b, Tri.and) == [0, 0, 0, 0, 1, 2, 0, 2, 2])
        #expect(Tri.combine(a, b, Tri.or) == [0, 1, 2, 1, 1, 1, 2, 1, 2])
    }
}
