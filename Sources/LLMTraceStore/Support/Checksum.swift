import CZlib

/// CRC-32/IEEE (zlib's `crc32`, polynomial 0xEDB88320 reflected), used by every on-disk frame.
public enum Checksum {
    public static func crc32(_ b: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let p = b.baseAddress, b.count > 0 else { return seed }
        return UInt32(CZlib.crc32(UInt(seed), p.assumingMemoryBound(to: UInt8.self), UInt32(b.count)))
    }

    public static func crc32(_ b: [UInt8]) -> UInt32 {
        b.withUnsafeBytes { crc32($0) }
    }
}
