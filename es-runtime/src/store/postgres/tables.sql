-- The PostgreSQL store's tables at the latest layout (version 3), created in
-- a new schema (see `layout.rs`). `{schema}` is the quoted schema name. The
-- layout is documented on `PostgresStore`; existing databases depend on it,
-- so change it only with a migration, and keep a new schema and a migrated
-- one alike.

CREATE SEQUENCE IF NOT EXISTS {schema}.events_position_seq AS bigint;
CREATE TABLE IF NOT EXISTS {schema}.events (
    position bigint PRIMARY KEY,
    stream_id uuid NOT NULL,
    version bigint NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    schema_version bigint NOT NULL,
    recorded_at timestamptz NOT NULL,
    metadata jsonb,
    payload json,
    payload_bytes bytea,
    aggregate_type text,
    chain_hash bytea,
    CONSTRAINT events_stream_version UNIQUE (stream_id, version));
ALTER SEQUENCE {schema}.events_position_seq OWNED BY {schema}.events.position;
CREATE TABLE IF NOT EXISTS {schema}.snapshots (
    stream_id uuid NOT NULL,
    version bigint NOT NULL,
    snapshot_type text NOT NULL,
    schema_version bigint NOT NULL,
    recorded_at timestamptz NOT NULL,
    payload json,
    payload_bytes bytea,
    PRIMARY KEY (stream_id, version));
CREATE TABLE IF NOT EXISTS {schema}.tracking (
    consumer text PRIMARY KEY,
    position bigint NOT NULL);
CREATE TABLE IF NOT EXISTS {schema}.layout (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    description text NOT NULL);
