//! Every statement of the SQLite store, with the table prefix filled in.
//!
//! The prefix is filled in once, when the store opens, so that a
//! connection's statement cache (`prepare_cached`) keys on the same strings
//! for the life of the store. Read-model SQL comes from users and is not
//! here (see `read_models`); the tables and their migrations are in
//! `layout`.
//!
//! Some parameters are written `+?n` (a no-op on the value): the stream id
//! compared with `=` and every `LIMIT`. SQLite's planner reads the bound
//! value of a bare `?n` in those places (`LIMIT ?n` as a constant, an
//! equality as likely or not) and marks the statement to be prepared again
//! whenever a new value is bound to it; rusqlite clears a statement's
//! bindings when it takes it back into its cache, so every use of such a
//! statement was a new prepare (some 70,000 instructions, as much as
//! reading ten events and decoding them). `+?n` is an expression the
//! planner does not look into; the plans are the same (`EXPLAIN QUERY
//! PLAN`).

/// The columns of an events row a fold reads, in the order
/// `rows::event_ref_from_row` reads them.
pub(super) const FOLD_COLUMNS: &str = "version, recorded_at, event_type, schema_version, payload";

/// The columns of an events row, in the order `rows::event_from_row` reads them.
pub(super) const EVENT_COLUMNS: &str = "position, stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, aggregate_type, chain_hash";

/// Every statement, with the table prefix filled in.
pub(super) struct Sql {
    /// `?1` stream: its version (0 when empty).
    pub(super) stream_version: String,
    /// `?1` stream, `?2` version, `?3` count: the event ids after the version.
    pub(super) stored_ids: String,
    /// `?1` stream, `?2` version: the event's log position.
    pub(super) position_at: String,
    /// `?1` consumer: its tracked position (no row when none).
    pub(super) tracked: String,
    /// `?1` .. `?10`: one event, unconditionally.
    pub(super) insert_event: String,
    /// `?1` .. `?10`: one event, only when the stream holds the version
    /// before it (else a NOT NULL constraint violation).
    pub(super) insert_next_event: String,
    /// `?1` consumer, `?2` position.
    pub(super) upsert_tracking: String,
    /// `?1` consumer.
    pub(super) delete_tracking: String,
    /// Every tracking record, by consumer.
    pub(super) consumers: String,
    /// `?1` stream, `?2` lowest and `?3` highest version, `?4` limit (-1: none).
    pub(super) read_stream_ascending: String,
    /// As `read_stream_ascending`, newest first.
    pub(super) read_stream_descending: String,
    /// As `read_stream_ascending`, the columns a fold needs
    /// (`FOLD_COLUMNS`).
    pub(super) fold_stream_ascending: String,
    /// As `fold_stream_ascending`, newest first.
    pub(super) fold_stream_descending: String,
    /// `?1` stream: every event, oldest first, as `fold_stream_ascending`
    /// reads them. Loading an aggregate reads the whole stream, and without
    /// the version bounds and the limit SQLite checks less on every row
    /// (callgrind: ~75 fewer instructions per event).
    pub(super) fold_whole_stream: String,
    /// `?1` after, `?2` limit.
    pub(super) read_log: String,
    /// The log after `?1`, the start of [`Sql::read_log_filtered`].
    read_log_after: String,
    /// The highest position (0 when empty).
    pub(super) last_position: String,
    /// `?1` .. `?6`: a snapshot, replacing one at the same version.
    pub(super) save_snapshot: String,
    /// `?1` stream, `?2` highest version.
    pub(super) latest_snapshot: String,
}

