import LLMTraceModel

/// The text store: texts by id through the block cache, all of them in order for wide reads, and
/// the id of a given text (attribute keys).
extension SegmentReader {
    /// The decoded text with id `id`.
    func text(_ id: Int) throws -> String {
        guard id >= 0, id < textCount else { throw StoreError("corrupt segment: text id \(id) out of range", path: path) }
        let bi = textBlockIndex(of: id)
        let data = try textBlock(bi)
        var offs = ByteReader(file.bytes, at: textOffsets.offset + 4 * id)
        let start = Int(offs.u32())
        let end: Int
        if id + 1 < textCount && (bi + 1 >= textBlocks.count || id + 1 < textBlocks[bi + 1].first) {
            end = Int(offs.u32())
        } else {
            end = data.count
        }
        guard start <= end, end <= data.count else { throw StoreError("corrupt segment: text \(id) offsets out of range", path: path) }
        return data.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }
    }

    /// The block holding text `id` (0 ≤ id < textCount): the last whose first id is ≤ id.
    func textBlockIndex(of id: Int) -> Int {
        var lo = 0, hi = textBlocks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if textBlocks[mid].first <= id { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Asks the kernel for every text block the rows' details name that this process has not
    /// inflated yet, at once. A point read learns which blocks it needs only as it decodes each
    /// message, so after a restart (file out of the page cache) a trace lookup otherwise waited
    /// for one page fault after another: ~25% of a cold lookup's major faults, and its p99.
    /// The ids come from a decode that resolves every text to "" (its span is dropped).
    func prefetchTexts(ofDetails details: [[UInt8]?]) {
        let blocks = textBlocks(namedBy: details)
        let fresh = lock.withLock { blocks.filter { textBlockCache[$0] == nil } }
        guard !fresh.isEmpty else { return }
        file.willNeed(fresh.map { (textBlocks[$0].block.offset, textBlocks[$0].block.stored) })
    }

    /// The text blocks that decoding these details reads.
    func textBlocks(namedBy details: [[UInt8]?]) -> Set<Int> {
        let recorder = TextIDRecorder()
        var scratch = Span(traceID: TraceID(hi: 0, lo: 0), spanID: SpanID(0), name: "", startNanos: 0, endNanos: 0)
        for case let d? in details {
            d.withUnsafeBytes { p in
                var r = ByteReader(p)
                _ = SpanBinaryCodec.decodeDetails(&r, texts: recorder, into: &scratch)
            }
            scratch.inputMessages.removeAll(keepingCapacity: true)
            scratch.outputMessages.removeAll(keepingCapacity: true)
            scratch.documents.removeAll(keepingCapacity: true)
            scratch.attributes.removeAll(keepingCapacity: true)
            scratch.events.removeAll(keepingCapacity: true)
            scratch.tags.removeAll(keepingCapacity: true)
        }
        var blocks = Set<Int>()
        for id in recorder.ids where Int(id) < textCount { blocks.insert(textBlockIndex(of: Int(id))) }
        return blocks
    }

    /// Every text of the store, in id order (inflates each block once).
    func allTexts() throws -> [String] {
        var out: [String] = []
        out.reserveCapacity(textCount)
        try forEachText { _, bytes in
            out.append(String(decoding: bytes, as: UTF8.self))
            return true
        }
        guard out.count == textCount else { throw StoreError("corrupt segment: text store holds \(out.count) texts, footer says \(textCount)", path: path) }
        return out
    }

    /// Calls `body` with each text's id and bytes in id order, inflating each block once (not
    /// through the lookup cache, which a walk would flush) until `body` returns false.
    func forEachText(_ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Bool) throws {
        let offsets = try checked(textOffsets, "text offsets")
        for (bi, tb) in textBlocks.enumerated() {
            let data = try inflate(tb.block, "text block \(bi)")
            let end = bi + 1 < textBlocks.count ? textBlocks[bi + 1].first : textCount
            guard tb.first <= end, end <= textCount else { throw StoreError("corrupt segment: text block \(bi) ids out of order", path: path) }
            var o = ByteReader(offsets, at: 4 * tb.first)
            var starts: [Int] = []
            for _ in tb.first..<end { starts.append(Int(o.u32())) }
            starts.append(data.count)
            for k in 0..<(end - tb.first) {
                guard starts[k] <= starts[k + 1], starts[k + 1] <= data.count else {
                    throw StoreError("corrupt segment: text \(tb.first + k) offsets out of range", path: path)
                }
                let more = try data.withUnsafeBufferPointer { try body(tb.first + k, UnsafeBufferPointer(rebasing: $0[starts[k]..<starts[k + 1]])) }
                if !more { return }
            }
        }
    }

    func textBlock(_ bi: Int) throws -> [UInt8] {
        if let d = lock.withLock({ textBlockCache[bi] }) { return d }
        let d = try inflate(textBlocks[bi].block, "text block \(bi)")
        lock.withLock {
            textBlockCache[bi] = d
            textCacheOrder.append(bi)
            // Small cache (2 MB): pool texts (system prompts, popular chunks) live in the first blocks and hit often.
            if textCacheOrder.count > 128 { textBlockCache[textCacheOrder.removeFirst()] = nil }
        }
        return d
    }

    /// The id of the text equal to `s`, or nil when the segment has none.
    func textID(of s: String) throws -> Int? {
        if let known = lock.withLock({ textIDCache[ExactString(s)] }) { return known }
        let want = Array(s.utf8)
        var found: Int? = nil
        try forEachText { id, bytes in
            if bytes.count == want.count, bytes.elementsEqual(want) { found = id; return false }
            return true
        }
        lock.withLock { textIDCache[ExactString(s)] = .some(found) }
        return found
    }
}

/// Records the text ids a decode asks for, answering each with "".
final class TextIDRecorder: TextLookup {
    var ids: [UInt32] = []
    func text(_ id: UInt32) -> String? {
        ids.append(id)
        return ""
    }
}
