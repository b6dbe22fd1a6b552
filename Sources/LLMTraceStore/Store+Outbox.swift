#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel

/// The outbox: every acknowledged span, read in order by one consumer that forwards it elsewhere
/// (the ClickHouse sink), with the position that consumer has had confirmed kept in the data
/// directory. The WAL and the segments are the outbox's storage; nothing is copied for it.
///
/// A position is a segment id and a row. Spans arrive in a head that becomes segment `id` when it
/// is sealed, so the live head is read by its row order (`segmentOrder == false`); a sealed
/// segment's rows are sorted by trace, so a segment is read in its own row order. When a head the
/// consumer was part-way through is published as a segment before it finished, the consumer reads
/// that segment passing over the rows it already had (the store remembers, for its newest few
/// segments, which head row each segment row came from); when that is not known (after a restart)
/// it starts the segment again from its first row: re-sent spans are the consumer's to collapse
/// (the ClickHouse tables deduplicate on project, trace id and span id); none is skipped.
///
/// After a crash the head's rows are sealed from the WAL into a segment whose id is never below the
/// confirmed position (`OutboxOptions` raises the first free id), and a head-order position that
/// has not covered that whole segment starts it again. Retention keeps segments the consumer has
/// not confirmed, up to `budgetBytes`; past it the oldest go anyway and are counted as lost.
/// File format: FORMAT.md, "Outbox cursor".
public struct OutboxPosition: Sendable, Equatable, CustomStringConvertible {
    public var segment: UInt64
    public var row: Int
    /// Rows of a sealed segment in its stored order, rather than a head's in arrival order.
    public var segmentOrder: Bool
    /// In segment order: rows that were among the head's first `skipBelow` (already delivered
    /// from the head before it was sealed) are passed over. Known only while the store that sealed
    /// the segment runs; after a restart the segment is sent whole.
    public var skipBelow: Int

    public init(segment: UInt64, row: Int, segmentOrder: Bool, skipBelow: Int = 0) {
        self.segment = segment
        self.row = row
        self.segmentOrder = segmentOrder
        self.skipBelow = skipBelow
    }

    public static let start = OutboxPosition(segment: 1, row: 0, segmentOrder: false)

    public var description: String {
        "segment \(segment) row \(row) (\(segmentOrder ? "segment" : "arrival") order\(skipBelow > 0 ? ", past the head's first \(skipBelow)" : ""))"
    }

    /// `llmtrace-outbox 1` then `segment N`, `row N`, `order head|segment`, `sent N`, `scores N`
    /// (the last score row delivered), one per line.
    func encoded(sent: UInt64, scores: Int64) -> [UInt8] {
        Array("llmtrace-outbox 1\nsegment \(segment)\nrow \(row)\norder \(segmentOrder ? "segment" : "head")\nskip \(skipBelow)\nsent \(sent)\nscores \(scores)\n".utf8)
    }

    static func decode(_ bytes: [UInt8]) -> (OutboxPosition, sent: UInt64, scores: Int64)? {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard lines.first == "llmtrace-outbox 1" else { return nil }
        var fields: [Substring: Substring] = [:]
        for l in lines.dropFirst() {
            let kv = l.split(separator: " ", maxSplits: 1)
            if kv.count == 2 { fields[kv[0]] = kv[1] }
        }
        guard let s = fields["segment"].flatMap({ UInt64($0) }), s >= 1, let r = fields["row"].flatMap({ Int($0) }), r >= 0,
              let o = fields["order"], o == "head" || o == "segment" else { return nil }
        return (OutboxPosition(segment: s, row: r, segmentOrder: o == "segment", skipBelow: fields["skip"].flatMap { Int($0) } ?? 0), fields["sent"].flatMap { UInt64($0) } ?? 0,
                fields["scores"].flatMap { Int64($0) } ?? 0)
    }
}

/// An outbox consumer's settings (`StoreOptions.outbox`).
public struct OutboxOptions: Sendable {
    /// Names the cursor file, `outbox-<name>.cursor` in the data directory.
    public var name: String
    /// Retention keeps unconfirmed segments while they take up to this many bytes.
    public var budgetBytes: Int

    public init(name: String, budgetBytes: Int = 10 << 30) {
        self.name = name
        self.budgetBytes = budgetBytes
    }
}

/// What one `outboxRead` hands over.
public struct OutboxBatch: Sendable {
    public var spans: [Span]
    /// The position after these spans: confirm it once they are delivered.
    public var next: OutboxPosition
    /// True when nothing acknowledged is left after `next` right now.
    public var caughtUp: Bool
}

