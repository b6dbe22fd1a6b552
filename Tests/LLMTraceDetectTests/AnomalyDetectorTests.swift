import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import LLMTraceDetect

/// The streaming detector: causal, bounded, quiet on noise, loud on a change, one alarm per incident.
@Suite struct AnomalyDetectorTests {
    /// Gaussian-ish noise (sum of uniforms) around `level`, deterministic.
    static func noise(_ n: Int, level: Double = 100, spread: Double = 5, seed: UInt64 = 1) -> [Double] {
        var x = seed &+ 0x9E37_79B9_7F4A_7C15
        func u() -> Double { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return Double(x % 1_000_000) / 1_000_000 }
        return (0..<n).map { _ in level + spread * ((u() + u() + u() + u()) - 2) }
    }

    static func scores(_ values: [Double]) -> [Double] {
        var d = AnomalyDetector()
        return values.map { d.update($0) }
    }

    @Test func aPointsScoreUsesNothingAfterIt() {
        let a = Self.noise(1500, seed: 3)
        var b = a
        for i in 900..<1500 { b[i] = a[i] * 7 + 1000 }  // a different future
        let sa = Self.scores(a), sb = Self.scores(b)
        #expect(Array(sa.prefix(900)) == Array(sb.prefix(900)))
    }

    @Test func scoresStayInTheUnitIntervalWhateverComesIn() {
        var values = Self.noise(400)
        values += [.nan, .infinity, -.infinity, 1e308, -1e308, 0, 0, 0]
        values += [Double](repeating: 42, count: 400)  // perfectly flat
        values += [43]                                  // then a wobble on a flat line
        values += Self.noise(200, level: -1e12, spread: 1e9)
        for (i, s) in Self.scores(values).enumerated() {
            #expect(s.isFinite && s >= 0 && s <= 1, "row \(i): \(s)")
        }
    }

    @Test func noiseRaisesNoAlarmAndALevelShiftDoes() {
        for seed in 1...5 as ClosedRange<UInt64> {
            let calm = Self.noise(3000, seed: seed)
            let calmScores = Self.scores(calm)
            #expect(calmScores.allSatisfy { $0 < AnomalyDetector.threshold }, "seed \(seed): an alarm on plain noise")
            var shifted = calm
            for i in 2000..<3000 { shifted[i] += 40 }  // +8 noise widths
            let s = Self.scores(shifted)
            let first = s.firstIndex { $0 >= AnomalyDetector.threshold }
            #expect(first != nil && first! >= 2000 && first! < 2010, "seed \(seed): first alarm at \(String(describing: first))")
        }
    }

    @Test func oneIncidentRaisesOneAlarm() {
        var values = Self.noise(3000, seed: 9)
        for i in 1500..<1560 { values[i] += 60 }  // an hour-long excursion
        let s = Self.scores(values)
        let alarms = s.indices.filter { s[$0] >= AnomalyDetector.threshold }
        #expect(!alarms.isEmpty)
        if let first = alarms.first {
            #expect(alarms.allSatisfy { $0 == first || $0 > first + AnomalyDetector.Configuration().quietRows },
                    "alarms at \(alarms.prefix(10))")
        }
    }

    /// Five-minute rows of a daily cycle (a business-hours hump) with noise; `flatDay` loses its hump.
    static func daily(days: Int, flatDay: Int? = nil) -> [Double] {
        let perDay = 288
        let n = noise(days * perDay, level: 0, spread: 3, seed: 11)
        return (0..<(days * perDay)).map { i in
            let phase = Double(i % perDay) / Double(perDay)
            let hump = (i / perDay == flatDay) ? 0 : 60 * max(0, sin((phase - 0.3) * 2 * .pi * 1.5))
            return 100 + hump + n[i]
        }
    }

    /// A day without its usual peak: every value is within the usual range, so only the coarse
    /// shape layer, whose stretch of 12 two-hour points is one day, can tell.
    @Test func aDayWithoutItsPeakIsFoundByTheDayScaleLayer() {
        var config = AnomalyDetector.Configuration()
        config.rowSeconds = 300
        let values = Self.daily(days: 16, flatDay: 14)
        func alarms(_ c: AnomalyDetector.Configuration) -> [Int] {
            var d = AnomalyDetector(c)
            return values.indices.filter { d.update(values[$0]) >= AnomalyDetector.threshold }
        }
        let found = alarms(config)
        let flatDay = (14 * 288)..<(15 * 288 + 24)
        #expect(found.contains { flatDay.contains($0) }, "alarms at \(found)")
        #expect(found.allSatisfy { $0 >= flatDay.lowerBound }, "alarms before the change at \(found)")
        var withoutCoarse = config
        withoutCoarse.shapeCoarseSeconds = []
        #expect(!alarms(withoutCoarse).contains { flatDay.contains($0) }, "the finer layers alone already found it")
    }

    /// A detector restored from its saved state scores what the original would have.
    @Test func aRestoredDetectorContinuesExactly() throws {
        var config = AnomalyDetector.Configuration()
        config.rowSeconds = 300
        let values = Self.daily(days: 12, flatDay: 11)
        var original = AnomalyDetector(config)
        for v in values.prefix(2000) { _ = original.update(v) }
        var restored = try #require(AnomalyDetector(state: original.encodedState(), configuration: config))
        for v in values.dropFirst(2000) { #expect(original.update(v) == restored.update(v)) }
        var truncated = original.encodedState()
        truncated.removeLast()
        #expect(AnomalyDetector(state: truncated, configuration: config) == nil)
    }
}
