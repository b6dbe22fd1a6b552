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
    var traceID = RawID()
    var spanID = RawID()
    var parentSpanID = RawID()
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

/// An id as sent: up to 16 bytes kept inline (no allocation per span), and the length sent.
struct RawID: Equatable, ExpressibleByArrayLiteral {
    /// Bytes 0-7 and 8-15, big-endian (a 16-byte trace id is hi then lo; an 8-byte span id is hi).
    var hi: UInt64 = 0
    var lo: UInt64 = 0
    var count = 0

    init() {}

    init(_ b: UnsafeRawBufferPointer) {
        count = b.count
        guard b.count <= 16 else { return }
        var tmp = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &tmp) { $0.copyMemory(from: b) }
        hi = UInt64(bigEndian: tmp.0)
        lo = UInt64(bigEndian: tmp.1)
    }

    init(_ bytes: [UInt8]) {
        self.init()
        bytes.withUnsafeBytes { self = RawID($0) }
    }

    init(arrayLiteral elements: UInt8...) { self.init(elements) }

    var isEmpty: Bool { count == 0 }
    var isZero: Bool { hi == 0 && lo == 0 }
}
