import CZlib

/// zlib (RFC 1950) compression of whole buffers, for segment text and payload blocks.
public enum Zlib {
    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// Compresses `input` at `level` (1 fastest … 9 smallest).
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32 = 6) -> [UInt8] {
        let bound = Int(compressBound(UInt(input.count)))
        var out = [UInt8](repeating: 0, count: bound)
        var outLen = UInt(bound)
        let rc = out.withUnsafeMutableBufferPointer { o in
            compress2(o.baseAddress!, &outLen, input.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!, UInt(input.count), level)
        }
        precondition(rc == Z_OK, "compress2 failed: \(rc)")
        out.removeSubrange(Int(outLen)...)
        return out
    }

    public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        input.withUnsafeBytes { compress($0, level: level) }
    }

    /// The most `stored` bytes of zlib data can inflate to: deflate's best ratio is 1032:1 (a
    /// 258-byte match in every 2 bits), plus the 6-byte wrapper. A size claimed above it is not
    /// data this writer produced.
    public static func maxInflatedSize(_ stored: Int) -> Int { 1032 * stored + 64 }

    /// Inflates into exactly `size` bytes; any other outcome is an error (corrupt or wrong size).
    public static func decompress(_ input: UnsafeRawBufferPointer, size: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(size, 1))
        var outLen = UInt(size)
        let rc = out.withUnsafeMutableBufferPointer { o in
            uncompress(o.baseAddress!, &outLen, input.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!, UInt(input.count))
        }
        guard rc == Z_OK, Int(outLen) == size else {
            throw Zlib.Error(description: "zlib inflate failed (code \(rc), \(outLen) of \(size) bytes)")
        }
        if size == 0 { out.removeAll() }
        return out
    }
}
