#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel
import Foundation
import CLinux

/// Reads: traces by id or id prefix, text matches, scan snapshots for the query engine, the head,
/// and the figures the collector exports.
extension Store {
    // MARK: Reads

    /// Every span of a trace, sorted by start time. Reads the head, heads being sealed and segments.
    public func trace(_ id: TraceID) throws -> [Span] {
        var out: [Span] = []
        let readers: [UInt64: SegmentReader] = state.withLock {
            out.append(contentsOf: head.trace(id))
            for s in sealing { out.append(contentsOf: s.head.trace(id)) }
            if !replayed.isEmpty { out.append(contentsOf: replayed.filter { $0.traceID == id }) }
            return segments
        }
        for loc in try index.traceLocations(id) {
            // Segments not yet published (or already dropped) are served by their head, or not at all.
            guard let r = readers[loc.segment] else { continue }
            // From the index database, so checked before it becomes a range (a damaged row must
            // be an error, not a trap).
            guard loc.firstRow >= 0, loc.rowCount >= 0, loc.firstRow <= r.rowCount - loc.rowCount else {
                throw StoreError("index row for trace \(id) names rows \(loc.firstRow)+\(loc.rowCount) of a \(r.rowCount)-row segment", path: index.path)
            }
            out.append(contentsOf: try r.spans(rows: loc.firstRow..<(loc.firstRow + loc.rowCount)))
        }
        out.sort { ($0.startNanos, $0.spanID) < ($1.startNanos, $1.spanID) }
        return out
    }

    /// What a trace id or prefix names: one trace (its spans in start order and its scores), several
    /// (a few of their ids), or none. `project` confines it to one project (a read key).
    public enum TraceLookup {
        case found(TraceDocument)
        case ambiguous([TraceID])
        case notFound
    }

    /// The trace `prefix` names (32 digits: that id; fewer: the one trace they start, if unique),
    /// with the scores of its projects: what `tracectl trace` and `GET /api/traces/{id}` show.
    public func lookUpTrace(_ prefix: TraceIDPrefix, project: String? = nil) throws -> TraceLookup {
        let candidates = prefix.digits.utf8.count == 32 ? [prefix.low] : try traceIDs(prefix: prefix, limit: 10)
        var found: [(TraceID, [Span])] = []
        for id in candidates {
            var spans = try trace(id)
            if let project { spans.removeAll { $0.project != project } }
            if !spans.isEmpty { found.append((id, spans)) }
            if found.count > 3 { break }
        }
        guard let (id, spans) = found.first else { return .notFound }
        guard found.count == 1 else { return .ambiguous(found.map(\.0)) }
        var scores: [Score] = []
        for p in project.map({ [$0] }) ?? Array(Set(spans.map(\.project))).sorted() {
            scores += try index.scores(project: p, trace: id)
        }
        return .found(TraceDocument(traceID: id, spans: spans, scores: scores))
    }

    /// The traces whose id starts with `prefix`, at most `limit` (ascending): enough to tell a
    /// unique prefix from an ambiguous one. Searches the head, heads being sealed, replayed spans
    /// and the index.
    public func traceIDs(prefix: TraceIDPrefix, limit: Int = 2) throws -> [TraceID] {
        var found = Set<TraceID>()
        state.withLock {
            found.formUnion(head.traceIDs(prefix))
            for s in sealing { found.formUnion(s.head.traceIDs(prefix)) }
            for s in replayed where prefix.matches(s.traceID) { found.insert(s.traceID) }
        }
        found.formUnion(try index.traceIDs(from: prefix.low, to: prefix.high, limit: limit))
        return Array(found.sorted().prefix(limit))
    }

    /// Hashes of the message and document paragraphs matching an FTS5 query (at most `limit`; more
    /// is an error that says so). Paragraphs of the last seconds may not be indexed yet. The limit
    /// bounds the set a query holds (2M hashes: about 50 MB while it runs); postings files make a
    /// broad match cheap per segment, so it is set by memory, not time.
    /// Answers are cached while the index is unchanged (`TextMatchCache`).
    public func matchingTextHashes(_ query: String, limit: Int = 2_000_000) throws -> Set<Int64> {
        let version = try index.dataVersion()
        let key = "\(limit)\u{0}\(query)"
        if let hit = textMatches.get(key, version: version) { return hit }
        let hashes = try index.matchTexts(query, limit: limit + 1)
        guard hashes.count <= limit else {
            throw StoreError("more than \(limit) paragraphs match '\(query)'; add terms to narrow it")
        }
        let set = Set(hashes)
        textMatches.put(key, version: version, set)
        return set
    }

    /// A full-text condition: plain words are answered from term postings and the head without
    /// FTS5 (`TextMatch`); anything else asks FTS5 now (`matchingTextHashes`).
    public func textMatch(_ query: String) throws -> TextMatch {
        state.withLock { lastTextQueryNanos = monotonicNanos() }
        if let terms = TextMatch.plainTerms(query) {
            return TextMatch(query: query, terms: terms, fts: { try self.matchingTextHashes(query) })
        }
        return TextMatch(query: query, hashes: try matchingTextHashes(query))
    }

    /// What a query needs of the unsealed rows beyond their fixed fields.
    public struct ScanRequest: Sendable {
        /// Full-text conditions: which rows hold a matching paragraph.
        public var matching: [TextMatch]
        /// Attribute keys: each row's value.
        public var attributes: [String]
        public init(matching: [TextMatch] = [], attributes: [String] = []) {
            self.matching = matching
            self.attributes = attributes
        }
    }

