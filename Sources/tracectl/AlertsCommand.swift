import Foundation
import LLMTraceCLI
import LLMTraceClient
import LLMTraceDetect
import LLMTraceModel
import LLMTraceQuery

/// `tracectl alerts`, `tracectl anomalies`: what the detectors found.
enum AlertsCommand {
    static let usage = """
    tracectl alerts: the detectors' alerts (pending, firing, resolved) and silences; add or remove a silence.

    USAGE
      tracectl alerts [--state firing|pending|resolved] [--endpoint URL [--api-key KEY] | --data DIR] [--json]
      tracectl alerts --silence LABEL=VALUE[,LABEL=VALUE] --for 2h [--comment TEXT] --endpoint URL
      tracectl alerts --unsilence ID --endpoint URL

    An alert is an anomaly on one metric of one series (a model or a prompt version of a service) that
    held for --alert-for minutes; it resolves after ten quiet minutes. Open alerts are listed first,
    newest first. With --endpoint (or $LLMTRACE_ENDPOINT) the running collector answers, and a read key
    confines the list to its project; with --data the detector state the collector saved
    (DATA/detectors.db, at most a minute old) is read.

    A silence holds back notifications of the alerts it matches, for a time; labels are service, model,
    prompt and metric, and an empty list silences the whole project. Silences go through a running
    collector.

    OPTIONS
      --state S         Only alerts in this state
      --silence M       Add a silence matching M (model=gpt-4o,metric=p95_latency_ms)
      --for D           How long the silence lasts (30m, 2h, 7d)
      --comment TEXT    Why (shown with the silence)
      --unsilence ID    Remove a silence
      --data, --endpoint, --api-key, --json: as for tracectl query

    EXIT CODES
      0 success · 1 error · 2 bad usage or a refused key · 4 cannot reach the collector

    EXAMPLES
      tracectl alerts
      tracectl alerts --state firing --json
      tracectl alerts --silence model=gpt-4o --for 2h --comment "provider incident"
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["state", "data", "endpoint", "api-key", "project", "silence", "for", "comment", "unsilence"],
                                         flags: ["json", "help", "no-color"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("alerts takes no arguments; see tracectl alerts --help") }
        let color = Terminal.useColor && !a.has("no-color")
        if let state = a.value("state"), Alert.State(rawValue: state) == nil { throw UsageError("--state takes firing, pending or resolved, got '\(state)'") }
        let endpoint = a.value("data") == nil ? Remote.endpoint(a) : nil
        if a.value("silence") != nil || a.value("unsilence") != nil {
            guard let endpoint else { throw UsageError("silences go through a running collector: add --endpoint URL (or set LLMTRACE_ENDPOINT)") }
            return try silence(endpoint, a)
        }
        let doc: JSONValue
        let reader = try Tracectl.reader(a, timeoutSeconds: 60)
        do { doc = try reader.alerts(state: a.value("state")) } catch { return Tracectl.failed(error) }
        if a.has("json") {
            Terminal.write(Terminal.visible(doc.jsonString, keepNewlines: true) + "\n")
            return 0
        }
        let alerts = doc["alerts"]?.array ?? [], silences = doc["silences"]?.array ?? []
        if alerts.isEmpty {
            Terminal.print("no alerts")
        } else {
            let rows: [[String?]] = alerts.map { x in
                let series = AlertsCommand.series(x)
                let usual = x["usual"]?.double.map { " (usual \(num($0)))" } ?? ""
                return [x["state"]?.string.map { $0 + (x["silenced"]?.bool == true ? " (silenced)" : "") }, x["id"]?.string,
                        x["project"]?.string, x["service"]?.string, series, x["metric"]?.string,
                        (x["value"]?.double.map(num) ?? "") + usual, x["peak_score"]?.double.map { String(format: "%.2f", $0) },
                        x["starts_at"]?.string]
            }
            let t = ResultTable(columns: ["state", "id", "project", "service", "series", "metric", "value", "score", "since"],
                                numeric: [false, false, false, false, false, false, false, true, false],
                                rows: rows.map { $0.map { $0.map { Terminal.visible($0) } } })
            Terminal.write(t.aligned(color: color))
        }
        if !silences.isEmpty {
            Terminal.print("")
            let rows: [[String?]] = silences.map { s in
                let m = (s["matchers"]?.object ?? []).map { "\($0.0)=\($0.1.string ?? "")" }.joined(separator: ",")
                return [s["id"].map(\.jsonString), s["project"]?.string, m.isEmpty ? "(whole project)" : m, s["ends_at"]?.string, s["comment"]?.string]
            }
            let t = ResultTable(columns: ["silence", "project", "matchers", "until", "comment"], numeric: [true, false, false, false, false],
                                rows: rows.map { $0.map { $0.map { Terminal.visible($0) } } })
            Terminal.write(t.aligned(color: color))
        }
        return 0
    }

    static func num(_ d: Double) -> String { QueryValue.double(d).text }

    /// "model=gpt-4o", "prompt=support (version v7)", "retriever=vector-search".
    static func series(_ x: JSONValue) -> String {
        for d in ["model", "prompt", "retriever"] {
            if let v = x[d]?.string { return "\(d)=\(v)" + (x["version"]?.string.map { " (\($0))" } ?? "") }
        }
        return ""
    }

    static func silence(_ endpoint: String, _ a: ParsedArguments) throws -> Int32 {
        if let id = a.value("unsilence") {
            guard let n = Int64(id), n > 0 else { throw UsageError("--unsilence takes a silence id (a number), got '\(id)'") }
            switch try Remote.call(endpoint, a, "DELETE", "/api/silences/\(n)") {
            case .failed(let code): return code
            case .ok: Terminal.print("silence \(n) removed"); return 0
            }
        }
        guard let duration = a.value("for") else { throw UsageError("--silence needs --for, e.g. --for 2h") }
        var w = JSONWriter()
        w.beginObject()
        w.key("matchers"); w.beginObject()
        for part in (a.value("silence") ?? "").split(separator: ",") where !part.isEmpty {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, !kv[1].isEmpty else { throw UsageError("--silence takes LABEL=VALUE pairs separated by commas (model=gpt-4o), got '\(part)'") }
            w.key(String(kv[0])); w.string(String(kv[1]))
        }
        w.endObject()
        w.key("duration"); w.string(duration)
        if let c = a.value("comment") { w.key("comment"); w.string(c) }
        if let p = a.value("project") { w.key("project"); w.string(p) }
        if let user = ProcessInfo.processInfo.environment["USER"] { w.key("created_by"); w.string(user) }
        w.endObject()
        switch try Remote.call(endpoint, a, "POST", "/api/silences", body: w.bytes) {
        case .failed(let code): return code
        case .ok(let doc, let raw):
            if a.has("json") { Terminal.write(Terminal.visible(String(decoding: raw, as: UTF8.self), keepNewlines: true)); return 0 }
            Terminal.print("silence \(doc["id"]?.jsonString ?? "?") until \(doc["ends_at"]?.string ?? "?")")
            return 0
        }
    }
}

enum AnomaliesCommand {
    static let usage = """
    tracectl anomalies: the latest anomalies the detectors scored, newest first.

