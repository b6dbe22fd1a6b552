#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Entry points for the fuzz targets (`@_spi(Fuzzing) import LLMTrace`): what the SDK reads from
/// servers it does not control — an OpenAI-compatible server's answers and streams, and the
/// collector's HTTP responses — must come back as values or errors, never a crash or a hang.
@_spi(Fuzzing)
public enum SDKFuzzing {
    /// The first byte picks the operation and how the rest is cut: a request body, then an answer
    /// read whole and as a stream in pieces of varying size.
    public static func openAI(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let op: OpenAICall.Operation = [.chat, .responses, .embeddings][Int(first % 3)]
        let rest = Array(bytes.dropFirst())
        let cut = rest.isEmpty ? 0 : Int(first) % rest.count
        var whole = OpenAICall(operation: op, path: "/openai/deployments/d/chat/completions", body: Array(rest[..<cut]))
        whole.readResponse(status: first & 0x80 == 0 ? 200 : 400, body: Array(rest[cut...]))
        var streamed = OpenAICall(operation: op, path: "/v1/x", body: [])
        var i = cut
        var width = 1 + Int(first % 13)
        while i < rest.count {
            _ = streamed.readStream(rest[i..<min(rest.count, i + width)])
            i += width
            width = width * 3 % 61 + 1
        }
        streamed.finishStream()
    }

    /// The bytes as a server's answer to one request on a keep-alive connection: a status, or nil.
    public static func httpResponse(_ bytes: [UInt8]) -> Int? {
        var fds: [Int32] = [0, 0]
        #if canImport(Glibc)
        let type = Int32(SOCK_STREAM.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { return nil }
        defer { close(fds[1]) }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress! + off, bytes.count - off) }
            if n <= 0 { break }
            off += n
        }
        shutdown(fds[1], Int32(SHUT_WR))
        let client = PlainHTTPClient(connected: fds[0], timeoutSeconds: 2)
        return client.exchange(path: "/v1/traces", headers: [("Content-Type", "application/x-protobuf")], body: [1, 2, 3])?.status
    }
}
