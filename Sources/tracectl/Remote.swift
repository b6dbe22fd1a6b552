import LLMTraceClickHouse
#if canImport(Glibc)
import Glibc
#endif
import LLMTraceCLI
import LLMTraceClient
import LLMTraceModel

/// Where the running collector is and the read key (for the readers, and for the silences
/// `tracectl alerts` writes through it), and how its error answers read.
enum Remote {
    /// --endpoint, else $LLMTRACE_ENDPOINT.
    static func endpoint(_ a: ParsedArguments) -> String? {
        a.value("endpoint") ?? getenv("LLMTRACE_ENDPOINT").map { String(cString: $0) }
    }

    /// --api-key, else $LLMTRACE_API_KEY.
    static func apiKey(_ a: ParsedArguments) -> String? {
        a.value("api-key") ?? getenv("LLMTRACE_API_KEY").map { String(cString: $0) }
    }

    /// The Authorization header for the key; none without a key.
    static func authorization(_ a: ParsedArguments) -> [(String, String)] {
        apiKey(a).map { [("Authorization", "Bearer " + $0)] } ?? []
    }

    /// The collector's `{"error": …}` text, else the start of whatever it answered.
    static func errorMessage(_ body: [UInt8]) -> String {
        (try? JSONValue.parse(body))?["error"]?.string ?? String(decoding: body.prefix(300), as: UTF8.self)
    }
}

extension Tracectl {
    /// The reader the options name: the collector at --endpoint (or $LLMTRACE_ENDPOINT) with the
    /// read key, unless --data names a data directory (else $LLMTRACE_DATA or ./llmtrace-data).
    static func reader(_ a: ParsedArguments, timeoutSeconds: Int = 30, maxAgeNanos: Int64 = 1_000_000_000) throws -> any TraceReader {
        if let url = a.value("clickhouse") {
            guard a.value("data") == nil, a.value("endpoint") == nil else { throw UsageError("choose one of --data, --endpoint and --clickhouse") }
            do { return ClickHouseReader(endpoint: try ClickHouseEndpoint(parsing: url), project: a.value("project"), timeoutSeconds: timeoutSeconds) } catch {
                throw UsageError("\(error)")
            }
        }
        if let endpoint = Remote.endpoint(a), a.value("data") == nil {
            do {
                return try RemoteReader(endpoint: endpoint, apiKey: Remote.apiKey(a), project: a.value("project"), timeoutSeconds: timeoutSeconds)
            } catch {
                throw UsageError(error.description)
            }
        }
        return LocalReader(directory: dataDirectory(a), project: a.value("project"), maxAgeNanos: maxAgeNanos)
    }

    /// A read that failed: its reason on stderr (escaped), its exit code returned.
    static func failed(_ e: ReaderError) -> Int32 {
        Terminal.error("tracectl: " + Terminal.visible(e.description))
        return e.exitCode
    }
}
