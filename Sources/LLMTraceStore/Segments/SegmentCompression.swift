/// How a segment's compressible blocks (text store, details, dictionaries) are stored. Written in
/// the segment header, so every reader knows; a store may hold segments of several kinds.
public enum SegmentCompression: Sendable, Equatable, CustomStringConvertible {
    /// LZ4 blocks (the default): sealing takes ~0.6× the CPU of zlib level 1, for segments ~1.2×
    /// as large (figures in `LZ4Block`).
    case lz4
    /// zlib at a level 1…9: the smallest files, the most CPU (segment version 1 was always zlib).
    case zlib(level: Int32)
    /// Blocks stored as they are.
    case none

    public static let `default` = SegmentCompression.lz4

    /// The codec id in a version 2 header.
    var codecID: UInt16 {
        switch self {
        case .zlib: 0
        case .lz4: 1
        case .none: 2
        }
    }

    public var description: String {
        switch self {
        case .lz4: "lz4"
        case .zlib(let l): "zlib:\(l)"
        case .none: "none"
        }
    }

    /// Parses `lz4`, `none`, `zlib` (level 1), `zlib:N` or a bare zlib level `N` (1…9).
    public init?(parsing text: String) {
        switch text {
        case "lz4": self = .lz4
        case "none": self = .none
        case "zlib": self = .zlib(level: 1)
        default:
            let level = text.hasPrefix("zlib:") ? text.dropFirst(5) : Substring(text)
            guard let n = Int32(level), (1...9).contains(n) else { return nil }
            self = .zlib(level: n)
        }
    }
}

/// The block codec of one segment file, as its header says: compresses on the writer's side
/// (keeping a block as it is when that is no larger) and decodes on the reader's.
struct SegmentBlockCodec {
    enum Kind: UInt16 { case zlib = 0, lz4 = 1, none = 2 }
    let kind: Kind
    /// Version 2 marks a block kept as it is by stored length == raw length; version 1 (zlib
    /// only) has no such blocks.
    let storedMarksRaw: Bool

    /// The codec of a segment with this header version and codec field, or nil when unknown.
    init?(version: UInt16, codecID: UInt16) {
        switch version {
        case 1:
            guard codecID == 0 else { return nil }
            kind = .zlib
            storedMarksRaw = false
        case 2, 3:
            guard let k = Kind(rawValue: codecID) else { return nil }
            kind = k
            storedMarksRaw = true
        default: return nil
        }
    }

    /// The largest raw length a block of `stored` bytes can honestly claim; a footer claiming
    /// more is corrupt (checked before anything is allocated by it).
    func maxRaw(stored: Int) -> Int {
        switch kind {
        // Both bounds exceed `stored`, so a block kept raw (version 2) is within them too.
        case .zlib: Zlib.maxInflatedSize(stored)
        case .lz4: LZ4Block.maxDecodedSize(stored)
        case .none: stored
        }
    }

    func decode(_ bytes: UnsafeRawBufferPointer, raw: Int) throws -> [UInt8] {
        if storedMarksRaw && bytes.count == raw { return Array(bytes) }
        switch kind {
        case .zlib: return try Zlib.decompress(bytes, size: raw)
        case .lz4: return try LZ4Block.decompress(bytes, size: raw)
        case .none: throw LZ4Block.Error(description: "block of \(bytes.count) bytes claims \(raw) uncompressed")
        }
    }
}

/// The writer's side: one compressor for the blocks of one segment.
final class SegmentBlockEncoder {
    let compression: SegmentCompression
    private var lz4: LZ4Compressor?

    init(_ compression: SegmentCompression) {
        self.compression = compression
        if case .lz4 = compression { lz4 = LZ4Compressor() }
    }

    /// The bytes to store for `raw`: compressed, or `raw` itself when compressing does not make
    /// it smaller (readers of version 2 know it by stored length == raw length).
    func encode(_ raw: [UInt8]) -> [UInt8] {
        let packed: [UInt8]
        switch compression {
        case .none: return raw
        case .lz4: packed = lz4!.compress(raw)
        case .zlib(let level): packed = Zlib.compress(raw, level: level)
        }
        return packed.count < raw.count ? packed : raw
    }
}
