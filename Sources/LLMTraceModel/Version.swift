/// The release every executable reports (`--version`) and `/metrics` labels `llmtrace_build_info` with.
public enum LLMTraceVersion {
    public static let string = "0.6.0"
}
