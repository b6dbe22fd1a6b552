import LLMTraceModel

/// An OTLP trace export as decoded, before the conventions map it onto `Span`: the shape both the
/// protobuf and the JSON decoder produce.
public struct OTLPTraces: Sendable {
    public var resources: [OTLPResource] = []
    /// The distinct span attribute keys (span attributes carry ids into it).
    public var keys = KeyTable()
    public init() {}
    public var spanCount: Int { resources.reduce(0) { $0 + $1.scopes.reduce(0) { $0 + $1.spans.count } } }
}

public struct OTLPResource: Sendable {
    public var attributes: [Attribute] = []
    public var scopes: [OTLPScope] = []
    public init() {}
}

public struct OTLPScope: Sendable {
    public var name = ""
    public var version = ""
    public var spans: [OTLPSpan] = []
    public init() {}
}

public struct OTLPSpan: Sendable {
    /// Raw id bytes as sent; validated by the mapper (16 and 8 bytes, not all zero).
    public var traceID = RawID()
    public var spanID = RawID()
    public var parentSpanID = RawID()
    /// Set by the JSON decoder when an id is not valid hex (the span is rejected with this reason).
    public var idError: String?
    public var name = ""
    /// OTLP SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
    public var kind = 0
    public var startNanos: UInt64 = 0
    public var endNanos: UInt64 = 0
    public var attributes: [Attribute] = []
    /// `keys` ids of `attributes`' keys, in the same order.
    public var keyIDs: [Int32] = []
    public var events: [SpanEvent] = []
    /// 0 unset, 1 ok, 2 error.
    public var statusCode = 0
    public var statusMessage = ""
    public init() {}
}

/// An id as sent: up to 16 bytes kept inline (no allocation per span), and the length sent.
public struct RawID: Equatable, Sendable, ExpressibleByArrayLiteral {
    /// Bytes 0-7 and 8-15, big-endian (a 16-byte trace id is hi then lo; an 8-byte span id is hi).
    public var hi: UInt64 = 0
    public var lo: UInt64 = 0
    public var count = 0

    public init() {}

    public init(_ b: UnsafeRawBufferPointer) {
        count = b.count
        guard b.count <= 16 else { return }
        var tmp = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &tmp) { $0.copyMemory(from: b) }
        hi = UInt64(bigEndian: tmp.0)
        lo = UInt64(bigEndian: tmp.1)
    }

    public init(_ bytes: [UInt8]) {
        self.init()
        bytes.withUnsafeBytes { self = RawID($0) }
    }

    public init(arrayLiteral elements: UInt8...) { self.init(elements) }

    public var isEmpty: Bool { count == 0 }
    public var isZero: Bool { hi == 0 && lo == 0 }
}
