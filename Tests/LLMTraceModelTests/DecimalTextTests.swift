import Testing
import LLMTraceModel

@Suite struct DecimalTextTests {
    @Test func shortestIsPlainAndExact() {
        #expect(DecimalText.shortest(2.46e-05) == "0.0000246")
        #expect(DecimalText.shortest(7.65e-06) == "0.00000765")
        #expect(DecimalText.shortest(-1.5e-7) == "-0.00000015")
        #expect(DecimalText.shortest(0.1 + 0.2) == "0.30000000000000004")
        #expect(DecimalText.shortest(1e16) == "10000000000000000.0")
        #expect(DecimalText.shortest(1.25e17) == "125000000000000000.0")
        #expect(DecimalText.shortest(1.11e20) == "111000000000000000000.0", "not an integer past Int64 when read back")
        #expect(DecimalText.shortest(3.0) == "3.0", "unchanged without an exponent")
        #expect(DecimalText.shortest(1e300) == "1e+300")
        // Every spelling reads back as the same double.
        for d in [2.4599999999999998e-05, 1.0000000000000002e-10, 123456.789e-12, 9.999999999999999e19, 5e-324] {
            #expect(Double(DecimalText.shortest(d)) == d, "\(d) -> \(DecimalText.shortest(d))")
        }
    }

    @Test func significantDigits() {
        #expect(DecimalText.significant(7.65e-06, 3) == "0.00000765")
        #expect(DecimalText.significant(0.00456789, 3) == "0.00457")
        #expect(DecimalText.significant(123.456789, 6) == "123.457")
        #expect(DecimalText.significant(0.1, 6) == "0.1")
        #expect(DecimalText.significant(9.9999999e-6, 3) == "0.00001")
        #expect(DecimalText.significant(-2.5e-9, 2) == "-0.0000000025")
        #expect(DecimalText.significant(0, 3) == "0")
    }
}
