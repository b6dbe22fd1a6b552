import LLMTraceModel
import LLMTraceStore

/// The detectors' state on disk, `detectors.db` (SQLite, WAL journal) in the data directory:
/// every series' anomaly detectors, every alert and every silence. Saved once a minute and at
/// shutdown, so a restart continues each series where it was and does not announce an alert that
/// already fired.
///
///     series(key TEXT PRIMARY KEY,   -- project␟service␟dimension␟value
///            next_minute INTEGER)    -- the first minute not yet scored
///     detectors(series TEXT, metric TEXT, state BLOB, PRIMARY KEY(series, metric))
///                                     -- AnomalyDetector.encodedState()
///     alerts(id TEXT PRIMARY KEY, project, service, dimension, value, metric, state,
///            starts_ns, fired_ns, resolved_ns, peak_score, first_value, level, last_value,
///            quiet_minutes, silenced, version)
///     silences(id INTEGER PRIMARY KEY, project, matchers TEXT (a JSON object), starts_ns,
///              ends_ns, comment, created_by)
public final class DetectorStateDB: @unchecked Sendable {
    private let db: SQLiteDatabase

    public init(path: String) throws {
        db = try SQLiteDatabase(path: path)
        try db.exec("""
            PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS series(key TEXT PRIMARY KEY, next_minute INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS detectors(series TEXT NOT NULL, metric TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY(series, metric));
            CREATE TABLE IF NOT EXISTS alerts(id TEXT PRIMARY KEY, project TEXT NOT NULL, service TEXT NOT NULL, dimension TEXT NOT NULL,
                value TEXT NOT NULL, metric TEXT NOT NULL, state TEXT NOT NULL, starts_ns INTEGER NOT NULL, fired_ns INTEGER,
                resolved_ns INTEGER, peak_score REAL NOT NULL, first_value REAL NOT NULL, level REAL, last_value REAL NOT NULL,
                quiet_minutes INTEGER NOT NULL, silenced INTEGER NOT NULL, version TEXT);
            CREATE INDEX IF NOT EXISTS alerts_by_start ON alerts(starts_ns);
            CREATE TABLE IF NOT EXISTS silences(id INTEGER PRIMARY KEY, project TEXT NOT NULL, matchers TEXT NOT NULL,
                starts_ns INTEGER NOT NULL, ends_ns INTEGER NOT NULL, comment TEXT NOT NULL, created_by TEXT NOT NULL);
            """)
    }

    static func seriesKey(_ k: SeriesMonitor.SeriesKey) -> String {
        "\(k.project)\u{1F}\(k.service)\u{1F}\(k.dimension.rawValue)\u{1F}\(k.value)"
    }

    static func parseSeries(_ s: String) -> SeriesMonitor.SeriesKey? {
        let parts = s.split(separator: "\u{1F}", omittingEmptySubsequences: false)
        guard parts.count == 4, let d = SeriesMonitor.Dimension(rawValue: String(parts[2])) else { return nil }
        return SeriesMonitor.SeriesKey(project: String(parts[0]), service: String(parts[1]), dimension: d, value: String(parts[3]))
    }

    // MARK: Detectors

    public func saveSeries(_ saved: [SeriesMonitor.SavedSeries]) throws {
        try db.transaction {
            let s = try db.prepare("INSERT OR REPLACE INTO series(key, next_minute) VALUES (?, ?)")
            let d = try db.prepare("INSERT OR REPLACE INTO detectors(series, metric, state) VALUES (?, ?, ?)")
            for x in saved {
                let key = Self.seriesKey(x.key)
                s.reset(); try s.bind(1, key).bind(2, x.next).run()
                for (m, bytes) in x.detectors { d.reset(); try d.bind(1, key).bind(2, m.rawValue).bind(3, bytes).run() }
            }
        }
    }

    public func loadSeries() throws -> [SeriesMonitor.SavedSeries] {
        var byKey: [String: SeriesMonitor.SavedSeries] = [:]
        let s = try db.prepare("SELECT key, next_minute FROM series")
        while try s.step() {
            guard let k = Self.parseSeries(s.text(0)) else { continue }
            byKey[s.text(0)] = SeriesMonitor.SavedSeries(key: k, next: s.int(1), detectors: [])
        }
        let d = try db.prepare("SELECT series, metric, state FROM detectors")
        while try d.step() {
            guard let m = SeriesMonitor.Metric(rawValue: d.text(1)) else { continue }
            byKey[d.text(0)]?.detectors.append((m, d.blob(2)))
        }
        return Array(byKey.values)
    }

    // MARK: Alerts

