// Locks and clocks live in LLMTraceSupport (shared with the HTTP server); users of the store get
// them with `import LLMTraceStore` as before.
@_exported import LLMTraceSupport
