"""Integration test: LLMTrace's alerts reach a real Prometheus Alertmanager and a webhook.

Installs Debian's `prometheus` (promtool) and `prometheus-alertmanager` packages when missing, then
  1. `promtool check rules` and `promtool test rules` on dashboards/prometheus/llmtrace-rules.yml;
  2. starts a webhook receiver (this script, on 127.0.0.1) and Alertmanager (127.0.0.1, free ports,
     no clustering) routing every alert to that receiver;
  3. starts llmtraced with --alertmanager and --alert-webhook, and ingests nine hours of a model's
     calls (timestamps in the past) whose latency doubles for the last hour;
  4. waits for: llmtraced's own webhook POST (status firing, the model's latency metric),
     Alertmanager's v2 API listing the alert, and Alertmanager notifying the receiver in turn;
     llmtrace_alerts_firing on /metrics (promtool check metrics finds nothing to complain about);
     `tracectl alerts` and `tracectl anomalies` showing it;
  5. restarts llmtraced on the same data directory: the alert is still firing, with the same id,
     and is not announced to the webhook again; a silence made through the API is listed.
Bounded in time throughout; every process it starts is stopped. Exits non-zero on the first failure.

usage: python3 Tests/integration/alerting_test.py [BIN_DIR]
"""
import http.server as httpserver
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import itest  # noqa: E402
from itest import check, free_port, http, wait_http  # noqa: E402

RULES = os.path.join(ROOT, "dashboards", "prometheus")


def ensure_packages():
    need = []
    if not shutil.which("promtool"):
        need.append("prometheus")
    if not shutil.which("prometheus-alertmanager"):
        need.append("prometheus-alertmanager")
    if not need:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + need, check=True, timeout=900, env=env)
    # The packages start their own servers where there is an init system; this test runs its own.
    subprocess.run(["sh", "-c", "service prometheus stop >/dev/null 2>&1; service prometheus-alertmanager stop >/dev/null 2>&1; true"], timeout=60)


class Receiver(httpserver.BaseHTTPRequestHandler):
    posts = []  # (path, parsed body)
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        with Receiver.lock:
            Receiver.posts.append((self.path, doc))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def posts(path):
    with Receiver.lock:
        return [d for p, d in Receiver.posts if p == path]


