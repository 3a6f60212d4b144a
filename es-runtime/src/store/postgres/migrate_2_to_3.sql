-- Layout 2 to 3: events may carry their link in the stream's hash chain
-- (set by applications with hash chains on). Rows written before have none.
-- `{schema}` is the quoted schema name.
ALTER TABLE {schema}.events ADD COLUMN IF NOT EXISTS chain_hash bytea;
