import LLMTraceStore

/// The LZ4 block decoder of segment version 2 on any bytes, and the encoder's round trip.
/// Input: a u16 output size (little-endian), then the block. The decoder must return exactly that
/// many bytes or throw, never trap or touch memory outside its buffers (ASan watches). The whole
/// input, compressed and decoded again, must come back unchanged.
nonisolated(unsafe) let compressor = LZ4Compressor()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 2 else { return 0 }
    let all = UnsafeRawBufferPointer(start: data, count: size)
    let outSize = Int(data[0]) | Int(data[1]) << 8
    if let out = try? LZ4Block.decompress(UnsafeRawBufferPointer(rebasing: all[2...]), size: outSize) {
        precondition(out.count == outSize, "decoded \(out.count) bytes, asked \(outSize)")
    }
    let packed = compressor.compress(all)
    precondition(packed.count <= LZ4Block.maxCompressedSize(size), "\(packed.count) bytes from \(size)")
    let back = try! packed.withUnsafeBytes { try LZ4Block.decompress($0, size: size) }
    precondition(back.elementsEqual(all), "round trip changed \(size) bytes")
    return 0
}
