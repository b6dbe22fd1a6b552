#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel
import Foundation
import CLinux

/// Opening a data directory: segments found and checked against the index, the WAL replayed and
/// sealed, the recent span keys loaded for deduplication (FORMAT.md, "Recovery").
extension Store {
    // MARK: Recovery

    /// Named steps, each logged with its duration.
    func recover() throws {
        try loadOutbox()
        try step("open segments") { try openSegments() }
        try step("reconcile index") { try reconcileIndex() }
        try step("replay WAL") { try replayWAL() }
        normalizeOutbox()
        if !options.readOnly { try step("load span keys of the dedup window") { try loadRecentKeys() } }
    }

    /// The keys of every span stored in the dedup window: those of segments sealed within it
    /// (filed under their seal time) and the replayed WAL (sealed just now).
    func loadRecentKeys() throws {
        let since = wallNanos() - options.dedupWindowNanos - options.dedupWindowNanos / 4
        for r in segments.values.sorted(by: { $0.id < $1.id }) where r.createdNanos >= since {
            let (codes, projects) = try r.dictColumn(.project)
            let traces = try r.traceIDColumn()
            let spans = try r.intColumn(.spanID).values
            for i in 0..<r.rowCount {
                let project = codes[i] == 0 ? "" : projects[Int(codes[i]) - 1]
                recentKeys.insert(RecentSpanKeys.key(project: project, trace: traces[i], span: SpanID(UInt64(bitPattern: spans[i]))), at: r.createdNanos)
            }
            r.dropResidentPages()
        }
        recentKeys.expire(now: wallNanos())
    }

    func step(_ name: String, _ body: () throws -> Void) throws {
        let t0 = monotonicNanos()
        try body()
        let ms = Double(monotonicNanos() - t0) / 1e6
        if ms >= 100 || !recovery.truncations.isEmpty && name == "replay WAL" {
            options.log(.info, "recovery: \(name) took \(String(format: "%.1f", ms)) ms")
        }
    }

    func openSegments() throws {
        for name in FileIO.list(segmentDir) {
            let path = segmentDir + "/" + name
            if name.hasSuffix(".tmp") {
                // A seal that never reached its rename: the WAL still holds those spans.
                if !options.readOnly { try FileIO.remove(path) }
                continue
            }
            guard let id = SegmentFormat.id(fromName: name) else { continue }
            do {
                let r = try SegmentReader(path: path)
                guard r.id == id else { throw StoreError("segment id \(r.id) does not match its name", path: path) }
                segments[id] = r
                recovery.segmentsOpened += 1
            } catch {
                // Keep the file for inspection but never read it again.
                recovery.problems.append("\(error)")
                options.log(.warning, "\(error); moving it aside")
                if !options.readOnly { try? FileIO.rename(path, to: path + ".corrupt") }
            }
            nextSegmentID = max(nextSegmentID, id + 1)
        }
        // Postings files whose segment is gone (retention, or set aside as corrupt).
        for name in FileIO.list(segmentDir) where name.hasSuffix(".postings") && !options.readOnly {
            let seg = String(name.dropLast(".postings".count)) + ".seg"
            if let id = SegmentFormat.id(fromName: seg), segments[id] != nil { continue }
            try FileIO.remove(segmentDir + "/" + name)
        }
    }

    func reconcileIndex() throws {
        let cataloged = try index.segments()
        var known = Set<UInt64>()
        for row in cataloged {
            known.insert(row.id)
            nextSegmentID = max(nextSegmentID, row.id + 1)
            if segments[row.id] == nil && !options.readOnly {
                options.log(.warning, "segment \(row.id) is in the index but its file is gone; removing its index rows")
                try index.removeSegment(id: row.id, summary: nil)
            }
        }
        for (id, reader) in segments.sorted(by: { $0.key < $1.key }) where !known.contains(id) {
            // Crash between the segment's rename and its index commit: index it now.
            guard !options.readOnly else { continue }
            let summary = try Self.summary(of: reader, includeTexts: false)
            try index.addSegment(summary, file: SegmentFormat.name(id))
            recovery.segmentsReindexed += 1
            options.log(.info, "recovery: indexed segment \(id) (\(reader.rowCount) spans) that was written but not indexed")
        }
    }

    /// Rebuilds the index rows of a segment from its file; with `includeTexts`, also the paragraphs
    /// the full-text indexer took from it (the same `searchableTexts()`), so retention removes
    /// exactly what was indexed.
    static func summary(of r: SegmentReader, includeTexts: Bool) throws -> SegmentSummary {
        var s = SegmentSummary(id: r.id, path: r.path, spanCount: r.rowCount, minStart: r.minStart, maxStart: r.maxStart,
                               bytes: r.fileSize, maxWALFile: r.maxWALFile)
        SegmentWriter.summarize(try r.allSpans(), into: &s)
        if includeTexts { s.searchableTexts = try r.searchableTexts() }
        return s
    }

    /// Replays WAL files not covered by a segment and seals what they held into a segment at once, so
    /// the head always corresponds to exactly one WAL file (its text table) from here on.
    func replayWAL() throws {
        let covered = segments.values.map(\.maxWALFile).max() ?? 0
        var lastSeq: UInt64 = 0
        var maxFile: UInt64 = covered
        var replayedFiles: [UInt64] = []
        var spans: [Span] = []
        for (number, path) in WALReader.files(in: walDir) {
            maxFile = max(maxFile, number)
            if number <= covered {
                // Already in a segment; a crash came between the seal and this delete.
                if !options.readOnly { try FileIO.remove(path) }
                recovery.walFilesDropped += 1
                continue
            }
            let scan = try WALReader.scan(path: path, number: number) { rec in
                // Never apply a record twice: sequence numbers only grow across files.
                guard rec.seq > lastSeq else { return }
                lastSeq = rec.seq
                spans.append(contentsOf: rec.spans)
                recovery.walRecordsReplayed += 1
                recovery.walSpansReplayed += rec.spans.count
            }
            recovery.walFilesReplayed += 1
            replayedFiles.append(number)
            if let problem = scan.problem {
                let msg = "WAL \(path): \(problem) at offset \(scan.validEnd) of \(scan.size); " +
                    (options.readOnly ? "ignoring the rest" : "truncating \(scan.size - scan.validEnd) bytes")
                recovery.truncations.append(msg)
                options.log(.warning, msg)
                if !options.readOnly {
                    if scan.validEnd < WALFile.headerSize {
                        try FileIO.remove(path)
                    } else {
                        try FileIO.truncate(path, to: scan.validEnd)
                    }
                }
            }
        }
        guard !options.readOnly else {
            replayed = spans
            return
        }
        if !spans.isEmpty {
            let id = nextSegmentID
            nextSegmentID += 1
            let writer = SegmentWriter(compression: options.compression)
            let summary = try writer.write(spans: spans, id: id, maxWALFile: maxFile, directory: segmentDir)
            try index.addSegment(summary, file: SegmentFormat.name(id))
            segments[id] = try SegmentReader(path: summary.path)
            options.log(.info, "recovery: sealed \(spans.count) replayed span(s) into segment \(id)")
        }
        for f in replayedFiles { try FileIO.remove(walDir + "/" + WALFile.name(f)) }
        try FileIO.remove(walDir + "/" + WALFile.probeName)  // a readiness probe cut short by a crash
        try FileIO.fsyncDirectory(walDir)
        let w = try WAL(directory: walDir, fileNumber: maxFile + 1, lastSeq: lastSeq, policy: options.fsync)
        head = Head(texts: w.table, walFiles: [w.fileNumber], expectedRows: headReservedRows)
        wal = w
    }
}
