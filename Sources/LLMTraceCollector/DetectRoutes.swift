import LLMTraceDetect
import LLMTraceHTTP
import LLMTraceModel
import LLMTraceQuery
import LLMTraceStore

/// The detectors' routes: `GET /api/anomalies`, `GET /api/alerts`, `GET|POST /api/silences`,
/// `DELETE /api/silences/{id}` and `GET /api/drift`. A read key confines each to its project (a
/// silence is created in, and can only remove, the key's project); with no keys configured,
/// `project=` narrows a read.
extension Collector {
    func detectRoute(_ req: HTTPRequest, _ path: Substring) -> HTTPResponse? {
        switch path {
        case "/api/anomalies": return anomalies(req)
        case "/api/alerts": return alerts(req)
        case "/api/silences": return req.method == "POST" ? addSilence(req) : silences(req)
        case "/api/drift": return drift(req)
        default:
            if path.hasPrefix("/api/silences/") { return deleteSilence(req, path.dropFirst("/api/silences/".count)) }
            return nil
        }
    }

    private func detectorsOrOff() -> Result<DetectorService, Refusal> {
        guard let d = detectors else { return .failure(Refusal(.error(404, "the detectors are off (llmtraced --detectors off)"))) }
        return .success(d)
    }

    /// The grant and the known parameters of a GET read route, or the refusal.
    private func readRequest(_ req: HTTPRequest, known: Set<String>) -> Result<(project: String?, q: [String: String]), Refusal> {
        let grant: KeyRing.Grant?
        switch readGrant(req) {
        case .failure(let r): return .failure(r)
        case .success(let g): grant = g
        }
        let q = req.queryItems
        let all = known.union(["project"])
        if let unknown = q.keys.sorted().first(where: { !all.contains($0) }) {
            return .failure(Refusal(.error(400, "unknown parameter '\(unknown)'; parameters: \(all.sorted().joined(separator: ", "))")))
        }
        return .success((grant?.project ?? q["project"], q))
    }

