import LLMTraceModel

/// An OTLP trace export as decoded, before the conventions map it onto `Span`: the shape both the
/// protobuf and the JSON decoder produce.
struct OTLPTraces {
    var resources: [OTLPResource] = []
    /// The distinct span attribute keys (span attributes carry ids into it).
    var keys = KeyTable()
    var spanCount: Int { resources.reduce(0) { $0 + $1.scopes.reduce(0) { $0 + $1.spans.count } } }
}

struct OTLPResource {
    var attributes: [Attribute] = []
    var scopes: [OTLPScope] = []
}

struct OTLPScope {
    var name = ""
    var version = ""
    var spans: [OTLPSpan] = []
}

struct OTLPSpan {
    /// Raw id bytes as sent; validated by the mapper (16 and 8 bytes, not all zero).
    var traceID: [UInt8] = []
    var spanID: [UInt8] = []
    var parentSpanID: [UInt8] = []
    /// Set by the JSON decoder when an id is not valid hex (the span is rejected with this reason).
    var idError: String?
    var name = ""
    /// OTLP SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
    var kind = 0
    var startNanos: UInt64 = 0
    var endNanos: UInt64 = 0
    var attributes: [Attribute] = []
    /// `keys` ids of `attributes`' keys, in the same order.
    var keyIDs: [Int32] = []
    var events: [SpanEvent] = []
    /// 0 unset, 1 ok, 2 error.
    var statusCode = 0
    var statusMessage = ""
}