impl Sql {
    /// The statements for tables named with `prefix` (already validated:
    /// letters, digits and `_`, so it needs no quoting).
    pub(super) fn new(p: &str) -> Self {
        let columns = EVENT_COLUMNS;
        let insert = format!(
            "INSERT INTO {p}events (stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, aggregate_type, chain_hash)"
        );
        let read_stream = format!(
            "SELECT {columns} FROM {p}events WHERE stream_id = +?1 AND version >= ?2 AND version <= ?3"
        );
        let fold_stream = format!(
            "SELECT {FOLD_COLUMNS} FROM {p}events WHERE stream_id = +?1 AND version >= ?2 AND version <= ?3"
        );
        Self {
            stream_version: format!(
                "SELECT COALESCE(MAX(version), 0) FROM {p}events WHERE stream_id = +?1"
            ),
            stored_ids: format!(
                "SELECT event_id FROM {p}events WHERE stream_id = +?1 AND version > ?2 ORDER BY version LIMIT +?3"
            ),
            position_at: format!(
                "SELECT position FROM {p}events WHERE stream_id = ?1 AND version = ?2"
            ),
            tracked: format!("SELECT position FROM {p}tracking WHERE consumer = ?1"),
            insert_event: format!("{insert} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
            // The same row, only when the stream holds the version before it
            // (versions are consecutive, so: the stream is at least there);
            // otherwise the version is NULL, which the NOT NULL column
            // refuses. A VALUES row, not `INSERT ... SELECT ... WHERE`: an
            // INSERT whose SELECT reads the table it writes goes through a
            // temporary table and a statement journal, which cost twice the
            // insert itself.
            insert_next_event: format!(
                "{insert} VALUES (?1, \
                 CASE WHEN ?2 = 1 OR EXISTS (SELECT 1 FROM {p}events WHERE stream_id = ?1 AND version = ?2 - 1) THEN ?2 END, \
                 ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            upsert_tracking: format!(
                "INSERT INTO {p}tracking (consumer, position) VALUES (?1, ?2) \
                 ON CONFLICT (consumer) DO UPDATE SET position = excluded.position"
            ),
            delete_tracking: format!("DELETE FROM {p}tracking WHERE consumer = ?1"),
            consumers: format!("SELECT consumer, position FROM {p}tracking ORDER BY consumer"),
            read_stream_ascending: format!("{read_stream} ORDER BY version ASC LIMIT +?4"),
            read_stream_descending: format!("{read_stream} ORDER BY version DESC LIMIT +?4"),
            fold_stream_ascending: format!("{fold_stream} ORDER BY version ASC LIMIT +?4"),
            fold_stream_descending: format!("{fold_stream} ORDER BY version DESC LIMIT +?4"),
            fold_whole_stream: format!(
                "SELECT {FOLD_COLUMNS} FROM {p}events WHERE stream_id = +?1 ORDER BY version ASC"
            ),
            read_log: format!(
                "SELECT {columns} FROM {p}events WHERE position > ?1 ORDER BY position LIMIT +?2"
            ),
            read_log_after: format!("SELECT {columns} FROM {p}events WHERE position > ?1"),
            last_position: format!("SELECT COALESCE(MAX(position), 0) FROM {p}events"),
            save_snapshot: format!(
                "INSERT INTO {p}snapshots (stream_id, version, snapshot_type, schema_version, recorded_at, payload) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (stream_id, version) DO UPDATE SET snapshot_type = excluded.snapshot_type, \
                 schema_version = excluded.schema_version, recorded_at = excluded.recorded_at, \
                 payload = excluded.payload"
            ),
            latest_snapshot: format!(
                "SELECT version, snapshot_type, schema_version, recorded_at, payload FROM {p}snapshots \
                 WHERE stream_id = +?1 AND version <= ?2 ORDER BY version DESC LIMIT 1"
            ),
        }
    }

    /// The log after `?1`, at most `?2` events, of `event_types` event
    /// types and `aggregate_types` aggregate types (each `None`: all), their
    /// names bound from `?3` on, event types first; an event without an
    /// aggregate type passes the aggregate filter. The names are one
    /// parameter each, not a JSON array read by `json_each`: SQLite prepares
    /// a statement again for every new value of a parameter a table-valued
    /// function reads, which cost more than the read itself. The text
    /// depends only on the counts, so a follower's statement stays cached.
    pub(super) fn read_log_filtered(
        &self,
        event_types: Option<usize>,
        aggregate_types: Option<usize>,
    ) -> String {
        let mut text = self.read_log_after.clone();
        let mut next = 3;
        let mut list = |count: usize| {
            let names: Vec<String> = (next..next + count).map(|n| format!("?{n}")).collect();
            next += count;
            names.join(", ")
        };
        if let Some(count) = event_types {
            text.push_str(&format!(" AND event_type IN ({})", list(count)));
        }
        if let Some(count) = aggregate_types {
            text.push_str(&format!(
                " AND (aggregate_type IS NULL OR aggregate_type IN ({}))",
                list(count)
            ));
        }
        text.push_str(" ORDER BY position LIMIT +?2");
        text
    }

    /// Every statement but the schema, by name (for tests that check them all).
    #[cfg(test)]
    fn statements(&self) -> [(&'static str, &str); 18] {
        [
            ("stream_version", &self.stream_version),
            ("stored_ids", &self.stored_ids),
            ("position_at", &self.position_at),
            ("tracked", &self.tracked),
            ("insert_event", &self.insert_event),
            ("insert_next_event", &self.insert_next_event),
            ("upsert_tracking", &self.upsert_tracking),
            ("delete_tracking", &self.delete_tracking),
            ("consumers", &self.consumers),
            ("read_stream_ascending", &self.read_stream_ascending),
            ("read_stream_descending", &self.read_stream_descending),
            ("fold_stream_ascending", &self.fold_stream_ascending),
            ("fold_stream_descending", &self.fold_stream_descending),
            ("fold_whole_stream", &self.fold_whole_stream),
            ("read_log", &self.read_log),
            ("last_position", &self.last_position),
            ("save_snapshot", &self.save_snapshot),
            ("latest_snapshot", &self.latest_snapshot),
        ]
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::super::layout;
    use super::*;

    /// What each statement must be, `{p}` standing for the table prefix.
    const EXPECTED: [(&str, &str); 18] = [
        (
            "stream_version",
            "SELECT COALESCE(MAX(version), 0) FROM {p}events WHERE stream_id = +?1",
        ),
        (
            "stored_ids",
            "SELECT event_id FROM {p}events WHERE stream_id = +?1 AND version > ?2 ORDER BY version LIMIT +?3",
        ),
        (
            "position_at",
            "SELECT position FROM {p}events WHERE stream_id = ?1 AND version = ?2",
        ),
        (
            "tracked",
            "SELECT position FROM {p}tracking WHERE consumer = ?1",
        ),
        (
            "insert_event",
            "INSERT INTO {p}events (stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, aggregate_type, chain_hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        ),
        (
            "insert_next_event",
            "INSERT INTO {p}events (stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, aggregate_type, chain_hash) \
             VALUES (?1, \
             CASE WHEN ?2 = 1 OR EXISTS (SELECT 1 FROM {p}events WHERE stream_id = ?1 AND version = ?2 - 1) THEN ?2 END, \
             ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        ),
        (
            "upsert_tracking",
            "INSERT INTO {p}tracking (consumer, position) VALUES (?1, ?2) \
             ON CONFLICT (consumer) DO UPDATE SET position = excluded.position",
        ),
        (
            "delete_tracking",
            "DELETE FROM {p}tracking WHERE consumer = ?1",
        ),
        (
            "consumers",
            "SELECT consumer, position FROM {p}tracking ORDER BY consumer",
        ),
        (
            "read_stream_ascending",
            "SELECT position, stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, aggregate_type, chain_hash \
             FROM {p}events WHERE stream_id = +?1 AND version >= ?2 AND version <= ?3 ORDER BY version ASC LIMIT +?4",
        ),
        (
            "read_stream_descending",
            "SELECT position, stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, aggregate_type, chain_hash \
             FROM {p}events WHERE stream_id = +?1 AND version >= ?2 AND version <= ?3 ORDER BY version DESC LIMIT +?4",
        ),
        (
            "fold_stream_ascending",
            "SELECT version, recorded_at, event_type, schema_version, payload \
             FROM {p}events WHERE stream_id = +?1 AND version >= ?2 AND version <= ?3 ORDER BY version ASC LIMIT +?4",
        ),
        (
            "fold_stream_descending",
            "SELECT version, recorded_at, event_type, schema_version, payload \
             FROM {p}events WHERE stream_id = +?1 AND version >= ?2 AND version <= ?3 ORDER BY version DESC LIMIT +?4",
        ),
        (
            "fold_whole_stream",
            "SELECT version, recorded_at, event_type, schema_version, payload \
             FROM {p}events WHERE stream_id = +?1 ORDER BY version ASC",
        ),
        (
            "read_log",
            "SELECT position, stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, aggregate_type, chain_hash \
             FROM {p}events WHERE position > ?1 ORDER BY position LIMIT +?2",
        ),
        (
            "last_position",
            "SELECT COALESCE(MAX(position), 0) FROM {p}events",
        ),
        (
            "save_snapshot",
            "INSERT INTO {p}snapshots (stream_id, version, snapshot_type, schema_version, recorded_at, payload) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (stream_id, version) DO UPDATE SET snapshot_type = excluded.snapshot_type, \
             schema_version = excluded.schema_version, recorded_at = excluded.recorded_at, payload = excluded.payload",
        ),
        (
            "latest_snapshot",
            "SELECT version, snapshot_type, schema_version, recorded_at, payload FROM {p}snapshots \
             WHERE stream_id = +?1 AND version <= ?2 ORDER BY version DESC LIMIT 1",
        ),
    ];

    #[test]
    fn statements_are_pinned_with_and_without_a_prefix() {
        for prefix in ["", "app_"] {
            let sql = Sql::new(prefix);
            for ((name, actual), (expected_name, expected)) in
                sql.statements().into_iter().zip(EXPECTED)
            {
                assert_eq!(name, expected_name);
                assert_eq!(
                    actual,
                    expected.replace("{p}", prefix),
                    "{name}, prefix {prefix:?}"
                );
            }
        }
        // Spelled out once, so that the prefix's place is plain to see.
        assert_eq!(
            Sql::new("app_").tracked,
            "SELECT position FROM app_tracking WHERE consumer = ?1"
        );
    }

    #[test]
    fn filtered_log_reads_bind_each_name() {
        let sql = Sql::new("app_");
        let head = "SELECT position, stream_id, version, event_id, event_type, schema_version, \
                    recorded_at, metadata, payload, aggregate_type, chain_hash FROM app_events WHERE position > ?1";
        assert_eq!(
            sql.read_log_filtered(Some(2), Some(1)),
            format!(
                "{head} AND event_type IN (?3, ?4) \
                 AND (aggregate_type IS NULL OR aggregate_type IN (?5)) ORDER BY position LIMIT +?2"
            )
        );
        assert_eq!(
            sql.read_log_filtered(None, Some(2)),
            format!(
                "{head} AND (aggregate_type IS NULL OR aggregate_type IN (?3, ?4)) \
                 ORDER BY position LIMIT +?2"
            )
        );
        assert_eq!(
            sql.read_log_filtered(Some(0), None),
            format!("{head} AND event_type IN () ORDER BY position LIMIT +?2")
        );
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(&layout::schema("app_")).unwrap();
        for (types, aggregates) in [(Some(3), Some(2)), (Some(1), None), (None, Some(0))] {
            connection
                .prepare(&sql.read_log_filtered(types, aggregates))
                .unwrap();
        }
    }

    #[test]
    fn the_schema_names_every_table_with_the_prefix() {
        let plain = layout::schema("");
        let prefixed = layout::schema("app_");
        assert!(!plain.contains("{prefix}") && !prefixed.contains("{prefix}"));
        for table in ["events", "snapshots", "tracking", "layout"] {
            assert!(plain.contains(&format!("CREATE TABLE IF NOT EXISTS {table} (")));
            assert!(prefixed.contains(&format!("CREATE TABLE IF NOT EXISTS app_{table} (")));
        }
        assert_eq!(prefixed.replace("app_", ""), plain);
    }

    /// No statement is prepared again each time it is used. SQLite marks a
    /// parameter whose value the planner looked at (`LIMIT ?`, `column = ?`
    /// in some plans) so that binding a new value prepares the statement
    /// again, and rusqlite clears the bindings of every statement it takes
    /// back into its cache: each use of such a statement was a new prepare.
    #[test]
    fn cached_statements_are_not_prepared_again() {
        let sql = Sql::new("");
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(&layout::schema("")).unwrap();
        let filtered = [
            sql.read_log_filtered(Some(2), None),
            sql.read_log_filtered(None, Some(1)),
            sql.read_log_filtered(Some(1), Some(2)),
        ];
        let statements = sql.statements().into_iter().chain(
            filtered
                .iter()
                .map(|text| ("read_log_filtered", text.as_str())),
        );
        for (name, text) in statements {
            for round in 0..3 {
                let mut statement = connection.prepare_cached(text).unwrap();
                let values =
                    vec![rusqlite::types::Value::Integer(round); statement.parameter_count()];
                // Whatever the row, or the constraint it breaks: only the
                // preparing counts.
                let _ = statement
                    .query(rusqlite::params_from_iter(values))
                    .and_then(|mut rows| rows.next().map(|_| ()));
                let prepared_again = statement.get_status(rusqlite::StatementStatus::RePrepare);
                assert_eq!(prepared_again, 0, "{name} was prepared again: {text}");
            }
        }
    }

    /// Every statement prepares against the tables the schema creates: no
    /// misspelt column or table survives the unit tests.
    #[test]
    fn statements_prepare_against_the_schema() {
        for prefix in ["", "app_"] {
            let sql = Sql::new(prefix);
            let connection = Connection::open_in_memory().unwrap();
            connection.execute_batch(&layout::schema(prefix)).unwrap();
            for (name, statement) in sql.statements() {
                if let Err(error) = connection.prepare(statement) {
                    panic!("{name} (prefix {prefix:?}) does not prepare: {error}");
                }
            }
        }
    }
}
