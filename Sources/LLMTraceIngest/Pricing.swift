import LLMTraceModel
import LLMTraceSupport

/// Model prices (USD per 1M tokens) from `schemas/pricing.json`, to cost spans at ingest.
public struct Pricing: Sendable {
    public struct Price: Sendable, Equatable {
        public var input: Double
        public var output: Double
        public var cachedInput: Double
    }

    public private(set) var models: [String: Price] = [:]
    private var perTokens = 1_000_000.0
    private let memo = Memo()

    /// Resolved model names (the suffix search walks every entry); bounded, since model names
    /// come from clients.
    private final class Memo: @unchecked Sendable {
        let lock = Condition()
        var entries: [String: Price?] = [:]
    }

    public static func builtIn() -> Pricing {
        // The compiled-in table is tested to parse; a failure here is a build defect.
        try! Pricing(json: Array(DefaultSchemas.pricing.utf8))
    }

    public init(json: [UInt8]) throws(ConfigError) {
        let doc: JSONValue
        do { doc = try JSONValue.parse(json) } catch { throw ConfigError("pricing: \(error)") }
        if let p = doc["per_tokens"]?.double, p > 0 { perTokens = p }
        guard let models = doc["models"]?.object else { throw ConfigError("pricing: expected an object \"models\"") }
        for (name, v) in models {
            guard let input = v["input"]?.double, let output = v["output"]?.double, input >= 0, output >= 0 else {
                throw ConfigError("pricing: model '\(name)' needs non-negative numbers \"input\" and \"output\"")
            }
            let cached = v["cached_input"]?.double ?? input
            self.models[name.lowercased()] = Price(input: input, output: output, cachedInput: cached)
        }
    }

    /// The entry for a model name: exact (case-insensitive), else without a `provider/` prefix, else
    /// the longest entry it extends by a date or version suffix (`gpt-4o-2024-08-06` → `gpt-4o`,
    /// `claude-3-5-sonnet-20241022` → `claude-3-5-sonnet`, `gpt-4o:latest` → `gpt-4o`).
    public func price(for model: String) -> Price? {
        if let hit = memo.lock.withLock({ memo.entries[model] }) { return hit }
        let p = resolve(model)
        memo.lock.withLock {
            if memo.entries.count >= 10_000 { memo.entries.removeAll() }
            memo.entries[model] = p
        }
        return p
    }

    private func resolve(_ model: String) -> Price? {
        var name = model.lowercased()
        if let p = models[name] { return p }
        if let slash = name.lastIndex(of: "/") {
            name = String(name[name.index(after: slash)...])
            if let p = models[name] { return p }
        }
        var best: (Int, Price)? = nil
        for (key, p) in models where name.count > key.count && name.hasPrefix(key) {
            let rest = name.dropFirst(key.count)
            guard let sep = rest.first, sep == "-" || sep == "@" || sep == ":" || sep == "." else { continue }
            let tail = rest.dropFirst()
            let isSuffix = tail == "latest" || tail == "preview" || (!tail.isEmpty && tail.allSatisfy { $0.isNumber || $0 == "-" || $0 == "v" || $0 == ":" })
            guard isSuffix else { continue }
            if best == nil || key.count > best!.0 { best = (key.count, p) }
        }
        return best?.1
    }

    /// Cost in USD of a span's tokens: priced by the model that answered (often a dated name),
    /// else by the model asked for; nil when neither is in the table or no tokens are known.
    public func cost(of s: Span) -> Double? {
        if let c = cost(model: s.responseModel ?? s.requestModel, input: s.inputTokens, output: s.outputTokens, cached: s.cachedTokens) { return c }
        guard s.responseModel != nil else { return nil }
        return cost(model: s.requestModel, input: s.inputTokens, output: s.outputTokens, cached: s.cachedTokens)
    }

    /// Cost in USD of a span's tokens, or nil without a known model or any token count. Cached
    /// input tokens are part of the input tokens (as OpenAI and the GenAI conventions count them)
    /// and are charged at the cached price.
    public func cost(model: String?, input: Int64?, output: Int64?, cached: Int64?) -> Double? {
        guard let model, input != nil || output != nil, let p = price(for: model) else { return nil }
        let inTok = Double(max(0, input ?? 0))
        let cachedTok = min(Double(max(0, cached ?? 0)), inTok)
        let outTok = Double(max(0, output ?? 0))
        return ((inTok - cachedTok) * p.input + cachedTok * p.cachedInput + outTok * p.output) / perTokens
    }
}

/// A configuration file or value that cannot be used, with what is wrong and where.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}
