import LLMTraceClient
/// A dashboard as `dashboards/*.json` declares it: a title, a default time range and refresh, and
/// panels on a 12-column grid, each a query and a way to draw its answer. The format is documented
/// in `dashboards/README.md`; `Dashboard.load` checks a file completely and names the file, line,
/// column and field of the first thing wrong.
public struct Dashboard: Sendable, Equatable {
    public var title: String
    public var timeRange: TimeRange
    /// Nanoseconds between refreshes, for panels that do not say.
    public var refreshNanos: Int64
    public var panels: [Panel]

    public static let gridColumns = 12

    public enum TimeRange: String, Sendable, CaseIterable {
        case m15 = "15m", h1 = "1h", h6 = "6h", h24 = "24h", d7 = "7d"

        public var nanos: Int64 {
            switch self {
            case .m15: return 900_000_000_000
            case .h1: return 3_600_000_000_000
            case .h6: return 21_600_000_000_000
            case .h24: return 86_400_000_000_000
            case .d7: return 604_800_000_000_000
            }
        }

        /// The chart resolution for the range: about 60 points across it.
        public var bucket: String {
            switch self {
            case .m15: return "15s"
            case .h1: return "1m"
            case .h6: return "5m"
            case .h24: return "30m"
            case .d7: return "3h"
            }
        }

        public var bucketNanos: Int64 {
            switch self {
            case .m15: return 15_000_000_000
            case .h1: return 60_000_000_000
            case .h6: return 300_000_000_000
            case .h24: return 1_800_000_000_000
            case .d7: return 10_800_000_000_000
            }
        }

        /// The buckets a chart of this range shows, oldest first, ending with the one `now` is in:
        /// their start times.
        public func buckets(now: Int64) -> [Int64] {
            let step = bucketNanos
            let last = now - ((now % step) + step) % step
            let count = Int(nanos / step)
            return (0..<count).map { last - Int64(count - 1 - $0) * step }
        }

        /// The next range, as `t` cycles through them.
        public var next: TimeRange {
            let all = Self.allCases
            return all[(all.firstIndex(of: self)! + 1) % all.count]
        }
    }

    public struct Panel: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable {
            /// One number, its change against the previous period, a sparkline.
            case stat
            /// Lines over time, one per group.
            case timeseries
            /// Top-N horizontal bars.
            case bars
            /// Rows; with `drill`, Enter opens the row's trace.
            case table
            /// The detectors' alerts, firing first.
            case alerts
            /// The latest anomalies.
            case anomalies
            /// What drifted: the baseline window against the current one.
            case drift
            /// Spans as they arrive.
            case feed

            /// Whether the panel is answered by a SQL query (the others ask the collector directly).
            public var needsQuery: Bool { self == .stat || self == .timeseries || self == .bars || self == .table }
        }

        public enum Unit: String, Sendable, CaseIterable {
            case none = "", perSecond = "/s", milliseconds = "ms", seconds = "s", usd, usdPerHour = "usd/h",
                 percent = "%", tokens, tokensPerSecond = "tokens/s", count
        }

        public var title: String
        public var kind: Kind
        /// Column, row, width and height on the grid (columns 0–11; rows as many as the panels use).
        public var x: Int, y: Int, width: Int, height: Int
        /// The SQL subset; `$since` stands for the start of the time range (`now() - 1h`) and
        /// `$bucket` for its chart resolution (`1m`).
        public var query: String?
        /// A stat's sparkline: a bucketed query (time, value).
        public var sparkline: String?
        public var unit: Unit
        public var refreshNanos: Int64
        /// For tables: the column whose value names the trace Enter opens.
        public var drill: String?
        /// For alerts, anomalies, drift and feed: a filter such as `service=checkout` or `kind=llm`.
        public var filter: String?
        /// The traces Enter lists, in the trace list's filter language; `$column` takes the value of
        /// the selected table row's column, `$label` the selected bar's label (`model=$label`).
        public var traces: String?

        /// The trace filter for Enter on this panel, with the selected row's values in place of the
        /// `$` names (`values` by column, `label` for a bar); nil when the panel does not drill to a
        /// trace list.
        public func traceFilter(values: [String: String] = [:]) -> TraceFilter? {
            guard let traces, var f = try? TraceFilter.parse(traces) else { return nil }
            f.terms = f.terms.map { t in
                guard case .field(let k, let op, let v) = t, v.hasPrefix("$") else { return t }
                return .field(k, op, values[String(v.dropFirst())] ?? "")
            }
            return f
        }

        /// Whether Enter lists traces: with a `traces` filter, or for a query over spans or traces
        /// (a panel of scores says which traces with `traces`, or does not drill).
        public var listsTraces: Bool {
            kind.needsQuery && drill == nil && (traces != nil || !(query ?? "").lowercased().contains("from scores"))
        }

        /// The list's order for what the panel measures: latency by duration, TTFT by time to first
        /// token, money by cost, tokens by tokens; newest first otherwise.
        public var traceSort: TraceSort {
            if query?.contains("ttft") == true { return .ttft }
            switch unit {
            case .milliseconds, .seconds: return .duration
            case .usd, .usdPerHour: return .cost
            case .tokens, .tokensPerSecond: return .tokens
            default: return .time
            }
        }
    }

    /// The query over the period before the range, for a stat's change: each `column > $since`
    /// becomes `column > now() - 2h AND column <= now() - 1h` for the last hour. Nil when the query
    /// does not bound its time that way (its change is then not shown).
    public static func expandPrevious(_ query: String, range: TimeRange) -> String? {
        let (one, two): (String, String) = {
            switch range {
            case .m15: return ("15m", "30m")
            case .h1: return ("1h", "2h")
            case .h6: return ("6h", "12h")
            case .h24: return ("1d", "2d")
            case .d7: return ("7d", "14d")
            }
        }()
        let marker = Array("> $since")
        var chars = Array(query), out: [Character] = [], i = 0, found = false
        while i < chars.count {
            if chars[i] == ">" && Array(chars[i..<min(chars.count, i + marker.count)]) == marker {
                // The column before it: `start`, `time`, `s.start`.
                var end = out.count
                while end > 0, out[end - 1] == " " { end -= 1 }
                var begin = end
                while begin > 0, out[begin - 1].isLetter || out[begin - 1].isNumber || out[begin - 1] == "_" || out[begin - 1] == "." { begin -= 1 }
                guard begin < end else { return nil }
                let column = String(out[begin..<end])
                out.removeSubrange(begin...)
                out += Array("\(column) > now() - \(two) AND \(column) <= now() - \(one)")
                i += marker.count
                found = true
                continue
            }
            out.append(chars[i])
            i += 1
        }
        chars = out
        return found ? expand(String(chars), range: range) : nil
    }

    /// The query with the time range's start and resolution in place of `$since` and `$bucket`.
    public static func expand(_ query: String, range: TimeRange) -> String {
        query.replacingOccurrences(of: "$since", with: "now() - \(range == .h24 ? "1d" : range.rawValue)")
            .replacingOccurrences(of: "$bucket", with: range.bucket)
    }
}

/// What is wrong with a dashboard file, and where.
public struct DashboardError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var column: Int
    /// The field, as a path: `panels[3].kind`.
    public var field: String
    public var reason: String

    public var description: String { "\(file):\(line):\(column): \(field.isEmpty ? "" : field + ": ")\(reason)" }
}

extension String {
    /// Occurrences of `target` replaced (Foundation-free, for the dashboard module).
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Substring.Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}