    /// The start of the oldest span the store holds (nil when empty), no earlier than its
    /// retention reaches back: where the window of spans it can answer for begins.
    public func oldestStartNanos(now: Int64 = wallNanos()) -> Int64? {
        let oldest: Int64? = state.withLock {
            var m = replayed.map(\.startNanos).min() ?? .max
            for s in segments.values { m = min(m, s.minStart) }
            for h in sealing.map(\.head) + [head] where h.count > 0 { m = min(m, h.minStart) }
            return m == .max ? nil : m
        }
        guard let oldest else { return nil }
        if let r = options.retentionNanos { return max(oldest, now - r) }
        return oldest
    }

    /// A scan snapshot taken at one moment: published segments (oldest first), the rows not yet in
    /// a segment with their fixed fields, and what the request asked of those rows (same order).
    public struct ScanSnapshot: Sendable {
        public var segments: [SegmentReader]
        public var headRows: [Span]
        public var headMatches: [[UInt8]]
        public var headAttributes: [String: [AttributeValue?]]
        public init(segments: [SegmentReader], headRows: [Span], headMatches: [[UInt8]] = [], headAttributes: [String: [AttributeValue?]] = [:]) {
            self.segments = segments
            self.headRows = headRows
            self.headMatches = headMatches
            self.headAttributes = headAttributes
        }
    }

    /// A scan snapshot, with per set of paragraph hashes which unsealed rows hold a matching
    /// paragraph and per attribute key each unsealed row's value. Computed under the store lock, so
    /// a full-text or attribute query costs ingest a pause proportional to the head.
    public func scanSnapshot(_ request: ScanRequest) -> ScanSnapshot {
        let sets = request.matching
        // FTS5 is asked before the store lock is taken, never under it.
        for m in sets where m.terms == nil { _ = try? m.hashes() }
        return state.withLock {
            var rows = replayed
            var matches: [[UInt8]] = sets.map { m in replayed.map { ((try? m.matches($0)) ?? false) ? 1 : 0 } }
            var attributes: [String: [AttributeValue?]] = [:]
            for key in request.attributes {
                attributes[key] = replayed.map { $0.attribute(key) }
            }
            for h in sealing.map(\.head) + [head] {
                rows.append(contentsOf: h.fixedSpans)
                for k in sets.indices { matches[k].append(contentsOf: h.rows(matching: sets[k])) }
                for key in request.attributes { attributes[key]!.append(contentsOf: h.attributes(key)) }
            }
            return ScanSnapshot(segments: segments.values.sorted { $0.id < $1.id }, headRows: rows, headMatches: matches, headAttributes: attributes)
        }
    }

    /// What a query scans, taken at one moment: the published segments (oldest first) and the rows
    /// not yet in a segment (head, heads being sealed, replayed WAL) with their fixed fields only:
    /// messages, documents, tags, attributes and events are left empty.
    public func scanSnapshot() -> (segments: [SegmentReader], headRows: [Span]) {
        let s = scanSnapshot(ScanRequest())
        return (s.segments, s.headRows)
    }

    /// Snapshot of spans in the head and sealing heads (for scans and tests).
    public func headSpans() -> [Span] {
        state.withLock { replayed + sealing.flatMap { $0.head.allSpans } + head.allSpans }
    }

    /// Drops the segment and postings pages reads have mapped from this process's RSS. They stay
    /// in the page cache, so the next read maps them again without I/O (a minor fault a page).
    /// llmtraced calls it after each query it answers: a scan over 10M spans maps hundreds of MB
    /// of columns, which would otherwise stay counted in the collector's RSS (1.5 GB at full ingest
    /// while answering the query bench's set) until the kernel wanted the memory back.
    public func releaseMappedPages() {
        for s in segmentReaders { s.dropResidentPages() }
    }

    public var segmentReaders: [SegmentReader] {
        state.withLock { segments.values.sorted { $0.id < $1.id } }
    }

    /// Why appends would fail right now (read-only, closing, a WAL write error), or nil when the
    /// store accepts writes: what `/readyz` reports.
    public var notWritableReason: String? {
        guard let wal else { return "store is open read-only" }
        if state.withLock({ stopping }) { return "store is shutting down" }
        if let f = state.withLock({ sealFailure }) { return "sealing failed (ingest paused until a retry succeeds): \(f)" }
        if let f = wal.writeFailure { return "writing the write-ahead log failed (retried with each request): \(f)" }
        return nil
    }
    public var headCount: Int { state.withLock { head.count } }
    /// Segments and spans retention has deleted since the store opened.
    public var retentionDeleted: (segments: Int, spans: Int) { state.withLock { retentionDropped } }
    public var walBytesWritten: UInt64 { wal?.bytesWritten ?? 0 }
    public var walFsyncs: UInt64 { wal?.fsyncCount ?? 0 }
    public var walFsyncNanos: Int64 { wal?.fsyncNanosTotal ?? 0 }
    /// Total time appends spent waiting for a seal to finish (summed over concurrent appenders).
    public var appendBackpressureNanos: Int64 { state.withLock { backpressureNanos } }

    /// Bytes on disk under the data directory (segments, WAL, index).
    public func diskUsage() -> (segments: Int, wal: Int, index: Int) {
        let seg = FileIO.list(segmentDir).reduce(0) { $0 + (FileIO.fileSize(segmentDir + "/" + $1) ?? 0) }
        let w = FileIO.list(walDir).reduce(0) { $0 + (FileIO.fileSize(walDir + "/" + $1) ?? 0) }
        return (seg, w, index.diskBytes)
    }
}
