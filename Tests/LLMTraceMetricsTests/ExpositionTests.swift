import Testing
@testable import LLMTraceMetrics

/// The Prometheus text format 0.0.4, byte for byte.
@Suite struct ExpositionTests {
    @Test func labelValuesEscapeBackslashQuoteAndNewline() {
        var e = Exposition()
        e.family("m_total", type: "counter", help: "a \\ help\nline")
        e.sample("m_total", labels: [("path", #"C:\dir"#), ("q", #"say "hi""#), ("nl", "a\nb"), ("utf", "héllo")], value: 3)
        #expect(e.text == """
        # HELP m_total a \\\\ help\\nline
        # TYPE m_total counter
        m_total{path="C:\\\\dir",q="say \\"hi\\"",nl="a\\nb",utf="héllo"} 3

        """)
    }

    @Test func valuesPrintAsPrometheusParsesThem() {
        #expect(Exposition.format(.infinity) == "+Inf")
        #expect(Exposition.format(-.infinity) == "-Inf")
        #expect(Exposition.format(.nan) == "NaN")
        #expect(Exposition.format(42) == "42")
        #expect(Exposition.format(-7) == "-7")
        #expect(Exposition.format(0.25) == "0.25")
        #expect(Exposition.format(1e-9) == "1e-09")
        #expect(Exposition.format(1e20) == "1e+20")
        var e = Exposition()
        e.sample("g", labels: [], value: 1.5)
        #expect(e.text == "g 1.5\n")
    }
}

@Suite struct MetricFamilyTests {
    static func lines(_ f: MetricFamily) -> [String] {
        var e = Exposition()
        f.render(into: &e)
        return e.text.split(separator: "\n").map(String.init)
    }

    /// Label values are bytes: "café" as NFC and as NFD are two series (Swift's String == would merge them).
    @Test func labelValuesAreComparedAsBytes() {
        let f = MetricFamily("spans_total", .counter, help: "spans", labels: ["service"])
        f.add(["caf\u{E9}"])
        f.add(["cafe\u{301}"], 2)
        #expect(f.seriesCount == 2)
        #expect(f.value(["caf\u{E9}"]) == 1 && f.value(["cafe\u{301}"]) == 2)
    }

    @Test func histogramBucketsAreCumulativeAndEndInInf() {
        let f = MetricFamily("lat_seconds", .histogram, help: "latency", labels: ["route"], buckets: [0.1, 1, 10])
        f.observe(["/a"], [0.05, 0.1, 0.5, 2, 20, 30, .nan])
        let l = Self.lines(f)
        #expect(l[0] == "# HELP lat_seconds latency")
        #expect(l[1] == "# TYPE lat_seconds histogram")
        #expect(Array(l[2...]) == [
            #"lat_seconds_bucket{route="/a",le="0.1"} 2"#,
            #"lat_seconds_bucket{route="/a",le="1"} 3"#,
            #"lat_seconds_bucket{route="/a",le="10"} 4"#,
            #"lat_seconds_bucket{route="/a",le="+Inf"} 7"#,
            #"lat_seconds_sum{route="/a"} NaN"#,
            #"lat_seconds_count{route="/a"} 7"#,
        ])
        // Random observations: buckets never decrease and +Inf equals the count.
        let g = MetricFamily("x", .histogram, help: "x", buckets: CollectorBuckets.all)
        var rng = UInt64(99)
        var values: [Double] = []
        for _ in 0..<5_000 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            values.append(Double(rng >> 40) / 1000)
        }
        g.observe([], values)
        var last = -1.0
        var sawInf = false
        for line in Self.lines(g) where line.hasPrefix("x_bucket") {
            let v = Double(line.split(separator: " ").last!)!
            #expect(v >= last, "\(line) after \(last)")
            last = v
            if line.contains("+Inf") { sawInf = true; #expect(v == 5_000) }
        }
        #expect(sawInf)
        #expect(g.histogram([])!.count == 5_000)
        #expect(abs(g.histogram([])!.sum - values.reduce(0, +)) < 1e-6)
    }

    @Test func cardinalityCapFoldsNewLabelSetsIntoOverflow() {
        let f = MetricFamily("calls_total", .counter, help: "calls", labels: ["service", "model"], maxSeries: 4)
        for i in 0..<10 { f.add(["svc-\(i)", "m"], 1) }
        f.add(["svc-0", "m"], 5)  // an existing series still counts
        #expect(f.seriesCount == 4)
        #expect(f.folded == 7)
        #expect(f.value(["svc-0", "m"]) == 6)
        #expect(f.value(["__overflow__", "__overflow__"]) == 7)
        let r = MetricsRegistry()
        r.register(f)
        let text = String(decoding: r.render(), as: UTF8.self)
        #expect(text.contains(#"calls_total{service="__overflow__",model="__overflow__"} 7"#))
        #expect(text.contains(#"llmtrace_metrics_series_folded_total{metric="calls_total"} 7"#))
    }

    @Test func renderingConfinesToOneLabelValue() {
        let f = MetricFamily("spans_total", .counter, help: "s", labels: ["project", "service"])
        f.add(["acme", "chat"], 2)
        f.add(["other", "chat"], 3)
        let health = MetricFamily("up", .gauge, help: "u")
        health.set([], 1)
        let r = MetricsRegistry()
        r.register(f)
        r.register(health)
        let text = String(decoding: r.render(only: ("project", "acme")), as: UTF8.self)
        #expect(text.contains(#"spans_total{project="acme",service="chat"} 2"#))
        #expect(!text.contains("other"))
        #expect(text.contains("\nup 1\n"))
    }
}

/// Bucket bounds like the collector's, for the monotonicity test.
enum CollectorBuckets {
    static let all: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 1000, 10000]
}

@Suite struct OpenMetricsTests {
    @Test func countersAreNamedWithoutTotalAndTheTextEndsInEOF() {
        let c = MetricFamily("requests_total", .counter, help: "say \"hi\"", labels: ["code"])
        c.add(["200"], 3)
        let g = MetricFamily("queue_depth", .gauge, help: "q")
        g.set([], 2)
        let r = MetricsRegistry()
        r.register(c)
        r.register(g)
        let text = String(decoding: r.render(openMetrics: true), as: UTF8.self)
        #expect(text.hasPrefix("""
        # HELP requests say \\"hi\\"
        # TYPE requests counter
        requests_total{code="200"} 3
        # HELP queue_depth q
        # TYPE queue_depth gauge
        queue_depth 2

        """))
        #expect(text.hasSuffix("# EOF\n"))
        let plain = String(decoding: r.render(), as: UTF8.self)
        #expect(plain.hasPrefix("# HELP requests_total say \"hi\"\n# TYPE requests_total counter\n"))
        #expect(!plain.contains("# EOF"))
    }

    @Test func acceptNegotiation() {
        // What Prometheus 2.x sends.
        #expect(MetricsRegistry.prefersOpenMetrics(accept: "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"))
        #expect(!MetricsRegistry.prefersOpenMetrics(accept: "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"))
        #expect(!MetricsRegistry.prefersOpenMetrics(accept: nil))
        #expect(!MetricsRegistry.prefersOpenMetrics(accept: "*/*"))
        #expect(!MetricsRegistry.prefersOpenMetrics(accept: "application/openmetrics-text;q=0"))
    }
}
