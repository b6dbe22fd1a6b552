import Foundation

/// The families a process exports, rendered together for a scrape. Rendering also reports, per
/// family, how many label sets the cardinality cap folded (`llmtrace_metrics_series_folded_total`).
public final class MetricsRegistry: @unchecked Sendable {
    public private(set) var families: [MetricFamily] = []
    /// Called at the start of each scrape to refresh gauges read from elsewhere (store sizes, RSS).
    private var collectors: [@Sendable () -> Void] = []

    public init() {}

    /// Registers a family; call before the first scrape (registration is not synchronized).
    @discardableResult
    public func register(_ f: MetricFamily) -> MetricFamily {
        precondition(!families.contains { $0.name == f.name }, "metric \(f.name) registered twice")
        families.append(f)
        return f
    }

    public func onScrape(_ body: @escaping @Sendable () -> Void) { collectors.append(body) }

    /// The text exposition of every family; `only` confines labelled series to one label value
    /// (families without that label are collector-wide and always shown).
    public func render(only: (label: String, value: String)? = nil, openMetrics: Bool = false) -> [UInt8] {
        for c in collectors { c() }
        var out = Exposition(openMetrics: openMetrics)
        var folded: [(String, UInt64)] = []
        for f in families {
            f.render(into: &out, only: only)
            let n = f.folded
            if n > 0 { folded.append((f.name, n)) }
        }
        out.family("llmtrace_metrics_series_folded_total", type: "counter",
                   help: "Label sets folded into a metric's __overflow__ series by its cardinality cap.")
        if folded.isEmpty { out.sample("llmtrace_metrics_series_folded_total", labels: [("metric", "none")], value: 0) }
        for (name, n) in folded { out.sample("llmtrace_metrics_series_folded_total", labels: [("metric", name)], value: Double(n)) }
        out.finish()
        return out.bytes
    }

    /// Content type of `render`'s output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    public static let openMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    /// Whether a scrape's Accept header asks for OpenMetrics before the 0.0.4 text format
    /// (Prometheus sends `application/openmetrics-text;version=1.0.0;q=0.5,...,text/plain;version=0.0.4;q=0.3`).
    public static func prefersOpenMetrics(accept: String?) -> Bool {
        guard let accept else { return false }
        var om = -1.0, text = -1.0
        for part in accept.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let type = fields.first?.lowercased() else { continue }
            var q = 1.0
            for f in fields.dropFirst() where f.lowercased().hasPrefix("q=") { q = Double(f.dropFirst(2)) ?? 1 }
            if type == "application/openmetrics-text" { om = max(om, q) }
            if type == "text/plain" || type == "*/*" { text = max(text, q) }
        }
        return om > 0 && om >= text
    }
}
