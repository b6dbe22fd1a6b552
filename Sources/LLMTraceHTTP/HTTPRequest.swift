/// One parsed HTTP/1.x request with its whole body (de-chunked, still content-encoded).
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent: `/v1/traces?x=1`.
    public var target: String
    public var versionMinor: Int
    /// Header fields in arrival order; names lower-cased, values with surrounding whitespace trimmed.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whether the connection stays open after the response (HTTP/1.1 default unless `Connection: close`).
    public var keepAlive: Bool

    public init(method: String, target: String, versionMinor: Int = 1, headers: [(name: String, value: String)] = [],
                body: [UInt8] = [], keepAlive: Bool = true) {
        self.method = method
        self.target = target
        self.versionMinor = versionMinor
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
    }

    /// The path part of the target (before `?`).
    public var path: Substring {
        if let q = target.firstIndex(of: "?") { return target[..<q] }
        return target[...]
    }

    /// The raw query string (after `?`), if any.
    public var query: Substring? {
        guard let q = target.firstIndex(of: "?") else { return nil }
        return target[target.index(after: q)...]
    }

    /// The first value of a header; `name` must be lower-case.
    public func header(_ name: String) -> String? {
        for h in headers where h.name == name { return h.value }
        return nil
    }

    /// The media type of `Content-Type` without parameters, lower-cased (`application/json`).
    public var mediaType: String? {
        guard let ct = header("content-type") else { return nil }
        let base = ct.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ct
        return base.trimmingASCIIWhitespace().lowercased()
    }

    /// Query parameters, percent-decoded (`+` as space). Later duplicates win.
    public var queryItems: [String: String] {
        guard let q = query else { return [:] }
        var out: [String: String] = [:]
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = Self.percentDecode(kv[0])
            out[k] = kv.count > 1 ? Self.percentDecode(kv[1]) : ""
        }
        return out
    }

    static func percentDecode(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "+") { bytes.append(0x20); continue }
            if c == UInt8(ascii: "%"), it.count >= 2, let h = hexValue(it[it.startIndex]), let l = hexValue(it[it.startIndex + 1]) {
                bytes.append(h << 4 | l)
                it = it.dropFirst(2)
                continue
            }
            bytes.append(c)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let u = utf8
        var start = u.startIndex, end = u.endIndex
        while start < end, u[start] == 0x20 || u[start] == 0x09 { start = u.index(after: start) }
        while end > start, u[u.index(before: end)] == 0x20 || u[u.index(before: end)] == 0x09 { end = u.index(before: end) }
        return String(self[start..<end])
    }
}
