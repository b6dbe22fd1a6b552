/// A small command-line parser: `--name value`, `--name=value`, boolean `--flag`, positionals, and
/// `--` to end options. Unknown options are errors that name the option and suggest `--help`.
public struct ParsedArguments {
    public var options: [String: String] = [:]
    public var flags: Set<String> = []
    public var positionals: [String] = []
    /// Every value of each option, in order (for repeatable options).
    public var all: [String: [String]] = [:]

    public func value(_ name: String) -> String? { options[name] }
    public func values(_ name: String) -> [String] { all[name] ?? [] }

    public func double(_ name: String, default d: Double) throws -> Double {
        guard let v = options[name] else { return d }
        guard let x = Double(v), x.isFinite else { throw UsageError("--\(name) expects a number, got '\(v)'") }
        return x
    }
    public func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// A size like 512M, 2G, 64KiB or a plain number of bytes.
    public func bytes(_ name: String, default d: Int) throws -> Int {
        guard let v = options[name] else { return d }
        guard let n = ArgumentParser.byteSize(v) else { throw UsageError("--\(name) expects a size like 512M or 2G, got '\(v)'") }
        return n
    }

    public func int(_ name: String, default d: Int) throws -> Int {
        guard let v = options[name] else { return d }
        guard let i = Int(String(v.filter { $0 != "_" })) else { throw UsageError("--\(name) expects an integer, got '\(v)'") }
        return i
    }
}

/// A mistake in how a command was called; the message says what and how to fix it. Exit code 2.
public struct UsageError: Error, CustomStringConvertible {
    public var description: String
    public init(_ message: String) { description = message }
}

public enum ArgumentParser {
    /// Parses 10G, 500M, 64K (or with B / iB: binary units) or a plain positive byte count.
    public static func byteSize(_ s: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var t = Substring(s.uppercased())
        if t.hasSuffix("IB") || t.hasSuffix("B") { t = t.dropLast(t.hasSuffix("IB") ? 2 : 1) }
        if let u = t.last, let m = units[u], let n = Int(t.dropLast()), n > 0 { return n.multipliedReportingOverflow(by: m).overflow ? nil : n * m }
        return Int(t).flatMap { $0 > 0 ? $0 : nil }
    }

    /// Parses `args` given the option names that take a value and the boolean flag names.
    public static func parse(_ args: [String], options: Set<String>, flags: Set<String>) throws -> ParsedArguments {
        var out = ParsedArguments()
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            let a = args[i]
            i += 1
            if onlyPositionals || !a.hasPrefix("--") || a == "-" {
                if !onlyPositionals && a.hasPrefix("-") && a != "-" && a.count > 1 && !a.dropFirst().allSatisfy(\.isNumber) {
                    if a == "-h" { out.flags.insert("help"); continue }
                    throw UsageError("unknown option '\(a)' (options are spelled --name; see --help)")
                }
                out.positionals.append(a)
                continue
            }
            if a == "--" { onlyPositionals = true; continue }
            var name = String(a.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if flags.contains(name) {
                guard inline == nil else { throw UsageError("--\(name) takes no value") }
                out.flags.insert(name)
            } else if options.contains(name) {
                let v: String
                if let inline {
                    v = inline
                } else {
                    guard i < args.count else { throw UsageError("--\(name) needs a value") }
                    v = args[i]
                    i += 1
                }
                out.options[name] = v
                out.all[name, default: []].append(v)
            } else {
                let all = (options.union(flags)).sorted()
                let near = all.first { $0.hasPrefix(String(name.prefix(3))) }
                throw UsageError("unknown option '--\(name)'" + (near.map { " (did you mean --\($0)?)" } ?? "") + "; see --help")
            }
        }
        return out
    }
}
