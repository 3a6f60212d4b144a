-- Layout 2 to 3: events may carry their link in the stream's hash chain
-- (set by applications with hash chains on). Rows written before have none.
ALTER TABLE {prefix}events ADD COLUMN chain_hash BLOB;
