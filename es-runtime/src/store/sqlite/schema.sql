-- The SQLite store's tables at the latest layout (version 3), created in a
-- new database. `{prefix}` is the validated table prefix (letters, digits and
-- `_`), possibly empty. The layout is documented on `SqliteStore`; existing
-- databases depend on it, so change it only with a migration (`layout.rs`),
-- and keep a fresh database and a migrated one alike.
CREATE TABLE IF NOT EXISTS {prefix}events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    event_id BLOB NOT NULL,
    event_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    metadata TEXT,
    payload NOT NULL,
    aggregate_type TEXT,
    chain_hash BLOB,
    UNIQUE (stream_id, version));
CREATE TABLE IF NOT EXISTS {prefix}snapshots (
    stream_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    snapshot_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    payload NOT NULL,
    PRIMARY KEY (stream_id, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {prefix}tracking (
    consumer TEXT PRIMARY KEY NOT NULL,
    position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS {prefix}layout (
    version INTEGER PRIMARY KEY NOT NULL,
    applied_at INTEGER NOT NULL,
    description TEXT NOT NULL);
