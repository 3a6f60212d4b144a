-- The SQLite store's tables, created when missing. `{prefix}` is the
-- validated table prefix (letters, digits and `_`), possibly empty. The
-- layout is documented on `SqliteStore`; existing databases depend on it,
-- so change it only with a migration.
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