    /// `GET /api/anomalies?since=1h&limit=100&service=&metric=`: points scored at or over the
    /// alarm threshold, newest first.
    func anomalies(_ req: HTTPRequest) -> HTTPResponse {
        let d: DetectorService, project: String?, q: [String: String]
        switch detectorsOrOff() { case .failure(let r): return r.response; case .success(let x): d = x }
        switch readRequest(req, known: ["since", "limit", "service", "metric"]) { case .failure(let r): return r.response; case .success(let x): (project, q) = x }
        var since = Int64.min
        if let v = q["since"] {
            guard let t = QueryValue.parseTimeArgument(v, now: d.now) else {
                return .error(400, "since must be an RFC 3339 time, nanoseconds since 1970, or a duration ago (15m, 1h, 7d); got '\(v)'")
            }
            since = t
        }
        var limit = 100
        if let v = q["limit"] {
            guard let n = Int(v), (1...10_000).contains(n) else { return .error(400, "limit must be between 1 and 10000, got '\(v)'") }
            limit = n
        }
        if let m = q["metric"], SeriesMonitor.Metric(rawValue: m) == nil {
            return .error(400, "unknown metric '\(m)' (\(SeriesMonitor.Metric.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var points = d.anomalies(project: project, since: since, limit: 10_000)
        if let s = q["service"] { points = points.filter { ExactString.equal($0.series.service, s) } }
        if let m = q["metric"] { points = points.filter { $0.metric.rawValue == m } }
        return .json(200, DetectJSON.anomalies(Array(points.prefix(limit))))
    }

    /// `GET /api/alerts?state=firing|pending|resolved&id=`: open alerts, then resolved ones, newest first; and the active silences.
    func alerts(_ req: HTTPRequest) -> HTTPResponse {
        let d: DetectorService, project: String?, q: [String: String]
        switch detectorsOrOff() { case .failure(let r): return r.response; case .success(let x): d = x }
        switch readRequest(req, known: ["state", "id"]) { case .failure(let r): return r.response; case .success(let x): (project, q) = x }
        var list = d.alerts(project: project)
        if let s = q["state"] {
            guard let st = Alert.State(rawValue: s) else { return .error(400, "state must be pending, firing or resolved, got '\(s)'") }
            list = list.filter { $0.state == st }
        }
        if let id = q["id"] { list = list.filter { $0.id == id } }
        return .json(200, DetectJSON.alerts(list, silences: d.silences(project: project)))
    }

    func silences(_ req: HTTPRequest) -> HTTPResponse {
        let d: DetectorService, project: String?
        switch detectorsOrOff() { case .failure(let r): return r.response; case .success(let x): d = x }
        switch readRequest(req, known: []) { case .failure(let r): return r.response; case .success(let x): project = x.project }
        return .json(200, DetectJSON.alerts([], silences: d.silences(project: project)))
    }

    /// `POST /api/silences` with `{"matchers": {"model": "gpt-4o"}, "duration": "2h" | "ends_at": "…",
    /// "starts_at"?: "…", "comment": "…", "project"?: "…"}`: answers the silence with its id.
    func addSilence(_ req: HTTPRequest) -> HTTPResponse {
        let d: DetectorService
        switch detectorsOrOff() { case .failure(let r): return r.response; case .success(let x): d = x }
        let grant: KeyRing.Grant?
        switch authorize(req, .read) { case .failure(let r): return r.response; case .success(let g): grant = g }
        let payload: [UInt8], hold: DecodeBudget.Hold
        switch body(req) { case .failure(let r): return r.response; case .success(let b): (payload, hold) = b }
        defer { withExtendedLifetime(hold) {} }
        guard payload.count <= 64 * 1024 else { return .error(413, "a silence is at most 64 KiB") }
        let doc: JSONValue
        do { doc = try JSONValue.parse(payload) } catch { return .error(400, "invalid JSON: \(error)") }
        guard let obj = doc.object else { return .error(400, "expected a JSON object: {\"matchers\": {\"model\": \"gpt-4o\"}, \"duration\": \"2h\", \"comment\": \"…\"}") }
        let known: Set<String> = ["matchers", "duration", "starts_at", "ends_at", "comment", "project", "created_by"]
        if let k = obj.map(\.0).first(where: { !known.contains($0) }) {
            return .error(400, "unknown member '\(k)' (\(known.sorted().joined(separator: ", ")))")
        }
        var matchers: [String: String] = [:]
        if let m = doc["matchers"] {
            guard let mo = m.object else { return .error(400, "matchers must be an object of label → value") }
            for (k, v) in mo {
                guard Silence.labels.contains(k) else { return .error(400, "matchers: unknown label '\(k)' (\(Silence.labels.sorted().joined(separator: ", ")))") }
                guard let s = v.string, !s.isEmpty else { return .error(400, "matchers: '\(k)' must be a non-empty string") }
                matchers[k] = s
            }
        }
        let now = d.now
        var starts = now
        if let s = doc["starts_at"]?.string {
            guard let t = QueryValue.parseTime(s) else { return .error(400, "starts_at must be an RFC 3339 time, got '\(s)'") }
            starts = t
        }
        let ends: Int64
        if let e = doc["ends_at"]?.string {
            guard let t = QueryValue.parseTime(e) else { return .error(400, "ends_at must be an RFC 3339 time, got '\(e)'") }
            ends = t
        } else if let dur = doc["duration"]?.string {
            guard let ago = QueryValue.parseTimeArgument(dur, now: 0), ago < 0, QueryValue.parseTime(dur) == nil, Int64(dur) == nil else {
                return .error(400, "duration must be like 30m, 2h or 7d, got '\(dur)'")
            }
            ends = starts - ago
        } else {
            return .error(400, "a silence needs \"duration\" (2h) or \"ends_at\" (RFC 3339)")
        }
        guard ends > starts else { return .error(400, "a silence must end after it starts") }
        let comment = doc["comment"]?.string ?? ""
        guard comment.utf8.count <= 1_000 else { return .error(400, "comment is at most 1000 bytes") }
        let project = grant?.project ?? doc["project"]?.string ?? Span.defaultProject
        do {
            let s = try d.addSilence(Silence(project: project, matchers: matchers, startsNanos: starts, endsNanos: ends, comment: comment,
                                             createdBy: doc["created_by"]?.string ?? ""))
            var w = JSONWriter()
            DetectJSON.write(&w, s)
            let out = w.lineBytes
            return .json(201, out)
        } catch {
            log.error("saving a silence failed", [("error", "\(error)")])
            return .error(503, "silence not saved: \(StoreError.publicDescription(of: error))", headers: [("retry-after", "\(options.retryAfterSeconds)")])
        }
    }

    func deleteSilence(_ req: HTTPRequest, _ idText: Substring) -> HTTPResponse {
        let d: DetectorService
        switch detectorsOrOff() { case .failure(let r): return r.response; case .success(let x): d = x }
        guard req.method == "DELETE" else { return Self.methodNotAllowed("DELETE") }
        let grant: KeyRing.Grant?
        switch authorize(req, .read) { case .failure(let r): return r.response; case .success(let g): grant = g }
        guard let id = Int64(idText), id > 0 else { return .error(400, "a silence id is a positive integer, got '\(idText)'") }
        do {
            guard try d.removeSilence(id: id, project: grant?.project) else { return .error(404, "no silence \(id)") }
            return HTTPResponse(status: 204)
        } catch {
            log.error("removing a silence failed", [("error", "\(error)")])
            return .error(503, "silence not removed: \(StoreError.publicDescription(of: error))", headers: [("retry-after", "\(options.retryAfterSeconds)")])
        }
    }

    /// `GET /api/drift?baseline=7d&current=1h&by=service,model&limit=200` (see `DriftRequest`).
    func drift(_ req: HTTPRequest) -> HTTPResponse {
        let project: String?, q: [String: String]
        switch readRequest(req, known: ["baseline", "current", "by", "limit"]) { case .failure(let r): return r.response; case .success(let x): (project, q) = x }
        var limit = 200
        if let v = q["limit"] {
            guard let n = Int(v), (1...10_000).contains(n) else { return .error(400, "limit must be between 1 and 10000, got '\(v)'") }
            limit = n
        }
        let request: DriftRequest
        do { request = try DriftRequest(baseline: q["baseline"], current: q["current"], by: q["by"], now: detectors?.now ?? wallNanos()) } catch {
            return .error(400, error.description)
        }
        do {
            let report = try request.run(store, project: project)
            return .json(200, report.json(request, limit: limit))
        } catch {
            log.error("drift report failed", [("error", "\(error)")])
            return .error(500, "drift report failed: an internal error (logged by the server)")
        }
    }
}
