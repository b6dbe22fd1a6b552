/// Writes the Prometheus text exposition format 0.0.4
/// (https://prometheus.io/docs/instrumenting/exposition_formats/): `# HELP` and `# TYPE` lines,
/// then one sample per line, `name{label="value",...} value`. Label values escape `\`, `"` and
/// newline; HELP text escapes `\` and newline. Values print as Go's strconv would accept them:
/// integers without a fraction, `+Inf`, `-Inf`, `NaN`.
///
/// With `openMetrics`, it writes OpenMetrics 1.0 text instead (what Prometheus asks for first in
/// its Accept header): a counter family is named without its `_total` suffix in HELP and TYPE,
/// HELP also escapes `"`, and the exposition ends with `# EOF`.
public struct Exposition {
    public private(set) var bytes: [UInt8] = []
    public let openMetrics: Bool

    public init(capacity: Int = 64 << 10, openMetrics: Bool = false) {
        bytes.reserveCapacity(capacity)
        self.openMetrics = openMetrics
    }

    /// Ends an OpenMetrics exposition (a no-op for the 0.0.4 format).
    public mutating func finish() {
        if openMetrics { append("# EOF\n") }
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func family(_ name: String, type: String, help: String) {
        let family = openMetrics && type == "counter" && name.hasSuffix("_total") ? String(name.dropLast(6)) : name
        append("# HELP "); append(family); append(" ")
        for b in help.utf8 {
            switch b {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            case UInt8(ascii: "\""): if openMetrics { append("\\\"") } else { bytes.append(b) }
            default: bytes.append(b)
            }
        }
        append("\n# TYPE "); append(family); append(" "); append(type); append("\n")
    }

    /// One sample. `extra` is one more label after `labels` (a histogram's `le`).
    public mutating func sample(_ name: String, _ suffix: String = "", labels: [(String, String)], extra: (String, String)? = nil, value: Double) {
        append(name); append(suffix)
        if !labels.isEmpty || extra != nil {
            bytes.append(UInt8(ascii: "{"))
            var first = true
            for (k, v) in labels {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                label(k, v)
            }
            if let (k, v) = extra {
                if !first { bytes.append(UInt8(ascii: ",")) }
                label(k, v)
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        append(Self.format(value))
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func label(_ k: String, _ v: String) {
        append(k); append("=\"")
        for b in v.utf8 {
            switch b {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    @inline(__always) private mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// `+Inf`, `-Inf`, `NaN`, integers as integers, anything else in Swift's shortest round-trip form.
    public static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v == .infinity { return "+Inf" }
        if v == -.infinity { return "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
