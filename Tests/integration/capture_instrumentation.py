"""Captures what real LLM instrumentation libraries export, as OTLP protobuf fixtures.

Each library instruments the real `openai` Python client, which calls a local OpenAI-compatible
mock server (below, on 127.0.0.1) over real HTTP. The finished spans are encoded exactly as the
OTLP/HTTP exporter encodes them (`encode_spans(...).SerializeToString()`) and written to
`Tests/Fixtures/instrumentation/<library>/<scenario>.pb`. The Swift tests
(`Tests/LLMTraceIngestTests/InstrumentationFixtureTests.swift`) map them and assert field by field;
the mock's answers (models, token counts, tool calls, finish reasons) are the expected values.

Libraries (each in its own virtualenv, pinned, so the capture is repeatable):
  openllmetry     opentelemetry-instrumentation-openai (Traceloop's OpenLLMetry, current line)
  openllmetry054  the same package at 0.54.0, the last release that writes indexed
                  gen_ai.prompt.N.* / gen_ai.completion.N.* attributes (0.55 moved to gen_ai.input.messages)
  openinference   openinference-instrumentation-openai (Arize)
  otel_v2         opentelemetry-instrumentation-openai-v2 (OpenTelemetry contrib, 2.4b0; it imports a module
                  opentelemetry-util-genai 1.2b0+ renamed, so util-genai 1.1b0)

Scenarios: chat (truncated at max_tokens: finish reason "length"), stream (no usage), stream_usage
(stream_options.include_usage), tools (a tool call, then the turn that answers it), embeddings,
error (a 400 reply).

usage: python3 Tests/integration/capture_instrumentation.py [--venvs DIR] [--only LIB]
       (the driver mode, --drive LIB --mock URL --out DIR, is what it runs inside each venv)
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "instrumentation")

COMMON = ["openai==3.63.0", "opentelemetry-sdk==1.45.2", "opentelemetry-exporter-otlp-proto-http==1.45.2"]
LIBRARIES = {
    "openllmetry": ["opentelemetry-instrumentation-openai==0.62.4"],
    "openllmetry054": ["opentelemetry-instrumentation-openai==0.54.0"],
    "openinference": ["openinference-instrumentation-openai==0.1.66"],
    "otel_v2": ["opentelemetry-instrumentation-openai-v2==2.4b0", "opentelemetry-util-genai==1.1b0", "httpx==0.29.0", "wrapt<2"],
}

# What the mock answers: the fixtures tests assert these values.
CHAT_MODEL = "gpt-4o-mini-2024-07-18"
EMBED_MODEL = "text-embedding-3-small"
USAGE = {"prompt_tokens": 23, "completion_tokens": 7, "total_tokens": 30}
EMBED_USAGE = {"prompt_tokens": 5, "total_tokens": 5}
FIRST_CHUNK_DELAY = 0.12  # seconds before the first streamed chunk: the TTFT the fixtures show
TOOL_CALL = {"id": "call_weather_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}


# ---------------------------------------------------------------- mock OpenAI-compatible server

class Mock(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        if self.path.endswith("/embeddings"):
            inputs = req["input"] if isinstance(req["input"], list) else [req["input"]]
            return self.reply(200, {"object": "list", "model": EMBED_MODEL, "usage": EMBED_USAGE,
                                    "data": [{"object": "embedding", "index": i, "embedding": [0.25, -0.5, 0.125]}
                                             for i in range(len(inputs))]})
        if not self.path.endswith("/chat/completions"):
            return self.reply(404, {"error": {"message": "no route", "type": "invalid_request_error"}})
        if req.get("model") == "no-such-model":
            return self.reply(400, {"error": {"message": "The model `no-such-model` does not exist",
                                              "type": "invalid_request_error", "code": "model_not_found"}})
        wants_tool = bool(req.get("tools")) and req["messages"][-1]["role"] != "tool"
        if wants_tool:
            message = {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}
            finish = "tool_calls"
        elif req["messages"][-1]["role"] == "tool":
            message = {"role": "assistant", "content": "It is 18 degrees and sunny in Paris."}
            finish = "stop"
        else:
            message = {"role": "assistant", "content": "Refunds are accepted within"}
            finish = "length" if req.get("max_tokens") else "stop"
        base = {"id": "chatcmpl-mock1", "created": 1767000000, "model": CHAT_MODEL, "system_fingerprint": "fp_mock"}
        if not req.get("stream"):
            return self.reply(200, dict(base, object="chat.completion", usage=USAGE,
                                        choices=[{"index": 0, "message": message, "finish_reason": finish,
                                                  "logprobs": None}]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send(obj):
            data = b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def chunk(delta, finish_reason=None, usage=None):
            c = dict(base, object="chat.completion.chunk",
                     choices=[{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}])
            if usage is not None:
                c["usage"] = usage
            return c

        include_usage = (req.get("stream_options") or {}).get("include_usage")
        time.sleep(FIRST_CHUNK_DELAY)
        send(chunk({"role": "assistant", "content": ""}, usage=None))
        for piece in ["Refunds are ", "accepted within ", "30 days."]:
            send(chunk({"content": piece}))
            time.sleep(0.01)
        send(chunk({}, finish_reason="stop"))
        if include_usage:
            c = dict(base, object="chat.completion.chunk", choices=[], usage=USAGE)
            send(c)
        send(b"[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class MockServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client closing its kept-alive connection at exit is not an error


def start_mock():
    srv = MockServer(("127.0.0.1", 0), Mock)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/v1"


# ---------------------------------------------------------------- driver (inside a library's venv)

def drive(lib, mock, out):
    # Message content on the spans, as a user who wants to see prompts configures each library.
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY" if lib == "otel_v2" else "true"
    os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
    os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    if lib.startswith("openllmetry"):
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=provider)
    elif lib == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=provider)
    elif lib == "otel_v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=provider)
    else:
        raise SystemExit(f"unknown library {lib}")

    import openai
    client = openai.OpenAI(base_url=mock, api_key="sk-mock", max_retries=0)
    question = [{"role": "system", "content": "You answer questions about the refund policy."},
                {"role": "user", "content": "How long do I have to return an item?"}]
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]

    def chat():
        client.chat.completions.create(model="gpt-4o-mini", messages=question, max_tokens=7, temperature=0.2)

    def stream():
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=question, stream=True):
            pass

    def stream_usage():
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=question, stream=True,
                                                stream_options={"include_usage": True}):
            pass

    def tools_call():
        msgs = [{"role": "user", "content": "What is the weather in Paris?"}]
        r = client.chat.completions.create(model="gpt-4o-mini", messages=msgs, tools=tools)
        call = r.choices[0].message.tool_calls[0]
        msgs.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": call.function.arguments}}]})
        msgs.append({"role": "tool", "tool_call_id": call.id, "content": "{\"temp_c\": 18, \"sky\": \"sunny\"}"})
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs, tools=tools)

    def embeddings():
        client.embeddings.create(model=EMBED_MODEL, input="refund policy for damaged items")

    def error():
        try:
            client.chat.completions.create(model="no-such-model", messages=question)
        except openai.BadRequestError:
            pass

    os.makedirs(out, exist_ok=True)
    for name, fn in [("chat", chat), ("stream", stream), ("stream_usage", stream_usage), ("tools", tools_call),
                     ("embeddings", embeddings), ("error", error)]:
        exporter.clear()
        fn()
        provider.force_flush()
        spans = exporter.get_finished_spans()
        if not spans:
            raise SystemExit(f"{lib} {name}: no span exported")
        with open(os.path.join(out, name + ".pb"), "wb") as f:
            f.write(encode_spans(spans).SerializeToString())
        print(f"  {lib}/{name}.pb: {len(spans)} span(s)", flush=True)


# ---------------------------------------------------------------- orchestration

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venvs", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "llmtrace-instrumentation-venvs"))
    ap.add_argument("--only")
    ap.add_argument("--drive")
    ap.add_argument("--mock")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.drive:
        return drive(a.drive, a.mock, a.out)
    srv, url = start_mock()
    for lib, pins in LIBRARIES.items():
        if a.only and lib != a.only:
            continue
        venv = os.path.join(a.venvs, lib)
        py = os.path.join(venv, "bin", "python")
        if not os.path.exists(py):
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check"] + COMMON + pins,
                       check=True, timeout=900)
        print(f"{lib}: {' '.join(pins)}", flush=True)
        subprocess.run([py, os.path.abspath(__file__), "--drive", lib, "--mock", url, "--out", os.path.join(OUT, lib)],
                       check=True, timeout=300)
    srv.shutdown()


if __name__ == "__main__":
    main()
