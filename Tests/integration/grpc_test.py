"""Integration test: OTLP over gRPC into a real llmtraced, from the real OpenTelemetry Python
exporter (opentelemetry-exporter-otlp-proto-grpc, over grpcio) and from grpcio directly.

Starts llmtraced with --grpc-listen and a project with keys, then: the SDK's BatchSpanProcessor
exports 600 spans with gzip and a bearer key, every one stored in the key's project and read back
through tracectl; a span with a bad trace id comes back as partial success (the rest stored);
no key is UNAUTHENTICATED, a read key PERMISSION_DENIED, an unknown method UNIMPLEMENTED, bytes
that are not an ExportTraceServiceRequest INVALID_ARGUMENT; 8 channels x 40 calls at once are all
answered and stored; a call sent twice stores its spans once; h2load (nghttp2, when installed: .ci/run
installs it) makes 2,000 calls on 4 connections x 8 streams, every one answered; an HTTP/1 request on the gRPC port gets the connection closed.
pip-installs the exporter when missing.

usage: python3 Tests/integration/grpc_test.py [BIN_DIR]
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from itest import pip_install_missing  # noqa: E402

pip_install_missing(["grpc", "opentelemetry.exporter.otlp.proto.grpc"],
                    ["opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-grpc", "grpcio"])

import grpc
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

from itest import check, free_port, wait_http
import itest

INGEST = "lt_ingest_grpc0123456789abcdef"
READ = "lt_read_grpc0123456789abcdef"
METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


class Keep:
    """A span processor that keeps finished spans (to encode them by hand)."""
    def __init__(self):
        self.spans = []

    def on_start(self, span, parent_context=None):
        pass

    def _on_ending(self, span):
        pass

    def on_end(self, span):
        self.spans.append(span)

    def shutdown(self):
        pass

    def force_flush(self, timeout_millis=30000):
        return True


def make_spans(n, service):
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    keep = Keep()
    provider.add_span_processor(keep)
    tracer = provider.get_tracer("grpc-test")
    for i in range(n):
        with tracer.start_as_current_span("chat gpt-4o") as s:
            s.set_attribute("gen_ai.operation.name", "chat")
            s.set_attribute("gen_ai.request.model", "gpt-4o")
            s.set_attribute("gen_ai.usage.input_tokens", 10 + i)
            s.set_attribute("gen_ai.usage.output_tokens", 5)
    return keep.spans


def raw_call(port, payload, key=INGEST, method=METHOD, compression=None):
    """(status code, details, response bytes) of one unary call with raw bytes."""
    with grpc.insecure_channel(f"127.0.0.1:{port}", compression=compression) as ch:
        call = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
        md = [("authorization", f"Bearer {key}")] if key else []
        try:
            resp = call(payload, metadata=md, timeout=20)
            return grpc.StatusCode.OK, "", resp
        except grpc.RpcError as e:
            return e.code(), e.details(), None


def tracectl_count(bindir, http_port, where):
    out = subprocess.run([os.path.join(bindir, "tracectl"), "query", f"SELECT count() FROM spans WHERE {where}", "--json",
                          "--endpoint", f"http://127.0.0.1:{http_port}", "--api-key", READ], capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, f"tracectl query: {out.stderr}")
    return json.loads(out.stdout)["rows"][0][0]


def main():
    bindir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                             subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip())
    tmp = tempfile.mkdtemp(prefix="llmtrace-grpc-")
    http_port, grpc_port = free_port(), free_port()
    config = os.path.join(tmp, "config.json")
    with open(config, "w") as f:
        json.dump({"projects": [{"name": "chat", "ingest_keys": [INGEST], "read_keys": [READ]}]}, f)
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    server = subprocess.Popen([os.path.join(bindir, "llmtraced"), "--listen", f"127.0.0.1:{http_port}", "--grpc-listen", f"127.0.0.1:{grpc_port}",
                               "--data", os.path.join(tmp, "data"), "--config", config, "--access-log", "off"],
                              stdout=open(os.path.join(tmp, "llmtraced.log"), "w"), stderr=subprocess.STDOUT, env=env)
    ok = False
    try:
        check(wait_http(f"http://127.0.0.1:{http_port}/healthz", time.time() + 30), "llmtraced answers")

        # The SDK's batch processor, gzip, a bearer key: 600 spans, every one stored in its project.
        exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{grpc_port}", insecure=True, headers={"authorization": f"Bearer {INGEST}"},
                                    compression=grpc.Compression.Gzip, timeout=20)
        provider = TracerProvider(resource=Resource.create({"service.name": "grpc-sdk"}))
        provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=128))
        tracer = provider.get_tracer("grpc-test")
        for i in range(300):
            with tracer.start_as_current_span("agent.run") as root:
                root.set_attribute("session.id", f"s-{i % 7}")
                with tracer.start_as_current_span("chat gpt-4o-mini") as s:
                    s.set_attribute("gen_ai.operation.name", "chat")
                    s.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                    s.set_attribute("gen_ai.usage.input_tokens", 100)
                    s.set_attribute("gen_ai.usage.output_tokens", 20)
        check(provider.force_flush(30_000), "the batch processor flushed")
        provider.shutdown()
        check(tracectl_count(bindir, http_port, "service = 'grpc-sdk'") == 600, "600 spans stored from the gRPC exporter")
        check(tracectl_count(bindir, http_port, "service = 'grpc-sdk' AND model = 'gpt-4o-mini' AND input_tokens = 100") == 300,
              "GenAI attributes mapped")

        # Partial success: a span with an all-zero trace id is rejected, the others stored.
        spans = make_spans(5, "grpc-partial")
        req = encode_spans(spans)
        req.resource_spans[0].scope_spans[0].spans[2].trace_id = bytes(16)
        code, details, resp = raw_call(grpc_port, req.SerializeToString())
        check(code == grpc.StatusCode.OK, f"a batch with one bad span is OK: {code} {details}")
        answer = trace_service_pb2.ExportTraceServiceResponse.FromString(resp)
        check(answer.partial_success.rejected_spans == 1 and "trace" in answer.partial_success.error_message,
              f"partial success names the rejected span: {answer}")
        check(tracectl_count(bindir, http_port, "service = 'grpc-partial'") == 4, "the other four stored")

        # Refusals, each with its status.
        good = encode_spans(make_spans(2, "grpc-refused")).SerializeToString()
        for key, method, payload, want, why in [
            (None, METHOD, good, grpc.StatusCode.UNAUTHENTICATED, "no key"),
            (READ, METHOD, good, grpc.StatusCode.PERMISSION_DENIED, "a read key cannot ingest"),
            (INGEST, "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export", good, grpc.StatusCode.UNIMPLEMENTED, "metrics are not taken"),
            (INGEST, METHOD, b"\x0a\xff\xff\xff\xff\x0f", grpc.StatusCode.INVALID_ARGUMENT, "not a request"),
        ]:
            code, details, _ = raw_call(grpc_port, payload, key=key, method=method)
            check(code == want, f"{why}: {code} {details!r}")
            check(details, f"{why}: the status has a message")
        check(tracectl_count(bindir, http_port, "service = 'grpc-refused'") == 0, "nothing stored from refused calls")

        # Many calls at once on several connections: every one answered OK and stored.
        errors = []

        def worker(n):
            with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as ch:
                call = ch.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
                payloads = [encode_spans(make_spans(5, "grpc-conc")).SerializeToString() for _ in range(40)]
                for payload in payloads:
                    try:
                        call(payload, metadata=[("authorization", f"Bearer {INGEST}")], timeout=30)
                    except grpc.RpcError as e:
                        errors.append(f"{e.code()} {e.details()}")
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        check(not errors, f"every concurrent call answered OK: {errors[:3]}")
        check(tracectl_count(bindir, http_port, "service = 'grpc-conc'") == 8 * 40 * 5, "1,600 spans from 320 concurrent calls")
        # A retried call (the same spans again) stores nothing twice.
        again = encode_spans(make_spans(5, "grpc-retry")).SerializeToString()
        check(raw_call(grpc_port, again)[0] == grpc.StatusCode.OK and raw_call(grpc_port, again)[0] == grpc.StatusCode.OK, "sent twice")
        check(tracectl_count(bindir, http_port, "service = 'grpc-retry'") == 5, "a re-sent span is stored once")

        # h2load (nghttp2), a second HTTP/2 client: 2,000 calls, 4 connections x 8 streams at once,
        # one recorded request (its spans are stored once; every call must still be answered).
        if shutil.which("h2load"):
            body = os.path.join(tmp, "call.bin")
            message = encode_spans(make_spans(20, "grpc-h2load")).SerializeToString()
            with open(body, "wb") as f:
                f.write(b"\x00" + len(message).to_bytes(4, "big") + message)
            out = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "8", "-d", body, "-H", "content-type: application/grpc",
                                  "-H", "te: trailers", "-H", f"authorization: Bearer {INGEST}", f"http://127.0.0.1:{grpc_port}{METHOD}"],
                                 capture_output=True, text=True, timeout=120)
            check(out.returncode == 0 and "2000 succeeded, 0 failed, 0 errored, 0 timeout" in out.stdout and "2000 2xx" in out.stdout,
                  f"h2load: every call answered: {out.stdout[-600:]}")
            check(tracectl_count(bindir, http_port, "service = 'grpc-h2load'") == 20, "h2load's spans stored once")
        else:
            print("note: h2load not installed (apt nghttp2-client); its check skipped", flush=True)

        # HTTP/1 on the gRPC port: the connection is closed (after a GOAWAY), the server goes on.
        s = socket.create_connection(("127.0.0.1", grpc_port), timeout=5)
        s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        check(b"not the HTTP/2 connection preface" in data, "HTTP/1 gets a GOAWAY saying why, then the close")
        code, _, _ = raw_call(grpc_port, good)
        check(code == grpc.StatusCode.OK, "the server still answers")
        print(f"grpc_test: {itest.checks} checks passed", flush=True)
        ok = True
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        if not ok:
            print(f"logs kept in {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