def wait_for(what, cond, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        r = cond()
        if r:
            return r
        time.sleep(0.2)
    check(False, f"timed out after {seconds} s waiting for {what}")




def traffic(now_ns):
    """Nine hours of calls to model 'gpt-4o' ending a minute ago, latency doubled in the last hour."""
    rnd = random.Random(7)
    minute = 60_000_000_000
    first = (now_ns // minute - 9 * 60) * minute
    spans = []
    for m in range(9 * 60 - 1):
        slow = 2.0 if m >= 8 * 60 else 1.0
        for k in range(20):
            start = first + m * minute + k * 2_500_000_000
            latency = (800 + rnd.gauss(0, 60)) * slow
            spans.append({"trace_id": "%016x%016x" % (m + 1, k + 1), "span_id": "%016x" % (k + 1), "name": "chat", "kind": "llm",
                          "service": "support-bot", "start_ns": start, "end_ns": start + int(latency * 1e6), "request_model": "gpt-4o",
                          "input_tokens": int(rnd.gauss(900, 80)), "output_tokens": int(rnd.gauss(250, 25))})
    return spans


def start_llmtraced(bindir, data, port, am_port, hook_port, log):
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    return subprocess.Popen([os.path.join(bindir, "llmtraced"), "--data", data, "--listen", f"127.0.0.1:{port}", "--access-log", "off",
                             "--alertmanager", f"http://127.0.0.1:{am_port}", "--alert-webhook", f"http://127.0.0.1:{hook_port}/llmtrace"],
                            stdout=subprocess.DEVNULL, stderr=open(log, "a"), env=env)


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()


def main():
    bindir = sys.argv[1] if len(sys.argv) > 1 else subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    ensure_packages()
    tmp = tempfile.mkdtemp(prefix="llmtrace-alerting-")
    procs = []
    server = None
    try:
        # 1. The example rules.
        r = subprocess.run(["promtool", "check", "rules", os.path.join(RULES, "llmtrace-rules.yml")], capture_output=True, timeout=60)
        check(r.returncode == 0, f"promtool check rules: {r.stdout.decode()} {r.stderr.decode()}")
        r = subprocess.run(["promtool", "test", "rules", "llmtrace-rules.test.yml"], cwd=RULES, capture_output=True, timeout=60)
        check(r.returncode == 0, f"promtool test rules: {r.stdout.decode()} {r.stderr.decode()}")

        # 2. The receiver and Alertmanager.
        hook_port = free_port()
        server = httpserver.ThreadingHTTPServer(("127.0.0.1", hook_port), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        am_port = free_port()
        am_config = os.path.join(tmp, "alertmanager.yml")
        with open(am_config, "w") as f:
            f.write("route:\n  receiver: hook\n  group_by: [alertname, project]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
                    f"receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{hook_port}/am\n        send_resolved: true\n")
        r = subprocess.run(["amtool", "check-config", am_config], capture_output=True, timeout=60)
        check(r.returncode == 0, f"amtool check-config: {r.stdout.decode()} {r.stderr.decode()}")
        am = subprocess.Popen(["prometheus-alertmanager", f"--config.file={am_config}", f"--storage.path={os.path.join(tmp, 'am')}",
                               f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "alertmanager.log"), "w"))
        procs.append(am)
        check(wait_http(f"http://127.0.0.1:{am_port}/-/ready", time.time() + 60), "alertmanager did not become ready")

        # 3. llmtraced and the traffic.
        port = free_port()
        data = os.path.join(tmp, "data")
        log = os.path.join(tmp, "llmtraced.log")
        d = start_llmtraced(bindir, data, port, am_port, hook_port, log)
        procs.append(d)
        base = f"http://127.0.0.1:{port}"
        check(wait_http(base + "/healthz", time.time() + 30), "llmtraced did not come up")
        spans = traffic(time.time_ns())
        st, body, _ = http(base + "/v1/spans", json.dumps(spans).encode(), {"content-type": "application/json"}, timeout=120)
        check(st == 200 and json.loads(body)["accepted"] == len(spans), f"ingest answered {st}: {body[:300]}")

        # 4. llmtraced's webhook, Alertmanager's API, Alertmanager's own notification.
        def firing_hook():
            for doc in posts("/llmtrace"):
                for a in (doc or {}).get("alerts", []):
                    if a.get("status") == "firing" and a["labels"].get("model") == "gpt-4o" and "latency" in a["labels"].get("metric", ""):
                        return a
            return None
        hooked = wait_for("llmtraced's webhook POST of a firing latency alert", firing_hook, 60)
        check(hooked["labels"]["alertname"] == "LLMTraceAnomaly" and hooked["labels"]["project"] == "default", f"labels {hooked['labels']}")
        check("rose to" in hooked["annotations"]["summary"], f"summary {hooked['annotations']}")

        def am_alert():
            st, body, _ = http(f"http://127.0.0.1:{am_port}/api/v2/alerts")
            if st != 200:
                return None
            for a in json.loads(body):
                if a["labels"].get("alertname") == "LLMTraceAnomaly" and a["labels"].get("model") == "gpt-4o" and a["status"]["state"] == "active":
                    return a
            return None
        am_seen = wait_for("the alert in Alertmanager's v2 API", am_alert, 60)
        check(am_seen["labels"].get("service") == "support-bot", f"Alertmanager labels {am_seen['labels']}")
        check(am_seen.get("generatorURL", "").startswith(f"http://127.0.0.1:{port}/api/alerts?id="), f"generatorURL {am_seen.get('generatorURL')}")

        def am_notified():
            for doc in posts("/am"):
                if doc and doc.get("status") == "firing" and any(a["labels"].get("model") == "gpt-4o" for a in doc.get("alerts", [])):
                    return doc
            return None
        wait_for("Alertmanager to notify its receiver", am_notified, 60)

        st, body, _ = http(base + "/api/alerts?state=firing")
        firing = json.loads(body)["alerts"]
        check(st == 200 and any(a["model"] == "gpt-4o" for a in firing), f"/api/alerts: {body[:400]}")
        ids = sorted(a["id"] for a in firing)
        st, scrape, _ = http(base + "/metrics")
        check(b'llmtrace_alerts_firing{project="default"} ' in scrape, "llmtrace_alerts_firing missing from /metrics")
        check(b'llmtrace_anomaly_score{project="default",service="support-bot",model="gpt-4o"' in scrape, "llmtrace_anomaly_score missing")
        pt = subprocess.run(["promtool", "check", "metrics"], input=scrape, capture_output=True, timeout=60)
        check(pt.returncode == 0 and not pt.stdout.strip() and not pt.stderr.strip(), f"promtool check metrics: {pt.stdout.decode()} {pt.stderr.decode()}")
        env = dict(os.environ, SWIFT_BACKTRACE="enable=no", LLMTRACE_ENDPOINT=base, NO_COLOR="1")
        out = subprocess.run([os.path.join(bindir, "tracectl"), "alerts"], capture_output=True, text=True, timeout=60, env=env)
        check(out.returncode == 0 and "firing" in out.stdout and "model=gpt-4o" in out.stdout, f"tracectl alerts: {out.stdout} {out.stderr}")
        out = subprocess.run([os.path.join(bindir, "tracectl"), "anomalies", "--limit", "5"], capture_output=True, text=True, timeout=60, env=env)
        check(out.returncode == 0 and "latency" in out.stdout, f"tracectl anomalies: {out.stdout} {out.stderr}")

        # 5. A restart continues, and announces nothing again.
        stop(d)
        with Receiver.lock:
            before = len([p for p, _ in Receiver.posts if p == "/llmtrace"])
        d = start_llmtraced(bindir, data, port, am_port, hook_port, log)
        procs.append(d)
        check(wait_http(base + "/healthz", time.time() + 30), "llmtraced did not come back")
        time.sleep(4)  # several detector ticks
        st, body, _ = http(base + "/api/alerts?state=firing")
        check(st == 200 and sorted(a["id"] for a in json.loads(body)["alerts"]) == ids, f"after the restart: {body[:400]}")
        with Receiver.lock:
            after = len([p for p, _ in Receiver.posts if p == "/llmtrace"])
        check(after == before, f"the restart announced {after - before} notification(s) again")
        st, body, _ = http(base + "/api/silences", json.dumps({"matchers": {"model": "gpt-4o"}, "duration": "1h", "comment": "ci"}).encode(),
                           {"content-type": "application/json"})
        check(st == 201, f"silence: {st} {body[:200]}")
        st, body, _ = http(base + "/api/alerts?state=firing")
        check(all(a["silenced"] for a in json.loads(body)["alerts"]), f"silenced: {body[:300]}")
        print(f"alerting_test: {itest.checks} checks passed", flush=True)
    finally:
        for p in procs:
            stop(p)
        if server:
            server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
