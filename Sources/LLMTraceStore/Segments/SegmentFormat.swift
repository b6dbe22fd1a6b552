/// Constants of the segment file format (FORMAT.md, "Segment files"). The numbers here are the
/// numbers in the document; change both together.
public enum SegmentFormat {
    public static let magic: [UInt8] = Array("LTSG".utf8)
    /// 3: start, duration and the nullable integer columns are bit-packed (encodings 9 and 10);
    /// 2: the header's second u16 names the block codec (`SegmentCompression`); 1: always zlib.
    /// Readers take all three.
    public static let version: UInt16 = 3
    public static let headerSize = 8
    /// footer length (u32) + footer CRC (u32) + magic (4)
    public static let trailerSize = 12
    public static let rowsPerBlock = 2048
    /// Target uncompressed size of a text block: big enough to compress well, small enough that
    /// reading one prompt inflates little else. 16 KiB rather than 64: a trace lookup touches
    /// several blocks (its own texts, pooled chunks and prompts), and at 64 KiB inflating them was
    /// most of a lookup. The text store compresses a little worse (`llmtrace-bench store`: disk
    /// 20.8% of raw JSON before, 21.4% after, postings files included). Readers take block bounds
    /// from the footer, so either size reads.
    public static let textBlockTarget = 16 * 1024

    public static func name(_ id: UInt64) -> String {
        let digits = String(id)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits + ".seg"
    }

    public static func id(fromName name: String) -> UInt64? {
        guard name.hasSuffix(".seg"), name.count == 20 else { return nil }
        return UInt64(name.prefix(16))
    }

    /// Column ids. Stable: they are written in the footer.
    public enum Column: UInt16, CaseIterable, Sendable {
        case traceID = 0, spanID, parentSpanID, start, duration
        case project, service, name, kind, status, provider, requestModel, responseModel, environment
        case promptName, promptVersion, sessionID, userID
        case inputTokens, outputTokens, cachedTokens, reasoningTokens, costUSD, ttft, temperature, maxTokens, topP
        case statusMessage, details, finishReason

        /// Columns added after the first segments were written: a segment without one reads it
        /// as null in every row.
        public static let optional: Set<Column> = [.finishReason]
    }

    /// How a column's blocks are encoded.
    public enum Encoding: UInt8, Sendable {
        /// u64 little-endian per row.
        case rawU64 = 1
        /// Runs of equal 16-byte trace ids: varint run count, then (hi u64, lo u64, varint length) per run.
        case traceRuns = 2
        /// Zigzag varint of the difference to the previous row; the first row of a block is relative to the column minimum.
        case deltaVarint = 3
        /// Unsigned varint per row.
        case varint = 4
        /// Fixed-width little-endian dictionary codes (width in the footer); code 0 is null, code k is entry k-1.
        case dictionary = 5
        /// Varint per row: 0 is null, v+1 is v.
        case nullableVarint = 6
        /// f64 per row; the canonical NaN bit pattern is null.
        case float64 = 7
        /// Compressed with the segment's codec: per row a varint length and that many bytes of
        /// SpanBinaryCodec details.
        case compressedBlobs = 8
        /// Frame of reference, bit-packed (`PackedInts`): per block i64 base, u8 width, the rows'
        /// offsets from the base at that width, 8 zero bytes.
        case packed = 9
        /// As `packed`, with stored 0 as null and v − base + 1 for v.
        case nullablePacked = 10
    }

    public static func encoding(of c: Column) -> Encoding {
        switch c {
        case .traceID: return .traceRuns
        case .spanID, .parentSpanID: return .rawU64
        case .start, .duration: return .packed
        case .project, .service, .name, .kind, .status, .provider, .requestModel, .responseModel, .environment,
             .promptName, .promptVersion, .sessionID, .userID, .statusMessage, .finishReason:
            return .dictionary
        case .inputTokens, .outputTokens, .cachedTokens, .reasoningTokens, .ttft, .maxTokens:
            return .nullablePacked
        case .costUSD, .temperature, .topP: return .float64
        case .details: return .compressedBlobs
        }
    }

    /// Whether a segment may hold column `c` in encoding `e`: the one written now, or the one
    /// segments before version 3 wrote.
    public static func readable(_ e: Encoding, for c: Column) -> Bool {
        if e == encoding(of: c) { return true }
        switch c {
        case .start: return e == .deltaVarint
        case .duration: return e == .varint
        case .inputTokens, .outputTokens, .cachedTokens, .reasoningTokens, .ttft, .maxTokens: return e == .nullableVarint
        default: return false
        }
    }

    /// Null in float64 columns. Spans never carry NaN (ingest rejects non-finite numbers).
    public static let nullDoubleBits: UInt64 = 0x7FF8_0000_0000_0001
}
