import LLMTraceSupport

/// Logs a failure that a background loop retries (a seal on a full disk, every second) once when
/// it starts, again only when its reason changes, and once when it clears, instead of a line per
/// retry. Keyed by what is failing ("seal", "full-text index", "retention").
final class FailureLog: @unchecked Sendable {
    private let lock = Condition()
    private var failing: [String: (message: String, since: Int64, attempts: Int)] = [:]
    private let log: @Sendable (StoreLog.Level, String) -> Void

    init(_ log: @escaping @Sendable (StoreLog.Level, String) -> Void) { self.log = log }

    func failed(_ what: String, _ error: Error) {
        let message = "\(what) failed: \(error); retrying every second"
        let new: Bool = lock.withLock {
            let prior = failing[what]
            failing[what] = (message, prior?.since ?? monotonicNanos(), (prior?.attempts ?? 0) + 1)
            return prior?.message != message
        }
        if new { log(.error, message) }
    }

    func succeeded(_ what: String) {
        guard let f = lock.withLock({ failing.removeValue(forKey: what) }) else { return }
        let secs = Double(monotonicNanos() - f.since) / 1e9
        log(.info, "\(what) works again after \(f.attempts) failed attempt(s) over \(Int(secs.rounded())) s")
    }
}