    USAGE
      tracectl anomalies [--since 1h] [--service S] [--metric M] [--limit N] [--endpoint URL [--api-key KEY]] [--json]

    Every minute, each series (a model or a prompt version of a service) gets one point per metric —
    calls, error_rate, p50_latency_ms, p95_latency_ms, ttft_p95_ms, input_tokens_per_call,
    output_tokens_per_call, cost_per_call, cost_per_minute, eval_failure_rate — and an anomaly score in
    [0, 1]; points at 0.5 or more are anomalies. They are kept by the running collector (the newest
    10,000), so this asks it (--endpoint or $LLMTRACE_ENDPOINT); a read key confines them to its project.

    EXAMPLES
      tracectl anomalies --since 6h
      tracectl anomalies --metric p95_latency_ms --json
    """

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["since", "service", "metric", "limit", "endpoint", "api-key", "project", "data"],
                                         flags: ["json", "help", "no-color"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("anomalies takes no arguments; see tracectl anomalies --help") }
        let limit = try a.value("limit").map { _ in try a.int("limit", default: 100) }
        let doc: JSONValue
        let reader = try Tracectl.reader(a, timeoutSeconds: 60)
        do {
            doc = try reader.anomalies(since: a.value("since"), service: a.value("service"), metric: a.value("metric"), limit: limit)
        } catch {
            return Tracectl.failed(error)
        }
        do {
            if a.has("json") { Terminal.write(Terminal.visible(doc.jsonString, keepNewlines: true) + "\n"); return 0 }
            let list = doc["anomalies"]?.array ?? []
            if list.isEmpty { Terminal.print("no anomalies"); return 0 }
            let rows: [[String?]] = list.map { x in
                let series = AlertsCommand.series(x)
                return [x["minute"]?.string, x["project"]?.string, x["service"]?.string, series, x["metric"]?.string,
                        x["value"]?.double.map(AlertsCommand.num), x["usual"]?.double.map(AlertsCommand.num),
                        x["score"]?.double.map { String(format: "%.2f", $0) }]
            }
            let t = ResultTable(columns: ["minute", "project", "service", "series", "metric", "value", "usual", "score"],
                                numeric: [false, false, false, false, false, true, true, true],
                                rows: rows.map { $0.map { $0.map { Terminal.visible($0) } } })
            Terminal.write(t.aligned(color: Terminal.useColor && !a.has("no-color")))
            return 0
        }
    }
}
