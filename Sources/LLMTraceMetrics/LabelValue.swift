/// Label values as exposed: at most `maxBytes` of UTF-8. A longer value (a service named by a
/// 1 MB string) keeps its first bytes, cut at a character boundary, and ends in "…"; values that
/// differ only past the cut share a series.
public enum LabelValue {
    public static let maxBytes = 256

    public static func bounded(_ s: String) -> String {
        guard s.utf8.count > maxBytes else { return s }
        var u = Array(s.utf8.prefix(maxBytes - 3))  // room for "…" (3 bytes)
        // Drop a UTF-8 sequence the cut split (continuation bytes, then their lead byte).
        while let last = u.last, last & 0xC0 == 0x80 { u.removeLast() }
        if let last = u.last, last >= 0xC0 { u.removeLast() }
        return String(decoding: u, as: UTF8.self) + "…"
    }
}
