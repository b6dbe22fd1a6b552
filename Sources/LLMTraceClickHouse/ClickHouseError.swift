import Foundation
/// A ClickHouse that could not be reached, or refused a statement. `code` is ClickHouse's own
/// error code when it gave one (`Code: 60` = unknown table); `status` the HTTP status to answer an
/// API client with when a query through ClickHouse fails this way (502: the store behind us failed,
/// 503: it could not be reached).
public struct ClickHouseError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var code: Int?
    public var node: String?
    /// True when no node answered (connection refused, timeout): worth retrying elsewhere or later.
    public var unreachable = false

    public init(_ message: String, code: Int? = nil, node: String? = nil, unreachable: Bool = false) {
        self.message = message
        self.code = code
        self.node = node
        self.unreachable = unreachable
    }

    public var status: Int { unreachable ? 503 : 502 }

    public var description: String {
        var s = message
        if let node { s = "\(node): " + s }
        return s
    }

    /// ClickHouse's error text (`Code: 60, e.displayText() = DB::Exception: Table x doesn't
    /// exist., e.what() = DB::Exception`, or the newer `Code: 60. DB::Exception: ...`) reduced
    /// to the code and the exception's message.
    static func parse(_ body: [UInt8], httpStatus: Int, node: String) -> ClickHouseError {
        var text = String(decoding: body.prefix(4096), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var code: Int?
        if text.hasPrefix("Code: ") {
            let digits = text.dropFirst(6).prefix { $0.isNumber }
            code = Int(digits)
        }
        // DB::Exception, DB::NetException, …: the message follows the first "Exception: ".
        if let db = text.range(of: "DB::"), let r = text.range(of: "Exception: ", range: db.upperBound..<text.endIndex) { text = String(text[r.upperBound...]) }
        if let r = text.range(of: ", e.what() = ") { text = String(text[..<r.lowerBound]) }
        if let r = text.range(of: " (version ") { text = String(text[..<r.lowerBound]) }
        // A Distributed insert appends a per-shard "Insertion status" over several lines: the
        // reason comes before it, and the counts in it would make every retry's error differ.
        if let r = text.range(of: ": Insertion status:") { text = String(text[..<r.lowerBound]) }
        text = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
        if text.isEmpty { text = "HTTP \(httpStatus) with no message" }
        return ClickHouseError(text, code: code, node: node)
    }
}
