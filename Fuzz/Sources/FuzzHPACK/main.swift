import LLMTraceHTTP

/// Any bytes as a sequence of header blocks on one connection (the first byte decides where the
/// cuts fall): the decoder must return fields or throw an HPACKError, never crash or use more than
/// its limits; and every block it decodes must encode and decode back to the same fields.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 1 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let step = Int(bytes[0] % 16) + 1
    var decoder = HPACKDecoder(maxTableSize: 256, maxHeaderListSize: 4096)
    var from = 1
    while from < bytes.count {
        let to = min(bytes.count, from + step * 8)
        do {
            let fields = try decoder.decode(bytes[from..<to])
            var listSize = 0
            for f in fields { listSize += f.name.count + f.value.count + 32 }
            precondition(listSize <= 4096, "a block decoded past the header list limit")
            var block: [UInt8] = []
            HPACKEncoder().encode(fields, into: &block)
            var fresh = HPACKDecoder(maxTableSize: 256, maxHeaderListSize: 1 << 20)
            let again = try fresh.decode(block[...])
            precondition(again == fields, "encoded fields decode differently")
        } catch {
            // Refused with a reason: the connection would end with COMPRESSION_ERROR.
            return 0
        }
        from = to
    }
    return 0
}
