// swift-tools-version:6.0
// LLMTrace: observability and tracing backend for LLM calls. No third-party packages:
// Foundation, Glibc, Dispatch, the system SQLite and zlib only.
import PackageDescription

let package = Package(
    name: "LLMTrace",
    products: [
        .executable(name: "llmtraced", targets: ["llmtraced"]),
        .executable(name: "tracectl", targets: ["tracectl"]),
        .executable(name: "llmtrace-bench", targets: ["llmtrace-bench"]),
        .executable(name: "llmtrace-demo", targets: ["llmtrace-demo"]),
        .library(name: "LLMTrace", targets: ["LLMTrace"]),
        .library(name: "LLMTraceModel", targets: ["LLMTraceModel"]),
        .library(name: "LLMTraceStore", targets: ["LLMTraceStore"]),
        .library(name: "LLMTraceHTTP", targets: ["LLMTraceHTTP"]),
        .library(name: "LLMTraceOTLP", targets: ["LLMTraceOTLP"]),
        .library(name: "LLMTraceIngest", targets: ["LLMTraceIngest"]),
        .library(name: "LLMTraceCollector", targets: ["LLMTraceCollector"]),
        .library(name: "LLMTraceQuery", targets: ["LLMTraceQuery"]),
        .library(name: "LLMTraceMetrics", targets: ["LLMTraceMetrics"]),
        .library(name: "LLMTraceDetect", targets: ["LLMTraceDetect"]),
        .library(name: "LLMTraceTUI", targets: ["LLMTraceTUI"]),
        .library(name: "LLMTraceClient", targets: ["LLMTraceClient"]),
        .library(name: "LLMTraceClickHouse", targets: ["LLMTraceClickHouse"]),
    ],
    targets: [
        // System libraries: one-line shim header + modulemap each.
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Linux calls Glibc does not export (malloc_trim; epoll, eventfd, accept4 for the server).
        .systemLibrary(name: "CLinux"),

        // Locks, clocks and thread names shared by the store and the server.
        .target(name: "LLMTraceSupport", dependencies: ["CLinux"]),
        // Span model and its codecs (JSON). Depends on nothing but Foundation.
        .target(name: "LLMTraceModel"),
        // WAL, head, columnar segments, SQLite index, retention, verification.
        .target(name: "LLMTraceStore", dependencies: ["LLMTraceModel", "LLMTraceSupport", "CSQLite", "CZlib", "CLinux"], exclude: ["FORMAT.md"]),
        // Query engine: SQL subset over the columnar segments and the head.
        .target(name: "LLMTraceQuery", dependencies: ["LLMTraceModel", "LLMTraceStore", "LLMTraceSupport", "CLinux"]),
        // Prometheus metrics: families with capped label sets, the text exposition format.
        .target(name: "LLMTraceMetrics", dependencies: ["LLMTraceSupport", "LLMTraceModel"]),
        // OpenTelemetry OTLP trace exports, protobuf and JSON, decoded and encoded by hand: what the
        // collector, the SDK and the fuzzers share.
        .target(name: "LLMTraceOTLP", dependencies: ["LLMTraceModel"]),
        // The one way a span comes in: attribute conventions, prices, limits, validate and enrich,
        // and the fan-out to in-process subscribers (metrics, live tail, detectors).
        // The Swift SDK: Foundation and the model and OTLP codec only (no store, no server, no
        // Linux-only API), so that it also builds into macOS and iOS apps.
        .target(name: "LLMTrace", dependencies: ["LLMTraceModel", "LLMTraceOTLP"]),
        .target(name: "LLMTraceIngest", dependencies: ["LLMTraceModel", "LLMTraceOTLP", "LLMTraceSupport"]),
        // HTTP/1.1 server on epoll: parser, event loops, worker pool, gzip/deflate bodies.
        .target(name: "LLMTraceHTTP", dependencies: ["LLMTraceSupport", "CLinux", "CZlib"]),
        // The collector: OTLP and native ingest, conventions, pricing, projects and keys, routes.
        .target(name: "LLMTraceCollector", dependencies: ["LLMTraceClickHouse", "LLMTraceModel", "LLMTraceOTLP", "LLMTraceIngest", "LLMTraceStore", "LLMTraceHTTP", "LLMTraceQuery", "LLMTraceMetrics", "LLMTraceDetect"]),
        // Drift and anomaly detection: the statistics that compare a baseline window with a current one,
        // streaming detectors over per-series minutes, fed by the ingest fan-out.
        .target(name: "LLMTraceDetect", dependencies: ["LLMTraceModel", "LLMTraceIngest", "LLMTraceSupport", "LLMTraceStore", "LLMTraceQuery", "LLMTraceHTTP", "CLinux"], exclude: ["Evaluators/EVALUATORS.md"]),
        // The terminal dashboard's drawing: a cell buffer, a renderer that writes only what changed,
        // colours brought down to what the terminal shows, braille and block charts; dashboards as data.
        .target(name: "LLMTraceTUI", dependencies: ["LLMTraceModel", "LLMTraceClient"]),
        // One way to read traces, from a data directory or a collector over HTTP: what the dashboard
        // (and, next, every tracectl command) reads through.
        .target(name: "LLMTraceClient", dependencies: ["LLMTraceClickHouse", "LLMTraceModel", "LLMTraceStore", "LLMTraceQuery", "LLMTraceDetect", "LLMTraceHTTP", "LLMTraceSupport"]),
        // ClickHouse as the scale-out store: the endpoint, the schema (schemas/clickhouse), the sink
        // that forwards the store's outbox, and the HTTP client they share.
        .target(name: "LLMTraceClickHouse", dependencies: ["LLMTraceModel", "LLMTraceStore", "LLMTraceQuery", "LLMTraceHTTP", "LLMTraceSupport", "CLinux"]),
        // Deterministic synthetic LLM workloads for the benchmark and the tests.
        .target(name: "LLMTraceSynthetic", dependencies: ["LLMTraceModel"]),
        // Shared command-line plumbing (argument parsing, terminal output) for the executables.
        .target(name: "LLMTraceCLI", dependencies: ["LLMTraceModel", "LLMTraceStore", "LLMTraceHTTP"]),

        .executableTarget(name: "llmtraced", dependencies: ["LLMTraceClickHouse", "LLMTraceStore", "LLMTraceCLI", "LLMTraceIngest", "LLMTraceCollector", "LLMTraceHTTP", "CLinux"]),
        .executableTarget(name: "tracectl", dependencies: ["LLMTraceClickHouse", "LLMTraceClient", "LLMTraceTUI", "LLMTraceModel", "LLMTraceHTTP", "LLMTraceDetect", "LLMTraceIngest", "LLMTraceStore", "LLMTraceCLI", "LLMTraceQuery", "LLMTraceSupport"]),
        .executableTarget(name: "llmtrace-bench", dependencies: ["LLMTraceClickHouse", "LLMTrace", "LLMTraceTUI", "CLinux", "LLMTraceSupport", "LLMTraceStore", "LLMTraceQuery", "CSQLite", "LLMTraceCLI", "LLMTraceSynthetic", "LLMTraceOTLP", "LLMTraceCollector", "LLMTraceHTTP", "LLMTraceDetect"]),

        // A support bot built with the SDK, and the mock OpenAI-compatible server it talks to.
        .executableTarget(name: "llmtrace-demo", dependencies: ["LLMTrace", "LLMTraceModel"]),

        .testTarget(name: "LLMTraceSDKTests", dependencies: ["LLMTrace", "LLMTraceOTLP", "LLMTraceModel", "LLMTraceHTTP"]),
        .testTarget(name: "LLMTraceModelTests", dependencies: ["LLMTraceModel", "LLMTraceSynthetic"]),
        .testTarget(name: "LLMTraceHTTPTests", dependencies: ["LLMTraceHTTP"]),
        .testTarget(name: "LLMTraceMetricsTests", dependencies: ["LLMTraceMetrics"]),
        .testTarget(name: "LLMTraceIngestTests", dependencies: ["LLMTraceIngest", "LLMTraceOTLP", "LLMTraceModel"]),
        .testTarget(name: "LLMTraceCollectorTests", dependencies: ["LLMTraceCollector", "LLMTraceDetect", "LLMTraceSupport", "LLMTraceOTLP", "LLMTraceIngest", "LLMTraceHTTP", "LLMTraceStore", "LLMTraceSynthetic", "LLMTraceMetrics", "LLMTraceQuery"],
                    exclude: []),
        .testTarget(name: "LLMTraceStoreTests", dependencies: ["LLMTraceStore", "LLMTraceSynthetic", "CLinux"]),
        .testTarget(name: "LLMTraceQueryTests", dependencies: ["LLMTraceClickHouse", "LLMTraceQuery", "LLMTraceStore", "LLMTraceModel", "LLMTraceSynthetic", "LLMTraceHTTP", "CSQLite"]),
        .testTarget(name: "LLMTraceDetectTests", dependencies: ["LLMTraceDetect", "LLMTraceModel", "LLMTraceIngest", "LLMTraceHTTP", "LLMTraceSupport", "LLMTraceStore"]),
        .testTarget(name: "LLMTraceClientTests", dependencies: ["LLMTraceClient", "LLMTraceStore", "LLMTraceModel", "LLMTraceSupport", "LLMTraceSynthetic"]),
        .testTarget(name: "LLMTraceTUITests", dependencies: ["LLMTraceTUI", "LLMTraceClient", "LLMTraceQuery", "LLMTraceStore", "LLMTraceModel", "LLMTraceSupport"]),
        .testTarget(name: "LLMTraceClickHouseTests", dependencies: ["LLMTraceClickHouse", "LLMTraceHTTP", "LLMTraceQuery", "LLMTraceStore", "LLMTraceModel", "LLMTraceSynthetic", "LLMTraceSupport"]),
        .testTarget(name: "CLITests", dependencies: ["LLMTraceStore", "LLMTraceCLI", "LLMTraceHTTP", "LLMTraceSynthetic"]),
    ]
)
