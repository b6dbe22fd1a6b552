"""Integration test: a real Prometheus scrapes a real llmtraced.

Installs Debian's `prometheus` package when promtool is missing, starts llmtraced on 127.0.0.1
(free port, temp data directory, no keys: loopback only), ingests a known set of native spans in
two services and a few scores, then
  1. runs `promtool check metrics` on a live scrape: any complaint fails the test;
  2. starts a Prometheus server (its web listener on 127.0.0.1, a free port, temp storage) with a
     config that scrapes llmtraced every second;
  3. queries Prometheus's HTTP API until the counters it stored equal what was ingested (spans
     per service and status, errors, tokens, cost, durations' count, accepted spans, scores).
Bounded in time throughout; every process it starts is stopped. Exits non-zero on the first failure.

usage: python3 Tests/integration/prometheus_test.py [BIN_DIR]
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import itest  # noqa: E402
from itest import check, free_port, http, wait_http  # noqa: E402


def ensure_prometheus():
    if shutil.which("promtool") and shutil.which("prometheus"):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus"], check=True, timeout=900, env=env)
    # The package starts its own server (with systemd, where there is one); this test runs its own.
    subprocess.run(["sh", "-c", "service prometheus stop >/dev/null 2>&1 || true"], timeout=60)




def span(i, service, status, model):
    start = 1_767_225_600_000_000_000 + i * 1_000_000
    return {"trace_id": "%032x" % (i // 4 + 1), "span_id": "%016x" % (i + 1), "name": "chat " + model, "kind": "llm",
            "service": service, "start_ns": start, "end_ns": start + (i % 9 + 1) * 150_000_000, "status": status,
            "request_model": model, "input_tokens": 100 + i, "output_tokens": 10, "cost_usd": 0.25}


def main():
    bindir = sys.argv[1] if len(sys.argv) > 1 else subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    ensure_prometheus()
    tmp = tempfile.mkdtemp(prefix="llmtrace-prom-")
    procs = []
    try:
        port = free_port()
        env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
        d = subprocess.Popen([os.path.join(bindir, "llmtraced"), "--data", os.path.join(tmp, "data"), "--listen", f"127.0.0.1:{port}",
                              "--access-log", "off"], stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "llmtraced.log"), "w"), env=env)
        procs.append(d)
        base = f"http://127.0.0.1:{port}"
        check(wait_http(base + "/healthz", time.time() + 30), "llmtraced did not come up")

        # Known spans: chat (ok and error), search (ok); three batches, one with an invalid span.
        spans = [span(i, "chat", "error" if i % 5 == 0 else "ok", "gpt-4o") for i in range(0, 60)]
        spans += [span(i, "search", "ok", "claude-3-5-sonnet") for i in range(100, 125)]
        batches = [spans[:30], spans[30:60], spans[60:] + [{"trace_id": "not hex"}]]
        for b in batches:
            st, body, _ = http(base + "/v1/spans", json.dumps(b).encode(), {"content-type": "application/json"})
            check(st == 200, f"ingest answered {st}: {body[:200]}")
        for v in (1, 0, 1):
            st, _, _ = http(base + "/v1/scores", json.dumps({"trace_id": "%032x" % 1, "name": "thumbs", "value": v}).encode(),
                            {"content-type": "application/json"})
            check(st == 200, "score not stored")
        want = {
            'sum(llmtrace_spans_total{service="chat",status="ok"})': 48,
            'sum(llmtrace_spans_total{service="chat",status="error"})': 12,
            'sum(llmtrace_spans_total{service="search"})': 25,
            'sum(llmtrace_span_errors_total)': 12,
            'sum(gen_ai_client_operation_duration_seconds_count)': 85,
            'sum(llmtrace_tokens_total{type="output"})': 850,
            'sum(llmtrace_tokens_total{type="input"})': sum(s["input_tokens"] for s in spans),
            'sum(llmtrace_cost_usd_total)': 85 * 0.25,
            'sum(llmtrace_spans_accepted_total)': 85,
            'sum(llmtrace_spans_rejected_total)': 1,
            'sum(llmtrace_scores_total{name="thumbs"})': 3,
            'sum(llmtrace_score_values_summed{name="thumbs"})': 2,
        }

        # 1. promtool on a live scrape.
        st, scrape, headers = http(base + "/metrics")
        check(st == 200, f"/metrics answered {st}")
        check(headers.get("content-type", headers.get("Content-Type", "")).startswith("text/plain; version=0.0.4"), f"content type {headers}")
        pt = subprocess.run(["promtool", "check", "metrics"], input=scrape, capture_output=True, timeout=60)
        check(pt.returncode == 0 and not pt.stdout.strip() and not pt.stderr.strip(),
              f"promtool check metrics complained (exit {pt.returncode}): {pt.stdout.decode()} {pt.stderr.decode()}")

        # OpenMetrics for a scraper that prefers it (Prometheus's own Accept header).
        st, om, headers = http(base + "/metrics", headers={"accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"})
        check(st == 200 and headers.get("content-type", headers.get("Content-Type", "")).startswith("application/openmetrics-text"), f"OpenMetrics content type: {headers}")
        check(om.endswith(b"# EOF\n") and b"# TYPE llmtrace_spans counter" in om, "OpenMetrics exposition shape")

        # 2. A real Prometheus scraping every second (it negotiates OpenMetrics).
        pport = free_port()
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: llmtrace\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{port}']\n")
        pt = subprocess.run(["promtool", "check", "config", config], capture_output=True, timeout=60)
        check(pt.returncode == 0, f"promtool check config: {pt.stdout.decode()} {pt.stderr.decode()}")
        p = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
                              f"--web.listen-address=127.0.0.1:{pport}"], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(tmp, "prometheus.log"), "w"))
        procs.append(p)
        papi = f"http://127.0.0.1:{pport}"
        check(wait_http(papi + "/-/ready", time.time() + 60), "prometheus did not become ready")

        # 3. What Prometheus stored equals what was ingested.
        def query(q):
            st, body, _ = http(papi + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
            if st != 200:
                return None
            r = json.loads(body)["data"]["result"]
            return float(r[0]["value"][1]) if r else None

        deadline = time.time() + 60
        got = {}
        while time.time() < deadline:
            got = {q: query(q) for q in want}
            if all(got[q] is not None and abs(got[q] - v) < 1e-6 for q, v in want.items()):
                break
            time.sleep(0.5)
        for q, v in want.items():
            check(got.get(q) is not None and abs(got[q] - v) < 1e-6, f"Prometheus has {q} = {got.get(q)}, ingested {v}")
        st, body, _ = http(papi + "/api/v1/targets")
        targets = json.loads(body)["data"]["activeTargets"]
        check(len(targets) == 1 and targets[0]["health"] == "up", f"scrape target not healthy: {targets}")
        up = query('up{job="llmtrace"}')
        check(up == 1, f"up = {up}")
        # The Grafana dashboard: every panel's PromQL is valid to this Prometheus and names only
        # metrics llmtraced exports.
        import re
        with open(os.path.join(ROOT, "dashboards", "grafana", "llmtrace.json")) as f:
            dash = json.load(f)
        exported = set(re.findall(rb"^([a-zA-Z_:][a-zA-Z0-9_:]*)", scrape, re.M))
        for fam in re.findall(rb"^# TYPE (\S+) ", scrape, re.M):  # families with no series yet
            exported |= {fam, fam + b"_bucket", fam + b"_sum", fam + b"_count"}
        exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
        check(len(exprs) >= 20, f"dashboard has {len(exprs)} queries")
        for e in exprs:
            q = e.replace("$__rate_interval", "1m").replace("$project", ".*").replace("$service", ".*")
            st, body, _ = http(papi + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
            check(st == 200 and json.loads(body)["status"] == "success", f"dashboard query rejected by Prometheus: {q}: {body[:300]}")
            for name in re.findall(r"\b((?:llmtrace|gen_ai|process)_[a-z0-9_]+)", q):
                check(name.encode() in exported, f"dashboard names {name}, which /metrics does not export")
        print(f"prometheus_test: {itest.checks} checks passed", flush=True)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
