"""Integration test: the modern ClickHouse schema (schemas/clickhouse/modern.sql) on a modern ClickHouse.

Debian ships ClickHouse 18.16 only, which takes legacy.sql; chDB (PyPI `chdb`, pip-installed when
missing) embeds a current ClickHouse engine. The test runs the statements `tracectl clickhouse schema
--retention 30d` prints in a chDB session, then replays into it what a real llmtraced's sink
inserted: the collector forwards to a small HTTP endpoint on 127.0.0.1 that keeps each INSERT's
query and body and answers 200 (it stands in for the network hop only; the rows are judged by
chDB). Checks: every statement runs; the sink's JSONEachRow rows for spans and scores insert into
the modern tables; the same rows inserted twice collapse to one with FINAL; the ALIAS columns,
TTL and bloom-filter indexes are there; contents keep their bytes.

usage: python3 Tests/integration/clickhouse_modern_test.py [BINDIR]
"""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import itest  # noqa: E402
from itest import check, free_port, http, wait_http  # noqa: E402

SPECIAL = "refund \"policy\" \\ naïve 日本語 \x1b[31m\u202e end"


class Capture(BaseHTTPRequestHandler):
    inserts = []  # (query, body)
    lock = threading.Lock()

    def do_POST(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("query", [""])[0]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with Capture.lock:
            Capture.inserts.append((q, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    bindir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.dirname(HERE)), ".build", "debug")
    itest.pip_install_missing(["chdb"], ["chdb"])
    from chdb import session as chs

    root = tempfile.mkdtemp(prefix="llmtrace-chmodern-")
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proc = None
    try:
        db = chs.Session(os.path.join(root, "chdb"))
        version = str(db.query("SELECT version()", "CSV")).strip().strip('"')
        check(int(version.split(".")[0]) >= 21, f"chDB embeds a modern ClickHouse: {version}")

        tracectl = os.path.join(bindir, "tracectl")
        schema = subprocess.run([tracectl, "clickhouse", "schema", "--retention", "30d"], capture_output=True, text=True, timeout=60)
        check(schema.returncode == 0, f"tracectl clickhouse schema: {schema.stderr}")
        statements = [s.strip() for s in schema.stdout.split(";\n") if s.strip()]
        check(len(statements) == 3, f"database and two local tables without a cluster: {len(statements)}")
        for st in statements:
            db.query(st)
        for st in statements:
            db.query(st)  # IF NOT EXISTS: runs again
        created = str(db.query("SHOW CREATE TABLE llmtrace.spans_local", "TSVRaw"))
        check("TTL" in created and ("INTERVAL 30 DAY" in created or "toIntervalDay(30)" in created), "spans_local has the retention TTL")
        check("DateTime64(9)" in created and "ZSTD(3)" in created and "LowCardinality" in created, "and the modern column forms")
        indexes = str(db.query("SELECT name, type FROM system.data_skipping_indices WHERE database = 'llmtrace' FORMAT TSV"))
        check("trace_id_bloom" in indexes and "bloom_filter" in indexes, f"bloom-filter indexes on the ids: {indexes}")

        port = server.server_address[1]
        data = os.path.join(root, "data")
        log = os.path.join(root, "llmtraced.log")
        cport = free_port()
        proc = subprocess.Popen([os.path.join(bindir, "llmtraced"), "--listen", f"127.0.0.1:{cport}", "--data", data,
                                 "--access-log", "off", "--evaluators", "none", "--clickhouse", f"http://127.0.0.1:{port}"],
                                stdout=open(log, "ab"), stderr=subprocess.STDOUT)
        check(wait_http(f"http://127.0.0.1:{cport}/healthz", time.time() + 30), "llmtraced answers")
        gen = subprocess.run([os.path.join(bindir, "llmtrace-bench"), "gen", "--spans", "2000", "--seed", "5", "--start", "10m"],
                             capture_output=True, timeout=120)
        lines = [l for l in gen.stdout.decode().splitlines() if l.strip()]
        special = {"trace_id": "%032x" % 77, "span_id": "%016x" % 78, "name": "chat", "kind": "llm", "service": "svc",
                   "start_ns": time.time_ns() - 1_000_000, "end_ns": time.time_ns(), "request_model": "gpt-4o",
                   "input_messages": [{"role": "user", "content": SPECIAL}]}
        lines.append(json.dumps(special))
        status, body, _ = http(f"http://127.0.0.1:{cport}/v1/spans", "\n".join(lines).encode(), {"Content-Type": "application/x-ndjson"})
        check(status == 200, f"spans accepted: {status} {body[:200]!r}")
        accepted = json.loads(body)["accepted"]
        status, body, _ = http(f"http://127.0.0.1:{cport}/v1/scores", json.dumps([{"trace_id": special["trace_id"], "name": "helpful", "value": 0.75},
                                                                                 {"trace_id": special["trace_id"], "span_id": special["span_id"], "name": "label", "value": "good"}]).encode(),
                               {"Content-Type": "application/json"})
        check(status == 200, f"scores accepted: {status} {body[:200]!r}")
        deadline = time.time() + 60
        while time.time() < deadline:
            with Capture.lock:
                spans_sent = sum(b.count(b"\n") for q, b in Capture.inserts if "spans_local" in q)
                scores_sent = sum(b.count(b"\n") for q, b in Capture.inserts if "scores_local" in q)
            if spans_sent >= accepted and scores_sent >= 2:
                break
            time.sleep(0.2)
        check(spans_sent == accepted and scores_sent == 2, f"the sink sent every span and score once: {spans_sent} of {accepted}, {scores_sent} of 2")

        with Capture.lock:
            inserts = list(Capture.inserts)
        for rounds in range(2):  # the second round is a re-delivery: it must collapse
            for q, b in inserts:
                check(q.startswith("INSERT INTO llmtrace.") and q.endswith("FORMAT JSONEachRow"), f"an insert as the sink words it: {q}")
                db.query(q + "\n" + b.decode())
        rows = int(str(db.query("SELECT count() FROM llmtrace.spans_local", "CSV")).strip())
        final = int(str(db.query("SELECT count() FROM llmtrace.spans_local FINAL", "CSV")).strip())
        check(rows == 2 * accepted and final == accepted, f"a re-delivered batch collapses with FINAL: {rows} rows, {final} of {accepted} with FINAL")
        scores = int(str(db.query("SELECT count() FROM llmtrace.scores_local FINAL", "CSV")).strip())
        check(scores == 2, f"scores collapse too: {scores}")
        got = json.loads(str(db.query(f"SELECT contents, start, toString(start_ns) AS ns, span FROM llmtrace.spans_local FINAL WHERE trace_id = '{special['trace_id']}'", "JSONEachRow")).strip())
        check(got["contents"] == [SPECIAL], f"contents keep the bytes: {got['contents']!r}")
        check(str(special["start_ns"])[:10] == got["ns"][:10] and got["start"].startswith(time.strftime("%Y-", time.gmtime())), f"start is the DateTime64 alias of start_ns: {got['start']}")
        check(json.loads(got["span"])["input_messages"][0]["role"] == "user", "the span column decodes")
        models = str(db.query("SELECT request_model, count() FROM llmtrace.spans_local FINAL WHERE request_model IS NOT NULL GROUP BY request_model ORDER BY request_model FORMAT TSV"))
        check("gpt-4o" in models, f"LowCardinality(Nullable) columns group: {models[:200]}")
        print(f"clickhouse_modern_test: ClickHouse {version} (chDB) took modern.sql and {accepted} spans and 2 scores from the sink, "
              f"each once after a re-delivery; {itest.checks} checks passed", flush=True)
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=60)
        server.shutdown()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
