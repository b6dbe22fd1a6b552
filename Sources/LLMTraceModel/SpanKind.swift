/// What a span does in an LLM application. The raw values are the JSON spelling and are stable:
/// they are stored in segments as dictionary strings.
public enum SpanKind: String, Sendable, CaseIterable, Hashable {
    case llm, retrieval, embedding, tool, agent, chain, guardrail, cache, other
}

/// Outcome of a span, following OTLP's status codes.
public enum SpanStatus: String, Sendable, CaseIterable, Hashable {
    case unset, ok, error
}
