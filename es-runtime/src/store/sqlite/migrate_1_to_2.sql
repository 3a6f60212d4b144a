-- Layout 1 to 2: events record their aggregate's type. Rows written before
-- take the type of their stream's snapshots, where there are any (a snapshot
-- names its aggregate); the others keep none, and are then matched by event
-- type alone, as when they were written.
CREATE TABLE IF NOT EXISTS {prefix}layout (
    version INTEGER PRIMARY KEY NOT NULL,
    applied_at INTEGER NOT NULL,
    description TEXT NOT NULL);
ALTER TABLE {prefix}events ADD COLUMN aggregate_type TEXT;
UPDATE {prefix}events SET aggregate_type = (
    SELECT s.snapshot_type FROM {prefix}snapshots s
     WHERE s.stream_id = {prefix}events.stream_id
     ORDER BY s.version DESC LIMIT 1)
 WHERE aggregate_type IS NULL;
