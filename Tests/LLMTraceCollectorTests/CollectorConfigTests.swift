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

    /// The detectors' settings in the file: the global list, a project's own list, the alert targets;
    /// a project's list that is not a string is refused with its place.
    @Test func detectorSettings() throws {
        let c = try CollectorConfig(json: Array(#"{"detectors": "on", "evaluators": "pii,secrets", "alert_webhook": "http://127.0.0.1:9/hook", "alertmanager": "http://127.0.0.1:9093", "alert_for": 2, "projects": [{"name": "support", "evaluators": "none"}, {"name": "chat"}]}"#.utf8))
        #expect(c.settings["evaluators"] == "pii,secrets" && c.settings["alert_for"] == "2" && c.settings["alertmanager"] == "http://127.0.0.1:9093")
        #expect(c.projectEvaluators == ["support": "none"])
        do {
            _ = try CollectorConfig(json: Array(#"{"projects": [{"name": "support", "evaluators": ["pii"]}]}"#.utf8))
            Issue.record("accepted a list")
        } catch {
            #expect(error.description.contains("projects[0]") && error.description.contains("evaluators"), "\(error)")
        }
    }

    /// One key for two projects, or as both ingest and read key, is refused at start; the message
    /// names the projects, never the key.
    @Test func aKeyGivenTwiceIsRefusedWithoutShowingIt() throws {
        let key = "shared-key-0123456789"
        var two = try CollectorConfig(json: Array(#"{"projects": [{"name": "chat", "ingest_keys": ["\#(key)"]}, {"name": "billing", "ingest_keys": ["\#(key)"]}]}"#.utf8))
        do { try two.addKeys(ingest: nil, read: nil); Issue.record("accepted") } catch {
            #expect(error.description.contains("chat") && error.description.contains("billing") && !error.description.contains(key), "\(error)")
        }
        var both = try CollectorConfig(json: Array(#"{"projects": [{"name": "chat", "ingest_keys": ["\#(key)"], "read_keys": ["\#(key)"]}]}"#.utf8))
        do { try both.addKeys(ingest: nil, read: nil); Issue.record("accepted") } catch {
            #expect(error.description.contains("both an ingest and a read key") && !error.description.contains(key), "\(error)")
        }
        var viaEnv = CollectorConfig()
        #expect(throws: ConfigError.self) { try viaEnv.addKeys(ingest: "chat=\(key)", read: "billing=\(key)") }
        var fine = CollectorConfig()
        try fine.addKeys(ingest: "chat=\(key),chat=\(key)", read: "chat=read-key-0123456789ab")
    }
}
