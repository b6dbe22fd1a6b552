/// API keys per project. An ingest key writes spans into its project (whatever project the spans
/// name); a read key reads only its project. Keys are compared in constant time against every
/// configured key, so neither a key's prefix nor its position in the list leaks through timing.
public struct KeyRing: Sendable {
    public struct Project: Sendable {
        public var name: String
        public var ingestKeys: [String]
        public var readKeys: [String]
        public init(name: String, ingestKeys: [String] = [], readKeys: [String] = []) {
            self.name = name
            self.ingestKeys = ingestKeys
            self.readKeys = readKeys
        }
    }

    public enum Scope: Sendable { case ingest, read }

    public struct Grant: Sendable, Equatable {
        public var project: String
        public var canIngest: Bool
        public var canRead: Bool
    }

    private var entries: [(key: [UInt8], grant: Grant)] = []
    public let projects: [Project]

    public init(projects: [Project]) {
        self.projects = projects
        for p in projects {
            for k in p.ingestKeys { entries.append((Array(k.utf8), Grant(project: p.name, canIngest: true, canRead: false))) }
            for k in p.readKeys { entries.append((Array(k.utf8), Grant(project: p.name, canIngest: false, canRead: true))) }
        }
    }

    /// True when no key is configured: the server is open (and then binds to loopback only).
    public var isOpen: Bool { entries.isEmpty }

    /// The grant of a presented key, or nil. Every configured key is compared in full.
    public func grant(for presented: String) -> Grant? {
        let p = Array(presented.utf8)
        var found: Grant? = nil
        for e in entries {
            if Self.constantTimeEqual(p, e.key) && found == nil { found = e.grant }
        }
        return found
    }

    /// Equal iff same length and same bytes; the time depends only on the lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0 && a.count == b.count
    }
}
