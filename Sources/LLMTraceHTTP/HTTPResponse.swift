/// A response to serialize. `Content-Length` and `Connection` are added by the server.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON body with its content type.
    public static func json(_ status: Int, _ body: [UInt8], headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("content-type", "application/json")] + headers, body: body)
    }

    /// `{"error": message}` with the status; the shape every API error uses.
    public static func error(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        var out: [UInt8] = Array("{\"error\":".utf8)
        appendJSONString(message, to: &out)
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: "\n"))
        return .json(status, out, headers: headers)
    }

    /// Wire bytes: status line, headers, `content-length`, optional `connection: close`, body.
    /// `headOnly` leaves the body out (HEAD requests) but keeps its length.
    public func serialized(close: Bool, headOnly: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + headers.count * 32 + (headOnly ? 0 : body.count))
        out.append(contentsOf: "HTTP/1.1 \(status) \(Self.reason(status))\r\n".utf8)
        for h in headers {
            out.append(contentsOf: h.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: h.value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if status >= 200 && status != 204 && status != 304 {
            out.append(contentsOf: "content-length: \(body.count)\r\n".utf8)
        }
        if close { out.append(contentsOf: "connection: close\r\n".utf8) }
        out.append(contentsOf: "\r\n".utf8)
        if !headOnly { out.append(contentsOf: body) }
        return out
    }

    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 415: return "Unsupported Media Type"
        case 417: return "Expectation Failed"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}

/// Appends `s` as a JSON string literal (quotes, escapes) to `out`.
public func appendJSONString(_ s: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for c in s.utf8 {
        switch c {
        case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0..<0x20:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
        default: out.append(c)
        }
    }
    out.append(UInt8(ascii: "\""))
}
