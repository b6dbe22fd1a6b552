import LLMTraceHTTP
import LLMTraceIngest
import LLMTraceModel

/// `llmtraced --config FILE`: a JSON object. Every member is optional; flags and environment
/// variables override it. Unknown members are an error (a typo must not silently fall back).
///
///     {
///       "listen": "127.0.0.1:4318",
///       "data": "/var/lib/llmtrace",
///       "log_format": "json",
///       "fsync": "always",
///       "retention": "30d",
///       "projects": [
///         {"name": "chat", "ingest_keys": ["lt_ingest_..."], "read_keys": ["lt_read_..."]}
///       ]
///     }
public struct CollectorConfig: Sendable {
    /// Raw settings by name (`listen`, `data`, ...), as strings, from the file.
    public var settings: [String: String] = [:]
    public var projects: [KeyRing.Project] = []
    /// Per-project evaluator lists (`"evaluators": "pii,secrets"` in a project), as written.
    public var projectEvaluators: [String: String] = [:]

    public static let settingNames: Set<String> = [
        "listen", "grpc_listen", "data", "log_format", "access_log", "fsync", "seal_spans", "seal_age", "retention", "compression",
        "max_body_bytes", "max_connections", "workers", "queue_depth", "conventions", "pricing", "event_loops",
        "metrics", "metrics_max_series", "dedup_window", "dedup_max_spans",
        "detectors", "evaluators", "alert_webhook", "alertmanager", "alert_for", "clickhouse", "clickhouse_budget", "clickhouse_defer", "query_engine", "query_memory",
    ]

    public init() {}

    public init(json: [UInt8], path: String = "config") throws(ConfigError) {
        let doc: JSONValue
        do { doc = try JSONValue.parse(json) } catch { throw ConfigError("\(path): \(error)") }
        guard let members = doc.object else { throw ConfigError("\(path): expected a JSON object") }
        for (k, v) in members {
            if k == "projects" {
                guard let list = v.array else { throw ConfigError("\(path): \"projects\" must be a list") }
                for (i, p) in list.enumerated() {
                    guard let name = p["name"]?.string, !name.isEmpty else { throw ConfigError("\(path): projects[\(i)] needs a \"name\"") }
                    for (pk, _) in p.object ?? [] where !["name", "ingest_keys", "read_keys", "evaluators"].contains(pk) {
                        throw ConfigError("\(path): projects[\(i)]: unknown member \"\(pk)\" (name, ingest_keys, read_keys, evaluators)")
                    }
                    if let ev = p["evaluators"] {
                        guard let list = ev.string else { throw ConfigError("\(path): projects[\(i)]: \"evaluators\" must be a string such as \"pii,secrets\" or \"none\"") }
                        projectEvaluators[name] = list
                    }
                    let ingest = p["ingest_keys"].map { $0.strings } ?? []
                    let read = p["read_keys"].map { $0.strings } ?? []
                    guard let ingest, let read else { throw ConfigError("\(path): projects[\(i)]: keys must be lists of strings") }
                    for key in ingest + read where key.utf8.count < 16 {
                        throw ConfigError("\(path): project '\(name)': keys must be at least 16 characters")
                    }
                    projects.append(KeyRing.Project(name: name, ingestKeys: ingest, readKeys: read))
                }
                continue
            }
            if k.hasPrefix("$") || k.hasPrefix("_") { continue }  // comments
            guard Self.settingNames.contains(k) else {
                throw ConfigError("\(path): unknown setting \"\(k)\" (known: \(Self.settingNames.sorted().joined(separator: ", ")), projects)")
            }
            switch v {
            case .string(let s): settings[k] = s
            case .number(.int(let i)): settings[k] = String(i)
            case .number(.double(let d)): settings[k] = String(d)
            case .bool(let b): settings[k] = String(b)
            default: throw ConfigError("\(path): \"\(k)\" must be a string or a number")
            }
        }
    }

    /// Adds keys from `LLMTRACE_INGEST_KEYS` / `LLMTRACE_READ_KEYS` values (`project=key,project=key`).
    public mutating func addKeys(ingest: String?, read: String?) throws(ConfigError) {
        func parse(_ s: String?, _ what: String) throws(ConfigError) -> [(String, String)] {
            guard let s, !s.isEmpty else { return [] }
            var out: [(String, String)] = []
            for item in s.split(separator: ",") {
                let kv = item.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, !kv[0].isEmpty, kv[1].utf8.count >= 16 else {
                    throw ConfigError("\(what): expected project=key pairs separated by commas, keys of 16+ characters")
                }
                out.append((String(kv[0]), String(kv[1])))
            }
            return out
        }
        for (p, k) in try parse(ingest, "LLMTRACE_INGEST_KEYS") { projects[projectIndex(p)].ingestKeys.append(k) }
        for (p, k) in try parse(read, "LLMTRACE_READ_KEYS") { projects[projectIndex(p)].readKeys.append(k) }
        try checkKeys()
    }

    /// Each key belongs to one project and is either an ingest or a read key: a key given twice
    /// would let whoever holds it write into, or read, a project it was not meant for. The error
    /// names the projects, never the key (it goes to logs).
    public func checkKeys() throws(ConfigError) {
        var owner: [String: (project: String, ingest: Bool)] = [:]
        for p in projects {
            for (keys, ingest) in [(p.ingestKeys, true), (p.readKeys, false)] {
                for k in keys {
                    if let o = owner[k] {
                        if o.project != p.name {
                            throw ConfigError("one key is given to two projects, \(o.project) and \(p.name); give each project its own keys")
                        }
                        if o.ingest != ingest {
                            throw ConfigError("a key of project \(p.name) is both an ingest and a read key; use two keys")
                        }
                    }
                    owner[k] = (p.name, ingest)
                }
            }
        }
    }

    private mutating func projectIndex(_ name: String) -> Int {
        if let i = projects.firstIndex(where: { $0.name == name }) { return i }
        projects.append(KeyRing.Project(name: name))
        return projects.count - 1
    }

    /// Splits `HOST:PORT` (`[::1]:4318`, `:4318` for all interfaces).
    public static func parseListen(_ s: String) throws(ConfigError) -> (host: String, port: Int) {
        var host: Substring
        var portPart: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]"), s[s.index(after: close)...].hasPrefix(":") else {
                throw ConfigError("listen address '\(s)': expected [IPv6]:PORT")
            }
            host = s[s.index(after: s.startIndex)..<close]
            portPart = s[s.index(close, offsetBy: 2)...]
        } else {
            guard let colon = s.lastIndex(of: ":") else { throw ConfigError("listen address '\(s)': expected HOST:PORT, e.g. 127.0.0.1:4318") }
            host = s[..<colon]
            portPart = s[s.index(after: colon)...]
        }
        guard let port = Int(portPart), (0...65535).contains(port) else { throw ConfigError("listen address '\(s)': bad port '\(portPart)'") }
        if host.isEmpty { host = "0.0.0.0" }
        return (String(host), port)
    }

    public static func isLoopback(_ host: String) -> Bool { HTTPClient.isLoopback(host) }
}
