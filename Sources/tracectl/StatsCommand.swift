import LLMTraceCLI

/// `tracectl stats`: the per service and model summary, as a query.
enum StatsCommand {
    static let usage = """
    tracectl stats: calls, error rate, latency, tokens and cost per service and model.

    USAGE
      tracectl stats [--since 1h] [--service S] [--kind llm] [--data DIR | --endpoint URL [--api-key KEY] | --clickhouse URL] [--json | --csv]

    One row per service and model over the last --since (default 1h; any duration such as 15m, 24h,
    7d, or 'all'), busiest first: calls, errors, error rate, p50 and p95 duration in ms, input and
    output tokens, cost in USD. It runs this query (print it with --show-query):

      SELECT service, model, count() AS calls, ... FROM spans WHERE start > now() - 1h
      GROUP BY service, model ORDER BY calls DESC

    OPTIONS
      --since D         Time window ending now (default 1h); 'all' for everything
      --service S       Only this service
      --kind K          Only spans of this kind (llm, retrieval, embedding, tool, agent, chain, ...)
      --show-query      Print the query instead of running it
      --data, --endpoint, --api-key, --project, --json, --csv: as for tracectl query

    EXIT CODES
      0 success · 1 the query failed · 2 bad usage · 4 cannot reach the collector

    EXAMPLES
      tracectl stats
      tracectl stats --since 24h --kind llm
      tracectl stats --since 7d --service chat --csv > weekly.csv
    """

    static func query(since: String, service: String?, kind: String?) throws -> String {
        var conditions: [String] = []
        if since != "all" {
            guard let last = since.last, "smhdw".contains(last), let n = Double(since.dropLast()), n > 0 else {
                throw UsageError("--since takes a duration such as 30m, 1h, 24h, 7d (or 'all'), got '\(since)'")
            }
            conditions.append("start > now() - \(since)")
        }
        func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
        if let service { conditions.append("service = \(quoted(service))") }
        if let kind { conditions.append("kind = \(quoted(kind))") }
        return """
        SELECT service, model, count() AS calls, sum(error) AS errors, round(avg(error) * 100, 2) AS error_pct, \
        round(p50(duration_ms), 1) AS p50_ms, round(p95(duration_ms), 1) AS p95_ms, sum(input_tokens) AS input_tokens, \
        sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd FROM spans\
        \(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")) \
        GROUP BY service, model ORDER BY calls DESC, service, model
        """
    }

    static func run(_ argv: [String]) throws -> Int32 {
        let a = try ArgumentParser.parse(argv, options: ["since", "service", "kind", "data", "endpoint", "clickhouse", "api-key", "project", "max-rows", "timeout"],
                                         flags: ["json", "csv", "help", "no-color", "show-query"])
        if a.has("help") { Terminal.print(usage); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("stats takes no arguments; see tracectl stats --help") }
        let sql = try query(since: a.value("since") ?? "1h", service: a.value("service"), kind: a.value("kind"))
        if a.has("show-query") { Terminal.print(sql); return 0 }
        // The rest is tracectl query with the same options.
        var rest = [sql]
        for name in ["data", "endpoint", "clickhouse", "api-key", "project", "max-rows", "timeout"] {
            if let v = a.value(name) { rest += ["--" + name, v] }
        }
        for flag in ["json", "csv", "no-color"] where a.has(flag) { rest.append("--" + flag) }
        return try QueryCommand.run(rest)
    }
}
