import LLMTraceSupport

/// The collector's budget of decoded request-body bytes in flight (compressed bodies only: an
/// identity body is already bounded by the server's body limit). Each request takes a `Hold`,
/// reserves as its decoded buffer grows, and gives everything back when the hold is released.
public final class DecodeBudget: @unchecked Sendable {
    public let limit: Int
    private let lock = Condition()
    private var inFlight = 0

    public init(limit: Int) { self.limit = limit }

    public var bytesInFlight: Int { lock.withLock { inFlight } }

    func hold() -> Hold { Hold(self) }

    private func take(_ n: Int) -> Bool {
        lock.withLock {
            guard inFlight + n <= limit else { return false }
            inFlight += n
            return true
        }
    }

    private func give(_ n: Int) { lock.withLock { inFlight -= n } }

    /// One request's share; released when the last reference goes.
    public final class Hold: @unchecked Sendable {
        private let budget: DecodeBudget
        private var held = 0

        init(_ budget: DecodeBudget) { self.budget = budget }

        func reserve(_ n: Int) -> Bool {
            guard budget.take(n) else { return false }
            held += n
            return true
        }

        deinit { if held > 0 { budget.give(held) } }
    }
}
