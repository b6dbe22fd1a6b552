"""Integration test: the Swift SDK (through llmtrace-demo, a service built on it) exports to a real
llmtraced.

1. End to end, gzip on: the demo answers questions against its mock OpenAI-compatible server, its
   OpenAI calls traced by the SDK's URLSession instrumentation, exporting through a recording
   proxy to llmtraced. Every request body the SDK sent is decoded with the official protobuf
   definitions (the `opentelemetry-proto` package) and checked field by field, and re-encoding it
   must give the same bytes; then `tracectl trace --json` must show each trace mapped: kinds,
   models, tokens, time to first token, tool calls, documents with scores, the error, the score.
2. Restart: the demo exports straight to llmtraced, which is stopped for 5 s mid-stream and started
   again on the same port and data directory; every span the SDK made must be stored, none dropped.

usage: python3 Tests/integration/sdk_test.py [BIN_DIR]
"""
import gzip
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from itest import pip_install_missing  # noqa: E402

pip_install_missing(["opentelemetry.proto.collector.trace.v1.trace_service_pb2"], ["opentelemetry-proto"])
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2  # noqa: E402

from itest import check, free_port, wait_http
import itest


class Recorder:
    """A proxy in front of llmtraced that keeps every request it forwards."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.requests = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with recorder.lock:
                    recorder.requests.append((self.path, headers, body))
                fwd = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "content-encoding", "authorization")}
                req = urllib.request.Request(recorder.upstream + self.path, data=body, headers=fwd, method="POST")
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        status, answer = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, answer = e.code, e.read()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def start_llmtraced(llmtraced, port, data, log):
    p = subprocess.Popen([llmtraced, "--listen", f"127.0.0.1:{port}", "--data", data, "--access-log", "off"],
                         stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, SWIFT_BACKTRACE="enable=no"))
    check(wait_http(f"http://127.0.0.1:{port}/healthz", time.time() + 30), "llmtraced answers /healthz")
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def attrs(kvs):
    """KeyValue list → {key: python value}, checking each AnyValue holds exactly one value."""
    out = {}
    for kv in kvs:
        check(kv.key != "", "every attribute has a key")
        which = kv.value.WhichOneof("value")
        check(which is not None, f"attribute {kv.key} has a value")
        v = getattr(kv.value, which)
        if which == "array_value":
            v = [getattr(x, x.WhichOneof("value")) for x in v.values]
        out[kv.key] = v
    return out


def count_spans(tracectl, data, service):
    out = subprocess.run([tracectl, "query", f"SELECT count() FROM spans WHERE service = '{service}'", "--data", data, "--json"],
                         capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, f"tracectl query exits 0: {out.stderr}")
    return json.loads(out.stdout)["rows"][0][0]


def demo_summary(out):
    lines = [l for l in out.splitlines() if l.startswith("{")]
    check(lines, f"the demo prints its summary: {out[-500:]}")
    return json.loads(lines[-1])


def end_to_end(bindir, tmp):
    llmtraced, tracectl, demo = (os.path.join(bindir, n) for n in ("llmtraced", "tracectl", "llmtrace-demo"))
    data = os.path.join(tmp, "e2e")
    port = free_port()
    server = start_llmtraced(llmtraced, port, data, open(os.path.join(tmp, "e2e.log"), "w"))
    try:
        rec = Recorder(f"http://127.0.0.1:{port}")
        env = dict(os.environ, SWIFT_BACKTRACE="enable=no", OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{rec.port}",
                   OTEL_EXPORTER_OTLP_COMPRESSION="gzip", OTEL_SERVICE_NAME="sdk-e2e",
                   OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=test", OTEL_BSP_SCHEDULE_DELAY="200")
        run = subprocess.run([demo, "--questions", "12", "--concurrency", "3"], capture_output=True, text=True, timeout=300, env=env)
        check(run.returncode == 0, f"llmtrace-demo exits 0: {run.stderr[-2000:]}")
        summary = demo_summary(run.stdout)
        check(summary["answered"] == 11 and summary["spans_failed"] == 0 and summary["spans_dropped"] == 0 and summary["flushed"],
              f"11 of 12 answered (one meets the provider error), nothing failed or dropped: {summary}")
        traces = re.findall(r"^trace ([0-9a-f]{32}) .*?(ok|ERROR)", run.stdout, re.M)
        check(len(traces) == 12, f"twelve trace ids printed: {run.stdout[:500]}")

        # What the SDK sent, as the official protobuf definitions read it.
        with rec.lock:
            sent = list(rec.requests)
        trace_bodies = [(h, b) for p, h, b in sent if p == "/v1/traces"]
        check(trace_bodies and all(h.get("content-type") == "application/x-protobuf" and h.get("content-encoding") == "gzip"
                                   for h, _ in trace_bodies), "spans go to /v1/traces as gzipped protobuf")
        check(all(h.get("user-agent", "").startswith("llmtrace-swift/") for h, _ in trace_bodies), "the SDK names itself")
        spans = []
        for _, body in trace_bodies:
            raw = gzip.decompress(body)
            req = trace_service_pb2.ExportTraceServiceRequest.FromString(raw)
            check(req.SerializeToString() == raw, "re-encoding the decoded request gives the SDK's bytes (canonical field order)")
            for rs in req.resource_spans:
                r = attrs(rs.resource.attributes)
                check(r.get("service.name") == "sdk-e2e" and r.get("deployment.environment.name") == "test", f"resource: {r}")
                check(r.get("telemetry.sdk.name") == "llmtrace-swift" and r.get("telemetry.sdk.language") == "swift"
                      and re.match(r"^\d+\.\d+\.\d+$", r.get("telemetry.sdk.version", "")), f"resource names the SDK: {r}")
                for ss in rs.scope_spans:
                    check(ss.scope.name == "llmtrace-swift" and ss.scope.version == r["telemetry.sdk.version"], f"scope: {ss.scope}")
                    for s in ss.spans:
                        check(len(s.trace_id) == 16 and len(s.span_id) == 8 and len(s.parent_span_id) in (0, 8), "id lengths")
                        check(0 < s.start_time_unix_nano <= s.end_time_unix_nano, f"times of {s.name}")
                        spans.append((s, attrs(s.attributes)))
        check(len(spans) == summary["spans_exported"], f"every exported span was sent once: {len(spans)} vs {summary}")
        check(len({(s.trace_id, s.span_id) for s, _ in spans}) == len(spans), "no span sent twice")
        by_trace = {}
        for s, a in spans:
            by_trace.setdefault(s.trace_id.hex(), []).append((s, a))
        check(set(by_trace) == {t for t, _ in traces}, "the spans make the printed traces")
        for tid, group in by_trace.items():
            roots = [s for s, _ in group if not s.parent_span_id]
            check(len(roots) == 1 and roots[0].name == "POST /answer", f"one root per trace: {tid}")
            ids = {s.span_id for s, _ in group}
            check(all(not s.parent_span_id or s.parent_span_id in ids for s, _ in group), f"parents inside the trace {tid}")
        llm = [(s, a) for s, a in spans if a.get("openinference.span.kind") == "LLM"]
        check(llm and all(a.get("gen_ai.request.model") == "gpt-4o-mini" and a.get("gen_ai.system") == "openai_compatible"
                          and a.get("gen_ai.operation.name") == "chat" and isinstance(a.get("gen_ai.usage.input_tokens"), int)
                          and a.get("gen_ai.response.model") == "gpt-4o-mini-2024-07-18" and a.get("gen_ai.prompt.0.role") == "system"
                          and s.kind == 3 for s, a in llm), "LLM spans carry the GenAI attributes (client kind)")
        streamed = [a for s, a in llm if a.get("gen_ai.request.stream")]
        check(len(streamed) == 11 and all(isinstance(a.get("llmtrace.time_to_first_token_ms"), float)
                                          and 0 < a["llmtrace.time_to_first_token_ms"] for a in streamed),
              "every streamed answer has its time to first token")
        tool_calls = [a for s, a in llm if a.get("gen_ai.completion.0.tool_calls.0.name") == "lookup_order"]
        check(len(tool_calls) == 3 and all(a.get("gen_ai.response.finish_reasons") == ["tool_calls"] for a in tool_calls),
              "the three order questions made a tool call")
        check(sum(1 for s, a in spans if a.get("openinference.span.kind") == "TOOL" and s.name == "lookup_order") == 3, "and ran the tool")
        docs = [a for s, a in spans if a.get("openinference.span.kind") == "RETRIEVER"]
        check(len(docs) == 11 and all(isinstance(a.get("retrieval.documents.0.document.score"), float) for a in docs), "retrieval spans with scores")
        errors = [(s, a) for s, a in spans if s.status.code == 2]
        check(len(errors) == 2 and all(s.status.message for s, _ in errors), f"the failed call and its request are errors: {len(errors)}")
        check(any(e.name == "exception" and attrs(e.attributes).get("exception.message") for s, _ in errors for e in s.events),
              "the request records the exception")

        # What llmtraced stored, through tracectl.
        check(count_spans(tracectl, data, "sdk-e2e") == len(spans), "llmtraced stored every span")
        for tid, outcome in traces:
            out = subprocess.run([tracectl, "trace", tid, "--json", "--data", data], capture_output=True, text=True, timeout=60)
            check(out.returncode == 0, f"tracectl trace {tid}: {out.stderr}")
            doc = json.loads(out.stdout)
            kinds = sorted(s["kind"] for s in doc["spans"])
            root = next(s for s in doc["spans"] if s.get("parent_span_id") is None)
            check(root["service"] == "sdk-e2e" and root["environment"] == "test" and root["session_id"].startswith("session-")
                  and root["user_id"].startswith("customer-"), f"root span of {tid}: {root}")
            if outcome == "ERROR":
                check(root["status"] == "error" and kinds == ["agent", "embedding"], f"the failed request stops at the embedding: {kinds}")
                continue
            check(doc["scores"] and doc["scores"][0]["name"] == "user_feedback", f"the feedback score of {tid}: {doc.get('scores')}")
            llm_spans = [s for s in doc["spans"] if s["kind"] == "llm"]
            final = max(llm_spans, key=lambda s: int(s["start_ns"]))
            check(final["request_model"] == "gpt-4o-mini" and final["response_model"] == "gpt-4o-mini-2024-07-18"
                  and final["input_tokens"] > 0 and final["output_tokens"] > 0 and final["cost_usd"] > 0
                  and int(final["time_to_first_token_ns"]) > 0 and final["finish_reason"] == "stop"
                  and final["output_messages"][0]["content"] and final["provider"] == "openai_compatible", f"the streamed answer of {tid} mapped: {final}")
            retrieval = next(s for s in doc["spans"] if s["kind"] == "retrieval")
            check(len(retrieval["documents"]) == 3 and all(d["id"].startswith("kb-") and d["score"] is not None for d in retrieval["documents"]),
                  f"documents of {tid}")
            if "tool" in kinds:
                first = min(llm_spans, key=lambda s: int(s["start_ns"]))
                call = first["output_messages"][0]["tool_calls"][0]
                check(call["name"] == "lookup_order" and json.loads(call["arguments"])["order_id"].isdigit() and first["finish_reason"] == "tool_calls",
                      f"the tool call of {tid}: {first['output_messages']}")
                check(any(m.get("tool_call_id") == call["id"] for m in final["input_messages"]), "the answer's prompt carries the tool's reply")
    finally:
        stop(server)


def restart(bindir, tmp):
    llmtraced, tracectl, demo = (os.path.join(bindir, n) for n in ("llmtraced", "tracectl", "llmtrace-demo"))
    data = os.path.join(tmp, "restart")
    port = free_port()
    log = open(os.path.join(tmp, "restart.log"), "w")
    server = start_llmtraced(llmtraced, port, data, log)
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no", OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
               OTEL_SERVICE_NAME="sdk-restart", OTEL_BSP_SCHEDULE_DELAY="100")
    demo_p = subprocess.Popen([demo, "--questions", "60", "--concurrency", "3", "--interval-ms", "100"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        time.sleep(3)
        before = count_spans(tracectl, data, "sdk-restart")
        check(before > 0, "spans arrived before the stop")
        stop(server)
        time.sleep(5)
        check(demo_p.poll() is None, "the demo is still answering while the collector is down")
        server = start_llmtraced(llmtraced, port, data, log)
        out, _ = demo_p.communicate(timeout=300)
        check(demo_p.returncode == 0, f"llmtrace-demo exits 0: {out[-2000:]}")
        summary = demo_summary(out)
        stored = count_spans(tracectl, data, "sdk-restart")
        check(summary["spans_dropped"] == 0 and summary["spans_failed"] == 0 and summary["flushed"], f"nothing dropped or given up: {summary}")
        check(stored == summary["spans_exported"] and stored > before, f"every span stored across the restart: {stored} of {summary['spans_exported']}")
        print(f"restart: {before} spans before the stop, {stored} stored in all, {summary['spans_exported']} made", flush=True)
    finally:
        if demo_p.poll() is None:
            demo_p.kill()
        stop(server)


def main():
    bindir = sys.argv[1] if len(sys.argv) > 1 else subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    tmp = tempfile.mkdtemp(prefix="llmtrace-sdk-")
    ok = False
    try:
        end_to_end(bindir, tmp)
        restart(bindir, tmp)
        ok = True
    finally:
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs kept in {tmp}", flush=True)
    print(f"sdk_test: {itest.checks} checks passed", flush=True)


if __name__ == "__main__":
    main()
