import Foundation
import LLMTraceModel

/// The identity of a span as it travels: its trace, its own id, and whether the trace is sampled.
/// Carried in a task-local (`SpanContext.current`), so spans opened inside `withSpan` — across
/// `await`, in child tasks and task groups — become its children without being passed along.
public struct SpanContext: Sendable, Hashable {
    public var traceID: TraceID
    public var spanID: SpanID
    public var sampled: Bool

    public init(traceID: TraceID, spanID: SpanID, sampled: Bool) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
    }

    /// The span the current task is in, if any.
    @TaskLocal public static var current: SpanContext?

    /// W3C `traceparent` (`00-<trace id>-<span id>-<flags>`) for an outgoing request.
    public var traceparent: String {
        "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")"
    }

    /// Reads an incoming `traceparent` header; nil when it is not a valid version-00 value (all-zero
    /// ids are invalid, as the W3C recommendation says).
    public init?(traceparent: String) {
        let parts = traceparent.trimmingCharacters(in: .whitespaces).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              parts[0] != "00" || parts.count == 4,
              let t = TraceID(hex: parts[1]), let s = SpanID(hex: parts[2]), let flags = UInt8(parts[3], radix: 16),
              !t.isZero, !s.isZero else { return nil }
        self.init(traceID: t, spanID: s, sampled: flags & 1 == 1)
    }
}

/// Random trace and span ids: a 64-bit state advanced by a Weyl sequence and mixed (splitmix64),
/// seeded from the system's generator once; cheap enough for the span hot path.
final class IDGenerator: @unchecked Sendable {
    private let lock = NSLock()
    private var state: UInt64

    init() {
        var g = SystemRandomNumberGenerator()
        state = g.next()
    }

    /// `n` consecutive draws under one lock.
    @inline(__always)
    private func draw(_ n: UInt64) -> UInt64 {
        lock.lock()
        let base = state
        state &+= n &* 0x9E37_79B9_7F4A_7C15
        lock.unlock()
        return base
    }

    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    func spanID() -> SpanID {
        while true { let v = Self.mix(draw(1) &+ 0x9E37_79B9_7F4A_7C15); if v != 0 { return SpanID(v) } }
    }

    /// A root's trace id and span id, drawn together.
    func rootIDs() -> (TraceID, SpanID) {
        while true {
            let b = draw(3)
            let t = TraceID(hi: Self.mix(b &+ 0x9E37_79B9_7F4A_7C15), lo: Self.mix(b &+ 2 &* 0x9E37_79B9_7F4A_7C15))
            let s = Self.mix(b &+ 3 &* 0x9E37_79B9_7F4A_7C15)
            if !t.isZero && s != 0 { return (t, SpanID(s)) }
        }
    }
}

/// Wall-clock nanoseconds from a monotonic clock anchored once to the wall clock, so a span's
/// duration never goes negative when the system clock is stepped.
struct SpanClock: Sendable {
    let wallBase: Int64
    let monoBase: UInt64

    init() {
        wallBase = Int64(Date().timeIntervalSince1970 * 1e9)
        monoBase = DispatchTime.now().uptimeNanoseconds
    }

    func now() -> Int64 {
        wallBase &+ Int64(bitPattern: DispatchTime.now().uptimeNanoseconds &- monoBase)
    }
}
