/// The shipped dashboards, compiled in so `tracectl dash` needs no files beside it; the test
/// `DashboardTests.compiledInDashboardsAreTheFiles` keeps them equal to `dashboards/*.json`.
extension Dashboard {
    public static let builtIn: [String: String] = [
        "overview": #"""
{
  "$comment": "tracectl dash's default screen. Format: dashboards/README.md.",
  "title": "Overview",
  "time_range": "1h",
  "refresh": "1s",
  "panels": [
    {"title": "Spans/s", "kind": "stat", "grid": [0, 0, 2, 4], "unit": "/s",
     "query": "SELECT rate() FROM spans WHERE start > $since",
     "sparkline": "SELECT bucket(start, $bucket) AS t, rate() FROM spans WHERE start > $since GROUP BY t ORDER BY t"},
    {"title": "Error rate", "kind": "stat", "grid": [2, 0, 2, 4], "traces": "status=error", "unit": "%",
     "query": "SELECT avg(error) * 100 FROM spans WHERE start > $since",
     "sparkline": "SELECT bucket(start, $bucket) AS t, avg(error) * 100 FROM spans WHERE start > $since GROUP BY t ORDER BY t"},
    {"title": "p50 latency", "kind": "stat", "grid": [4, 0, 2, 4], "traces": "kind=llm", "unit": "ms",
     "query": "SELECT p50(duration_ms) FROM spans WHERE kind = 'llm' AND start > $since",
     "sparkline": "SELECT bucket(start, $bucket) AS t, p50(duration_ms) FROM spans WHERE kind = 'llm' AND start > $since GROUP BY t ORDER BY t"},
    {"title": "p95 latency", "kind": "stat", "grid": [6, 0, 2, 4], "traces": "kind=llm", "unit": "ms",
     "query": "SELECT p95(duration_ms) FROM spans WHERE kind = 'llm' AND start > $since",
     "sparkline": "SELECT bucket(start, $bucket) AS t, p95(duration_ms) FROM spans WHERE kind = 'llm' AND start > $since GROUP BY t ORDER BY t"},
    {"title": "p95 TTFT", "kind": "stat", "grid": [8, 0, 2, 4], "traces": "ttft>0", "unit": "ms",
     "query": "SELECT p95(ttft_ms) FROM spans WHERE ttft_ms IS NOT NULL AND start > $since",
     "sparkline": "SELECT bucket(start, $bucket) AS t, p95(ttft_ms) FROM spans WHERE ttft_ms IS NOT NULL AND start > $since GROUP BY t ORDER BY t"},
    {"title": "Cost/hour", "kind": "stat", "grid": [10, 0, 2, 4], "unit": "usd/h",
     "query": "SELECT rate(cost_usd) * 3600 FROM spans WHERE start > $since",
     "sparkline": "SELECT bucket(start, $bucket) AS t, rate(cost_usd) * 3600 FROM spans WHERE start > $since GROUP BY t ORDER BY t"},
    {"title": "Tokens/s by model", "kind": "timeseries", "grid": [0, 4, 8, 7], "traces": "kind=llm", "unit": "tokens/s", "refresh": "5s",
     "query": "SELECT bucket(start, $bucket) AS t, model, rate(total_tokens) FROM spans WHERE kind = 'llm' AND start > $since GROUP BY t, model ORDER BY t"},
    {"title": "Top models by cost", "kind": "bars", "grid": [8, 4, 4, 7], "traces": "model=$label", "unit": "usd", "refresh": "5s",
     "query": "SELECT model, sum(cost_usd) FROM spans WHERE kind = 'llm' AND start > $since GROUP BY model ORDER BY 2 DESC LIMIT 8"},
    {"title": "Firing alerts", "kind": "alerts", "grid": [0, 11, 4, 7], "refresh": "5s"},
    {"title": "Slowest traces", "kind": "table", "grid": [4, 11, 4, 7], "drill": "trace_id", "refresh": "10s",
     "query": "SELECT trace_id, name, duration_ms, cost_usd FROM traces WHERE start > $since ORDER BY duration_ms DESC LIMIT 20"},
    {"title": "Failing traces", "kind": "table", "grid": [8, 11, 4, 7], "drill": "trace_id", "refresh": "10s",
     "query": "SELECT trace_id, name, errors, start FROM traces WHERE error AND start > $since ORDER BY start DESC LIMIT 20"}
  ]
}
"""#,
        "cost": #"""
{
  "$comment": "Where the money goes. Format: dashboards/README.md.",
  "title": "Cost",
  "time_range": "24h",
  "refresh": "5s",
  "panels": [
    {"title": "Spend", "kind": "stat", "grid": [0, 0, 3, 4], "unit": "usd",
     "query": "SELECT sum(cost_usd) FROM spans WHERE start > $since",
     "sparkline": "SELECT bucket(start, $bucket) AS t, sum(cost_usd) FROM spans WHERE start > $since GROUP BY t ORDER BY t"},
    {"title": "Cost/hour", "kind": "stat", "grid": [3, 0, 3, 4], "unit": "usd/h",
     "query": "SELECT rate(cost_usd) * 3600 FROM spans WHERE start > $since"},
    {"title": "Cached share of input", "kind": "stat", "grid": [6, 0, 3, 4], "traces": "kind=llm", "unit": "%",
     "query": "SELECT sum(cached_tokens) * 100.0 / sum(input_tokens) FROM spans WHERE kind = 'llm' AND start > $since"},
    {"title": "Cost per call", "kind": "stat", "grid": [9, 0, 3, 4], "traces": "kind=llm", "unit": "usd",
     "query": "SELECT avg(cost_usd) FROM spans WHERE kind = 'llm' AND start > $since"},
    {"title": "Cost by service", "kind": "timeseries", "grid": [0, 4, 8, 7], "unit": "usd",
     "query": "SELECT bucket(start, $bucket) AS t, service, sum(cost_usd) FROM spans WHERE start > $since GROUP BY t, service ORDER BY t"},
    {"title": "By model", "kind": "bars", "grid": [8, 4, 4, 7], "traces": "model=$label", "unit": "usd",
     "query": "SELECT model, sum(cost_usd) FROM spans WHERE kind = 'llm' AND start > $since GROUP BY model ORDER BY 2 DESC LIMIT 8"},
    {"title": "By prompt version", "kind": "table", "grid": [0, 11, 6, 7], "traces": "prompt=$prompt_name version=$prompt_version",
     "query": "SELECT prompt_name, prompt_version, count() AS calls, sum(cost_usd) AS cost, avg(cost_usd) AS per_call FROM spans WHERE prompt_name IS NOT NULL AND start > $since GROUP BY 1, 2 ORDER BY 4 DESC LIMIT 20"},
    {"title": "By user", "kind": "bars", "grid": [6, 11, 3, 7], "traces": "user=$label", "unit": "usd",
     "query": "SELECT user_id, sum(cost_usd) FROM spans WHERE user_id IS NOT NULL AND start > $since GROUP BY user_id ORDER BY 2 DESC LIMIT 8"},
    {"title": "Costliest traces", "kind": "table", "grid": [9, 11, 3, 7], "drill": "trace_id",
     "query": "SELECT trace_id, cost_usd FROM traces WHERE start > $since ORDER BY cost_usd DESC LIMIT 20"}
  ]
}
"""#,
        "quality": #"""
{
  "$comment": "Scores, evaluators and drift. Format: dashboards/README.md.",
  "title": "Quality",
  "time_range": "24h",
  "refresh": "5s",
  "panels": [
    {"title": "User feedback", "kind": "stat", "grid": [0, 0, 3, 4], "unit": "%",
     "query": "SELECT avg(value) * 100 FROM scores WHERE source = 'user' AND time > $since"},
    {"title": "Flagged by evaluators", "kind": "stat", "grid": [3, 0, 3, 4], "unit": "count",
     "query": "SELECT count() FROM scores WHERE source = 'eval' AND name != 'groundedness' AND time > $since"},
    {"title": "Groundedness", "kind": "stat", "grid": [6, 0, 3, 4],
     "query": "SELECT avg(value) FROM scores WHERE name = 'groundedness' AND time > $since"},
    {"title": "Error rate", "kind": "stat", "grid": [9, 0, 3, 4], "traces": "kind=llm status=error", "unit": "%",
     "query": "SELECT avg(error) * 100 FROM spans WHERE kind = 'llm' AND start > $since"},
    {"title": "Scores over time", "kind": "timeseries", "grid": [0, 4, 8, 7],
     "query": "SELECT bucket(time, $bucket) AS t, name, avg(value) FROM scores WHERE time > $since GROUP BY t, name ORDER BY t"},
    {"title": "Evaluator flags", "kind": "bars", "grid": [8, 4, 4, 7], "unit": "count",
     "query": "SELECT name, count() FROM scores WHERE source = 'eval' AND name != 'groundedness' AND time > $since GROUP BY name ORDER BY 2 DESC"},
    {"title": "Drift", "kind": "drift", "grid": [0, 11, 6, 7]},
    {"title": "Anomalies", "kind": "anomalies", "grid": [6, 11, 6, 7]}
  ]
}
"""#,
    ]
}
