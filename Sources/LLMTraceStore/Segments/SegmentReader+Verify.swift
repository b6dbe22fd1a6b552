import LLMTraceModel

/// `tracectl verify`: every block of the segment checked and decoded.
extension SegmentReader {
    /// Checks the CRC of every block, dictionary and text block, then decodes every row.
    /// Returns human-readable problems; empty means the segment is sound.
    public func verify() -> [String] {
        var problems: [String] = []
        for info in columns.compactMap({ $0 }) {
            if let d = info.dictionary {
                do { _ = try checked(d, "dictionary of \(info.column)") } catch { problems.append("\(error)") }
            }
            for (i, b) in info.blocks.enumerated() {
                do { _ = try checked(b, "column \(info.column) block \(i)") } catch { problems.append("\(error)") }
            }
        }
        do { _ = try checked(textOffsets, "text offsets") } catch { problems.append("\(error)") }
        for (i, tb) in textBlocks.enumerated() {
            do { _ = try checked(tb.block, "text block \(i)") } catch { problems.append("\(error)") }
        }
        if problems.isEmpty {
            do { _ = try allSpans() } catch { problems.append("\(error)") }
        }
        // The postings file, when written, must be exactly what this segment's texts give.
        let pp = TextPostingsFile.path(ofSegment: path)
        if problems.isEmpty, FileIO.exists(pp) {
            do {
                let f = try TextPostingsFile(path: pp)
                problems += f.verify()
                let texts = try allTexts()
                let want = TextPostingsFile.encode(try buildPostings(texts), texts: texts, segmentID: id, rowCount: rowCount,
                                                   version: f.version == 2 ? 2 : TextPostingsFile.version)
                if try FileIO.readFile(pp) != want {
                    problems.append("postings file \(pp) does not match the segment's texts (rebuild: delete it and reopen the store for writing)")
                }
            } catch {
                problems.append("\(error)")
            }
        }
        return problems
    }
}
