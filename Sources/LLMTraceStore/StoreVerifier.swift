import LLMTraceModel

/// Checks a data directory end to end without changing it: every WAL record, every segment block
/// checksum (and that every row decodes), and that the index agrees with the segments.
public enum StoreVerifier {
    public struct Report: Sendable {
        /// Corruption: the data directory is damaged.
        public var errors: [String] = []
        /// Not damage, but worth knowing (a torn WAL tail that the next start truncates).
        public var warnings: [String] = []
        public var walFiles = 0
        public var walRecords = 0
        public var walSpans = 0
        public var segments = 0
        public var segmentSpans = 0
        public var indexedTraces = 0
        public var ok: Bool { errors.isEmpty }
    }

    public static func verify(directory dir: String) -> Report {
        var report = Report()
        let walDir = dir + "/wal", segDir = dir + "/segments"
        guard FileIO.exists(dir) else {
            report.errors.append("no data directory at \(dir)")
            return report
        }

        // Segments.
        var readers: [UInt64: SegmentReader] = [:]
        for name in FileIO.list(segDir) {
            guard let id = SegmentFormat.id(fromName: name) else {
                if name.hasSuffix(".corrupt") { report.warnings.append("\(segDir)/\(name): set aside as corrupt by an earlier recovery") }
                continue
            }
            let path = segDir + "/" + name
            do {
                let r = try SegmentReader(path: path)
                let problems = r.verify()
                report.errors.append(contentsOf: problems)
                if problems.isEmpty { readers[id] = r }
                report.segments += 1
                report.segmentSpans += r.rowCount
            } catch {
                report.errors.append("\(error)")
            }
        }
        let covered = readers.values.map(\.maxWALFile).max() ?? 0

        // WAL.
        let files = WALReader.files(in: walDir)
        for (i, f) in files.enumerated() where f.number > covered {
            report.walFiles += 1
            do {
                let scan = try WALReader.scan(path: f.path, number: f.number) { _ in }
                report.walRecords += scan.records
                report.walSpans += scan.spans
                if let p = scan.problem {
                    let msg = "\(f.path): \(p) at offset \(scan.validEnd) of \(scan.size)"
                    let isTail = i == files.count - 1 && (p.hasPrefix("torn") || p.hasPrefix("invalid record length"))
                    if isTail {
                        report.warnings.append(msg + " (a torn tail from a crash; the next start truncates it)")
                    } else {
                        report.errors.append(msg)
                    }
                }
            } catch {
                report.errors.append("\(error)")
            }
        }

        // Index.
        let indexPath = dir + "/index.db"
        guard FileIO.exists(indexPath) else {
            if !readers.isEmpty { report.errors.append("\(indexPath): missing while \(readers.count) segments exist") }
            return report
        }
        do {
            let index = try IndexDB(path: indexPath)
            report.errors.append(contentsOf: try index.integrityCheck().map { "\(indexPath): \($0)" })
            let catalog = try index.segments()
            let cataloged = Set(catalog.map(\.id))
            for row in catalog {
                guard let r = readers[row.id] else {
                    report.errors.append("\(indexPath): segment \(row.id) is cataloged but its file is missing or corrupt")
                    continue
                }
                if row.spanCount != r.rowCount {
                    report.errors.append("\(indexPath): segment \(row.id) cataloged with \(row.spanCount) spans, file has \(r.rowCount)")
                }
                // Trace runs in the index must be exactly the runs in the file.
                let indexed = try index.traceRows(segment: row.id)
                report.indexedTraces += indexed.count
                let ids = try r.decodeTraceIDs(0..<r.rowCount)
                var runs: [(TraceID, Int, Int)] = []
                var start = 0
                for k in stride(from: 1, through: ids.count, by: 1) where k == ids.count || ids[k] != ids[start] {
                    runs.append((ids[start], start, k - start))
                    start = k
                }
                if indexed.count != runs.count || zip(indexed, runs).contains(where: { $0.0 != $1.0 || $0.1 != $1.1 || $0.2 != $1.2 }) {
                    report.errors.append("\(indexPath): trace index of segment \(row.id) disagrees with the file (\(indexed.count) traces indexed, \(runs.count) in file)")
                }
            }
            for id in readers.keys where !cataloged.contains(id) {
                report.warnings.append("segment \(id) is not in the index yet (the next start indexes it)")
            }
        } catch {
            report.errors.append("\(error)")
        }
        return report
    }
}
