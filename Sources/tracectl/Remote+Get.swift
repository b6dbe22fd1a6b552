import LLMTraceCLI
import LLMTraceHTTP
import LLMTraceModel

extension Remote {
    /// What a command gets from the collector: the parsed answer, or the exit code to return
    /// (after the error was printed).
    enum Answer {
        case ok(JSONValue, [UInt8])
        case failed(Int32)
    }

    /// `method path` on the collector with the read key; 2xx answers are parsed as JSON.
    static func call(_ endpoint: String, _ a: ParsedArguments, _ method: String, _ path: String, body: [UInt8] = []) throws -> Answer {
        var client = try HTTPClient(endpoint: endpoint)
        client.timeoutSeconds = 60
        let headers = (body.isEmpty ? [] : [("Content-Type", "application/json")]) + authorization(a)
        let r: HTTPClient.Response
        do {
            r = try client.request(method, path, body: body, headers: headers)
        } catch let e as HTTPClient.Failure {
            Terminal.error("tracectl: \(e)")
            return .failed(4)
        }
        guard (200..<300).contains(r.status) else {
            Terminal.error("tracectl: \(endpoint) answered \(r.status): \(Terminal.visible(errorMessage(r.body)))")
            return .failed(r.status == 401 || r.status == 403 || r.status == 400 ? 2 : 1)
        }
        if r.status == 204 { return .ok(.null, []) }
        guard let doc = try? JSONValue.parse(r.body) else {
            Terminal.error("tracectl: \(endpoint) answered something that is not JSON: \(Terminal.visible(String(decoding: r.body.prefix(200), as: UTF8.self)))")
            return .failed(1)
        }
        return .ok(doc, r.body)
    }
}
