import LLMTraceModel
import LLMTraceCLI
#if canImport(Glibc)
import Glibc
#endif

/// `llmtrace-bench`: benchmarks that print figures. The last line of each is one JSON object.
@main
struct BenchMain {
    static let usage = """
    llmtrace-bench: measure LLMTrace's hot paths on this machine (build with -c release).

    USAGE
      llmtrace-bench store [--spans N] [--batch 512] [--writers 4] [--seal-spans 100000] [--compression lz4|zlib:N|none] [--dir DIR] [--keep]
      llmtrace-bench sink  [--spans 200000] [--rounds 5]
      llmtrace-bench json  [--spans N]
      llmtrace-bench codec [--spans 200000] [--rounds 7]
      llmtrace-bench nab   --data NAB_DIR [--out DIR] [--scorer nab_score.py] [--labels combined_windows.json] [--set quiet=150,short=6]
      llmtrace-bench gen   [--spans N] [--seed S] [--project P] [--start 1h]   > spans.jsonl
      llmtrace-bench ingest [--endpoint URL | --spawn [--grpc]] [--connections 8] [--seconds 60] [--batch 512] [--rate SPANS_PER_S]
                            [--gzip] [--server-pid PID] [--server-arg ARG]... [--compare ARG... [--pairs 3]] [--query-loop]
      llmtrace-bench query [--spans N] [--no-text] [--runs 20] [--lookups 500] [--threads T] [--dir DIR --keep] [--reuse] [--skip-duckdb]
      llmtrace-bench metrics [--series 10000] [--runs 20] [--spans 200000]
      llmtrace-bench detect [--spans 200000] [--rounds 5] [--drift-spans 1000000 [--dir DIR --keep]]
      llmtrace-bench sdk   [--rate 10000] [--seconds 20] [--spans 1000000] [--restart-seconds 15] [--queue 131072] [--down-seconds 60]
      llmtrace-bench dash  [--runs 300] [--live [--spans 1000000] [--rate 5000] [--seconds 60]]
      llmtrace-bench writer --data DIR [--batch N] [--run R]      (crash-test helper)

    COMMANDS
      sink    What the ClickHouse sink costs a collector a span, without ClickHouse: N synthetic spans
              in a store, read back through the outbox from the live head and then from the sealed
              segment, and encoded as the JSONEachRow rows the sink inserts; medians of --rounds.
              Last line: JSON with head_/segment_ read_us_per_span and encode_us_per_span.
      store   Appends a synthetic LLM workload through the WAL (fsync=always) in batches, seals segments,
              then looks up 1,000 random traces by id. Last line: JSON with spans, append_spans_per_s,
              raw_json_bytes_per_span, disk_bytes_per_span, lookup_p50_ms, lookup_p99_ms, peak_rss_mb.
      json    Decodes native span JSON with LLMTrace's byte-level reader and with Foundation's
              JSONSerialization and JSONDecoder-free parsing; prints MB/s for each.
      ingest  Posts OTLP/HTTP protobuf batches of realistic LLM spans (GenAI attribute names) from
              --connections keep-alive connections for --seconds, as fast as answered or at --rate
              spans/s. --spawn starts the llmtraced next to this binary on a free port with a temp data
              directory (fsync=always). Last line: JSON with spans_per_s, p50_ms, p99_ms, errors and
              the server's peak_rss_mb (VmHWM from /proc; --server-pid for a server started by hand).
              --grpc (with --spawn) sends the same batches as OTLP over gRPC to the collector's
              --grpc-listen, unary calls one after another on each HTTP/2 connection (with --gzip:
              compressed messages, grpc-encoding gzip).
              --compare ARG (with --spawn; repeatable) measures what a server setting costs: --pairs
              pairs of runs, the server as spawned and the server with ARG, alternated A B, B A so
              both see the same minutes of a busy machine; last line: each run, the medians and the
              median of the per-pair ratios (variant / baseline), with the load averages.
          --query-loop asks the collector the query bench's set (over the last hour and day by
          now()) through POST /api/query, one query after another, while the load runs: what the
          collector holds while it ingests and answers (queries, query_statuses, query_p50_ms).
          Pointed at a collector on a loaded data directory (--endpoint, --server-pid), this is
          the "ingests at full rate and answers the bench queries" measure.
      query   Loads N synthetic spans into a store (sealed) and into a SQLite row table (trace_id
              indexed; --no-text leaves the prompt and output text out of it), then runs each benchmark
              query --runs times: count by model, p95 duration by model over the last hour of data,
              cost per service per 1-minute bucket over a day, errors and tokens by service and kind,
              and --lookups trace lookups by id. --dir DIR --keep keeps both; --reuse runs again on
              them. The same questions go to DuckDB (pip `duckdb`, installed when missing; the rows
              exported once as anchor.csv, loaded into anchor.duckdb): the goal's yardstick.
              Last line: JSON with, per query, p50_ms, p99_ms, rows_scanned_per_s, sqlite_ms, and
              duckdb_ms with vs_duckdb (ours / DuckDB) where DuckDB has the question.
      codec   Encodes the same synthetic spans as store to the WAL's binary form in memory (every string
              interned, long contents split into paragraphs; no I/O). Last line: JSON with
              encode_ns_per_span_median over --rounds.
      nab     Runs the server's anomaly detector (one configuration for every series) over the Numenta
              Anomaly Benchmark series in NAB_DIR/data, writes NAB-format results to --out and scores
              them with NAB's scorer (default NAB_DIR/../../tools/nab_score.py) at the server's
              alarm threshold. Last line: JSON with threshold and the three profile scores.
      detect  What the detectors cost per span on one thread: the digest the ingest thread makes (3%
              of traces kept whole, as the evaluators' budget affords at full rate), the per-series
              minutes, and the online evaluators over every span of the synthetic workload; with
              --drift-spans, a drift report (first hour against the second) over a sealed store of
              that many spans. Last line: JSON with digest_ns_per_span, monitor_ns_per_span,
              evaluators_ns_per_span and drift_report_ms.
      sdk     What the Swift SDK costs a service: a span with 10 attributes on the caller's thread (each of
              --spans timed alone); exporting --rate spans/s for --seconds to a spawned llmtraced (this
              process's CPU besides the generating thread, as a share of one core; the collector's count
              must equal what was made); a collector restart (stopped for a third of --restart-seconds,
              queue --queue): every span must arrive; the collector down for --down-seconds with the
              default queue: peak memory and what was dropped. Last line: JSON with span_ns_p50,
              span_ns_p99, export_core_share, dropped, lost_across_restart, peak_rss_mb_collector_down.
      dash    The terminal dashboard's drawing, in process: a full redraw of the overview at 200×60 (panels
              into the cell buffer, every cell written) over --runs, and the bytes of a frame where nothing
              changed and of one where only the clock moved. --live: a spawned llmtraced holding --spans
              spans and receiving --rate spans/s, tracectl dash in a 200×60 pseudo-terminal for --seconds:
              its CPU share (drawing and reading answers) and the collector's extra CPU for answering it.
              Last line: JSON with full_redraw_ms_200x60, idle_frame_bytes and, live, draw_core_share and
              collector_core_share.
      gen     Writes the synthetic workload as native JSON lines (whole traces, at least N spans).
      writer  Appends batches forever and prints "ack <seq> <first-span-id> <count>" after each
              acknowledged batch; the crash test kills it with SIGKILL.

    EXAMPLES
      swift run -c release llmtrace-bench store --spans 1000000
      swift run -c release llmtrace-bench json --spans 100000
      swift run -c release llmtrace-bench ingest --spawn --seconds 60
      swift run -c release llmtrace-bench ingest --spawn --seconds 60 --rate 25000
      swift run -c release llmtrace-bench ingest --spawn --grpc --seconds 30          # OTLP over gRPC
      swift run -c release llmtrace-bench ingest --spawn --seconds 60 --compare --detectors=off --pairs 3
      swift run -c release llmtrace-bench sdk
      swift run -c release llmtrace-bench query --spans 10000000 --no-text --dir /tmp/q10m --keep
    """

    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        if args.first == "--version" {
            Terminal.print("llmtrace-bench \(LLMTraceVersion.string)")
            exit(0)
        }
        guard let cmd = args.first, !["-h", "--help", "help"].contains(cmd) else {
            Terminal.print(usage)
            exit(args.isEmpty ? 2 : 0)
        }
        args.removeFirst()
        do {
            switch cmd {
            case "store": try StoreBench.run(args)
            case "sink": try SinkBench.run(args)
            case "json": try JSONBench.run(args)
            case "codec": try CodecBench.run(args)
            case "nab": try NABBench.run(args)
            case "writer": try CrashWriter.run(args)
            case "gen": try GenCommand.run(args)
            case "ingest": try IngestBench.run(args)
            case "query": try QueryBench.run(args)
            case "metrics": try MetricsBench.run(args)
            case "detect": try DetectBench.run(args)
            case "sdk": try SDKBench.run(args)
            case "dash": try DashBench.run(args)
            default: throw UsageError("unknown command '\(cmd)'; see llmtrace-bench --help")
            }
        } catch let e as UsageError {
            Terminal.error("llmtrace-bench: \(e)")
            exit(2)
        } catch {
            Terminal.error("llmtrace-bench: \(error)")
            exit(1)
        }
    }
}
