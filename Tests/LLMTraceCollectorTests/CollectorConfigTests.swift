import Testing
import LLMTraceIngest
@testable import LLMTraceCollector

@Suite struct CollectorConfigTests {
    @Test func configFile() throws {
        let c = try CollectorConfig(json: Array(#"{"listen": "0.0.0.0:9999", "workers": 4, "projects": [{"name": "chat", "ingest_keys": ["ingest-key-0123456789"], "read_keys": ["read-key-0123456789ab"]}]}"#.utf8))
        #expect(c.settings["listen"] == "0.0.0.0:9999")
        #expect(c.settings["workers"] == "4")
        let ring = KeyRing(projects: c.projects)
        #expect(ring.grant(for: "ingest-key-0123456789") == KeyRing.Grant(project: "chat", canIngest: true, canRead: false))
        #expect(ring.grant(for: "read-key-0123456789ab")?.canRead == true)
        #expect(ring.grant(for: "ingest-key-012345678") == nil)
        #expect(ring.grant(for: "ingest-key-01234567890") == nil)
        #expect(throws: ConfigError.self) { try CollectorConfig(json: Array(#"{"listn": "x"}"#.utf8)) }
        #expect(throws: ConfigError.self) { try CollectorConfig(json: Array(#"{"projects": [{"name": "p", "ingest_keys": ["short"]}]}"#.utf8)) }
        #expect(try CollectorConfig.parseListen("[::1]:4318") == ("::1", 4318))
        #expect(try CollectorConfig.parseListen(":4318") == ("0.0.0.0", 4318))
        #expect(throws: ConfigError.self) { try CollectorConfig.parseListen("localhost") }
    }
}
