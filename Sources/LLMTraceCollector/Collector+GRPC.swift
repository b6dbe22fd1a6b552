import Foundation
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceOTLP

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
        return OTLPProtobuf.statusMessage(r.body) ?? "HTTP \(r.status)"
    }

    /// `google.rpc.RetryInfo{retry_delay: seconds}`, alone and inside a `google.rpc.Status`.
    public static func retryTrailers(seconds: Int, message: String) -> [HPACKHeader] {
        var retryInfo = ProtoWriter()
        retryInfo.messageField(1) { $0.varintField(1, UInt64(max(0, seconds))) }   // retry_delay: Duration.seconds
        var status = ProtoWriter()
        status.varintField(1, UInt64(GRPCMessage.Status.resourceExhausted.rawValue))
        status.stringField(2, message)
        status.messageField(3) { any in   // details: google.protobuf.Any
            any.stringField(1, "type.googleapis.com/google.rpc.RetryInfo")
            any.bytesField(2, retryInfo.bytes)
        }
        return [HPACKHeader(Array("grpc-status-details-bin".utf8), Array(Data(status.bytes).base64EncodedString().utf8)),
                HPACKHeader(Array("google.rpc.retryinfo-bin".utf8), Array(Data(retryInfo.bytes).base64EncodedString().utf8))]
    }
}
