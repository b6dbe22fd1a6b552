#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// A pthread mutex with one condition variable: the primitive under group commit and the seal gate.
public final class Condition: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()

    public init() {
        pthread_mutex_init(&mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(&cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    public func lock() { pthread_mutex_lock(&mutex) }
    public func unlock() { pthread_mutex_unlock(&mutex) }

    /// Waits for a broadcast; the mutex must be held.
    public func wait() { pthread_cond_wait(&cond, &mutex) }

    /// Waits at most `nanos`; the mutex must be held.
    public func wait(nanos: Int64) {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let total = Int64(ts.tv_nsec) + nanos
        ts.tv_sec += Int(total / 1_000_000_000)
        ts.tv_nsec = Int(total % 1_000_000_000)
        pthread_cond_timedwait(&cond, &mutex, &ts)
    }

    public func broadcast() { pthread_cond_broadcast(&cond) }

    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

/// Monotonic nanoseconds, for durations.
@inline(__always)
public func monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// CPU time the calling thread has used, in nanoseconds (what a budget of CPU should count: wall
/// time would also count the time the thread sat preempted on a busy machine).
public func threadCPUNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// Wall-clock nanoseconds since the Unix epoch.
@inline(__always)
public func wallNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// Names the calling thread for top -H, perf and /proc (at most 15 bytes are kept).
public func setCurrentThreadName(_ name: String) {
    clinux_set_thread_name(name)
}
