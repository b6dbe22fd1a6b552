"""Integration test: two llmtraced collectors forwarding to a real 2-shard ClickHouse cluster.

Starts two clickhouse-servers on 127.0.0.1 as cluster `llmtrace` (Tests/integration/clickhouse_cluster.py:
own configs, no systemd, stopped by PID), creates the tables with `tracectl clickhouse init` (twice:
the second run must only find them), then starts two collectors with their own data directories and
the same project keys, each with --clickhouse naming both nodes. Two senders post native spans to
each collector (each batch retried until acknowledged, as exporters do) while:
  - shard 2 is killed (-9) for 10 s: ingest goes on, the sinks retry and catch up;
  - collector A is killed (-9) and restarted on its data directory.
Then, once both sinks report no lag: every acknowledged span is in ClickHouse exactly once (with
FINAL, which collapses copies re-sent after the crash that no merge has collapsed yet), nothing
else is there but spans sent without an answer, each in its key's project; a trace lives on one
shard; scores arrive; a span's bytes (quotes, escapes, non-ASCII, a terminal escape) are kept.
Prints the counts the closing note quotes.

usage: python3 Tests/integration/clickhouse_test.py [BIN_DIR]
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from itest import check, free_port, http, wait_http  # noqa: E402
import itest  # noqa: E402
from clickhouse_cluster import Cluster  # noqa: E402

PROJECTS = {
    "chat": ("lt_ingest_chat_0123456789abcdef", "lt_read_chat_0123456789abcdef"),
    "search": ("lt_ingest_search_0123456789abcd", "lt_read_search_0123456789abcd"),
}
SPECIAL = "refund \"policy\" \\ naïve 日本語 \x1b[31m\u202e end"


class Collector:
    def __init__(self, bindir, root, name, url, config):
        self.bindir = bindir
        self.data = os.path.join(root, name)
        self.port = free_port()
        self.log = os.path.join(root, name + ".log")
        self.url = url
        self.config = config
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([os.path.join(self.bindir, "llmtraced"), "--listen", f"127.0.0.1:{self.port}", "--data", self.data,
                                      "--config", self.config, "--access-log", "off", "--seal-spans", "3000", "--evaluators", "none",
                                      "--clickhouse", self.url, "--query-engine", "auto"],
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        check(wait_http(f"http://127.0.0.1:{self.port}/healthz", time.time() + 30), f"collector on {self.port} answers")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)

    def metric(self, name):
        status, body, _ = http(f"http://127.0.0.1:{self.port}/metrics", headers={"Authorization": "Bearer " + PROJECTS["chat"][1]}, timeout=10)
        if status != 200:
            return None
        m = re.search(rf"^{name} (\S+)$", body.decode(), re.M)
        return float(m.group(1)) if m else None


class Sender(threading.Thread):
    """Posts batches of 10 traces x 5 spans to one collector, each batch retried until it is
    acknowledged; records what was acknowledged and what was sent without an answer."""

    def __init__(self, collector, seed):
        super().__init__(daemon=True)
        self.c = collector
        self.rng = random.Random(seed)
        self.acked = set()
        self.unanswered = set()
        self.stop = threading.Event()
        self.acked_at = []  # (time, spans)
        self.retries = 0

    def batch(self):
        project = self.rng.choice(sorted(PROJECTS))
        now = time.time_ns()
        spans, keys = [], []
        for _ in range(10):
            trace = "%032x" % self.rng.getrandbits(128)
            for k in range(5):
                sid = "%016x" % (self.rng.getrandbits(63) | 1)
                keys.append((project, trace, sid))
                spans.append({"trace_id": trace, "span_id": sid, "name": "chat gpt-4o", "kind": "llm", "service": "svc",
                              "start_ns": now - 1_000_000 * k, "end_ns": now, "request_model": "gpt-4o", "input_tokens": 12,
                              "input_messages": [{"role": "user", "content": SPECIAL if k == 0 else "hello"}]})
        return project, spans, keys

    def run(self):
        while not self.stop.is_set():
            project, spans, keys = self.batch()
            body = "\n".join(json.dumps(s) for s in spans).encode()
            while True:
                self.unanswered.update(keys)
                try:
                    status, _, _ = http(f"http://127.0.0.1:{self.c.port}/v1/spans", body,
                                        {"Content-Type": "application/x-ndjson", "Authorization": "Bearer " + PROJECTS[project][0]}, timeout=10)
                except Exception:
                    status = None
                if status == 200:
                    self.acked.update(keys)
                    self.unanswered.difference_update(keys)
                    self.acked_at.append((time.time(), len(keys)))
                    break
                self.retries += 1
                time.sleep(0.2)
            time.sleep(0.02)


def spans_in(cluster, table="llmtrace.spans FINAL"):
    out = cluster.query(f"SELECT project, trace_id, span_id FROM {table} FORMAT TabSeparated", )
    return [tuple(line.split("\t")) for line in out.splitlines() if line]


def main():
    bindir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.dirname(HERE)), ".build", "debug")
    root = tempfile.mkdtemp(prefix="llmtrace-clickhouse-")
    cluster = Cluster(os.path.join(root, "clickhouse"), 2).start()
    collectors = []
    try:
        url = cluster.url()
        tracectl = os.path.join(bindir, "tracectl")
        first = subprocess.run([tracectl, "clickhouse", "init", "--clickhouse", url], capture_output=True, text=True, timeout=120)
        check(first.returncode == 0, f"clickhouse init: {first.stdout}{first.stderr}")
        check(first.stdout.count("created table") == 8, f"init creates 4 tables on each of 2 nodes: {first.stdout}")
        check("18.16" in first.stdout or "modern.sql" in first.stdout, f"init names the version and form: {first.stdout}")
        again = subprocess.run([tracectl, "clickhouse", "init", "--clickhouse", url], capture_output=True, text=True, timeout=120)
        check(again.returncode == 0 and "created" not in again.stdout and again.stdout.count("exists  table") == 8, f"init is idempotent: {again.stdout}{again.stderr}")
        one = subprocess.run([tracectl, "clickhouse", "init", "--clickhouse", cluster.shards[0].url + "?cluster=llmtrace"], capture_output=True, text=True, timeout=60)
        check(one.returncode == 1 and "list every node" in one.stderr, f"init refuses to leave a node without tables: {one.stderr}")

        config = os.path.join(root, "config.json")
        with open(config, "w") as f:
            json.dump({"projects": [{"name": p, "ingest_keys": [k[0]], "read_keys": [k[1]]} for p, k in PROJECTS.items()]}, f)
        a = Collector(bindir, root, "a", url, config)
        b = Collector(bindir, root, "b", url, config)
        collectors = [a, b]
        a.start()
        b.start()

        senders = [Sender(a, 1), Sender(a, 2), Sender(b, 3), Sender(b, 4)]
        t0 = time.time()
        for s in senders:
            s.start()
        time.sleep(3)
        cluster.shards[1].kill()
        outage = (time.time(), None)
        failures_during, lag_peak = 0, 0
        while time.time() < outage[0] + 10:
            time.sleep(1)
            failures_during = max([failures_during] + [c.metric("llmtrace_clickhouse_insert_failures_total") or 0 for c in collectors])
            lag_peak = max([lag_peak] + [c.metric("llmtrace_clickhouse_lag_spans") or 0 for c in collectors])
        cluster.shards[1].start()
        outage = (outage[0], time.time())
        time.sleep(3)
        a.kill9()
        time.sleep(1)
        a.start()
        time.sleep(4)
        for s in senders:
            s.stop.set()
        for s in senders:
            s.join(timeout=60)
        ingest_seconds = time.time() - t0

        acked = set().union(*(s.acked for s in senders))
        unanswered = set().union(*(s.unanswered for s in senders)) - acked
        during = sum(n for s in senders for (t, n) in s.acked_at if outage[0] <= t <= outage[1])
        check(during > 0, "ingest goes on while a shard is down")
        check(failures_during > 0, "the sinks saw the shard outage as failed inserts: " + " | ".join(open(c.log).read()[-600:] for c in collectors))
        check(lag_peak > 0, "spans waited in the outbox during the outage")

        # Scores through collector B, by its key's project.
        traces = sorted({t for (p, t, _) in acked if p == "chat"})[:20]
        body = json.dumps([{"trace_id": t, "name": "helpfulness", "value": 0.5 + i / 100} for i, t in enumerate(traces)]).encode()
        status, resp, _ = http(f"http://127.0.0.1:{b.port}/v1/scores", body, {"Content-Type": "application/json", "Authorization": "Bearer " + PROJECTS["chat"][0]})
        check(status == 200, f"scores accepted: {status} {resp[:200]}")

        deadline = time.time() + 120
        while time.time() < deadline:
            lags = [c.metric("llmtrace_clickhouse_lag_spans") for c in collectors]
            if all(l == 0 for l in lags):
                break
            time.sleep(0.5)
        check(all(l == 0 for l in lags), f"both sinks caught up: lag {lags}")
        catch_up = time.time() - t0 - ingest_seconds

        final = spans_in(cluster)
        raw = int(cluster.query("SELECT count() FROM llmtrace.spans").strip())
        got = set(final)
        check(len(final) == len(got), f"FINAL holds each span once: {len(final)} rows, {len(got)} distinct")
        missing = acked - got
        check(not missing, f"{len(missing)} acknowledged spans missing from ClickHouse, e.g. {sorted(missing)[:3]}")
        extra = got - acked - unanswered
        check(not extra, f"{len(extra)} spans in ClickHouse nobody sent, e.g. {sorted(extra)[:3]}")
        check(all(p in PROJECTS for (p, _, _) in got), "every span in its key's project")

        shard_traces = [set(line for line in s.query("SELECT DISTINCT trace_id FROM llmtrace.spans_local FORMAT TabSeparated").splitlines()) for s in cluster.shards]
        check(all(shard_traces) and not (shard_traces[0] & shard_traces[1]), f"each trace on one shard ({len(shard_traces[0])} + {len(shard_traces[1])} traces)")

        scores = int(cluster.query("SELECT count() FROM llmtrace.scores FINAL WHERE name = 'helpfulness' AND project = 'chat'").strip())
        check(scores == len(traces), f"scores in ClickHouse: {scores} of {len(traces)}")

        row = cluster.query("SELECT contents, span FROM llmtrace.spans WHERE arrayExists(p -> position(p, 'naïve') > 0, contents) LIMIT 1 FORMAT JSONEachRow")
        doc = json.loads(row)
        check(doc["contents"] == [SPECIAL], f"contents keep the bytes: {doc['contents']!r}")
        span = json.loads(doc["span"])
        check(span["input_messages"][0]["role"] == "user" and span["input_messages"][0]["content"] == "", "the span column holds the rest")

        status_out = subprocess.run([tracectl, "clickhouse", "status", "--clickhouse", url], capture_output=True, text=True, timeout=60)
        check(status_out.returncode == 0 and "distinct spans" in status_out.stdout, f"clickhouse status: {status_out.stdout}{status_out.stderr}")

        # Reads through collector A answered from the cluster: A's store holds only what A received.
        read = {"Authorization": "Bearer " + PROJECTS["chat"][1], "Content-Type": "application/json"}
        in_cluster = int(cluster.query("SELECT count() FROM llmtrace.spans FINAL WHERE project = 'chat'").strip())

        def count(engine):
            status, body, headers = http(f"http://127.0.0.1:{a.port}/api/query", json.dumps({"query": "SELECT count() FROM spans", "engine": engine}).encode(), read)
            check(status == 200, f"engine={engine} query answers: {status} {body[:300]!r}")
            return json.loads(body)["rows"][0][0], headers.get("llmtrace-engine")

        n, used = count("clickhouse")
        check(n == in_cluster and used == "clickhouse", f"engine=clickhouse counts the cluster's spans of the key's project: {n} of {in_cluster} ({used})")
        n_local, used = count("local")
        check(used == "local" and 0 < n_local < in_cluster, f"engine=local counts collector A's own: {n_local} of {in_cluster}")
        n, used = count("auto")
        check(used == "clickhouse" and n == in_cluster, f"auto sends a query with no time bound to the cluster ({used}, {n})")
        status, body, _ = http(f"http://127.0.0.1:{a.port}/api/query", json.dumps({"query": "SELECT 1", "engine": "nope"}).encode(), read)
        check(status == 400 and b"local, clickhouse or auto" in body, f"an unknown engine is a 400: {status} {body[:200]!r}")

        b_traces = sorted({t for s in senders[2:] for (p, t, _) in s.acked if p == "chat"} - {t for s in senders[:2] for (p, t, _) in s.acked})
        tid = b_traces[0]
        status, body, headers = http(f"http://127.0.0.1:{a.port}/api/traces/{tid}", headers=read)
        doc = json.loads(body) if status == 200 else {}
        check(status == 200 and headers.get("llmtrace-engine") == "clickhouse" and len(doc.get("spans", [])) == 5,
              f"auto finds a trace collector B received in the cluster: {status} {headers.get('llmtrace-engine')} {body[:200]!r}")
        special = [m["content"] for sp in doc.get("spans", []) for m in sp.get("input_messages", []) if m["content"] != "hello"]
        check(special == [SPECIAL], f"its message contents come back as sent: {special!r}")
        status, _, _ = http(f"http://127.0.0.1:{a.port}/api/traces/{tid}?engine=local", headers=read)
        check(status == 404, f"engine=local does not have it: {status}")
        status, _, _ = http(f"http://127.0.0.1:{a.port}/api/traces/{tid}?engine=auto", headers={"Authorization": "Bearer " + PROJECTS["search"][1]})
        check(status == 404, f"another project's read key does not see it through the cluster: {status}")

        status, body, headers = http(f"http://127.0.0.1:{a.port}/api/traces?engine=clickhouse&service=svc&limit=7", headers=read)
        found = json.loads(body)["traces"] if status == 200 else []
        chat_traces = {t for (p, t, _) in got if p == "chat"}
        check(status == 200 and headers.get("llmtrace-engine") == "clickhouse" and len(found) == 7 and all(t["trace_id"] in chat_traces for t in found)
              and all(t["span_count"] == 5 for t in found), f"trace search through the cluster: {status} {body[:300]!r}")
        check([t["matched_at_ns"] for t in found] == sorted((t["matched_at_ns"] for t in found), reverse=True), "newest first")
        status, body2, _ = http(f"http://127.0.0.1:{a.port}/api/traces?engine=clickhouse&service=svc&limit=7&cursor={json.loads(body)['next_cursor']}", headers=read)
        page2 = json.loads(body2)["traces"] if status == 200 else []
        check(len(page2) == 7 and not ({t["trace_id"] for t in page2} & {t["trace_id"] for t in found}), "its next page continues without repeats")
        cli = subprocess.run([tracectl, "search", "--clickhouse", url, "--project", "chat", "--text", "refund", "--limit", "3", "--json"], capture_output=True, text=True, timeout=60)
        hits = json.loads(cli.stdout)["traces"] if cli.returncode == 0 else []
        check(len(hits) == 3 and all(h["trace_id"] in chat_traces for h in hits), f"tracectl search --clickhouse --text: {cli.stdout[:300]}{cli.stderr[:300]}")

        dash = subprocess.run([tracectl, "dash", "--once", "--size", "120x40", "--clickhouse", url, "--project", "chat", "--range", "1h"],
                              capture_output=True, text=True, timeout=120)
        check(dash.returncode == 0 and "Spans/s" in dash.stdout and "answered by a collector" in dash.stdout and "chat gpt" in dash.stdout,
              f"tracectl dash --clickhouse draws the panels from the cluster: {dash.stdout[-1500:]}{dash.stderr[-300:]}")

        sent = [c.metric("llmtrace_clickhouse_sent_spans_total") for c in collectors]
        print(f"acknowledged {len(acked)} spans in {ingest_seconds:.1f} s through 2 collectors "
              f"({len(acked) / ingest_seconds:.0f} spans/s; {during} acknowledged during the 10 s shard outage, outbox peak {lag_peak:.0f} spans; "
              f"{sum(s.retries for s in senders)} batch retries around the kill -9); "
              f"ClickHouse: {len(got)} distinct spans with FINAL, {raw} rows before merges "
              f"({raw - len(got)} re-sent copies), {len(unanswered)} sent without an answer, of which {len(got & unanswered)} stored; "
              f"sinks sent {sent} (after the restart collector A counts from 0); caught up {catch_up:.1f} s after ingest stopped; "
              f"shards hold {len(shard_traces[0])} and {len(shard_traces[1])} traces", flush=True)
        print(f"clickhouse_test: {itest.checks} checks passed", flush=True)
    finally:
        for c in collectors:
            try:
                c.stop()
            except Exception:
                pass
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
