#if canImport(Glibc)
import Glibc
#endif
import LLMTraceCLI
import LLMTraceModel

/// What the commands that can talk to a running collector (query, stats, search, tail) share: where
/// it is, the read key, and how its error answers read.
enum Remote {
    /// --endpoint, else $LLMTRACE_ENDPOINT.
    static func endpoint(_ a: ParsedArguments) -> String? {
        a.value("endpoint") ?? getenv("LLMTRACE_ENDPOINT").map { String(cString: $0) }
    }

    /// The Authorization header for --api-key, else $LLMTRACE_API_KEY; none without a key.
    static func authorization(_ a: ParsedArguments) -> [(String, String)] {
        guard let key = a.value("api-key") ?? getenv("LLMTRACE_API_KEY").map({ String(cString: $0) }) else { return [] }
        return [("Authorization", "Bearer " + key)]
    }

    /// The collector's `{"error": …}` text, else the start of whatever it answered.
    static func errorMessage(_ body: [UInt8]) -> String {
        (try? JSONValue.parse(body))?["error"]?.string ?? String(decoding: body.prefix(300), as: UTF8.self)
    }

    /// `name=value&…` with values percent-encoded (RFC 3986 unreserved characters kept).
    static func queryString(_ params: [(String, String)]) -> String {
        params.map { "\($0.0)=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }
}
