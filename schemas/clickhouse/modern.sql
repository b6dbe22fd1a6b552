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
