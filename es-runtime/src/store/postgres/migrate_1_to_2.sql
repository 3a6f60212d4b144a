-- Layout 1 to 2: events record their aggregate's type. Rows written before
-- take the type of their stream's latest snapshot, where there is one (a
-- snapshot names its aggregate); the others keep none, and are then matched
-- by event type alone, as when they were written. `{schema}` is the quoted
-- schema name.
CREATE TABLE IF NOT EXISTS {schema}.layout (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    description text NOT NULL);
ALTER TABLE {schema}.events ADD COLUMN IF NOT EXISTS aggregate_type text;
UPDATE {schema}.events e SET aggregate_type = s.snapshot_type
  FROM (SELECT DISTINCT ON (stream_id) stream_id, snapshot_type
          FROM {schema}.snapshots ORDER BY stream_id, version DESC) s
 WHERE e.stream_id = s.stream_id AND e.aggregate_type IS NULL;
