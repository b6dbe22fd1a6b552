#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The platform's cheapest mutex (os_unfair_lock on Apple platforms, a pthread mutex elsewhere),
/// kept in memory the caller allocated: a span holds it in the same allocation as its record, so a
/// span costs no lock object of its own.
enum SpanLock {
    #if canImport(Darwin)
    typealias Primitive = os_unfair_lock
    static func initialize(_ p: UnsafeMutablePointer<Primitive>) { p.initialize(to: os_unfair_lock()) }
    static func destroy(_ p: UnsafeMutablePointer<Primitive>) {}
    @inline(__always) static func lock(_ p: UnsafeMutablePointer<Primitive>) { os_unfair_lock_lock(p) }
    @inline(__always) static func unlock(_ p: UnsafeMutablePointer<Primitive>) { os_unfair_lock_unlock(p) }
    #else
    typealias Primitive = pthread_mutex_t
    static func initialize(_ p: UnsafeMutablePointer<Primitive>) { p.initialize(to: pthread_mutex_t()); pthread_mutex_init(p, nil) }
    static func destroy(_ p: UnsafeMutablePointer<Primitive>) { pthread_mutex_destroy(p) }
    @inline(__always) static func lock(_ p: UnsafeMutablePointer<Primitive>) { pthread_mutex_lock(p) }
    @inline(__always) static func unlock(_ p: UnsafeMutablePointer<Primitive>) { pthread_mutex_unlock(p) }
    #endif
}
