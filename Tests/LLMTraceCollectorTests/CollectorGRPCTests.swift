import Foundation
import Testing
import LLMTraceHTTP
import LLMTraceOTLP
@testable import LLMTraceCollector

/// What the gRPC adapter adds to the OTLP/HTTP path: the retry information an overloaded call
/// carries, byte for byte as google.rpc defines it, and the reason an HTTP error gives.
@Suite struct CollectorGRPCTests {
    @Test func retryInformationAsGoogleRPCWritesIt() throws {
        let t = Collector.retryTrailers(seconds: 2, message: "m")
        #expect(t.map { String(decoding: $0.name, as: UTF8.self) } == ["grpc-status-details-bin", "google.rpc.retryinfo-bin"])
        let retry = try #require(Data(base64Encoded: String(decoding: t[1].value, as: UTF8.self)))
        #expect(Array(retry) == [0x0A, 0x02, 0x08, 0x02], "RetryInfo{retry_delay: Duration{seconds: 2}}")
        let status = try #require(Data(base64Encoded: String(decoding: t[0].value, as: UTF8.self)))
        let url = Array("type.googleapis.com/google.rpc.RetryInfo".utf8)
        let any: [UInt8] = [0x0A, UInt8(url.count)] + url + [0x12, 0x04, 0x0A, 0x02, 0x08, 0x02]
        #expect(Array(status) == [0x08, 0x08, 0x12, 0x01, 0x6D, 0x1A, UInt8(any.count)] + any, "Status{code: 8, message, details: [Any]}")
    }

    @Test func anErrorsReasonFromJSONOrAStatus() {
        #expect(Collector.errorText(.error(400, "bad span")) == "bad span")
        let status = HTTPResponse(status: 400, headers: [], body: OTLPProtobuf.status(code: 3, message: "cannot decode"))
        #expect(Collector.errorText(status) == "cannot decode")
        #expect(Collector.errorText(HTTPResponse(status: 500, headers: [], body: [0xFF])) == "HTTP 500")
    }
}
