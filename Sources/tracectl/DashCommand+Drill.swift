import Foundation
import LLMTraceCLI
import LLMTraceClient
import LLMTraceModel
import LLMTraceQuery
import LLMTraceTUI

/// Enter on a panel, and what the drill-down views ask for: the trace list's queries, a trace, a
/// copy to the clipboard, an export to a file.
extension DashCommand {
    /// The drill-down Enter opens on the focused panel, or nil when the panel has nothing to open.
    static func drill(from panel: Dashboard.Panel, _ data: PanelData, selected: Int?, range: Dashboard.TimeRange, reader: any TraceReader) -> Drill? {
        let row = selected ?? 0
        var filter: TraceFilter? = nil
        var origin = panel.title
        switch (panel.kind, data) {
        case (.table, .table(let columns, let rows)):
            guard rows.indices.contains(row) else { return nil }
            if let column = panel.drill, let c = columns.firstIndex(of: column) {
                // A row naming a trace: open it.
                guard c < rows[row].count, let prefix = TraceIDPrefix(rows[row][c]) else { return nil }
                return Drill(trace: openTrace(prefix, reader: reader), id: rows[row][c])
            }
            guard panel.listsTraces else { return nil }
            var values: [String: String] = [:]
            for (i, c) in columns.enumerated() where i < rows[row].count { values[c] = rows[row][i] }
            filter = panel.traceFilter(values: values) ?? TraceFilter()
            origin += " · " + rows[row].prefix(2).joined(separator: " ")
        case (.bars, .bars(let items)):
            guard panel.listsTraces else { return nil }
            guard items.indices.contains(row) || panel.traces == nil else { return nil }
            let label = items.indices.contains(row) ? items[row].label : ""
            filter = panel.traceFilter(values: ["label": label == "(none)" ? "" : label]) ?? TraceFilter()
            if !label.isEmpty { origin += " · " + label }
        case (.stat, _), (.timeseries, _):
            guard panel.listsTraces else { return nil }
            filter = panel.traceFilter() ?? TraceFilter()
        case (.alerts, .alerts(let rows)):
            let ordered = PanelData.AlertRow.ordered(rows)
            guard ordered.indices.contains(row) else { return nil }
            filter = ordered[row].traces
            origin += " · " + ordered[row].name
        case (_, .lines(_, let targets)):
            guard targets.indices.contains(row) else { return nil }
            switch targets[row] {
            case .trace(let id):
                guard let prefix = TraceIDPrefix(id) else { return nil }
                return Drill(trace: openTrace(prefix, reader: reader), id: id)
            case .traces(let f, let o):
                filter = f
                origin = panel.title + " · " + o
            }
        default:
            return nil
        }
        guard let filter else { return nil }
        let query = TraceListQuery(range: range.rawValue, filter: filter, sort: panel.traceSort)
        var d = Drill(list: TraceListView(origin: origin, query: query))
        d.listed(listTraces(query, reader: reader))
        return d
    }

    /// The trace list's rows (`TraceReader.searchTraces`).
    static func listTraces(_ q: TraceListQuery, reader: any TraceReader) -> Result<[TraceSummary], DrillError> {
        do { return .success(try reader.searchTraces(q)) } catch { return .failure(DrillError(error.description)) }
    }

    static func openTrace(_ id: TraceIDPrefix, reader: any TraceReader) -> Result<TraceDocument, DrillError> {
        do { return .success(try reader.trace(id)) } catch { return .failure(DrillError(error.description)) }
    }

    /// The trace as the API writes it (`GET /api/traces/{id}`).
    static func traceJSON(_ id: String, reader: any TraceReader) throws -> [UInt8] {
        guard let prefix = TraceIDPrefix(id) else { throw UsageError("not a trace id: \(id)") }
        let doc = try reader.trace(prefix)
        var w = JSONWriter()
        doc.encodeJSON(into: &w)
        return w.bytes
    }

    /// `e`: the trace written to `trace-<id>.json` in the current directory (the name is made of
    /// the id's hex digits only). Returns what the screen says.
    static func export(_ id: String, reader: any TraceReader) -> String {
        do {
            let bytes = try traceJSON(id, reader: reader)
            let hex = String(id.filter(\.isHexDigit).prefix(32))
            let path = FileManager.default.currentDirectoryPath + "/trace-\(hex).json"
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return "could not write \(path)" }
            return "wrote \(path) (\(DecimalText.grouped(Int64(bytes.count))) bytes)"
        } catch {
            return "export failed: \(error)"
        }
    }

    /// `y`: the trace's JSON to the terminal's clipboard with OSC 52 (xterm, iTerm2, kitty, tmux
    /// with `set-clipboard on`, most terminals over ssh). Returns the bytes to write and the notice.
    static func copy(_ id: String, reader: any TraceReader) -> (bytes: [UInt8], notice: String) {
        do {
            let json = try traceJSON(id, reader: reader)
            let sequence = "\u{1b}]52;c;" + Data(json).base64EncodedString() + "\u{07}"
            return (Array(sequence.utf8), "copied trace \(id.prefix(16)) as JSON (\(DecimalText.grouped(Int64(json.count))) bytes) to the clipboard")
        } catch {
            return ([], "copy failed: \(error)")
        }
    }
}
