import Foundation
import LLMTraceHTTP
import LLMTraceModel

/// OTLP over gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export` answered by the
/// same path as OTLP/HTTP (keys, decoding, validation, storage), its HTTP outcome told in gRPC
/// terms: 400 INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 413
/// RESOURCE_EXHAUSTED without retry, 429/503 RESOURCE_EXHAUSTED with retry information (in
/// `grpc-status-details-bin` and `google.rpc.retryinfo-bin`, which OTLP exporters read).
extension Collector {
    public static let grpcTraceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

    public func grpc(_ call: GRPCCall) -> GRPCReply {
        guard call.path == Self.grpcTraceExport else {
            return GRPCReply(status: .unimplemented, message: "no method \(call.path): this server has \(Self.grpcTraceExport)")
        }
        guard call.messages.count == 1 else {
            return GRPCReply(status: .invalidArgument, message: "Export is unary: one ExportTraceServiceRequest, got \(call.messages.count) messages")
        }
        var headers: [(name: String, value: String)] = [("content-type", "application/x-protobuf")]
        for name in ["authorization", "x-api-key"] {
            if let v = call.metadata(name) { headers.append((name, v)) }
        }
        let r = ingestOTLP(HTTPRequest(method: "POST", target: "/v1/traces", headers: headers, body: call.messages[0]))
        if r.status == 200 { return GRPCReply(status: .ok, response: r.body) }
        let message = Self.errorText(r)
        switch r.status {
        case 400: return GRPCReply(status: .invalidArgument, message: message)
        case 401: return GRPCReply(status: .unauthenticated, message: message)
        case 403: return GRPCReply(status: .permissionDenied, message: message)
        case 413: return GRPCReply(status: .resourceExhausted, message: message)
        case 429, 503:
            let seconds = Int(r.headers.first { $0.0.lowercased() == "retry-after" }?.1 ?? "") ?? 1
            return GRPCReply(status: .resourceExhausted, message: message, trailers: Self.retryTrailers(seconds: seconds, message: message))
        default: return GRPCReply(status: .internalError, message: message)
        }
    }

    /// The reason an error response gives: `{"error": …}`, or a google.rpc.Status's message.
    static func errorText(_ r: HTTPResponse) -> String {
        if let doc = try? JSONValue.parse(r.body), let e = doc["error"]?.string ?? doc["message"]?.string { return e }
        // google.rpc.Status: field 2 (message), length-delimited.
        var i = 0
        let b = r.body
        while i < b.count {
            let tag = b[i]
            i += 1
            guard tag & 7 == 2 || tag & 7 == 0 else { break }
            var n = 0, shift = 0
            while i < b.count { let x = Int(b[i]); i += 1; n |= (x & 0x7F) << shift; shift += 7; if x & 0x80 == 0 || shift > 28 { break } }
            if tag & 7 == 0 { continue }
            guard n >= 0, n <= b.count - i else { break }
            if tag >> 3 == 2 { return String(decoding: b[i..<(i + n)], as: UTF8.self) }
            i += n
        }
        return "HTTP \(r.status)"
    }

    /// `google.rpc.RetryInfo{retry_delay: seconds}`, alone and inside a `google.rpc.Status`.
    public static func retryTrailers(seconds: Int, message: String) -> [HPACKHeader] {
        func varint(_ v: Int) -> [UInt8] {
            var out: [UInt8] = [], x = UInt64(v)
            while x >= 0x80 { out.append(UInt8(x & 0x7F) | 0x80); x >>= 7 }
            return out + [UInt8(x)]
        }
        func field(_ n: Int, _ bytes: [UInt8]) -> [UInt8] { varint(n << 3 | 2) + varint(bytes.count) + bytes }
        let duration = varint(1 << 3) + varint(max(0, seconds))
        let retryInfo = field(1, duration)
        let any = field(1, Array("type.googleapis.com/google.rpc.RetryInfo".utf8)) + field(2, retryInfo)
        let status = varint(1 << 3) + varint(GRPCMessage.Status.resourceExhausted.rawValue) + field(2, Array(message.utf8)) + field(3, any)
        return [HPACKHeader(Array("grpc-status-details-bin".utf8), Array(Data(status).base64EncodedString().utf8)),
                HPACKHeader(Array("google.rpc.retryinfo-bin".utf8), Array(Data(retryInfo).base64EncodedString().utf8))]
    }
}
