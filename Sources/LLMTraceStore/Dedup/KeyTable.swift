import CLinux

/// The recent keys of one `KeySet` shard: an open-addressing table (linear probing, backward-shift
/// deletion) of the raw keys, slots indexed by `fastrange` of the mixed key's low 56 bits (any
/// capacity, not only powers of two), kept at most 80% full.
struct KeyTable {
    private var slots: [UInt64]
    private(set) var count = 0

    init(capacity: Int) { slots = [UInt64](repeating: 0, count: capacity) }

    var capacity: Int { slots.count }
    var isFull: Bool { (count + 1) * 5 > slots.count * 4 }

    @inline(__always) private func home(_ k: UInt64) -> Int {
        Int(truncatingIfNeeded: (KeySet.mixed(k) << 8).multipliedFullWidth(by: UInt64(slots.count)).high)
    }

    @inline(__always) private func next(_ i: Int) -> Int { i + 1 == slots.count ? 0 : i + 1 }

    /// Asks for the cache line of `k`'s home slot (`KeySet.prefetch`).
    @inline(__always) func prefetch(_ k: UInt64) {
        slots.withUnsafeBufferPointer { if let b = $0.baseAddress { clinux_prefetch(b + home(k)) } }
    }

    func contains(_ k: UInt64) -> Bool {
        guard count > 0 else { return false }
        var i = home(k)
        while true {
            let v = slots[i]
            if v == k { return true }
            if v == 0 { return false }
            i = next(i)
        }
    }

    /// Inserts `k` (the table is not full); false when it was already there.
    mutating func insertIfNew(_ k: UInt64) -> Bool {
        var i = home(k)
        while true {
            let v = slots[i]
            if v == k { return false }
            if v == 0 { slots[i] = k; count += 1; return true }
            i = next(i)
        }
    }

    /// Every key, in slot order.
    func forEach(_ body: (UInt64) -> Void) {
        for k in slots where k != 0 { body(k) }
    }

    /// Empties the table, keeping its slots.
    mutating func removeAll() {
        guard count > 0 else { return }
        slots.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        count = 0
    }

    /// Twice the slots while small (each growth moves every key, and a table fills from 16
    /// slots), a quarter more once large; every key placed again.
    mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: max(16, old.count < 4096 ? 2 * old.count : old.count + old.count / 4))
        count = 0
        for k in old where k != 0 { _ = insertIfNew(k) }
    }

    /// Removes `k`; false when it was not there.
    mutating func remove(_ k: UInt64) -> Bool {
        guard count > 0 else { return false }
        var i = home(k)
        while slots[i] != k {
            if slots[i] == 0 { return false }
            i = next(i)
        }
        // Shift back every later key of the run that may sit in the freed slot.
        var hole = i
        var j = next(i)
        while slots[j] != 0 {
            let h = home(slots[j])
            // Move slots[j] into the hole unless its home lies cyclically in (hole, j].
            let between = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !between {
                slots[hole] = slots[j]
                hole = j
            }
            j = next(j)
        }
        slots[hole] = 0
        count -= 1
        return true
    }
}
