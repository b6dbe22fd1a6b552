import Foundation
import LLMTraceClient
import LLMTraceModel
import LLMTraceQuery
import LLMTraceTUI

/// What each panel shows, asked of the reader: the panel's query for the current time range, its
/// answer shaped for its kind.
extension DashCommand {
    /// What `panel` shows now. A stat's sparkline (minute buckets and coarser) is kept from
    /// `previous` with `keepSparkline`, and its value over the period before with
    /// `keepPeriodBefore` (the caller asks those again less often than the number).
    static func panelData(for panel: Dashboard.Panel, range: Dashboard.TimeRange, reader: any TraceReader, now: Int64,
                          previous: PanelData? = nil, keepSparkline: Bool = false, keepPeriodBefore: Bool = false) -> PanelData {
        do {
            switch panel.kind {
            case .stat:
                let r = try reader.query(Dashboard.expand(panel.query!, range: range))
                let value = r.rows.first?.first.flatMap(number)
                var history: [Double?] = []
                var before: Double? = nil
                var keptBefore = false
                if case .stat(_, let b, let kept)? = previous {
                    // Kept between the slower refreshes: the sparkline, the period before.
                    if keepSparkline { history = kept }
                    if keepPeriodBefore { before = b; keptBefore = true }
                }
                if history.isEmpty, let q = panel.sparkline {
                    history = series(try reader.query(Dashboard.expand(q, range: range)), name: panel.title, range: range, now: now).first?.values
                        ?? range.buckets(now: now).map { _ in nil }
                }
                // The same number over the period before, for its change.
                if !keptBefore, let q = panel.query.flatMap({ Dashboard.expandPrevious($0, range: range) }) {
                    before = (try? reader.query(q))?.rows.first?.first.flatMap(number)
                }
                return .stat(value: value, previous: before, history: history)
            case .timeseries:
                return .series(series(try reader.query(Dashboard.expand(panel.query!, range: range)), name: panel.title, range: range, now: now))
            case .bars:
                let r = try reader.query(Dashboard.expand(panel.query!, range: range))
                return .bars(r.rows.compactMap { row in
                    guard row.count >= 2, let v = number(row[1]) else { return nil }
                    return (label: row[0].isNull ? "(none)" : row[0].text, value: v)
                })
            case .table:
                let r = try reader.query(Dashboard.expand(panel.query!, range: range))
                return .table(columns: r.columns, rows: r.rows.map { $0.map(cell) })
            case .alerts:
                let list = try reader.alerts().filter { $0["state"]?.string != "resolved" || panel.filter != nil }
                return .alerts(list.filter { matches($0, panel.filter) }.map { a in
                    let series = [a["service"]?.string, a["model"]?.string ?? a["prompt"]?.string].compactMap { $0 }.joined(separator: " · ")
                    // Enter lists the traces of the alert's series.
                    return PanelData.AlertRow(state: a["state"]?.string ?? "?", name: "\(a["metric"]?.string ?? "?") · \(series)",
                                              since: a["starts_at"]?.string.map { ago($0, now: now) } ?? "", traces: seriesFilter(a))
                })
            case .anomalies:
                let filter = keyValues(panel.filter)
                let doc: JSONValue
                do {
                    doc = try reader.anomalies(since: range.rawValue, service: filter["service"], metric: filter["metric"], limit: 100)
                } catch where error.exitCode == 2 && !error.unreachable && error.status == nil {
                    // A data directory has none: say where they are, not as a failure.
                    return .lines(["anomalies are kept by the running collector: open the dashboard with --endpoint"])
                }
                let list = (doc["anomalies"]?.array ?? []).filter { matches($0, panel.filter.map { f in f.split(separator: ",").filter { !$0.hasPrefix("metric=") && !$0.hasPrefix("service=") }.joined(separator: ",") }) }
                if list.isEmpty { return .lines(["no anomalies in the last \(range.rawValue)"]) }
                return .lines(list.map { x in
                    let minute = x["minute"]?.string.flatMap(QueryValue.parseTime).map { String(clock($0).prefix(5)) } ?? "?"
                    let series = [x["service"]?.string, x["model"]?.string ?? x["prompt"]?.string ?? x["retriever"]?.string].compactMap { $0 }.joined(separator: "·")
                    let usual = x["usual"]?.double.map { " (usual \(short($0)))" } ?? ""
                    return "\(minute) \(x["metric"]?.string ?? "?") \(series) \(x["value"]?.double.map(short) ?? "?")\(usual) · \(x["score"]?.double.map { NumberFormat.fixed($0, 2) } ?? "")"
                }, targets: list.map { x in .traces(seriesFilter(x), origin: "anomaly · \(x["metric"]?.string ?? "")") })
            case .drift:
                // The range against the 7 days before it (tracectl drift's default baseline).
                let doc = try reader.drift(baseline: nil, current: range.rawValue, by: keyValues(panel.filter)["by"], limit: 100)
                let findings = doc["findings"]?.array ?? []
                let drifted = findings.filter { $0["drifted"]?.bool == true }
                if findings.isEmpty { return .lines(["nothing to compare yet: a field needs 20 values in each window (baseline: the 7 days before the last \(range.rawValue))"]) }
                if drifted.isEmpty { return .lines(["nothing drifted: \(findings.count) fields compared with the 7 days before"]) }
                return .lines(drifted.map { f in
                    let group = (f["group"]?.object ?? []).map { $0.1.string ?? "" }.joined(separator: "·")
                    let psi = f["psi_band"]?.string.map { " · PSI \($0)" } ?? ""
                    return "\(group) · \(f["field"]?.string ?? "?") · JS \(f["effect"]?.double.map { NumberFormat.fixed($0, 2) } ?? "?")\(psi) · \(f["reason"]?.string ?? "")"
                }, targets: drifted.map { f in
                    // The group's traces, in the current window.
                    var group = JSONValue.object([])
                    if case .object(let members)? = f["group"] { group = .object(members) }
                    return .traces(seriesFilter(group), origin: "drift · \(f["field"]?.string ?? "")")
                })
            case .feed:
                // The newest spans of the last five minutes, newest first.
                var conditions = ["start > now() - 5m"]
                for (k, v) in keyValues(panel.filter) {
                    let column = ["session": "session_id", "user": "user_id", "prompt": "prompt_name", "version": "prompt_version", "env": "environment"][k] ?? k
                    conditions.append(k == "status" && v == "error" ? "error" : "\(column) = \(TraceListQuery.quote(v))")
                }
                let r = try reader.query("SELECT start, service, name, model, duration_ms, error, trace_id FROM spans WHERE \(conditions.joined(separator: " AND ")) ORDER BY start DESC LIMIT 100")
                if r.rows.isEmpty { return .lines(["no spans in the last 5 minutes"]) }
                return .lines(r.rows.map { v in
                    let failed = v.count > 5 && v[5] == .bool(true)
                    let model = v[3].isNull ? "" : " " + v[3].text
                    return "\(time(v[0]).map(clock) ?? "") \(v[1].text) \(v[2].text)\(model) \(NumberFormat.format(number(v[4]), .milliseconds))\(failed ? " ✗ error" : "")"
                }, targets: r.rows.map { .trace($0[6].text) })
            }
        } catch {
            return .failed(error.description)
        }
    }