/// How far the consumer is behind.
public struct OutboxLag: Sendable, Equatable {
    public var spans: Int
    /// Bytes of sealed segments not yet confirmed (what retention is holding back for it).
    public var heldBytes: Int
    /// Unconfirmed spans retention dropped anyway, past the budget, since the store opened.
    public var lostSpans: Int
    public var confirmed: OutboxPosition
    /// Spans confirmed since the cursor file was created.
    public var sentTotal: UInt64
    /// When the oldest unconfirmed span was acknowledged (wall clock; for a segment sealed before
    /// this start, when it was sealed): nil when nothing waits.
    public var oldestNanos: Int64?
}

/// The outbox's state in a store (guarded by `Store.state`).
struct OutboxState {
    var options: OutboxOptions
    var path: String
    var confirmed: OutboxPosition
    var sent: UInt64
    /// The last score row (index.db) delivered.
    var scoreRow: Int64
    var lost = 0
    /// For a segment whose head the consumer was part-way through when it was sealed (`readingHead`;
    /// at most the newest four): each row's row in its head.
    var origins: [UInt64: [UInt32]] = [:]
    /// When the first span of each of those segments' heads was acknowledged.
    var firstAcknowledged: [UInt64: Int64] = [:]
    /// The head the consumer last read rows from: if it is sealed before the consumer finished
    /// it, the new segment's row origins are kept (for no other segment: a consumer further
    /// behind reads those segments whole).
    var readingHead: UInt64?
    /// The text store of the segment being read, inflated once for all its chunks.
    var texts: (segment: UInt64, texts: [String])?
}

extension Store {
    // MARK: Outbox

    static func outboxPath(_ dir: String, _ name: String) -> String { dir + "/outbox-\(name).cursor" }

    /// Head rows decoded per hold of the store's lock.
    static let outboxHeadChunk = 2_048

    /// Reads the cursor before recovery, so that the segment recovery seals gets an id no lower
    /// than the confirmed position.
    func loadOutbox() throws {
        guard let o = options.outbox else { return }
        let path = Self.outboxPath(options.directory, o.name)
        var pos = OutboxPosition.start
        var sent: UInt64 = 0, scores: Int64 = 0
        if FileIO.exists(path) {
            guard let d = OutboxPosition.decode(try FileIO.readFile(path)) else {
                throw StoreError("unreadable outbox cursor (delete it to send every stored span again)", path: path)
            }
            (pos, sent, scores) = d
        }
        outbox = OutboxState(options: o, path: path, confirmed: pos, sent: sent, scoreRow: scores)
        nextSegmentID = max(nextSegmentID, pos.segment)
    }

    /// After recovery: a head-order position inside a segment the crash or the last stop sealed
    /// either covered all of it or starts it again.
    func normalizeOutbox() {
        guard var o = outbox else { return }
        var p = o.confirmed
        if p.skipBelow > 0 {
            // Which rows were skipped is not known after a restart: the segment is sent whole.
            p = OutboxPosition(segment: p.segment, row: 0, segmentOrder: true)
        }
        if !p.segmentOrder && p.row > 0 {
            if let seg = segments[p.segment] {
                p = p.row >= seg.rowCount ? OutboxPosition(segment: p.segment + 1, row: 0, segmentOrder: false)
                                          : OutboxPosition(segment: p.segment, row: 0, segmentOrder: true)
            } else {
                p.row = 0
            }
        }
        o.confirmed = p
        outbox = o
    }

    /// The position the consumer has had confirmed, and the last score row it has.
    public var outboxConfirmed: (position: OutboxPosition, scoreRow: Int64)? { state.withLock { outbox.map { ($0.confirmed, $0.scoreRow) } } }

    /// Scores stored after row `row` (index.db's order of arrival), up to `limit`.
    public func outboxScores(after row: Int64, limit: Int) throws -> [(row: Int64, score: Score)] {
        try index.scores(afterRow: row, limit: limit)
    }

