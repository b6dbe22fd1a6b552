// Compiled-in copies of schemas/conventions.json and schemas/pricing.json, so llmtraced runs as one
// binary with no files beside it. A test keeps them byte-identical to the files in schemas/; edit
// those, then copy them here (--conventions / --pricing replace them at run time).

enum DefaultSchemas {
    static let conventions = #"""
{
  "$comment": "How OTLP span attributes map onto the LLMTrace span model. Loaded by llmtraced at start (this file is compiled in as the default; --conventions FILE replaces it). Lists are in priority order: the first key present wins. Every key a rule reads is removed from the span's free attributes (json_fields attributes excepted); every other attribute is kept verbatim.",
  "version": 1,
  "resource": {
    "service": ["service.name"],
    "environment": ["deployment.environment.name", "deployment.environment"],
    "project": ["llmtrace.project"]
  },
  "fields": {
    "project": ["llmtrace.project"],
    "provider": ["gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system", "llm.vendor"],
    "request_model": ["gen_ai.request.model", "llm.request.model", "llm.model_name", "embedding.model_name"],
    "response_model": ["gen_ai.response.model", "llm.response.model"],
    "input_tokens": ["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt", "llm.usage.prompt_tokens"],
    "output_tokens": ["gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion", "llm.usage.completion_tokens"],
    "cached_tokens": ["gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens", "gen_ai.usage.cached_tokens", "llm.token_count.prompt_details.cache_read", "llm.usage.cache_read_input_tokens"],
    "reasoning_tokens": ["gen_ai.usage.reasoning_tokens", "gen_ai.usage.reasoning.output_tokens", "llm.token_count.completion_details.reasoning", "llm.usage.reasoning_tokens"],
    "cost_usd": ["gen_ai.usage.cost", "llm.usage.cost", "llm.cost.total", "llmtrace.cost_usd"],
    "temperature": ["gen_ai.request.temperature", "llm.request.temperature", "llm.temperature"],
    "max_tokens": ["gen_ai.request.max_tokens", "llm.request.max_tokens"],
    "top_p": ["gen_ai.request.top_p", "llm.request.top_p", "llm.top_p"],
    "session_id": ["session.id", "gen_ai.conversation.id", "traceloop.association.properties.session_id", "langfuse.session.id"],
    "user_id": ["user.id", "enduser.id", "traceloop.association.properties.user_id", "langfuse.user.id"],
    "prompt_name": ["gen_ai.prompt.name", "llm.prompt_template.name", "traceloop.prompt.key", "langfuse.prompt.name"],
    "prompt_version": ["gen_ai.prompt.version", "llm.prompt_template.version", "traceloop.prompt.version", "langfuse.prompt.version"],
    "environment": ["deployment.environment.name", "deployment.environment"],
    "time_to_first_token_s": ["gen_ai.response.time_to_first_token", "gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token"],
    "time_to_first_token_ms": ["llm.time_to_first_token_ms", "llmtrace.time_to_first_token_ms"],
    "tags": ["tag.tags", "llmtrace.tags", "langfuse.trace.tags"],
    "finish_reason": ["gen_ai.response.finish_reasons", "llm.finish_reason", "llm.response.finish_reason", "llmtrace.finish_reason"]
  },
  "json_fields": [
    {"key": "llm.invocation_parameters", "fields": {"model": "request_model", "temperature": "temperature", "max_tokens": "max_tokens", "max_completion_tokens": "max_tokens", "top_p": "top_p"}},
    {"key": "embedding.invocation_parameters", "fields": {"model": "request_model"}}
  ],
  "messages": {
    "indexed": [
      {"prefix": "gen_ai.prompt.", "to": "input", "role": "role", "content": "content", "tool_call_id": "tool_call_id",
       "tool_calls": "tool_calls.", "tool_call": {"id": "id", "name": "name", "arguments": "arguments"}},
      {"prefix": "gen_ai.completion.", "to": "output", "role": "role", "content": "content", "finish_reason": "finish_reason",
       "tool_calls": "tool_calls.", "tool_call": {"id": "id", "name": "name", "arguments": "arguments"}},
      {"prefix": "llm.prompts.", "to": "input", "role": "role", "content": "content"},
      {"prefix": "llm.completions.", "to": "output", "role": "role", "content": "content"},
      {"prefix": "llm.input_messages.", "to": "input", "role": "message.role", "content": "message.content", "tool_call_id": "message.tool_call_id",
       "tool_calls": "message.tool_calls.", "tool_call": {"id": "tool_call.id", "name": "tool_call.function.name", "arguments": "tool_call.function.arguments"}},
      {"prefix": "llm.output_messages.", "to": "output", "role": "message.role", "content": "message.content", "finish_reason": "message.finish_reason",
       "tool_calls": "message.tool_calls.", "tool_call": {"id": "tool_call.id", "name": "tool_call.function.name", "arguments": "tool_call.function.arguments"}},
      {"prefix": "embedding.embeddings.", "to": "input", "role": "", "content": "embedding.text"}
    ],
    "json": [
      {"key": "gen_ai.system_instructions", "to": "input", "role": "system"},
      {"key": "gen_ai.input.messages", "to": "input"},
      {"key": "gen_ai.output.messages", "to": "output"}
    ],
    "value": [
      {"key": "input.value", "to": "input", "role": "user"},
      {"key": "output.value", "to": "output", "role": "assistant"},
      {"key": "traceloop.entity.input", "to": "input", "role": "user"},
      {"key": "traceloop.entity.output", "to": "output", "role": "assistant"}
    ]
  },
  "documents": {
    "indexed": [
      {"prefix": "retrieval.documents.", "id": "document.id", "content": "document.content", "score": "document.score"},
      {"prefix": "reranker.output_documents.", "id": "document.id", "content": "document.content", "score": "document.score"}
    ]
  },
  "kind": {
    "attributes": [
      {"key": "openinference.span.kind", "values": {"LLM": "llm", "RETRIEVER": "retrieval", "RERANKER": "retrieval", "EMBEDDING": "embedding", "TOOL": "tool", "AGENT": "agent", "CHAIN": "chain", "GUARDRAIL": "guardrail", "EVALUATOR": "other"}},
      {"key": "gen_ai.operation.name", "values": {"chat": "llm", "text_completion": "llm", "generate_content": "llm", "completion": "llm", "embeddings": "embedding", "embedding": "embedding", "execute_tool": "tool", "invoke_agent": "agent", "create_agent": "agent", "retrieval": "retrieval"}},
      {"key": "llm.request.type", "values": {"chat": "llm", "completion": "llm", "embedding": "embedding", "rerank": "retrieval"}},
      {"key": "traceloop.span.kind", "values": {"workflow": "chain", "task": "chain", "agent": "agent", "tool": "tool"}},
      {"key": "llmtrace.kind", "values": {"llm": "llm", "retrieval": "retrieval", "embedding": "embedding", "tool": "tool", "agent": "agent", "chain": "chain", "guardrail": "guardrail", "cache": "cache", "other": "other"}}
    ],
    "tool_if_present": ["gen_ai.tool.name", "tool.name", "gen_ai.tool.call.id"],
    "llm_if_present": ["gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "gen_ai.system", "gen_ai.provider.name"]
  },
  "first_token_events": ["gen_ai.content.first_token", "gen_ai.first_token", "first_token", "llm.first_token", "llm.content.completion.chunk",
                         "gen_ai.content.completion.chunk", "First Token Stream Event", "first_token_stream_event"]
}
"""#

    static let pricing = #"""
{
  "$comment": "Model prices in USD per 1M tokens, used to compute cost at ingest when a span carries none. Dated or suffixed names (gpt-4o-2024-08-06, claude-3-5-sonnet-20241022, openai/gpt-4o) match their base entry. Compiled into llmtraced as the default; --pricing FILE replaces it. 'cached_input' is the price of cache-read input tokens (defaults to 'input'). Public list prices; check your contract.",
  "version": 1,
  "currency": "USD",
  "per_tokens": 1000000,
  "models": {
    "gpt-5":                    {"input": 1.25,  "output": 10.00, "cached_input": 0.125},
    "gpt-5-mini":               {"input": 0.25,  "output": 2.00,  "cached_input": 0.025},
    "gpt-5-nano":               {"input": 0.05,  "output": 0.40,  "cached_input": 0.005},
    "gpt-4.1":                  {"input": 2.00,  "output": 8.00,  "cached_input": 0.50},
    "gpt-4.1-mini":             {"input": 0.40,  "output": 1.60,  "cached_input": 0.10},
    "gpt-4.1-nano":             {"input": 0.10,  "output": 0.40,  "cached_input": 0.025},
    "gpt-4o":                   {"input": 2.50,  "output": 10.00, "cached_input": 1.25},
    "gpt-4o-mini":              {"input": 0.15,  "output": 0.60,  "cached_input": 0.075},
    "gpt-4-turbo":              {"input": 10.00, "output": 30.00},
    "gpt-4":                    {"input": 30.00, "output": 60.00},
    "gpt-3.5-turbo":            {"input": 0.50,  "output": 1.50},
    "o1":                       {"input": 15.00, "output": 60.00, "cached_input": 7.50},
    "o1-mini":                  {"input": 1.10,  "output": 4.40,  "cached_input": 0.55},
    "o3":                       {"input": 2.00,  "output": 8.00,  "cached_input": 0.50},
    "o3-mini":                  {"input": 1.10,  "output": 4.40,  "cached_input": 0.55},
    "o4-mini":                  {"input": 1.10,  "output": 4.40,  "cached_input": 0.275},
    "text-embedding-3-small":   {"input": 0.02,  "output": 0.00},
    "text-embedding-3-large":   {"input": 0.13,  "output": 0.00},
    "text-embedding-ada-002":   {"input": 0.10,  "output": 0.00},
    "claude-opus-4-1":          {"input": 15.00, "output": 75.00, "cached_input": 1.50},
    "claude-opus-4":            {"input": 15.00, "output": 75.00, "cached_input": 1.50},
    "claude-sonnet-4-5":        {"input": 3.00,  "output": 15.00, "cached_input": 0.30},
    "claude-sonnet-4":          {"input": 3.00,  "output": 15.00, "cached_input": 0.30},
    "claude-haiku-4-5":         {"input": 1.00,  "output": 5.00,  "cached_input": 0.10},
    "claude-3-7-sonnet":        {"input": 3.00,  "output": 15.00, "cached_input": 0.30},
    "claude-3-5-sonnet":        {"input": 3.00,  "output": 15.00, "cached_input": 0.30},
    "claude-3-5-haiku":         {"input": 0.80,  "output": 4.00,  "cached_input": 0.08},
    "claude-3-opus":            {"input": 15.00, "output": 75.00, "cached_input": 1.50},
    "claude-3-haiku":           {"input": 0.25,  "output": 1.25,  "cached_input": 0.03},
    "gemini-2.5-pro":           {"input": 1.25,  "output": 10.00, "cached_input": 0.31},
    "gemini-2.5-flash":         {"input": 0.30,  "output": 2.50,  "cached_input": 0.075},
    "gemini-2.0-flash":         {"input": 0.10,  "output": 0.40,  "cached_input": 0.025},
    "gemini-1.5-pro":           {"input": 1.25,  "output": 5.00},
    "gemini-1.5-flash":         {"input": 0.075, "output": 0.30},
    "mistral-large":            {"input": 2.00,  "output": 6.00},
    "mistral-small":            {"input": 0.20,  "output": 0.60},
    "llama-3.1-70b-instruct":   {"input": 0.90,  "output": 0.90},
    "llama-3.1-8b-instruct":    {"input": 0.20,  "output": 0.20}
  }
}
"""#
}
