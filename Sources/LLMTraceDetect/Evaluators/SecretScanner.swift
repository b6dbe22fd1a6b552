/// Credentials pasted into prompts or echoed in completions, recognised by shape. Reports kinds
/// and counts, never the secret. Shapes (each needs the whole token, bounded by non-token bytes):
/// - OpenAI-style `sk-…` / `sk-proj-…` (20+ more characters), Anthropic `sk-ant-…`
/// - AWS access key ids `AKIA` / `ASIA` + 16 capitals or digits
/// - GitHub tokens `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36 characters, `github_pat_…`
/// - Slack tokens `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-` …; Google API keys `AIza` + 35 characters
/// - Stripe live keys `sk_live_` / `rk_live_`; JSON Web Tokens `eyJ….eyJ….…`
/// - PEM private keys: `-----BEGIN … PRIVATE KEY-----`
/// Not flagged: `sk-` followed by a short word ("sk-learn"), hashes, UUIDs.
public struct SecretScanner: Sendable {
    public struct Findings: Sendable, Equatable {
        public var kinds: [String: Int] = [:]
        public var total: Int { kinds.values.reduce(0, +) }
        public var isEmpty: Bool { kinds.isEmpty }
        public var summary: String { kinds.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ") }
    }

    public init() {}

    private static let privateKey = Array("PRIVATE KEY-----".utf8)

    public func scan(_ text: String, into f: inout Findings) {
        var t = text
        t.withUTF8 { scan($0, into: &f) }
    }

    func scan(_ b: UnsafeBufferPointer<UInt8>, into f: inout Findings) {
        if TextScan.contains(b, Self.privateKey) { f.kinds["private_key", default: 0] += 1 }
        let n = b.count
        var i = 0
        while i < n {
            // Token starts only: a letter after a non-token byte.
            let c = b[i]
            guard TextScan.isLetter(c), i == 0 || !Self.tokenByte(b[i - 1]) else { i += 1; continue }
            var end = i
            while end < n, Self.tokenByte(b[end]) { end += 1 }
            if end - i >= 20, let kind = Self.kind(UnsafeBufferPointer(rebasing: b[i..<end])) { f.kinds[kind, default: 0] += 1 }
            i = end
        }
    }

    @inline(__always) static func tokenByte(_ c: UInt8) -> Bool { TextScan.isAlnum(c) || c == 0x2D || c == 0x5F || c == 0x2E }

    static func kind(_ t: UnsafeBufferPointer<UInt8>) -> String? {
        func has(_ p: StaticString) -> Bool {
            let n = p.utf8CodeUnitCount
            guard t.count >= n else { return false }
            let pp = p.utf8Start
            for k in 0..<n where t[k] != pp[k] { return false }
            return true
        }
        func tail(from k: Int, _ ok: (UInt8) -> Bool) -> Int {
            var m = 0
            var j = k
            while j < t.count, ok(t[j]) { m += 1; j += 1 }
            return j == t.count ? m : -1
        }
        let alnum: (UInt8) -> Bool = { TextScan.isAlnum($0) }
        let keyChars: (UInt8) -> Bool = { TextScan.isAlnum($0) || $0 == 0x2D || $0 == 0x5F }
        if has("sk-ant-") { return tail(from: 7, keyChars) >= 20 ? "anthropic_key" : nil }
        if has("sk-proj-") { return tail(from: 8, keyChars) >= 20 ? "openai_key" : nil }
        if has("sk-") { return tail(from: 3, keyChars) >= 20 && Self.mixed(t) ? "openai_key" : nil }
        if has("sk_live_") || has("rk_live_") { return tail(from: 8, alnum) >= 16 ? "stripe_key" : nil }
        if has("AKIA") || has("ASIA") { return t.count == 20 && tail(from: 4, { TextScan.isDigit($0) || TextScan.isUpper($0) }) == 16 ? "aws_access_key" : nil }
        if has("ghp_") || has("gho_") || has("ghu_") || has("ghs_") || has("ghr_") { return tail(from: 4, alnum) >= 36 ? "github_token" : nil }
        if has("github_pat_") { return tail(from: 11, keyChars) >= 22 ? "github_token" : nil }
        if has("xoxb-") || has("xoxp-") || has("xoxa-") || has("xoxr-") { return tail(from: 5, keyChars) >= 10 ? "slack_token" : nil }
        if has("AIza") { return tail(from: 4, keyChars) == 35 ? "google_api_key" : nil }
        if has("eyJ") {
            // header.payload.signature, the first two base64url JSON objects.
            var parts = 1
            for c in t where c == 0x2E { parts += 1 }
            if parts == 3, let dot = t.firstIndex(of: 0x2E), dot + 3 < t.count, t[dot + 1] == 0x65, t[dot + 2] == 0x79, t[dot + 3] == 0x4A { return "jwt" }
        }
        return nil
    }

    /// Keys mix letters and digits; prose with a long hyphenated word ("sk-state-of-the-art-…") does not.
    static func mixed(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        var digits = 0, upper = 0
        for c in t { if TextScan.isDigit(c) { digits += 1 } else if TextScan.isUpper(c) { upper += 1 } }
        return digits >= 2 && (upper >= 2 || digits >= 6)
    }
}
