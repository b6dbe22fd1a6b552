import LLMTraceModel

/// The distinct attribute keys of one request. A 512-span export repeats the same few dozen keys
/// thousands of times: the decoders look each key's bytes up here (a hash and a memcmp) instead of
/// allocating a new String, and the mapper classifies each distinct key once per request (by id)
/// instead of once per attribute.
public struct KeyTable: Sendable {
    public private(set) var keys: [String] = []
    private var bytes: [[UInt8]] = []
    private var slots: [Int32]
    private var mask: Int

    public init() {
        slots = [Int32](repeating: -1, count: 256)
        mask = 255
    }

    public var count: Int { keys.count }

    /// The id of `b` as a key, adding it when new.
    public mutating func intern(_ b: UnsafeRawBufferPointer) -> Int32 {
        let h = Int(truncatingIfNeeded: TextHash.hash(b))
        var i = h & mask
        while true {
            let id = slots[i]
            if id < 0 { break }
            let k = bytes[Int(id)]
            if k.count == b.count && (b.count == 0 || k.withUnsafeBytes({ memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 })) {
                return id
            }
            i = (i + 1) & mask
        }
        let id = Int32(keys.count)
        keys.append(String(decoding: b, as: UTF8.self))
        bytes.append(Array(b))
        slots[i] = id
        if keys.count * 2 > slots.count { grow() }
        return id
    }

    public mutating func intern(_ s: String) -> Int32 {
        var s = s
        return s.withUTF8 { intern(UnsafeRawBufferPointer($0)) }
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for (id, k) in bytes.enumerated() {
            var i = Int(truncatingIfNeeded: k.withUnsafeBytes { TextHash.hash($0) }) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(id)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
