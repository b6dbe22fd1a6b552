"""Realistic LLM spans made with the real OpenTelemetry Python SDK, in every attribute convention
LLMTrace maps: GenAI semantic conventions (older indexed prompt/completion attributes and the newer
JSON message attributes), OpenInference and OpenLLMetry.

Used two ways:
  python3 otel_workload.py fixtures DIR   writes DIR/traces.pb (the exporter's protobuf bytes) and
                                          DIR/traces.json (the same request as OTLP/JSON)
  python3 otel_workload.py --export       exports one agent trace with the SDK's OTLPSpanExporter
                                          to $OTEL_EXPORTER_OTLP_ENDPOINT, as an instrumented app would
                                          (the README tour's stand-in for "python my_llm_app.py")
  import otel_workload; otel_workload.emit(tracer)   from the integration test (real exporter)

Needs: pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
"""
import json
import sys
import time


def emit(tracer, trace_tag="t"):
    """One agent trace: retrieval, three model calls (three conventions), a failing tool call."""
    from opentelemetry.trace import Status, StatusCode, SpanKind

    with tracer.start_as_current_span("support_request", kind=SpanKind.SERVER, attributes={
        "openinference.span.kind": "AGENT",
        "session.id": f"sess-{trace_tag}",
        "user.id": "user-42",
        "customer.tier": "gold",
    }) as root:
        with tracer.start_as_current_span("retrieve_policy", attributes={
            "openinference.span.kind": "RETRIEVER",
            "input.value": "what is the refund policy?",
            "retrieval.documents.0.document.id": "kb-17",
            "retrieval.documents.0.document.content": "Refunds are issued within 30 days of purchase.",
            "retrieval.documents.0.document.score": 0.91,
            "retrieval.documents.1.document.id": "kb-3",
            "retrieval.documents.1.document.content": "Shipping is free above $50.",
            "retrieval.documents.1.document.score": 0.42,
        }):
            pass
        # GenAI semantic conventions, older indexed form (as OpenLLMetry's OpenAI instrumentation emits).
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes={
            "gen_ai.system": "openai",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.max_tokens": 512,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.usage.input_tokens": 1200,
            "gen_ai.usage.output_tokens": 150,
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "You are a helpful support agent.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "What is the refund policy?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "Refunds are issued within 30 days of purchase.",
            "gen_ai.completion.0.finish_reason": "stop",
            "llm.is_streaming": True,
        }) as llm:
            time.sleep(0.002)
            llm.add_event("gen_ai.content.first_token")
            time.sleep(0.002)
        # GenAI semantic conventions, newer form: JSON message lists and gen_ai.provider.name.
        with tracer.start_as_current_span("chat claude-3-5-sonnet", kind=SpanKind.CLIENT, attributes={
            "gen_ai.provider.name": "anthropic",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "claude-3-5-sonnet-20241022",
            "gen_ai.usage.input_tokens": 800,
            "gen_ai.usage.output_tokens": 60,
            "gen_ai.usage.cache_read.input_tokens": 500,
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Answer briefly."}]),
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Summarize the refund policy."}]}]),
            "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "30-day refunds."}], "finish_reason": "stop"}]),
        }):
            pass
        # OpenInference LLM span.
        with tracer.start_as_current_span("ChatCompletion", attributes={
            "openinference.span.kind": "LLM",
            "llm.provider": "openai",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": 300,
            "llm.token_count.completion": 40,
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "Classify: refund request",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "category=refund",
            "llm.prompt_template.name": "classifier",
            "llm.prompt_template.version": "v3",
        }):
            pass
        # OpenLLMetry-style attributes with a cost the span already carries.
        with tracer.start_as_current_span("openai.chat", attributes={
            "traceloop.span.kind": "task",
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "llm.usage.prompt_tokens": 100,
            "llm.usage.completion_tokens": 20,
            "llm.usage.total_tokens": 120,
            "gen_ai.usage.cost": 0.5,
        }):
            pass
        with tracer.start_as_current_span("execute_tool lookup_order", attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "lookup_order",
        }) as tool:
            tool.set_status(Status(StatusCode.ERROR, "order service timed out"))
            tool.add_event("exception", {"exception.type": "TimeoutError", "exception.message": "order service timed out"})
    return root.get_span_context().trace_id


def make_fixtures(outdir):
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from google.protobuf.json_format import MessageToDict

    mem = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "fixture-support", "deployment.environment": "test"}))
    provider.add_span_processor(SimpleSpanProcessor(mem))
    tracer = provider.get_tracer("llmtrace.fixtures", "1.0")
    emit(tracer, "fixture")
    provider.shutdown()
    req = encode_spans(mem.get_finished_spans())
    with open(f"{outdir}/traces.pb", "wb") as f:
        f.write(req.SerializeToString())
    # OTLP/JSON differs from the generic protobuf JSON mapping in one way: ids are hex, not base64.
    d = MessageToDict(req)
    import base64
    for rs in d.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for sp in ss.get("spans", []):
                for k in ("traceId", "spanId", "parentSpanId"):
                    if k in sp:
                        sp[k] = base64.b64decode(sp[k]).hex()
    with open(f"{outdir}/traces.json", "w") as f:
        json.dump(d, f, indent=1)
        f.write("\n")


def export():
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "my-llm-app"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    emit(provider.get_tracer("my_llm_app"), "app")
    provider.shutdown()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "fixtures":
        make_fixtures(sys.argv[2])
    elif sys.argv[1:] == ["--export"]:
        export()
    else:
        sys.exit(__doc__)