    static func number(_ v: QueryValue) -> Double? { v.finiteNumber }

    /// A table cell: numbers short, text as it is (the screen makes it safe to print).
    static func cell(_ v: QueryValue) -> String {
        switch v {
        case .null: return ""
        case .time(let ns): return clock(ns)
        case .double(let d): return d == d.rounded() && abs(d) < 1e12 ? String(Int64(d)) : DecimalText.significant(d, 4)
        default: return v.text
        }
    }

    /// (time, value) or (time, group, value) rows as series over the range's buckets (a bucket
    /// without a row is a gap, so that the time axis is the range's, not only where data fell).
    static func series(_ r: QueryResult, name: String, range: Dashboard.TimeRange, now: Int64) -> [PanelData.Series] {
        let buckets = range.buckets(now: now)
        guard let first = buckets.first else { return [] }
        let step = range.bucketNanos
        var order: [String] = []
        var points: [String: [Int: Double]] = [:]
        for row in r.rows where row.count >= 2 {
            guard let t = time(row[0]), t >= first else { continue }
            let slot = Int((t - first) / step)
            guard slot < buckets.count else { continue }
            let group = row.count >= 3 ? (row[1].isNull ? "(none)" : row[1].text) : name
            guard let v = number(row[row.count >= 3 ? 2 : 1]) else { continue }
            if points[group] == nil { order.append(group); points[group] = [:] }
            points[group]![slot] = v
        }
        // The largest groups first (they are drawn on top and named first in the legend).
        let ranked = order.sorted { (points[$0]!.values.reduce(0, +), $1) > (points[$1]!.values.reduce(0, +), $0) }
        return ranked.prefix(6).map { g in PanelData.Series(name: g, values: buckets.indices.map { points[g]![$0] }) }
    }

    static func time(_ v: QueryValue) -> Int64? { v.timeNanos }

    /// The traces of a detector's series (`service`, and `model`, `prompt` or `prompt_version` when
    /// it names one).
    static func seriesFilter(_ x: JSONValue) -> TraceFilter {
        var terms: [TraceFilter.Term] = []
        for (key, field) in [("service", "service"), ("model", "model"), ("prompt", "prompt"), ("version", "prompt_version")] {
            if let v = x[field]?.string, !v.isEmpty { terms.append(.field(key, .eq, v)) }
        }
        return TraceFilter(terms)
    }

    /// A panel's `filter` (`service=checkout,kind=llm`) as pairs.
    static func keyValues(_ filter: String?) -> [String: String] {
        var out: [String: String] = [:]
        for term in (filter ?? "").split(separator: ",") {
            let kv = term.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { out[String(kv[0]).trimmingCharacters(in: .whitespaces)] = String(kv[1]).trimmingCharacters(in: .whitespaces) }
        }
        return out
    }

    /// A value short: 3 significant figures with k, M.
    static func short(_ v: Double) -> String { NumberFormat.format(v, .none) }

    static func matches(_ a: JSONValue, _ filter: String?) -> Bool {
        guard let filter else { return true }
        for term in filter.split(separator: ",") {
            let kv = term.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            if a[String(kv[0])]?.string != String(kv[1]) { return false }
        }
        return true
    }

    /// `12m`, `3h`, `2d` since an RFC 3339 time.
    static func ago(_ rfc3339: String, now: Int64) -> String {
        guard let t = QueryValue.parseTime(rfc3339) else { return "" }
        let s = max(0, (now - t) / 1_000_000_000)
        return s < 60 ? "\(s)s" : s < 3600 ? "\(s / 60)m" : s < 86400 ? "\(s / 3600)h" : "\(s / 86400)d"
    }
}
