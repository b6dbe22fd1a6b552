"""Integration test: the real OpenTelemetry Python SDK exports to a real llmtraced.

Starts llmtraced on 127.0.0.1 (a free port, a temp data directory, a project with an ingest key),
exports one agent trace per transport variant (protobuf, protobuf+gzip) with the SDK's
OTLPSpanExporter, and checks with `tracectl trace --json` that every span arrived with model,
tokens, cost, prompt and completion mapped. Then: a mixed batch with invalid spans (partial
success, valid spans stored), bad inputs (each a clear 4xx, the server still up), and a graceful
SIGTERM. Run by .ci/run after `swift build`; exits non-zero on the first failure.

usage: python3 Tests/integration/otel_sdk_test.py [BIN_DIR]
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from itest import pip_install_missing  # noqa: E402

pip_install_missing(["opentelemetry.exporter.otlp.proto.http", "opentelemetry.sdk"],
                    ["opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"])

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_workload
from itest import check, free_port
import itest

KEY = "lt_ingest_integration_0123456789"


def post(url, body, headers, timeout=30):
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def main():
    bindir = sys.argv[1] if len(sys.argv) > 1 else subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    llmtraced = os.path.join(bindir, "llmtraced")
    tracectl = os.path.join(bindir, "tracectl")
    tmp = tempfile.mkdtemp(prefix="llmtrace-it-")
    data = os.path.join(tmp, "data")
    cfg = os.path.join(tmp, "config.json")
    with open(cfg, "w") as f:
        json.dump({"projects": [{"name": "support", "ingest_keys": [KEY]}]}, f)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    log = open(os.path.join(tmp, "llmtraced.log"), "w")
    server = subprocess.Popen([llmtraced, "--listen", f"127.0.0.1:{port}", "--data", data, "--config", cfg],
                              stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except Exception:
                pass
            check(server.poll() is None and time.time() < deadline, "llmtraced started and answered /healthz")
            time.sleep(0.1)
        with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
            check(r.status == 200, "/readyz is 200")

        def trace_json(trace_id_hex):
            out = subprocess.run([tracectl, "trace", trace_id_hex, "--json", "--data", data], capture_output=True, text=True, timeout=60)
            check(out.returncode == 0, f"tracectl trace {trace_id_hex} exits 0: {out.stderr}")
            return json.loads(out.stdout)

        # 1. The real exporter, protobuf and protobuf+gzip.
        for compression in (Compression.NoCompression, Compression.Gzip):
            provider = TracerProvider(resource=Resource.create({"service.name": "it-support", "deployment.environment": "ci"}))
            results = []

            class Recording(OTLPSpanExporter):
                def export(self, spans):
                    r = super().export(spans)
                    results.append(r)
                    return r

            exporter = Recording(endpoint=base + "/v1/traces", headers={"authorization": "Bearer " + KEY}, compression=compression, timeout=10)
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            tid = otel_workload.emit(provider.get_tracer("it", "1.0"), f"it-{compression.value}")
            provider.shutdown()
            check(len(results) == 7 and all(r == SpanExportResult.SUCCESS for r in results), f"7 exports succeeded ({compression}): {results}")
            t0 = time.time()
            doc = trace_json(f"{tid:032x}")
            check(time.time() - t0 < 30, "trace lookup is quick")
            spans = {s["name"]: s for s in doc["spans"]}
            check(doc["span_count"] == 7 and len(spans) == 7, f"all 7 spans stored ({compression}), got {doc['span_count']}")
            for s in spans.values():
                check(s["project"] == "support", "the ingest key's project is on every span")
                check(s["service"] == "it-support", "service.name mapped")
                check(s.get("environment") == "ci", "deployment.environment mapped")
            gpt = spans["chat gpt-4o"]
            check(gpt["kind"] == "llm" and gpt["provider"] == "openai", "gpt span kind and provider")
            check(gpt["request_model"] == "gpt-4o" and gpt["response_model"] == "gpt-4o-2024-08-06", "models")
            check(gpt["input_tokens"] == 1200 and gpt["output_tokens"] == 150, "tokens")
            check(abs(gpt["cost_usd"] - 0.0045) < 1e-9, f"cost from the price table: {gpt.get('cost_usd')}")
            check(gpt["input_messages"][1] == {"role": "user", "content": "What is the refund policy?"}, "prompt mapped")
            check(gpt["output_messages"][0]["content"] == "Refunds are issued within 30 days of purchase.", "completion mapped")
            check(gpt.get("time_to_first_token_ns", 0) > 0, "time to first token from the streaming event")
            claude = spans["chat claude-3-5-sonnet"]
            check(claude["provider"] == "anthropic" and claude["cached_tokens"] == 500, "new-form GenAI span")
            check(claude["input_messages"][0] == {"role": "system", "content": "Answer briefly."}, "system instructions mapped")
            check(abs(claude["cost_usd"] - 0.00195) < 1e-9, "cached tokens priced at the cached rate")
            oi = spans["ChatCompletion"]
            check(oi["kind"] == "llm" and oi["input_tokens"] == 300 and oi["prompt_name"] == "classifier", "OpenInference span")
            ret = spans["retrieve_policy"]
            check(ret["kind"] == "retrieval" and len(ret["documents"]) == 2 and ret["documents"][0]["id"] == "kb-17", "retrieved documents")
            check(spans["openai.chat"]["cost_usd"] == 0.5, "a cost the span carries wins")
            tool = spans["execute_tool lookup_order"]
            check(tool["kind"] == "tool" and tool["status"] == "error" and tool["status_message"] == "order service timed out", "error status")
            root = spans["support_request"]
            check(root["kind"] == "agent" and root["session_id"] == f"sess-it-{compression.value}" and root["user_id"] == "user-42", "session and user")

        # 2. A mixed batch: two invalid spans among valid ones -> partial success, the rest stored.
        mem = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({"service.name": "it-mixed"}))
        provider.add_span_processor(SimpleSpanProcessor(mem))
        tid = otel_workload.emit(provider.get_tracer("it"), "mixed")
        provider.shutdown()
        req = encode_spans(mem.get_finished_spans())
        spans_pb = req.resource_spans[0].scope_spans[0].spans
        spans_pb[0].trace_id = b""
        spans_pb[1].span_id = b"\x00" * 8
        status, body, headers = post(base + "/v1/traces", req.SerializeToString(),
                                     {"Content-Type": "application/x-protobuf", "Authorization": "Bearer " + KEY})
        check(status == 200, f"mixed batch answered 200, got {status} {body[:200]}")
        resp = trace_service_pb2.ExportTraceServiceResponse()
        resp.ParseFromString(body)
        check(resp.partial_success.rejected_spans == 2, f"2 spans rejected, got {resp.partial_success}")
        check("trace_id" in resp.partial_success.error_message and "span_id" in resp.partial_success.error_message,
              f"reasons given: {resp.partial_success.error_message}")
        doc = trace_json(f"{tid:032x}")
        check(doc["span_count"] == 5, f"the 5 valid spans of the trace stored, got {doc['span_count']}")
        # The same as OTLP/JSON.
        from google.protobuf.json_format import MessageToDict
        import base64
        d = MessageToDict(req)
        for sp in d["resourceSpans"][0]["scopeSpans"][0]["spans"]:
            for k in ("traceId", "spanId", "parentSpanId"):
                if k in sp:
                    sp[k] = base64.b64decode(sp[k]).hex()
        status, body, headers = post(base + "/v1/traces", json.dumps(d).encode(), {"Content-Type": "application/json", "x-api-key": KEY})
        check(status == 200 and json.loads(body)["partialSuccess"]["rejectedSpans"] == "2", f"JSON partial success: {status} {body[:300]}")

        # 3. Bad input: each a clear 4xx with a JSON or Status body; the server stays up.
        good = encode_spans(mem.get_finished_spans()).SerializeToString()
        auth = {"Authorization": "Bearer " + KEY}
        pb = dict(auth, **{"Content-Type": "application/x-protobuf"})
        js = dict(auth, **{"Content-Type": "application/json"})
        big = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": "0123456789abcdef0123456789abcdef", "spanId": "0123456789abcdef", "name": "big",
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
            "attributes": [{"key": "gen_ai.prompt.0.content", "value": {"stringValue": "x" * (10 << 20)}}]}]}]}]}).encode()
        cases = [
            ("empty body", b"", pb, 400),
            ("truncated protobuf", good[: len(good) // 2 + 3], pb, 400),
            ("invalid JSON", b'{"resourceSpans": [', js, 400),
            ("wrong field types", b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]}', js, 400),
            ("10 MB attribute string", big, js, 400),
            ("unknown content type", good, dict(auth, **{"Content-Type": "text/csv"}), 415),
            ("wrong key", good, {"Content-Type": "application/x-protobuf", "Authorization": "Bearer wrong-key-0123456789"}, 401),
            ("missing key", good, {"Content-Type": "application/x-protobuf"}, 401),
            ("corrupt gzip", b"\x1f\x8b\x08\x00garbage", dict(pb, **{"Content-Encoding": "gzip"}), 400),
            ("body over the limit", b"\x0a" * (17 << 20), pb, 413),
        ]
        for name, body, headers, want in cases:
            try:
                status, rbody, _ = post(base + "/v1/traces", body, headers)
            except (ConnectionResetError, BrokenPipeError) as e:
                check(False, f"{name}: connection error {e!r} instead of HTTP {want}")
            check(status == want, f"{name}: want {want}, got {status} {rbody[:200]!r}")
            check(len(rbody) > 0, f"{name}: the error has a body")
            with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
                check(r.status == 200, f"server alive after {name}")
        status, rbody, _ = post(base + "/v1/spans", b'{"trace_id": 1}\n', dict(auth, **{"Content-Type": "application/x-ndjson"}))
        check(status == 400 and b"trace_id" in rbody, f"native span with a wrong type: {status} {rbody[:200]!r}")
        status, rbody, _ = post(base + "/v1/nope", b"x", auth)
        check(status == 404, "unknown route is 404")

        # 4. Graceful shutdown.
        server.terminate()
        rc = server.wait(timeout=60)
        check(rc == 0, f"llmtraced exits 0 on SIGTERM, got {rc}")
        out = subprocess.run([tracectl, "verify", "--data", data], capture_output=True, text=True, timeout=120)
        check(out.returncode == 0, f"tracectl verify after shutdown: {out.stdout} {out.stderr}")
        print(f"otel_sdk_test: {itest.checks} checks passed", flush=True)
    finally:
        if server.poll() is None:
            server.kill()
        log.close()
        if os.environ.get("KEEP_IT_TMP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
