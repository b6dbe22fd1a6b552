/// The index schema, identical to `schemas/index.sql` (a test compares them byte for byte).
enum IndexSchema {
    static let sql = #"""
-- LLMTrace index database: one per data directory (DATA/index.db), journal_mode=WAL.
-- The store creates it from this exact text (IndexSchema.swift holds a copy; a test keeps them equal).
-- Everything here can be rebuilt from the segment files: the segments are the source of truth.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Segment catalog: one row per sealed segment file.
CREATE TABLE IF NOT EXISTS segments (
    id            INTEGER PRIMARY KEY,
    file          TEXT    NOT NULL,
    min_start_ns  INTEGER NOT NULL,
    max_start_ns  INTEGER NOT NULL,
    span_count    INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    max_wal_file  INTEGER NOT NULL,
    sealed_at_ns  INTEGER NOT NULL,
    -- 1 once the segment's texts are in text_fts (done after sealing, off the ingest path).
    text_indexed  INTEGER NOT NULL DEFAULT 0
);

-- Which projects a segment holds, with their own counts and time ranges (query pruning by project).
CREATE TABLE IF NOT EXISTS segment_projects (
    project       TEXT    NOT NULL,
    segment_id    INTEGER NOT NULL,
    span_count    INTEGER NOT NULL,
    min_start_ns  INTEGER NOT NULL,
    max_start_ns  INTEGER NOT NULL,
    PRIMARY KEY (project, segment_id)
) WITHOUT ROWID;

-- Trace id -> the run of rows holding it in each segment (rows are sorted by trace id).
CREATE TABLE IF NOT EXISTS trace_rows (
    trace_id    BLOB    NOT NULL,   -- 16 bytes, big-endian
    segment_id  INTEGER NOT NULL,
    first_row   INTEGER NOT NULL,
    row_count   INTEGER NOT NULL,
    project     TEXT    NOT NULL,
    PRIMARY KEY (trace_id, segment_id)
) WITHOUT ROWID;

-- span_rows (span id -> segment row), written until 0.6.0, is gone: nothing read it, and its
-- random-key inserts were much of a seal's index work (appends waited on the sealer 3-5 s per
-- 1M spans instead of 6.5-7) and 8% of the index on disk. Dropped at open where it remains.
DROP TABLE IF EXISTS span_rows;

CREATE TABLE IF NOT EXISTS session_traces (
    project     TEXT    NOT NULL,
    session_id  TEXT    NOT NULL,
    trace_id    BLOB    NOT NULL,
    segment_id  INTEGER NOT NULL,
    PRIMARY KEY (project, session_id, trace_id, segment_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS user_traces (
    project     TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    trace_id    BLOB    NOT NULL,
    segment_id  INTEGER NOT NULL,
    PRIMARY KEY (project, user_id, trace_id, segment_id)
) WITHOUT ROWID;

-- Each distinct paragraph of a prompt, completion or document (texts are split at blank lines, as the
-- segments store them) is full-text indexed once, keyed by its stable 64-bit TextHash. last_segment is
-- the newest segment holding it, so retention knows when the last copy goes. A search for several
-- terms matches paragraphs per term and combines them per message.
CREATE TABLE IF NOT EXISTS texts (
    hash          INTEGER PRIMARY KEY,
    last_segment  INTEGER
);

-- Contentless: the text itself lives (compressed, once) in the segments; rowid = texts.hash.
CREATE VIRTUAL TABLE IF NOT EXISTS text_fts USING fts5(content, content='', tokenize='unicode61 remove_diacritics 2', detail=none);

-- Feedback and evaluations attached to a trace or span (POST /v1/scores). Unlike the tables above,
-- this one is the source of truth for scores: they are not in the segments.
CREATE TABLE IF NOT EXISTS scores (
    id          INTEGER PRIMARY KEY,
    project     TEXT    NOT NULL,
    trace_id    BLOB    NOT NULL,   -- 16 bytes, big-endian
    span_id     INTEGER,            -- 8-byte id as a signed 64-bit integer, NULL for the whole trace
    name        TEXT    NOT NULL,
    value       REAL,               -- numeric scores (booleans as 0 and 1)
    category    TEXT,               -- categorical scores
    source      TEXT    NOT NULL,   -- user, eval or human
    comment     TEXT,
    time_ns     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS scores_by_trace ON scores(project, trace_id);
CREATE INDEX IF NOT EXISTS scores_by_name_time ON scores(project, name, time_ns);
"""#
}
