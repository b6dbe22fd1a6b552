/// Constants and record framing of WAL files. The byte layout is documented in FORMAT.md.
public enum WALFile {
    public static let magic: [UInt8] = Array("LTWL".utf8)
    public static let version: UInt32 = 1
    public static let headerSize = 16
    /// length (u32) + CRC-32 (u32) before each payload.
    public static let frameSize = 8
    public static let recordSpanBatch: UInt8 = 1
    /// Upper bound on one record, so a corrupt length cannot make recovery allocate gigabytes.
    public static let maxRecordSize = 1 << 30
    /// The file `WAL.probe()` writes and removes beside the WAL files after a failed write.
    public static let probeName = "probe.tmp"

    public static func name(_ number: UInt64) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits + ".wal"
    }

    /// The file number in a name written by `name(_:)`, or nil for other files.
    public static func number(fromName name: String) -> UInt64? {
        guard name.hasSuffix(".wal"), name.count == 20 else { return nil }
        return UInt64(name.prefix(16))
    }

    public static func header(number: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: headerSize)
        w.raw(magic)
        w.u32(version)
        w.u64(number)
        return w.bytes
    }
}
