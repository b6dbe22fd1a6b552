#if canImport(Glibc)
import Glibc
#endif
import LLMTraceSupport

/// How busy ingest is: the ingest requests in flight (OTLP over HTTP and gRPC, native spans,
/// scores), integrated over time, so background work can ask whether accepting spans has the
/// machine to itself. The ClickHouse sink defers forwarding while `saturated` (see
/// `ClickHouseSink.Settings.maxDeferNanos`).
///
/// Saturated means: over the last window (a second), on average at least as many ingest requests
/// in flight as the machine has cores — every core could be decoding or appending, and requests
/// wait on each other. A paced load keeps this well below one; clients sending as fast as they
/// are answered hold it near their connection count. `llmtrace_ingest_in_flight` shows it.
public final class IngestLoad: @unchecked Sendable {
    public let cores: Int
    public let windowNanos: Int64
    private let clock: @Sendable () -> Int64
    private let lock = Condition()
    private var inFlight = 0
    /// Requests in flight times nanoseconds, since the start.
    private var area: Int64 = 0
    private var changedAt: Int64
    /// The last closed window: where it ended and its average.
    private var window: (area: Int64, at: Int64, average: Double)

    public init(cores: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))), windowNanos: Int64 = 1_000_000_000, clock: @escaping @Sendable () -> Int64 = { monotonicNanos() }) {
        self.cores = max(1, cores)
        self.windowNanos = windowNanos
        self.clock = clock
        let now = clock()
        changedAt = now
        window = (0, now, 0)
    }

    private func advance(_ now: Int64) {
        area += Int64(inFlight) * (now - changedAt)
        changedAt = now
    }

    public func enter() { lock.withLock { advance(clock()); inFlight += 1 } }
    public func leave() { lock.withLock { advance(clock()); inFlight -= 1 } }

    /// Requests in flight now.
    public var current: Int { lock.withLock { inFlight } }

    /// Requests in flight on average over the last closed window (a window closes when asked
    /// at least `windowNanos` after the previous one closed).
    public var recentAverage: Double {
        lock.withLock {
            let now = clock()
            advance(now)
            if now - window.at >= windowNanos {
                window = (area, now, Double(area - window.area) / Double(now - window.at))
            }
            return window.average
        }
    }

    public var saturated: Bool { recentAverage >= Double(cores) }
}
