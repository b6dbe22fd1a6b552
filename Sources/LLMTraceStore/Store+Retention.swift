#if canImport(Glibc)
import Glibc
#endif
import LLMTraceModel
import Foundation
import CLinux

/// Retention: whole segments past the configured age are removed, file before index rows; those an
/// outbox consumer has not confirmed stay, up to its budget (`Store+Outbox`).
extension Store {
    // MARK: Retention

    /// Drops every segment whose newest span started before `now - retention`; returns their ids.
    @discardableResult
    public func applyRetention(now: Int64 = wallNanos()) throws -> [UInt64] {
        guard let retention = options.retentionNanos, !options.readOnly else { return [] }
        let cutoff = now - retention
        let expired: [SegmentReader] = state.withLock {
            outboxAllowsDropping(segments.values.filter { $0.maxStart < cutoff }.sorted { $0.id < $1.id })
        }
        var dropped: [UInt64] = []
        for r in expired {
            let summary = try Self.summary(of: r, includeTexts: true)
            state.withLock { segments[r.id] = nil }
            // Delete the file first: a crash before the index cleanup leaves index rows without a
            // file, which recovery removes; the reverse would bring expired spans back.
            try FileIO.remove(r.path)
            try FileIO.remove(TextPostingsFile.path(ofSegment: r.path))
            try FileIO.fsyncDirectory(segmentDir)
            try index.removeSegment(id: r.id, summary: summary)
            dropped.append(r.id)
            state.withLock { retentionDropped.segments += 1; retentionDropped.spans += r.rowCount }
            options.log(.info, "retention: dropped segment \(r.id) (\(r.rowCount) spans, \(r.fileSize) bytes)")
        }
        return dropped
    }
}