    public func saveAlerts(_ alerts: [Alert]) throws {
        guard !alerts.isEmpty else { return }
        try db.transaction {
            let st = try db.prepare("""
                INSERT OR REPLACE INTO alerts(id, project, service, dimension, value, metric, state, starts_ns, fired_ns, resolved_ns,
                    peak_score, first_value, level, last_value, quiet_minutes, silenced, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                """)
            for a in alerts {
                st.reset()
                st.bind(1, a.id).bind(2, a.series.project).bind(3, a.series.service).bind(4, a.series.dimension.rawValue)
                    .bind(5, a.series.value).bind(6, a.metric.rawValue).bind(7, a.state.rawValue).bind(8, a.startsNanos)
                if let f = a.firedNanos { st.bind(9, f) } else { st.bindNull(9) }
                if let r = a.resolvedNanos { st.bind(10, r) } else { st.bindNull(10) }
                st.bind(11, a.peakScore).bind(12, a.value)
                if let l = a.level { st.bind(13, l) } else { st.bindNull(13) }
                st.bind(14, a.lastValue).bind(15, a.quietMinutes).bind(16, a.silenced ? 1 : 0)
                if let v = a.version { st.bind(17, v) } else { st.bindNull(17) }
                try st.run()
            }
        }
    }

    /// Open alerts, and resolved ones that fired, the newest `resolvedLimit`.
    public func loadAlerts(resolvedLimit: Int = 1_000) throws -> [Alert] {
        let st = try db.prepare("""
            SELECT id, project, service, dimension, value, metric, state, starts_ns, fired_ns, resolved_ns, peak_score, first_value, level,
                   last_value, quiet_minutes, silenced, version FROM alerts
            WHERE state != 'resolved' OR id IN (SELECT id FROM alerts WHERE state = 'resolved' AND fired_ns IS NOT NULL ORDER BY starts_ns DESC LIMIT ?)
            """)
        st.bind(1, resolvedLimit)
        var out: [Alert] = []
        while try st.step() {
            guard let d = SeriesMonitor.Dimension(rawValue: st.text(3)), let m = SeriesMonitor.Metric(rawValue: st.text(5)),
                  let state = Alert.State(rawValue: st.text(6)) else { continue }
            var a = Alert(id: st.text(0), series: .init(project: st.text(1), service: st.text(2), dimension: d, value: st.text(4)),
                          metric: m, state: state, startsNanos: st.int(7), firedNanos: st.isNull(8) ? nil : st.int(8),
                          resolvedNanos: st.isNull(9) ? nil : st.int(9), peakScore: st.double(10), value: st.double(11),
                          level: st.isNull(12) ? nil : st.double(12), lastValue: st.double(13))
            a.quietMinutes = Int(st.int(14))
            a.silenced = st.int(15) != 0
            a.version = st.isNull(16) ? nil : st.text(16)
            out.append(a)
        }
        return out
    }

    // MARK: Silences

    public func addSilence(_ s: Silence) throws -> Int64 {
        var w = JSONWriter()
        w.beginObject()
        for (k, v) in s.matchers.sorted(by: { $0.key < $1.key }) { w.key(k); w.string(v) }
        w.endObject()
        let st = try db.prepare("INSERT INTO silences(project, matchers, starts_ns, ends_ns, comment, created_by) VALUES (?,?,?,?,?,?)")
        try st.bind(1, s.project).bind(2, String(decoding: w.bytes, as: UTF8.self)).bind(3, s.startsNanos).bind(4, s.endsNanos)
            .bind(5, s.comment).bind(6, s.createdBy).run()
        return db.lastInsertRowID
    }

    public func deleteSilence(id: Int64) throws {
        try db.prepare("DELETE FROM silences WHERE id = ?").bind(1, id).run()
    }

    /// Silences not yet ended at `now` (ended ones are deleted).
    public func loadSilences(now: Int64) throws -> [Silence] {
        try db.prepare("DELETE FROM silences WHERE ends_ns <= ?").bind(1, now).run()
        let st = try db.prepare("SELECT id, project, matchers, starts_ns, ends_ns, comment, created_by FROM silences ORDER BY id")
        var out: [Silence] = []
        while try st.step() {
            var matchers: [String: String] = [:]
            if let obj = (try? JSONValue.parse(Array(st.text(2).utf8)))?.object {
                for (k, v) in obj { if let s = v.string { matchers[k] = s } }
            }
            out.append(Silence(id: st.int(0), project: st.text(1), matchers: matchers, startsNanos: st.int(3), endsNanos: st.int(4),
                               comment: st.text(5), createdBy: st.text(6)))
        }
        return out
    }
}
