import LLMTraceCLI
import LLMTraceClient
import LLMTraceDetect
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore

/// `tracectl drift`: what changed between a baseline window and the current one.
enum DriftCommand {
    static let usage = """
    tracectl drift: compare a baseline window with the current one, per service, model and prompt version.

    USAGE
      tracectl drift [--baseline 7d | FROM..TO | prompt:NAME@VERSION] [--current 1h | FROM..TO] [--by service,model]
                     [--data DIR | --endpoint URL [--api-key KEY]] [--project P] [--all] [--json]

    For every group and field, the two windows' distributions are compared and the fields ranked, the
    ones that drifted first and the biggest change on top:
      numeric      duration_ms, ttft_ms, input_tokens, output_tokens, cost_usd, retrieval_score:
                   Kolmogorov-Smirnov statistic and p-value, Wasserstein-1 over the baseline's standard
                   deviation (W1/σ), PSI over the baseline's deciles, Jensen-Shannon distance
      categorical  model, finish_reason, status, kind, tool_name: chi-square and p-value, Jensen-Shannon, PSI
      text         prompt, completion, documents: Jensen-Shannon distance of word and word-pair counts,
                   and the share of the current window's n-grams the baseline never had
    A field drifted when, on up to 1,000 values a side, the test says so (p < 0.05), and on more, when the
    effect is large (W1/σ ≥ 0.1, Jensen-Shannon ≥ 0.1; texts: JS ≥ 0.35 with 15% novel n-grams). PSI is
    shown with its bands: under 0.1 none, to 0.25 moderate, above major. Texts, tool names and retrieval
    scores come from an even sample of 2,000 spans per window.

    OPTIONS
      --baseline B      7d (default: the 7 days before the current window), FROM..TO (RFC 3339 times,
                        nanoseconds, or durations ago: 2d..1d), or prompt:NAME@VERSION (that version's spans)
      --current C       1h (default: the last hour) or FROM..TO
      --by FIELDS       service, model, prompt, comma-separated (default service,model), or none
      --all             Also list the fields that did not drift (default: drifted ones, or the top 10)
      --data, --endpoint, --api-key, --project, --json: as for tracectl query

    EXIT CODES
      0 success · 1 error · 2 bad usage · 4 cannot reach the collector

    EXAMPLES
      tracectl drift
      tracectl drift --baseline 2026-11-01T00:00:00Z..2026-11-08T00:00:00Z --current 24h
      tracectl drift --baseline prompt:support@v6 --current 6h --json
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["baseline", "current", "by", "data", "endpoint", "api-key", "project", "limit"],
                                         flags: ["json", "help", "no-color", "all"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("drift takes no arguments; see tracectl drift --help") }
        let limit = try a.value("limit").map { _ in try a.int("limit", default: 200) }
        let doc: JSONValue
        let reader = try Tracectl.reader(a, timeoutSeconds: 120)
        do {
            doc = try reader.drift(baseline: a.value("baseline"), current: a.value("current"), by: a.value("by"), limit: limit)
        } catch {
            return Tracectl.failed(error)
        }
        if a.has("json") { Terminal.write(Terminal.visible(doc.jsonString, keepNewlines: true) + "\n"); return 0 }
        let color = Terminal.useColor && !a.has("no-color")
        func window(_ name: String) -> String {
            let w = doc[name]
            return "\(name) \(w?["from"]?.string ?? "?") .. \(w?["to"]?.string ?? "?")\(w?["prompt"]?.string.map { " prompt \($0)" } ?? ""): \(w?["spans"]?.jsonString ?? "0") spans"
        }
        Terminal.error(Terminal.style(window("baseline") + " · " + window("current"), .dim, color: color && Terminal.isTTY(2)))
        let findings = doc["findings"]?.array ?? []
        let drifted = findings.filter { $0["drifted"]?.bool == true }
        let shown = a.has("all") ? findings : (drifted.isEmpty ? Array(findings.prefix(10)) : drifted)
        if findings.isEmpty {
            Terminal.print("nothing to compare: a field needs 20 values in each window for some group")
            return 0
        }
        let rows: [[String?]] = shown.enumerated().map { i, f in
            let group = (f["group"]?.object ?? []).map { "\($0.0)=\($0.1.string ?? "")" }.joined(separator: " ")
            return [String(i + 1), group, f["field"]?.string, f["drifted"]?.bool == true ? "yes" : "no",
                    f["effect"]?.double.map { String(format: "%.3f", $0) }, f["psi_band"]?.string ?? "",
                    "\(f["baseline_count"]?.jsonString ?? "") → \(f["current_count"]?.jsonString ?? "")", f["reason"]?.string]
        }
        let t = ResultTable(columns: ["rank", "group", "field", "drifted", "js", "psi", "values", "why"],
                            numeric: [true, false, false, false, true, false, false, false],
                            rows: rows.map { $0.map { $0.map { Terminal.visible($0) } } })
        Terminal.write(t.aligned(color: color))
        Terminal.error(Terminal.style("\(drifted.count) of \(findings.count) field(s) drifted" + (a.has("all") || drifted.isEmpty ? "" : " (--all lists every field)"),
                                      .dim, color: color && Terminal.isTTY(2)))
        return 0
    }
}
