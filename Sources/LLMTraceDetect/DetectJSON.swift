import LLMTraceModel
import LLMTraceQuery

/// How anomalies, alerts and silences read in the API (`GET /api/anomalies`, `/api/alerts`,
/// `/api/silences`) and in `tracectl … --json`.
public enum DetectJSON {
    static func series(_ w: inout JSONWriter, _ s: SeriesMonitor.SeriesKey) {
        w.key("project"); w.string(s.project)
        w.key("service"); w.string(s.service)
        w.key(s.dimension.rawValue); w.string(s.value)
    }

    public static func anomalies(_ points: [SeriesMonitor.Point]) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("anomalies"); w.beginArray()
        for p in points {
            w.beginObject()
            series(&w, p.series)
            w.key("metric"); w.string(p.metric.rawValue)
            w.key("minute"); w.string(QueryValue.formatTime(p.minuteStartNanos))
            w.key("value"); w.double(p.value)
            if let l = p.level { w.key("usual"); w.double(l) }
            if let v = p.version { w.key("version"); w.string(v) }
            w.key("score"); w.double(p.score)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        let out = w.lineBytes
        return out
    }

    public static func write(_ w: inout JSONWriter, _ a: Alert) {
        w.beginObject()
        w.key("id"); w.string(a.id)
        w.key("state"); w.string(a.state.rawValue)
        w.key("silenced"); w.bool(a.silenced)
        series(&w, a.series)
        w.key("metric"); w.string(a.metric.rawValue)
        w.key("summary"); w.string(a.summary)
        if let v = a.version { w.key("version"); w.string(v) }
        w.key("starts_at"); w.string(QueryValue.formatTime(a.startsNanos))
        if let f = a.firedNanos { w.key("fired_at"); w.string(QueryValue.formatTime(f)) }
        if let r = a.resolvedNanos { w.key("resolved_at"); w.string(QueryValue.formatTime(r)) }
        w.key("value"); w.double(a.value)
        if let l = a.level { w.key("usual"); w.double(l) }
        w.key("last_value"); w.double(a.lastValue)
        w.key("peak_score"); w.double(a.peakScore)
        w.key("labels"); w.beginObject(); for (k, v) in a.labels { w.key(k); w.string(v) }; w.endObject()
        w.endObject()
    }

    public static func write(_ w: inout JSONWriter, _ s: Silence) {
        w.beginObject()
        w.key("id"); w.int(s.id)
        w.key("project"); w.string(s.project)
        w.key("matchers"); w.beginObject(); for (k, v) in s.matchers.sorted(by: { $0.key < $1.key }) { w.key(k); w.string(v) }; w.endObject()
        w.key("starts_at"); w.string(QueryValue.formatTime(s.startsNanos))
        w.key("ends_at"); w.string(QueryValue.formatTime(s.endsNanos))
        w.key("comment"); w.string(s.comment)
        if !s.createdBy.isEmpty { w.key("created_by"); w.string(s.createdBy) }
        w.endObject()
    }

    public static func alerts(_ alerts: [Alert], silences: [Silence]) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("alerts"); w.beginArray(); for a in alerts { write(&w, a) }; w.endArray()
        w.key("silences"); w.beginArray(); for s in silences { write(&w, s) }; w.endArray()
        w.endObject()
        let out = w.lineBytes
        return out
    }
}
