#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel
import Foundation
import CLinux

/// The full-text thread: each new segment's paragraphs into FTS5 and its postings file, and the
/// live pass over the head.
extension Store {
    // MARK: Full-text indexing


    /// Adds the paragraphs of every published segment not yet full-text indexed. Runs on its own
    /// thread after each seal (and once at start, to finish work a crash interrupted), so neither
    /// acknowledgements nor seals wait for FTS5. Returns the number of segments indexed.
    @discardableResult
    public func indexPendingTexts() throws -> Int {
        // One indexer at a time: a second caller waits and then finds the work done.
        textIndexing.lock()
        defer { textIndexing.unlock() }
        var n = 0
        for id in try index.segmentsPendingTextIndex() where !state.withLock({ unindexable.contains(id) }) {
            guard let reader = state.withLock({ segments[id] }) else { continue }
            // Between small transactions, while appends are arriving, sleep nine times as long as
            // the last one took: FTS5 gets at most a tenth of a core under load and catches up when
            // ingest slows (on two cores, FTS5 at full speed cannot keep up with 100k spans/s of LLM
            // text anyway), and a seal's index commit never waits behind a long transaction.
            var last = monotonicNanos()
            var lastAhead = last
            writePostingsAhead(of: id)
            let inputs: SegmentReader.TextIndexInputs
            do { inputs = try reader.textIndexInputs() } catch {
                // A segment that does not read is not retried every second: one error line, and
                // the other segments are indexed.
                state.withLock { _ = unindexable.insert(id) }
                options.log(.error, "segment \(id) cannot be read for full-text indexing and is left out of it until restart: \(error); run tracectl verify")
                continue
            }
            // The postings file first: a crash before the segment's flag is set redoes both, and
            // the file is replaced whole. One written ahead (below) is kept.
            if reader.postingsFile()?.hasTerms != true { try reader.writePostings(inputs) }
            try index.indexSegmentTexts(segment: id, texts: inputs.texts) { () -> Int? in
                let now = monotonicNanos()
                // Shutdown does not wait for a catch-up: the segment stays pending until next start.
                if self.state.withLock({ self.stopping }) { return nil }
                self.index.checkpointIfLarge()
                // One segment's FTS5 pass takes minutes under a flood: segments sealed meanwhile
                // get their postings now, not after it.
                if now - lastAhead > 500_000_000 {
                    self.writePostingsAhead(of: id)
                    lastAhead = monotonicNanos()
                }
                let busy = self.state.withLock { now - self.lastAppendNanos < 1_000_000_000 }
                if busy { usleep(UInt32(min(1_000_000, max(0, 9 * (now - last) / 1000)))) }
                last = monotonicNanos()
                return busy ? 256 << 10 : 64 << 20
            }
            reader.dropResidentPages()
            index.checkpointPassive()
            trimMemory()
            n += 1
        }
        return n
    }

    /// How long after a text match postings are still written ahead of FTS5.
    static let textQueryWindowNanos: Int64 = 600_000_000_000

    /// Writes the postings file of every segment still waiting for FTS5, but `current`, that has
    /// none yet, while text is being searched (a `textMatch` in the last ten minutes). Under a
    /// flood FTS5 is duty-cycled and falls segments behind; with their postings written at full
    /// speed (a small part of FTS5's work), plain-word matches on those segments read terms from
    /// the file instead of building it in memory for every query. Nobody searching, it is not
    /// worth its cost at full ingest: alternated 60 s runs measured 59.4k/58.8k spans/s with it
    /// (and the memory trim after each file) against 63.6k/65.9k without, or 20 MB more peak
    /// RSS without the trim. A segment that cannot be read is left to the FTS5 pass, which
    /// reports it.
    func writePostingsAhead(of current: UInt64) {
        let searched = state.withLock { lastTextQueryNanos.map { monotonicNanos() - $0 < Self.textQueryWindowNanos } ?? false }
        guard searched, FTSTokenizer.shared != nil, let pending = try? index.segmentsPendingTextIndex() else { return }
        for id in pending where id != current && !state.withLock({ stopping || unindexable.contains(id) }) {
            guard let reader = state.withLock({ segments[id] }),
                  !FileIO.exists(TextPostingsFile.path(ofSegment: reader.path)) else { continue }
            try? writePostingsFile(of: reader)
        }
    }

    /// Writes a segment's postings file from one pass over it, then gives back what the pass
    /// read and built (its mapped pages, and the heap it grew).
    func writePostingsFile(of reader: SegmentReader) throws {
        try reader.writePostings(try reader.textIndexInputs())
        reader.dropResidentPages()
        trimMemory()
    }

    /// Writes the postings file of every segment that lacks one (indexed before postings files
    /// existed, or whose file was removed) or whose file has no terms (version 1), one segment per
    /// call so ingest is never held up long. Returns whether it wrote one.
    @discardableResult
    public func writeMissingPostings() throws -> Bool {
        guard !options.readOnly else { return false }
        textIndexing.lock()
        defer { textIndexing.unlock() }
        let readers = state.withLock { segments.values.sorted { $0.id < $1.id } }
        let canTokenize = FTSTokenizer.shared != nil
        guard let r = readers.first(where: {
            !FileIO.exists(TextPostingsFile.path(ofSegment: $0.path)) || canTokenize && $0.postingsFile()?.hasTerms == false
        }) else { return false }
        try writePostingsFile(of: r)
        return true
    }

    /// Live pass: the paragraphs of head rows added since the last pass, at most `maxRows` of them.
    /// Returns how many rows it covered.
    @discardableResult
    public func indexHeadTexts(maxRows: Int = 5_000) throws -> Int {
        textIndexing.lock()
        defer { textIndexing.unlock() }
        let (texts, from, upTo): ([String], Int, Int) = state.withLock {
            if headTextCursor.generation != headGeneration { headTextCursor = (headGeneration, 0) }
            let from = headTextCursor.row
            let (texts, upTo) = head.contentTexts(from: from, limit: maxRows)
            headTextCursor.row = upTo
            return (texts, from, upTo)
        }
        try index.indexHeadTexts(texts)
        return upTo - from
    }


    func textIndexLoop() {
        clinux_set_thread_name("llmtrace-fts")
        // Rows appended since the last pass, to tell a flood from a trickle after a burst.
        var lastRows = 0, lastGeneration = -1, lastNanos = monotonicNanos()
        while !state.withLock({ stopping }) {
            do {
                try indexPendingTexts()
                try writeMissingPostings()
                // The live pass keeps up with moderate traffic; under a flood (more than 5,000 rows a
                // second still arriving, and as many waiting) the segment pass, duty-cycled, takes
                // over. A burst followed by a trickle is indexed at once: the trickle is no flood.
                let skip = state.withLock { () -> Bool in
                    let backlog = head.count - (headTextCursor.generation == headGeneration ? headTextCursor.row : 0)
                    let now = monotonicNanos()
                    let arrived = headGeneration == lastGeneration ? max(0, head.count - lastRows) : head.count
                    let perSecond = Double(arrived) / max(0.001, Double(now - lastNanos) / 1e9)
                    (lastRows, lastGeneration, lastNanos) = (head.count, headGeneration, now)
                    return now - lastAppendNanos < 1_000_000_000 && backlog > 5_000 && perSecond > 5_000
                }
                if !skip { try indexHeadTexts() }
                failures.succeeded("full-text indexing")
            } catch {
                failures.failed("full-text indexing", error)
            }
            textLock.withLock {
                if !state.withLock({ stopping }) { textLock.wait(nanos: 1_000_000_000) }
            }
        }
        state.withLock { textDone = true; state.broadcast() }
    }
}
