// Compiled-in copies of schemas/clickhouse/legacy.sql and modern.sql, so `tracectl clickhouse init`
// needs no files beside it. A test keeps them byte-identical to the files; edit those, then copy
// them here.

enum ClickHouseSchemaFiles {
    static let legacy = #"""
-- LLMTrace tables for ClickHouse before 21.1 (Debian 12 ships 18.16): no DateTime64, Map, CODEC,
-- TTL or bloom-filter indexes. `tracectl clickhouse init` reads SELECT version() and runs this file
-- or modern.sql, statement by statement (each ends with a semicolon at the end of a line), on every
-- node it is given. {database}, {cluster} and {sharding} are filled in by init; with no cluster the
-- statements marked "-- cluster only" are left out and the collectors write to spans_local itself.
--
-- Rows are one span each, as llmtraced's ClickHouse sink sends them (JSONEachRow, the columns below
-- but the ALIAS ones, which are computed when read: a MATERIALIZED column would be refused by 18.16
-- on inserts through a Distributed table). Partitions and sorting keys are computed from start_ns
-- for the same reason. A span re-sent after a crash is the same row again: ReplacingMergeTree keeps
-- one row per sorting key, which holds project, trace id and span id (and the span's start hour,
-- the same for both copies), so `FINAL` or a merge collapses it. `span` is the whole span in
-- LLMTrace's native JSON but for message and document contents, which are written once, in
-- `contents` (input messages, output messages, documents, in order).

CREATE DATABASE IF NOT EXISTS {database};

CREATE TABLE IF NOT EXISTS {database}.spans_local (
    project String,
    trace_id FixedString(32),
    span_id FixedString(16),
    parent_span_id String,
    service String,
    name String,
    kind String,
    status String,
    status_message Nullable(String),
    provider Nullable(String),
    request_model Nullable(String),
    response_model Nullable(String),
    environment Nullable(String),
    prompt_name Nullable(String),
    prompt_version Nullable(String),
    session_id Nullable(String),
    user_id Nullable(String),
    finish_reason Nullable(String),
    start_ns Int64,
    end_ns Int64,
    start DateTime ALIAS toDateTime(intDiv(start_ns, 1000000000)),
    input_tokens Nullable(Int64),
    output_tokens Nullable(Int64),
    cached_tokens Nullable(Int64),
    reasoning_tokens Nullable(Int64),
    cost_usd Nullable(Float64),
    ttft_ns Nullable(Int64),
    temperature Nullable(Float64),
    max_tokens Nullable(Int64),
    top_p Nullable(Float64),
    tags Array(String),
    attr_keys Array(String),
    attr_values Array(String),
    contents Array(String),
    span String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(toDateTime(intDiv(start_ns, 1000000000)))
ORDER BY (project, intDiv(start_ns, 3600000000000), trace_id, span_id);

-- cluster only
CREATE TABLE IF NOT EXISTS {database}.spans AS {database}.spans_local
ENGINE = Distributed({cluster}, {database}, spans_local, {sharding});

CREATE TABLE IF NOT EXISTS {database}.scores_local (
    project String,
    trace_id FixedString(32),
    span_id String,
    name String,
    value Nullable(Float64),
    category Nullable(String),
    source String,
    comment Nullable(String),
    time_ns Int64,
    time DateTime ALIAS toDateTime(intDiv(time_ns, 1000000000))
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(toDateTime(intDiv(time_ns, 1000000000)))
ORDER BY (project, intDiv(time_ns, 3600000000000), trace_id, name, source, time_ns, span_id);

-- cluster only
CREATE TABLE IF NOT EXISTS {database}.scores AS {database}.scores_local
ENGINE = Distributed({cluster}, {database}, scores_local, {sharding});
"""#

    static let modern = #"""
-- LLMTrace tables for ClickHouse 21.1 and later: the same columns as legacy.sql (the sink sends the
-- same rows to both), with DateTime64 start times, LowCardinality strings, ZSTD codecs on the big
-- text columns, bloom-filter indexes on the ids, and TTL retention when init is given
-- --retention. See legacy.sql for how init runs this file and how re-sent spans collapse.

CREATE DATABASE IF NOT EXISTS {database};

CREATE TABLE IF NOT EXISTS {database}.spans_local (
    project LowCardinality(String),
    trace_id FixedString(32),
    span_id FixedString(16),
    parent_span_id String,
    service LowCardinality(String),
    name LowCardinality(String),
    kind LowCardinality(String),
    status LowCardinality(String),
    status_message Nullable(String),
    provider LowCardinality(Nullable(String)),
    request_model LowCardinality(Nullable(String)),
    response_model LowCardinality(Nullable(String)),
    environment LowCardinality(Nullable(String)),
    prompt_name LowCardinality(Nullable(String)),
    prompt_version LowCardinality(Nullable(String)),
    session_id Nullable(String),
    user_id Nullable(String),
    finish_reason LowCardinality(Nullable(String)),
    start_ns Int64 CODEC(Delta, ZSTD(1)),
    end_ns Int64 CODEC(Delta, ZSTD(1)),
    start DateTime64(9) ALIAS fromUnixTimestamp64Nano(start_ns),
    input_tokens Nullable(Int64),
    output_tokens Nullable(Int64),
    cached_tokens Nullable(Int64),
    reasoning_tokens Nullable(Int64),
    cost_usd Nullable(Float64),
    ttft_ns Nullable(Int64),
    temperature Nullable(Float64),
    max_tokens Nullable(Int64),
    top_p Nullable(Float64),
    tags Array(String),
    attr_keys Array(LowCardinality(String)),
    attr_values Array(String) CODEC(ZSTD(3)),
    contents Array(String) CODEC(ZSTD(3)),
    span String CODEC(ZSTD(3)),
    INDEX trace_id_bloom trace_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX session_bloom session_id TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(toDateTime(intDiv(start_ns, 1000000000)))
ORDER BY (project, intDiv(start_ns, 3600000000000), trace_id, span_id)
{ttl_spans};

-- cluster only
CREATE TABLE IF NOT EXISTS {database}.spans AS {database}.spans_local
ENGINE = Distributed({cluster}, {database}, spans_local, {sharding});

CREATE TABLE IF NOT EXISTS {database}.scores_local (
    project LowCardinality(String),
    trace_id FixedString(32),
    span_id String,
    name LowCardinality(String),
    value Nullable(Float64),
    category Nullable(String),
    source LowCardinality(String),
    comment Nullable(String) CODEC(ZSTD(3)),
    time_ns Int64 CODEC(Delta, ZSTD(1)),
    time DateTime64(9) ALIAS fromUnixTimestamp64Nano(time_ns)
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(toDateTime(intDiv(time_ns, 1000000000)))
ORDER BY (project, intDiv(time_ns, 3600000000000), trace_id, name, source, time_ns, span_id)
{ttl_scores};

-- cluster only
CREATE TABLE IF NOT EXISTS {database}.scores AS {database}.scores_local
ENGINE = Distributed({cluster}, {database}, scores_local, {sharding});
"""#
}