    /// Up to `limit` spans from `position` on, in outbox order. Empty (and `caughtUp`) when the
    /// consumer has everything acknowledged so far.
    public func outboxRead(from position: OutboxPosition, limit: Int) throws -> OutboxBatch {
        var p = position
        while true {
            enum Step { case spans([Span], OutboxPosition, Bool), segment(SegmentReader), again }
            let step: Step = state.withLock {
                let live = nextSegmentID
                if p.segment > live { p = OutboxPosition(segment: live, row: 0, segmentOrder: false) }  // never past what exists
                if p.segmentOrder {
                    if let seg = segments[p.segment] { return .segment(seg) }
                    p = OutboxPosition(segment: nextOutboxID(after: p.segment), row: 0, segmentOrder: false)
                    return .again
                }
                let h: Head? = p.segment == live ? head : sealing.first { $0.id == p.segment }?.head
                if let h {
                    if p.row > h.count { p.row = 0 }  // cannot happen; never skip rows if it does
                    // At most a few thousand rows per hold of the lock appends take: decoding
                    // 20,000 spans at once held ingest up for tens of milliseconds.
                    let n = min(limit, h.count - p.row, Self.outboxHeadChunk)
                    if n > 0 {
                        outbox?.readingHead = p.segment
                        let spans = h.texts.withTexts { t in (p.row..<(p.row + n)).map { h.span($0, texts: t) } }
                        let next = OutboxPosition(segment: p.segment, row: p.row + n, segmentOrder: false)
                        return .spans(spans, next, p.segment == live && next.row == h.count)
                    }
                    if p.segment == live { return .spans([], p, true) }
                    p = OutboxPosition(segment: p.segment + 1, row: 0, segmentOrder: false)  // a head being sealed, read whole
                    return .again
                }
                if let seg = segments[p.segment] {
                    if p.row > 0 && p.row >= seg.rowCount {
                        p = OutboxPosition(segment: nextOutboxID(after: p.segment), row: 0, segmentOrder: false)
                    } else {
                        // Part-read head, now a segment: pass over what was delivered when the rows'
                        // origins are known, else send it whole.
                        let known = p.row > 0 && outbox?.origins[p.segment] != nil
                        p = OutboxPosition(segment: p.segment, row: 0, segmentOrder: true, skipBelow: known ? p.row : 0)
                    }
                    return .again
                }
                p = OutboxPosition(segment: nextOutboxID(after: p.segment), row: 0, segmentOrder: false)
                return .again
            }
            switch step {
            case .again: continue
            case .spans(let spans, let next, let caughtUp): return OutboxBatch(spans: spans, next: next, caughtUp: caughtUp)
            case .segment(let seg):
                let end = min(seg.rowCount, p.row + limit)
                guard p.row < end else {
                    p = state.withLock { OutboxPosition(segment: nextOutboxID(after: p.segment), row: 0, segmentOrder: false) }
                    continue
                }
                // The segment's texts, inflated once for all of its chunks.
                let texts: [String]
                if let t = state.withLock({ outbox?.texts }), t.segment == seg.id {
                    texts = t.texts
                } else {
                    texts = try seg.allTexts()
                    state.withLock { outbox?.texts = (seg.id, texts) }
                }
                var spans = try seg.spans(rows: p.row..<end, texts: texts)
                if p.skipBelow > 0 {
                    guard let origins = state.withLock({ outbox?.origins[p.segment] }), origins.count == seg.rowCount else {
                        // Forgotten meanwhile (only the newest few are kept): send it whole.
                        p = OutboxPosition(segment: p.segment, row: 0, segmentOrder: true)
                        continue
                    }
                    let floor = UInt32(clamping: p.skipBelow), start = p.row
                    spans = spans.enumerated().filter { origins[start + $0.offset] >= floor }.map(\.element)
                }
                let next = end == seg.rowCount ? state.withLock { OutboxPosition(segment: nextOutboxID(after: p.segment), row: 0, segmentOrder: false) }
                                               : OutboxPosition(segment: p.segment, row: end, segmentOrder: true, skipBelow: p.skipBelow)
                if spans.isEmpty {
                    p = next  // a chunk of rows all delivered before: on to the next
                    continue
                }
                return OutboxBatch(spans: spans, next: next, caughtUp: false)
            }
        }
    }

    /// The smallest id above `id` that holds spans or will: a segment, a head being sealed, or the
    /// live head. Must hold `state`.
    private func nextOutboxID(after id: UInt64) -> UInt64 {
        var best = max(nextSegmentID, id + 1)
        for k in segments.keys where k > id && k < best { best = k }
        for s in sealing where s.id > id && s.id < best { best = s.id }
        return best
    }

    /// Remembers a just-sealed segment's row origins if the consumer was part-way through its head.
    /// Must hold `state`.
    func keepOutboxOrigins(_ id: UInt64, _ origins: [UInt32], firstAcknowledged: Int64?) {
        guard outbox != nil else { return }
        if outbox!.readingHead == id { outbox!.origins[id] = origins }
        if let firstAcknowledged { outbox!.firstAcknowledged[id] = firstAcknowledged }
        while outbox!.firstAcknowledged.count > 4, let oldest = outbox!.firstAcknowledged.keys.min() { outbox!.firstAcknowledged[oldest] = nil }
        // 4 bytes a row: the newest four segments (~1 MB at the default seal size).
        while outbox!.origins.count > 4, let oldest = outbox!.origins.keys.min() { outbox!.origins[oldest] = nil }
    }

