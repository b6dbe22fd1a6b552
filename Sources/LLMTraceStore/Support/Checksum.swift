import CZlib
import CLinux

/// The checksums of the on-disk formats: CRC-32/IEEE (zlib's `crc32`, polynomial 0xEDB88320 reflected)
/// for every frame, CRC-32C for postings files (`crc32c`).
public enum Checksum {
    public static func crc32(_ b: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let p = b.baseAddress, b.count > 0 else { return seed }
        return UInt32(CZlib.crc32(UInt(seed), p.assumingMemoryBound(to: UInt8.self), UInt32(b.count)))
    }

    public static func crc32(_ b: [UInt8]) -> UInt32 {
        b.withUnsafeBytes { crc32($0) }
    }

    /// Whether CRC-32C runs on the CPU's instruction (SSE4.2), not bit by bit.
    static let hardwareCRC32C = clinux_has_sse42() != 0

    /// CRC-32C (Castagnoli; check value 0xE3069283 for "123456789"): what files whose whole
    /// length is checked on first use carry (postings version 3), at ~4x zlib's CRC-32 on x86-64.
    public static func crc32c(_ b: UnsafeRawBufferPointer) -> UInt32 {
        guard let p = b.baseAddress, b.count > 0 else { return 0 }
        return ~(hardwareCRC32C ? clinux_crc32c_hw(~0, p, b.count) : clinux_crc32c_sw(~0, p, b.count))
    }

    public static func crc32c(_ b: [UInt8]) -> UInt32 {
        b.withUnsafeBytes { crc32c($0) }
    }
}
