import Testing
import LLMTraceSupport
@testable import LLMTraceCollector

/// The saturation signal the ClickHouse sink yields to, on an injected clock.
@Suite struct IngestLoadTests {
    final class Clock: @unchecked Sendable {
        private let c = Condition()
        private var t: Int64 = 1_000
        var now: Int64 { c.withLock { t } }
        func advance(_ n: Int64) { c.withLock { t += n } }
    }

    @Test func theAverageIsRequestsInFlightOverTheLastWindow() {
        let clock = Clock()
        let load = IngestLoad(cores: 2, windowNanos: 100, clock: { clock.now })
        #expect(load.recentAverage == 0)
        // Three requests for the whole next window: 3 on average, saturated on 2 cores.
        load.enter(); load.enter(); load.enter()
        clock.advance(100)
        #expect(load.recentAverage == 3)
        #expect(load.saturated)
        // Asked again before the window closes: the last closed window's answer.
        load.leave(); load.leave()
        clock.advance(50)
        #expect(load.recentAverage == 3)
        // That window: one request for its first half, none for its second: 0.5.
        load.leave()
        clock.advance(50)
        #expect(load.recentAverage == 0.5)
        clock.advance(100)
        #expect(load.recentAverage == 0)
        #expect(!load.saturated)
        #expect(load.current == 0)
    }

    @Test func requestsWaitingOnTheDiskCountAsLoadButFewDoNotSaturate() {
        let clock = Clock()
        let load = IngestLoad(cores: 2, windowNanos: 1_000, clock: { clock.now })
        // A paced client: one request in flight 20% of the time.
        for _ in 0..<10 {
            load.enter(); clock.advance(20); load.leave(); clock.advance(80)
        }
        #expect(abs(load.recentAverage - 0.2) < 1e-9)
        #expect(!load.saturated)
    }
}
