import CLinux

/// Byte-level helpers the evaluators share. Texts are scanned as the UTF-8 the user sent (nothing
/// normalised); only ASCII is case-folded, and only in copies used for matching.
enum TextScan {
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
    @inline(__always) static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }
    @inline(__always) static func isUpper(_ b: UInt8) -> Bool { b &- 0x41 < 26 }
    @inline(__always) static func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isLetter(b) }
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { isUpper(b) ? b | 0x20 : b }

    /// Whether `needle` occurs in `hay` (glibc's memmem).
    static func contains(_ hay: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, hay.count >= needle.count else { return needle.isEmpty }
        return needle.withUnsafeBufferPointer { n in memmem(hay.baseAddress, hay.count, n.baseAddress, n.count) != nil }
    }

    /// An ASCII-lowercased copy of at most `limit` bytes of `text`, with runs of white space
    /// folded to one space (so "Ignore  all\nprevious" matches "ignore all previous").
    static func folded(_ text: String, limit: Int = .max, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        var lastSpace = true
        for b in text.utf8.prefix(limit) {
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 {
                if !lastSpace { out.append(0x20); lastSpace = true }
            } else {
                out.append(lower(b))
                lastSpace = false
            }
        }
    }
}
