import Foundation
import LLMTraceModel

/// A column a query reads: a named column of one of the tables, or a span attribute. The type of
/// an attribute is not known ahead (OpenTelemetry attributes hold strings, numbers or booleans), so
/// the planner gives it the type its use asks for: compared with a number it is read as a number,
/// summed it is a number, otherwise it is text. Values that do not convert are NULL.
enum ColumnRef: Hashable, Sendable {
    case span(SpanColumn)
    case trace(TraceColumn)
    case score(ScoreColumn)
    /// `attr['key']`, read as the given type (string, double or bool).
    case attr(String, QueryType)

    var type: QueryType {
        switch self {
        case .span(let c): return c.type
        case .trace(let c): return c.type
        case .score(let c): return c.type
        case .attr(_, let t): return t
        }
    }

    var name: String {
        switch self {
        case .span(let c): return c.rawValue
        case .trace(let c): return c.rawValue
        case .score(let c): return c.rawValue
        case .attr(let k, _): return "attr['\(k)']"
        }
    }
}

extension ColumnRef {
    /// The value of a `spans` column or attribute in one span: the row-at-a-time definition the
    /// columnar paths must agree with. Columns of the other tables are NULL here.
    func value(of s: Span) -> QueryValue {
        switch self {
        case .span(let c): return c.value(of: s)
        case .attr(let key, let t): return Self.convert(s.attribute(key), to: t)
        case .trace, .score: return .null
        }
    }

    /// An attribute read as `t`. Strings hold any scalar (numbers in their shortest decimal form,
    /// booleans as true/false); numbers come from numbers, booleans (1/0) and strings that parse
    /// whole as a number; booleans from booleans and the strings true/false. Arrays are text (a
    /// JSON array) and otherwise NULL, as is anything that does not convert.
    static func convert(_ v: AttributeValue?, to t: QueryType) -> QueryValue {
        guard let v else { return .null }
        switch t {
        case .double:
            switch v {
            case .int(let i): return .double(Double(i))
            case .double(let d): return .double(d)
            case .bool(let b): return .double(b ? 1 : 0)
            case .string(let s):
                // Only a string that is a decimal number, whole ('0x10', 'inf', '12abc' are NULL).
                let (d, whole) = Ops.numericPrefix(s)
                guard whole, d.isFinite else { return .null }
                return .double(d)
            case .array: return .null
            }
        case .bool:
            switch v {
            case .bool(let b): return .bool(b)
            case .string("true"): return .bool(true)
            case .string("false"): return .bool(false)
            default: return .null
            }
        default:
            return .string(text(v))
        }
    }

    private static func text(_ v: AttributeValue) -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
        case .bool(let b): return b ? "true" : "false"
        case .array(let xs):
            var w = JSONWriter()
            w.beginArray()
            for x in xs {
                switch x {
                case .string(let s): w.string(s)
                case .int(let i): w.int(i)
                case .double(let d): w.double(d)
                case .bool(let b): w.bool(b)
                case .array: w.null()
                }
            }
            w.endArray()
            return w.string
        }
    }
}
