/// What the trace list's `/` prompt and a panel's `traces` field say: space-separated terms,
/// `key=value` (`model=gpt-4o`, `status=error`, `session=s-42`), `key!=value`, a number against a
/// bound (`duration>2s`, `cost>0.01`, `tokens>=1000`, `ttft>500ms`), and plain words, which match a
/// trace's id, name, service, models or session as typed (case-insensitive, on the traces already
/// listed: the list narrows at every key). Values with spaces go in double quotes: `name="POST /x"`.
public struct TraceFilter: Sendable, Equatable {
    public enum Op: String, Sendable { case eq = "=", ne = "!=", gt = ">", ge = ">=", lt = "<", le = "<=" }

    public enum Term: Sendable, Equatable {
        case field(String, Op, String)
        case text(String)
    }

    public var terms: [Term]

    public init(_ terms: [Term] = []) { self.terms = terms }

    /// A key the filter knows: which table answers it and the column it reads.
    public struct Key: Sendable {
        public let name: String
        public let column: String
        /// Answered by the `spans` table (a trace matches when one of its spans does).
        public let perSpan: Bool
        public let numeric: Bool
        /// For a number: what a bare number means, and the suffixes it takes.
        public let unit: String
    }

    public static let keys: [Key] = [
        Key(name: "service", column: "service", perSpan: false, numeric: false, unit: ""),
        Key(name: "name", column: "name", perSpan: false, numeric: false, unit: ""),
        Key(name: "session", column: "session_id", perSpan: false, numeric: false, unit: ""),
        Key(name: "user", column: "user_id", perSpan: false, numeric: false, unit: ""),
        Key(name: "status", column: "error", perSpan: false, numeric: false, unit: ""),
        Key(name: "duration", column: "duration_ms", perSpan: false, numeric: true, unit: "ms"),
        Key(name: "cost", column: "cost_usd", perSpan: false, numeric: true, unit: "usd"),
        Key(name: "tokens", column: "total_tokens", perSpan: false, numeric: true, unit: ""),
        Key(name: "spans", column: "spans", perSpan: false, numeric: true, unit: ""),
        Key(name: "model", column: "model", perSpan: true, numeric: false, unit: ""),
        Key(name: "provider", column: "provider", perSpan: true, numeric: false, unit: ""),
        Key(name: "kind", column: "kind", perSpan: true, numeric: false, unit: ""),
        Key(name: "prompt", column: "prompt_name", perSpan: true, numeric: false, unit: ""),
        Key(name: "version", column: "prompt_version", perSpan: true, numeric: false, unit: ""),
        Key(name: "finish", column: "finish_reason", perSpan: true, numeric: false, unit: ""),
        Key(name: "env", column: "environment", perSpan: true, numeric: false, unit: ""),
        Key(name: "ttft", column: "ttft_ms", perSpan: true, numeric: true, unit: "ms"),
    ]

    public static func key(_ name: String) -> Key? { keys.first { $0.name == name } }

    /// Reads the prompt's text; an unknown key, a bad number or an unclosed quote is an error that
    /// says which term and what would do.
    public static func parse(_ text: String) throws(TraceFilterError) -> TraceFilter {
        var terms: [Term] = []
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == " " { i = text.index(after: i); continue }
            // One term: up to a space outside double quotes.
            var raw = "", quoted = false, sawQuote = false
            while i < text.endIndex, quoted || text[i] != " " {
                if text[i] == "\"" { quoted.toggle(); sawQuote = true } else { raw.append(text[i]) }
                i = text.index(after: i)
            }
            if quoted { throw TraceFilterError("a double quote is not closed in \(raw)") }
            terms.append(try term(raw, quotedValue: sawQuote))
        }
        return TraceFilter(terms)
    }

    static func term(_ raw: String, quotedValue: Bool) throws(TraceFilterError) -> Term {
        guard let opStart = raw.firstIndex(where: { "=!<>".contains($0) }), opStart > raw.startIndex else { return .text(raw) }
        let name = raw[..<opStart].lowercased()
        var rest = raw[opStart...]
        let op: Op
        if rest.hasPrefix("!=") { op = .ne } else if rest.hasPrefix(">=") { op = .ge } else if rest.hasPrefix("<=") { op = .le }
        else if rest.hasPrefix("=") { op = .eq } else if rest.hasPrefix(">") { op = .gt } else if rest.hasPrefix("<") { op = .lt }
        else { return .text(raw) }
        rest = rest.dropFirst(op.rawValue.count)
        guard let key = key(name) else {
            throw TraceFilterError("no filter '\(name)': filters are \(keys.map(\.name).joined(separator: ", "))")
        }
        let value = String(rest)
        if key.numeric {
            guard number(value, unit: key.unit) != nil else {
                throw TraceFilterError("\(name) takes a number\(key.unit == "ms" ? " (2s, 500ms, 1.5m)" : key.unit == "usd" ? " of dollars (0.01)" : ""), got '\(value)'")
            }
        } else {
            guard op == .eq || op == .ne else { throw TraceFilterError("\(name) takes = or !=, got \(op.rawValue)") }
            if key.name == "status", value != "error", value != "ok" {
                throw TraceFilterError("status is error or ok, got '\(value)'")
            }
            if value.isEmpty, !quotedValue { throw TraceFilterError("\(name)= needs a value (\(name)=\"\" for none)") }
        }
        return .field(key.name, op, value)
    }

    /// A number with its unit: for milliseconds `2s`, `500ms`, `1.5m`; dollars with or without `$`.
    static func number(_ s: String, unit: String) -> Double? {
        var t = Substring(s), scale = 1.0
        if unit == "ms" {
            if t.hasSuffix("ms") { t = t.dropLast(2) } else if t.hasSuffix("s") { t = t.dropLast(); scale = 1000 }
            else if t.hasSuffix("m") { t = t.dropLast(); scale = 60_000 }
        }
        if unit == "usd", t.hasPrefix("$") { t = t.dropFirst() }
        guard let v = Double(t), v.isFinite else { return nil }
        return v * scale
    }

    /// The filter written back, as the prompt shows it.
    public var text: String {
        terms.map { t -> String in
            switch t {
            case .text(let w): return w
            case .field(let k, let op, let v): return k + op.rawValue + (v.isEmpty || v.contains(" ") ? "\"\(v)\"" : v)
            }
        }.joined(separator: " ")
    }

    /// The plain words (matched on the rows already listed).
    public var words: [String] { terms.compactMap { if case .text(let w) = $0 { return w.lowercased() } else { return nil } } }

    /// The terms a query answers (everything but the words).
    public var fields: [Term] { terms.filter { if case .field = $0 { return true } else { return false } } }

    /// SQL conditions for the trace- or span-level terms.
    func conditions(perSpan: Bool) -> [String] {
        terms.compactMap { t -> String? in
            guard case .field(let name, let op, let value) = t, let key = Self.key(name), key.perSpan == perSpan else { return nil }
            if key.name == "status" { return (value == "error") == (op == .eq) ? "error" : "NOT error" }
            if key.numeric { return "\(key.column) \(op.rawValue) \(TraceListQuery.literal(Self.number(value, unit: key.unit)!))" }
            if value.isEmpty { return "\(key.column) IS \(op == .eq ? "" : "NOT ")NULL" }
            return "\(key.column) \(op == .eq ? "=" : "!=") \(TraceListQuery.quote(value))"
        }
    }
}

/// A filter that does not read: which term, and what would do.
public struct TraceFilterError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
