import LLMTraceModel

/// Text lookup that resolves each id once (through the reader's block cache) and remembers it.
final class MemoTextLookup: TextLookup {
    let reader: SegmentReader
    var error: Error?
    private var memo: [UInt32: String] = [:]

    init(reader: SegmentReader) { self.reader = reader }

    func text(_ id: UInt32) -> String? {
        if let s = memo[id] { return s }
        do {
            let s = try reader.text(Int(id))
            memo[id] = s
            return s
        } catch {
            if self.error == nil { self.error = error }
            return nil
        }
    }
}

/// Text lookup from a segment's text store; remembers the first error for the caller to throw.
final class SegmentTextLookup: TextLookup {
    let reader: SegmentReader
    var error: Error?

    init(reader: SegmentReader) { self.reader = reader }

    func text(_ id: UInt32) -> String? {
        do {
            return try reader.text(Int(id))
        } catch {
            if self.error == nil { self.error = error }
            return nil
        }
    }
}