    /// Records that everything before `position` was delivered (`spans` of them in this step) and
    /// writes the cursor file. A cursor file left behind by a crash is only ever behind: spans are
    /// sent again, never skipped.
    public func outboxConfirm(_ position: OutboxPosition, spans: Int, scoreRow: Int64? = nil) throws {
        guard let o = state.withLock({ () -> OutboxState? in
            guard outbox != nil else { return nil }
            outbox!.confirmed = position
            outbox!.sent &+= UInt64(spans)
            for id in outbox!.origins.keys where id < position.segment { outbox!.origins[id] = nil }
            for id in outbox!.firstAcknowledged.keys where id < position.segment { outbox!.firstAcknowledged[id] = nil }
            if let t = outbox!.texts, t.segment < position.segment || !position.segmentOrder { outbox!.texts = nil }
            if let scoreRow { outbox!.scoreRow = scoreRow }
            return outbox
        }) else { return }
        try FileIO.replaceFile(o.path, with: position.encoded(sent: o.sent, scores: o.scoreRow))
    }

    /// Spans after the confirmed position, and the bytes retention keeps for them.
    public func outboxLag() -> OutboxLag? {
        state.withLock {
            guard let o = outbox else { return nil }
            let p = o.confirmed
            var spans = 0, held = 0
            for (id, seg) in segments where id >= p.segment {
                if id == p.segment {
                    spans += p.segmentOrder ? max(0, seg.rowCount - p.row - (p.row == 0 ? p.skipBelow : 0))
                                            : (p.row >= seg.rowCount && p.row > 0 ? 0 : seg.rowCount - (outbox?.origins[id] != nil ? p.row : 0))
                } else {
                    spans += seg.rowCount
                }
                held += seg.fileSize
            }
            for s in sealing where s.id >= p.segment { spans += s.id == p.segment && !p.segmentOrder ? max(0, s.head.count - p.row) : s.head.count }
            if nextSegmentID >= p.segment { spans += nextSegmentID == p.segment && !p.segmentOrder ? max(0, head.count - p.row) : head.count }
            var oldest: Int64? = nil
            if spans > 0 {
                let h: Head? = p.segment == nextSegmentID ? head : sealing.first { $0.id == p.segment }?.head
                if let h, !p.segmentOrder, p.row < h.count {
                    oldest = h.acknowledgedNanos(row: p.row)
                } else if let t = o.firstAcknowledged[p.segment] {
                    oldest = t
                } else if let seg = segments[p.segment] {
                    oldest = seg.createdNanos
                } else {
                    // Past the cursor's segment: the first that holds spans.
                    let next = (sealing.map { ($0.id, $0.head) } + [(nextSegmentID, head)]).first { $0.0 > p.segment && $0.1.count > 0 }
                    oldest = segments.filter { $0.key > p.segment }.min { $0.key < $1.key }?.value.createdNanos ?? next?.1.acknowledgedNanos(row: 0)
                }
            }
            return OutboxLag(spans: spans, heldBytes: held, lostSpans: o.lost, confirmed: p, sentTotal: o.sent, oldestNanos: oldest)
        }
    }

    /// Which expired segments retention may drop: those already confirmed, and past the budget the
    /// oldest unconfirmed ones (counted as lost). Must hold `state`.
    func outboxAllowsDropping(_ expired: [SegmentReader]) -> [SegmentReader] {
        guard let o = outbox else { return expired }
        let floor = o.confirmed.segment
        var held = segments.values.filter { $0.id >= floor }.reduce(0) { $0 + $1.fileSize }
        var out: [SegmentReader] = []
        for r in expired.sorted(by: { $0.id < $1.id }) {
            if r.id < floor { out.append(r); continue }
            guard held > o.options.budgetBytes else { continue }
            held -= r.fileSize
            let unsent = r.id == floor && o.confirmed.segmentOrder ? r.rowCount - o.confirmed.row : r.rowCount
            outbox!.lost += unsent
            options.log(.warning, "retention: dropping segment \(r.id) (\(unsent) spans) before the \(o.options.name) outbox confirmed it: " +
                        "unconfirmed segments take more than the outbox budget of \(o.options.budgetBytes) bytes")
            out.append(r)
        }
        return out
    }
}
