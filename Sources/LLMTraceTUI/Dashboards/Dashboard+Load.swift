import LLMTraceClient
import LLMTraceModel

extension Dashboard {
    /// Reads and checks a dashboard file's bytes; `file` names it in errors.
    public static func load(_ bytes: [UInt8], file: String) throws(DashboardError) -> Dashboard {
        var loader = Loader(bytes: bytes, file: file)
        return try loader.dashboard()
    }

    /// Durations as the dashboards write them: `500ms`, `1s`, `5m`, `1h`.
    static func nanos(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if number.isEmpty || number.contains(where: { !$0.isASCII || !$0.isNumber }) { continue }
            guard let n = Int64(number), n > 0, n < 1_000_000 else { return nil }
            return n * scale
        }
        return nil
    }

    private struct Loader {
        let bytes: [UInt8]
        let file: String

        func fail(_ at: Int, _ field: String, _ reason: String) -> DashboardError {
            let (line, column) = LocatedJSON.lineAndColumn(bytes, at)
            return DashboardError(file: file, line: line, column: column, field: field, reason: reason)
        }

        mutating func dashboard() throws(DashboardError) -> Dashboard {
            let root: LocatedJSON.Located
            do { root = try LocatedJSON.parse(bytes) } catch { throw fail(error.offset, "", "invalid JSON: \(error.message)") }
            guard case .object = root.value else { throw fail(root.offset, "", "expected a JSON object with \"title\" and \"panels\"") }
            try known(root, ["title", "time_range", "refresh", "panels", "$comment"], "")
            let title = try string(root, "title", "", required: true)!
            var range = TimeRange.h1
            if let r = root["time_range"] {
                guard case .string(let s) = r.value, let t = TimeRange(rawValue: s) else {
                    throw fail(r.offset, "time_range", "expected one of \(TimeRange.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
                }
                range = t
            }
            let refresh = try duration(root, "refresh", "", default: 1_000_000_000)
            guard let panelsValue = root["panels"] else { throw fail(root.offset, "panels", "missing (an array of panels)") }
            guard case .array(let items) = panelsValue.value, !items.isEmpty else { throw fail(panelsValue.offset, "panels", "expected a non-empty array of panels") }
            var panels: [Panel] = []
            for (i, item) in items.enumerated() {
                let p = try panel(item, "panels[\(i)]", defaultRefresh: refresh)
                for (j, q) in panels.enumerated() where p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height {
                    throw fail(item["grid"]?.offset ?? item.offset, "panels[\(i)].grid", "overlaps panels[\(j)] (\"\(q.title)\")")
                }
                panels.append(p)
            }
            return Dashboard(title: title, timeRange: range, refreshNanos: refresh, panels: panels)
        }

        func panel(_ v: LocatedJSON.Located, _ path: String, defaultRefresh: Int64) throws(DashboardError) -> Panel {
            guard case .object = v.value else { throw fail(v.offset, path, "expected a panel object") }
            try known(v, ["title", "kind", "grid", "query", "sparkline", "unit", "refresh", "drill", "filter", "traces", "$comment"], path)
            let title = try string(v, "title", path, required: true)!
            let kindText = try string(v, "kind", path, required: true)!
            guard let kind = Panel.Kind(rawValue: kindText) else {
                throw fail(v["kind"]!.offset, path + ".kind", "unknown kind \"\(kindText)\" (one of \(Panel.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let g = v["grid"] else { throw fail(v.offset, path + ".grid", "missing: [column, row, width, height] on the 12-column grid") }
            guard case .array(let cells) = g.value, cells.count == 4 else { throw fail(g.offset, path + ".grid", "expected [column, row, width, height]") }
            var n: [Int] = []
            for c in cells {
                guard case .number(let d) = c.value, d == d.rounded(), d >= 0, d < 1000 else { throw fail(c.offset, path + ".grid", "expected whole numbers from 0") }
                n.append(Int(d))
            }
            guard n[2] >= 1, n[3] >= 1, n[0] + n[2] <= Dashboard.gridColumns else {
                throw fail(g.offset, path + ".grid", "a panel is at least 1×1 and ends by column 12 (got column \(n[0]), width \(n[2]))")
            }
            let query = try string(v, "query", path, required: kind.needsQuery)
            if !kind.needsQuery, let q = v["query"] { throw fail(q.offset, path + ".query", "\(kind.rawValue) panels ask the collector themselves; they take no query") }
            let sparkline = try string(v, "sparkline", path, required: false)
            if sparkline != nil && kind != .stat { throw fail(v["sparkline"]!.offset, path + ".sparkline", "only stat panels have a sparkline") }
            var unit = Panel.Unit.none
            if let u = v["unit"] {
                guard case .string(let s) = u.value, let parsed = Panel.Unit(rawValue: s) else {
                    throw fail(u.offset, path + ".unit", "expected one of \(Panel.Unit.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
                }
                unit = parsed
            }
            let drill = try string(v, "drill", path, required: false)
            if drill != nil && kind != .table { throw fail(v["drill"]!.offset, path + ".drill", "only tables drill into a trace (other panels list traces with \"traces\")") }
            let traces = try string(v, "traces", path, required: false)
            if let traces {
                guard kind.needsQuery else { throw fail(v["traces"]!.offset, path + ".traces", "\(kind.rawValue) panels choose their traces themselves") }
                do {
                    let f = try TraceFilter.parse(traces)
                    // `$name` stands for a value, so the template is checked with one in its place.
                    for case .field(let k, _, let value) in f.terms where value.hasPrefix("$") {
                        if kind == .bars, value != "$label" { throw TraceFilterError("\(k)=\(value): a bar has only $label") }
                        if kind != .bars && kind != .table { throw TraceFilterError("\(k)=\(value): only tables and bars have a selected row to take values from") }
                        if TraceFilter.key(k)?.numeric == true || k == "status" { throw TraceFilterError("\(k) takes a literal, not \(value)") }
                    }
                } catch {
                    throw fail(v["traces"]!.offset, path + ".traces", "\(error)")
                }
            }
            return Panel(title: title, kind: kind, x: n[0], y: n[1], width: n[2], height: n[3], query: query, sparkline: sparkline, unit: unit,
                         refreshNanos: try duration(v, "refresh", path, default: defaultRefresh), drill: drill,
                         filter: try string(v, "filter", path, required: false), traces: traces)
        }

        func known(_ v: LocatedJSON.Located, _ keys: Set<String>, _ path: String) throws(DashboardError) {
            guard case .object(let members) = v.value else { return }
            for m in members where !keys.contains(m.key) {
                let close = keys.filter { !$0.hasPrefix("$") }.sorted()
                throw fail(m.value.offset, (path.isEmpty ? "" : path + ".") + m.key, "unknown field (known: \(close.joined(separator: ", ")))")
            }
        }

        func string(_ v: LocatedJSON.Located, _ key: String, _ path: String, required: Bool) throws(DashboardError) -> String? {
            let field = (path.isEmpty ? "" : path + ".") + key
            guard let x = v[key] else {
                if required { throw fail(v.offset, field, "missing") }
                return nil
            }
            guard case .string(let s) = x.value, !s.isEmpty else { throw fail(x.offset, field, "expected a non-empty string") }
            return s
        }

        func duration(_ v: LocatedJSON.Located, _ key: String, _ path: String, default d: Int64) throws(DashboardError) -> Int64 {
            guard let x = v[key] else { return d }
            let field = (path.isEmpty ? "" : path + ".") + key
            guard case .string(let s) = x.value, let n = Dashboard.nanos(s), n >= 250_000_000 else {
                throw fail(x.offset, field, "expected a duration of at least 250ms, such as \"1s\" or \"30s\"")
            }
            return n
        }
    }
}
