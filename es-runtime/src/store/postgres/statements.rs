//! Every statement of the PostgreSQL store, with the schema filled in, and
//! the set-up scripts rendered for one schema: the tables of a new schema
//! (`tables.sql`), the migrations from older layouts (`migrate_*.sql`) and
//! the functions (`functions.sql`).
//!
//! The schema name is validated (lowercase letters, digits, `_`), so
//! quoting it is enough; nothing else is put into SQL but numbers computed
//! here and the channel name derived from the schema.

use super::namespace;
use super::notify::channel;

/// The tables of a new schema, at the latest layout.
const TABLES: &str = include_str!("tables.sql");

/// The functions, with placeholders in braces (listed in its header).
const FUNCTIONS: &str = include_str!("functions.sql");

/// The layout this code reads and writes.
pub(super) const LATEST_LAYOUT: u32 = 3;

/// The migrations, each to the version `.0` from the one before it.
const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        2,
        "events record their aggregate type",
        include_str!("migrate_1_to_2.sql"),
    ),
    (
        3,
        "events carry their hash-chain link",
        include_str!("migrate_2_to_3.sql"),
    ),
];

/// Positions fit in the low 48 bits of an advisory lock key; the schema's
/// namespace takes the high 16.
pub(super) const POSITION_BITS: u32 = 48;

/// The first int4 of the set-up lock's advisory-lock key (`chr0`):
/// `(SETUP_CLASS, namespace)`.
const SETUP_CLASS: i32 = 1_667_789_360;

/// The first int4 of the listener registry's advisory-lock keys (`chr1`;
/// the set-up lock's is `SETUP_CLASS`): `(LISTEN_CLASS, namespace + 65536 * slot)`.
/// The int4-pair form shows `objsubid` 2 in `pg_locks`, which
/// `chronicle_horizon` (floors: the bigint form, `objsubid` 1) passes over.
pub(super) const LISTEN_CLASS: i32 = 1_667_789_361;

/// The registry's keys per schema: a listening session holds all of them
/// (shared), an append tries the one of its backend's pid modulo this
/// (exclusive), so that appends on different connections seldom refuse
/// each other (a refused append notifies, which is only wasted work).
pub(super) const LISTEN_SLOTS: u32 = 16;

/// The columns of an events row a fold reads, in the order
/// `rows::event_ref_from_row` reads them.
const FOLD_COLUMNS: &str =
    "version, recorded_at, event_type, schema_version, payload, payload_bytes";

/// The columns of an events row, in the order `rows::event_from_row` reads them.
const EVENT_COLUMNS: &str = "position, stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, payload_bytes, aggregate_type, chain_hash";

/// Every statement, with the schema filled in.
pub(super) struct Sql {
    /// Takes the schema's set-up lock (for the transaction) and creates the
    /// schema if missing: the start of every set-up.
    pub(super) lock_schema: String,
    /// Whether the `layout` and `events` tables exist.
    pub(super) layout_tables: String,
    /// The highest layout version reached.
    pub(super) layout_version: String,
    /// `$1` version, `$2` description: records a layout reached.
    pub(super) record_layout: String,
    /// The tables of a new schema (several statements).
    pub(super) tables: String,
    /// The migrations: the version each reaches, what it does, its script.
    pub(super) migrations: Vec<(u32, &'static str, String)>,
    /// The functions, created or replaced (several statements).
    pub(super) functions: String,
    /// `chronicle_append` with the 14 parameters of `append::AppendParams`.
    pub(super) append: String,
    /// `chronicle_append_in_group`, the same parameters: the position, or
    /// the error's code and message.
    pub(super) append_in_group: String,
    /// `$1` stream, `$2` version, `$3` event id, `$4` type, `$5` schema
    /// version, `$6` time, `$7` metadata, `$8` JSON payload, `$9` payload
    /// bytes, `$10` aggregate type, `$11` hash-chain link, `$12` expected
    /// version, `$13` a listener-registry key (`Sql::listen_key`): one
    /// event, the position written, or no row (see `APPEND_ONE`).
    pub(super) append_one: String,
    /// `chronicle_append_together`: the appends of a group in one call, the
    /// same parameters but the tracking records as arrays (`$12`
    /// consumers, `$13` positions); the positions written, in order. Used
    /// for groups with a tracking record (`append_untracked` otherwise;
    /// clients before it sent both arrays NULL for untracked groups).
    pub(super) append_together: String,
    /// `append_together` as one statement, for a group that tracks
    /// nothing: the positions written, in order, or NULL when it wrote
    /// nothing (see `APPEND_UNTRACKED`).
    pub(super) append_untracked: String,
    /// `$1` streams, `$2` expected and `$3` last versions, `$4` consumer:
    /// what an append decides on, in one snapshot (kind 0: a stream's
    /// version; 1: a stored event in the batch's range; 2: the tracking).
    pub(super) state: String,
    /// `$1` stream, `$2` lowest and `$3` highest version, `$4` limit (NULL: none).
    pub(super) read_stream_ascending: String,
    /// As `read_stream_ascending`, newest first.
    pub(super) read_stream_descending: String,
    /// As `read_stream_ascending`, the columns a fold needs (`FOLD_COLUMNS`).
    pub(super) fold_stream_ascending: String,
    /// As `fold_stream_ascending`, newest first.
    pub(super) fold_stream_descending: String,
    /// Computes the in-flight horizon and keeps it for `read_log`, the
    /// next statement on the connection.
    pub(super) mark_horizon: String,
    /// `$1` after, `$2` limit, `$3` event types and `$4` aggregate types
    /// (each NULL: all), below the horizon `mark_horizon` kept. The horizon
    /// cuts the page after the limit: bounded on both sides, the range
    /// looks small to a planner whose statistics lag behind a growing log,
    /// which then sorts the rest of the log for every page.
    pub(super) read_log: String,
    /// `read_log` without the filters (`$1` after, `$2` limit), for a
    /// query that has none: the generic plan of `read_log` tests both
    /// (NULL) filters on every row.
    pub(super) read_log_unfiltered: String,
    /// The last position below the horizon.
    pub(super) last_position: String,
    /// `$1` consumer: its tracked position (no row when none).
    pub(super) tracked: String,
    /// Registers the session as a listener and `LISTEN`s on the channel
    /// (`chronicle_listen`; see "Notifications" on `PostgresStore`).
    pub(super) listen: String,
    /// `$1` .. `$7`: a snapshot, replacing one at the same version.
    pub(super) save_snapshot: String,
    /// `$1` stream, `$2` highest version.
    pub(super) latest_snapshot: String,
    /// `$1` consumer, `$2` position, `$3` the position it must be at: a row
    /// only when it moved.
    pub(super) continue_tracking: String,
    /// `$1` consumer, `$2` position: a row only when the consumer was new.
    pub(super) start_tracking: String,
    /// `$1` consumer.
    pub(super) delete_tracking: String,
    /// Every tracking record, by consumer.
    pub(super) consumers: String,
    /// The schema's advisory-lock namespace (`super::namespace`).
    namespace: u16,
}

/// One event appended to one stream without a tracking record, the common
/// case, as one plain statement: `chronicle_append`'s single-event path
/// without PL/pgSQL, about a third of its server instructions. The floor is
/// announced (a shared advisory lock, taken without waiting) and the stream
/// checked at `$12`, its expected version, in a one-time filter, which runs
/// before the projection allocates the position. It returns no row when
/// either fails, and the append then goes through `chronicle_append`, which
/// waits for the lock or raises the conflict. It notifies only when the
/// listener-registry key `$13` (see `Sql::listen_key`) is refused, that is
/// while a listener is registered, as the functions do (`functions.sql`,
/// before `chronicle_listen`). `RETURNING` computes both columns, without a
/// CTE scan over the written row: the CTE cost about 5k server instructions
/// per append.
const APPEND_ONE: &str = "INSERT INTO {schema}.events (position, stream_id, version, event_id, \
     event_type, schema_version, recorded_at, metadata, payload, payload_bytes, aggregate_type, \
     chain_hash) \
     SELECT nextval('{schema}.events_position_seq'), $1, $2, $3, $4, $5, $6, $7::text::jsonb, \
     $8::text::json, $9, $10, $11 \
     WHERE pg_catalog.pg_try_advisory_xact_lock_shared({floor_key}) \
     AND EXISTS (SELECT FROM {schema}.events e WHERE e.stream_id = $1 \
     AND e.version = greatest($12::bigint, 1)) = ($12::bigint > 0) \
     RETURNING position, CASE WHEN pg_catalog.pg_try_advisory_xact_lock({listen_class}, $13) \
     THEN NULL ELSE pg_catalog.pg_notify('{channel}', position::text) END";

/// The appends of a group that tracks nothing, as one statement with the
/// parameters of `chronicle_append_together` (its PL/pgSQL runs four
/// statements, each with its own executor start-up: about 50 µs more per
/// group on the server). As `APPEND_ONE` does for one append, a gate
/// evaluated once, before the first position is allocated, takes the floor
/// lock without waiting and checks every stream's expected version; when
/// either fails, or a tracking record is given after all (`$12`, `$13`), it
/// writes nothing and answers NULL, and the group is committed the careful
/// way, where the functions wait for the lock or report the conflict. A
/// conflict between two appends of the group (the unique constraint) or a
/// payload that is not JSON raises, as in the function. It notifies once,
/// with the last position, while a listener is registered.
const APPEND_UNTRACKED: &str = "WITH gate AS MATERIALIZED (\
     SELECT $12::text[] IS NULL AND $13::bigint[] IS NULL \
     AND pg_catalog.pg_try_advisory_xact_lock_shared({floor_key}) \
     AND NOT EXISTS (SELECT FROM unnest($1::uuid[], $2::bigint[]) AS c(stream_id, expected) \
     WHERE {stale_stream}) AS open), \
     written AS (INSERT INTO {schema}.events (position, stream_id, version, event_id, \
     event_type, schema_version, recorded_at, metadata, payload, payload_bytes, aggregate_type, \
     chain_hash) \
     SELECT nextval('{schema}.events_position_seq'), u.stream_id, u.version, u.event_id, \
     u.event_type, u.schema_version, u.recorded_at, u.metadata, u.payload, u.payload_bytes, \
     u.aggregate_type, u.chain_hash \
     FROM unnest($3::uuid[], $4::bigint[], $5::uuid[], $6::text[], $7::bigint[], \
     $8::timestamptz[], $9::text[]::jsonb[], $10::text[]::json[], $11::bytea[], $14::text[], \
     $15::bytea[]) WITH ORDINALITY AS u(stream_id, version, event_id, event_type, \
     schema_version, recorded_at, metadata, payload, payload_bytes, aggregate_type, chain_hash, \
     ord) \
     WHERE (SELECT open FROM gate) ORDER BY u.ord RETURNING position) \
     SELECT array_agg(w.position ORDER BY w.position), CASE WHEN count(*) > 0 \
     AND NOT pg_catalog.pg_try_advisory_xact_lock({listen_key}) \
     THEN pg_catalog.pg_notify('{channel}', max(w.position)::text) END FROM written w";

/// `template` with every `{name}` replaced by its value.
fn render(template: &str, values: &[(&str, String)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

impl Sql {
    /// The statements for `schema` (already validated).
    pub(super) fn new(schema: &str) -> Self {
        let s = format!("\"{schema}\"");
        let columns = EVENT_COLUMNS;
        let namespace = namespace(schema);
        // The namespace in the top 16 bits (its top bit becomes the sign bit).
        let key_base = (u64::from(namespace) << POSITION_BITS) as i64;
        let position_mask = (1i64 << POSITION_BITS) - 1;
        // The floor an append announces before it allocates a position (see
        // `PostgresStore`): one expression for the statement and both
        // functions. `pg_sequence_last_value` is what the `pg_sequences` view
        // reads: the last allocated value, NULL before the first.
        let floor_key = format!(
            "({key_base}::bigint) | least(coalesce(pg_catalog.pg_sequence_last_value(\
             '{s}.events_position_seq'::pg_catalog.regclass), 0), {position_mask}::bigint)"
        );
        // Whether stream `c.stream_id` is not at version `c.expected`: it
        // holds E (or, for E = 0, does not hold 1); the unique constraint
        // refuses E + 1 if it is there. One lookup of its stream and version
        // as a scalar subquery with a LIMIT, which the planner can neither
        // turn into a join nor hash, so no plan scans the whole table (an
        // EXISTS over all streams was planned as a hashed scan). For the
        // group statement and `chronicle_append_together`.
        let stale_stream = format!(
            "(SELECT true FROM {s}.events e WHERE e.stream_id = c.stream_id \
             AND e.version = greatest(c.expected, 1) LIMIT 1) IS NOT NULL <> (c.expected > 0)"
        );
        let values = [
            ("schema", s.clone()),
            ("namespace", namespace.to_string()),
            ("floor_key", floor_key),
            ("stale_stream", stale_stream),
            ("channel", channel(schema)),
            ("listen_class", LISTEN_CLASS.to_string()),
            ("listen_slots", LISTEN_SLOTS.to_string()),
            (
                "listen_key",
                format!(
                    "{LISTEN_CLASS}, {namespace} + 65536 * (pg_catalog.pg_backend_pid() % {LISTEN_SLOTS})"
                ),
            ),
        ];
        // The set-up lock is keyed by the namespace: set-ups of one schema
        // take turns, other schemas' do not wait.
        let setup_key = i32::from(namespace);
        let read_stream = format!(
            "SELECT {columns} FROM {s}.events WHERE stream_id = $1 AND version >= $2 AND version <= $3"
        );
        let fold_stream = format!(
            "SELECT {FOLD_COLUMNS} FROM {s}.events WHERE stream_id = $1 AND version >= $2 AND version <= $3"
        );
        // A page of the log after `$1`, at most `$2` events passing
        // `filters`, cut at the horizon `chronicle_mark_horizon` kept.
        let log_page = |filters: &str| {
            format!(
                "SELECT {columns} FROM (SELECT {columns} FROM {s}.events \
                 WHERE position > $1 {filters}\
                 ORDER BY position LIMIT $2) page \
                 WHERE position <= (SELECT pg_catalog.current_setting('chronicle.horizon')::bigint) \
                 ORDER BY position"
            )
        };
        Self {
            lock_schema: format!(
                "SELECT pg_catalog.pg_advisory_xact_lock({SETUP_CLASS}, {setup_key}); \
                 CREATE SCHEMA IF NOT EXISTS {s};"
            ),
            layout_tables: format!(
                "SELECT pg_catalog.to_regclass('{s}.layout') IS NOT NULL, \
                 pg_catalog.to_regclass('{s}.events') IS NOT NULL"
            ),
            layout_version: format!("SELECT max(version) FROM {s}.layout"),
            record_layout: format!(
                "INSERT INTO {s}.layout (version, description) VALUES ($1, $2)"
            ),
            tables: render(TABLES, &values),
            migrations: MIGRATIONS
                .iter()
                .map(|(to, description, script)| (*to, *description, render(script, &values)))
                .collect(),
            functions: render(FUNCTIONS, &values),
            append: format!(
                "SELECT {s}.chronicle_append($1, $2, $3, $4, $5, $6, $7, $8, $9::text[]::jsonb[], $10::text[]::json[], $11, $12, $13, $14, $15)"
            ),
            append_in_group: format!(
                "SELECT o_position, o_code, o_message FROM {s}.chronicle_append_in_group($1, $2, $3, $4, $5, $6, $7, $8, $9::text[]::jsonb[], $10::text[]::json[], $11, $12, $13, $14, $15)"
            ),
            append_one: render(APPEND_ONE, &values),
            append_together: format!(
                "SELECT {s}.chronicle_append_together($1, $2, $3, $4, $5, $6, $7, $8, $9::text[]::jsonb[], $10::text[]::json[], $11, $12, $13, $14, $15)"
            ),
            append_untracked: render(APPEND_UNTRACKED, &values),
            state: format!(
                "SELECT 0 AS kind, s.stream_id, \
                 coalesce((SELECT max(e.version) FROM {s}.events e WHERE e.stream_id = s.stream_id), 0) AS version, \
                 NULL::uuid AS event_id, NULL::bigint AS position \
                 FROM unnest($1::uuid[]) AS s(stream_id) \
                 UNION ALL \
                 SELECT 1, e.stream_id, e.version, e.event_id, e.position \
                 FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS r(stream_id, low, high) \
                 JOIN {s}.events e ON e.stream_id = r.stream_id AND e.version > r.low AND e.version <= r.high \
                 UNION ALL \
                 SELECT 2, NULL, t.position, NULL, NULL FROM {s}.tracking t WHERE t.consumer = $4"
            ),
            read_stream_ascending: format!("{read_stream} ORDER BY version ASC LIMIT $4"),
            read_stream_descending: format!("{read_stream} ORDER BY version DESC LIMIT $4"),
            fold_stream_ascending: format!("{fold_stream} ORDER BY version ASC LIMIT $4"),
            fold_stream_descending: format!("{fold_stream} ORDER BY version DESC LIMIT $4"),
            mark_horizon: format!("SELECT {s}.chronicle_mark_horizon()"),
            read_log: log_page(
                "AND ($3::text[] IS NULL OR event_type = ANY ($3)) \
                 AND ($4::text[] IS NULL OR aggregate_type IS NULL OR aggregate_type = ANY ($4)) ",
            ),
            read_log_unfiltered: log_page(""),
            last_position: format!("SELECT {s}.chronicle_last_position()"),
            tracked: format!("SELECT position FROM {s}.tracking WHERE consumer = $1"),
            listen: format!("SELECT {s}.chronicle_listen()"),
            save_snapshot: format!(
                "INSERT INTO {s}.snapshots (stream_id, version, snapshot_type, schema_version, recorded_at, payload, payload_bytes) \
                 VALUES ($1, $2, $3, $4, $5, $6::text::json, $7) \
                 ON CONFLICT (stream_id, version) DO UPDATE SET snapshot_type = excluded.snapshot_type, \
                 schema_version = excluded.schema_version, recorded_at = excluded.recorded_at, \
                 payload = excluded.payload, payload_bytes = excluded.payload_bytes"
            ),
            latest_snapshot: format!(
                "SELECT version, snapshot_type, schema_version, recorded_at, payload, payload_bytes \
                 FROM {s}.snapshots WHERE stream_id = $1 AND version <= $2 \
                 ORDER BY version DESC LIMIT 1"
            ),
            continue_tracking: format!(
                "UPDATE {s}.tracking SET position = $2 \
                 WHERE consumer = $1 AND position = $3 AND position < $2 \
                 RETURNING position"
            ),
            start_tracking: format!(
                "INSERT INTO {s}.tracking (consumer, position) VALUES ($1, $2) \
                 ON CONFLICT (consumer) DO NOTHING \
                 RETURNING position"
            ),
            delete_tracking: format!("DELETE FROM {s}.tracking WHERE consumer = $1"),
            consumers: format!("SELECT consumer, position FROM {s}.tracking ORDER BY consumer"),
            namespace,
        }
    }

    /// The second int4 of the listener-registry key of slot `turn` modulo
    /// `LISTEN_SLOTS`, for `append_one`'s `$13`: appends that take turns
    /// through the slots do not refuse each other's key (the functions
    /// pick their slot by backend pid instead, keeping their signatures,
    /// and so does `append_untracked`, which shares their parameters).
    pub(super) fn listen_key(&self, turn: u32) -> i32 {
        // At most 65535 + 65536 * 15, well within an int4.
        i32::from(self.namespace) + 65536 * (turn % LISTEN_SLOTS) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTS: &str =
        "SELECT position, stream_id, version, event_id, event_type, schema_version, \
                          recorded_at, metadata, payload, payload_bytes, aggregate_type, chain_hash";

    #[test]
    fn statements_are_pinned() {
        let sql = Sql::new("app");
        let expected = [
            (
                &sql.append,
                r#"SELECT "app".chronicle_append($1, $2, $3, $4, $5, $6, $7, $8, $9::text[]::jsonb[], $10::text[]::json[], $11, $12, $13, $14, $15)"#.to_owned(),
            ),
            (
                &sql.append_in_group,
                r#"SELECT o_position, o_code, o_message FROM "app".chronicle_append_in_group($1, $2, $3, $4, $5, $6, $7, $8, $9::text[]::jsonb[], $10::text[]::json[], $11, $12, $13, $14, $15)"#.to_owned(),
            ),
            (
                &sql.append_one,
                r#"INSERT INTO "app".events (position, stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, payload_bytes, aggregate_type, chain_hash) SELECT nextval('"app".events_position_seq'), $1, $2, $3, $4, $5, $6, $7::text::jsonb, $8::text::json, $9, $10, $11 WHERE pg_catalog.pg_try_advisory_xact_lock_shared((KEY::bigint) | least(coalesce(pg_catalog.pg_sequence_last_value('"app".events_position_seq'::pg_catalog.regclass), 0), 281474976710655::bigint)) AND EXISTS (SELECT FROM "app".events e WHERE e.stream_id = $1 AND e.version = greatest($12::bigint, 1)) = ($12::bigint > 0) RETURNING position, CASE WHEN pg_catalog.pg_try_advisory_xact_lock(1667789361, $13) THEN NULL ELSE pg_catalog.pg_notify('chronicle_events_app', position::text) END"#
                    .replace("KEY", &((u64::from(namespace("app")) << POSITION_BITS) as i64).to_string()),
            ),
            (
                &sql.append_together,
                r#"SELECT "app".chronicle_append_together($1, $2, $3, $4, $5, $6, $7, $8, $9::text[]::jsonb[], $10::text[]::json[], $11, $12, $13, $14, $15)"#.to_owned(),
            ),
            (
                &sql.append_untracked,
                r#"WITH gate AS MATERIALIZED (SELECT $12::text[] IS NULL AND $13::bigint[] IS NULL AND pg_catalog.pg_try_advisory_xact_lock_shared((KEY::bigint) | least(coalesce(pg_catalog.pg_sequence_last_value('"app".events_position_seq'::pg_catalog.regclass), 0), 281474976710655::bigint)) AND NOT EXISTS (SELECT FROM unnest($1::uuid[], $2::bigint[]) AS c(stream_id, expected) WHERE (SELECT true FROM "app".events e WHERE e.stream_id = c.stream_id AND e.version = greatest(c.expected, 1) LIMIT 1) IS NOT NULL <> (c.expected > 0)) AS open), written AS (INSERT INTO "app".events (position, stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, payload_bytes, aggregate_type, chain_hash) SELECT nextval('"app".events_position_seq'), u.stream_id, u.version, u.event_id, u.event_type, u.schema_version, u.recorded_at, u.metadata, u.payload, u.payload_bytes, u.aggregate_type, u.chain_hash FROM unnest($3::uuid[], $4::bigint[], $5::uuid[], $6::text[], $7::bigint[], $8::timestamptz[], $9::text[]::jsonb[], $10::text[]::json[], $11::bytea[], $14::text[], $15::bytea[]) WITH ORDINALITY AS u(stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, payload_bytes, aggregate_type, chain_hash, ord) WHERE (SELECT open FROM gate) ORDER BY u.ord RETURNING position) SELECT array_agg(w.position ORDER BY w.position), CASE WHEN count(*) > 0 AND NOT pg_catalog.pg_try_advisory_xact_lock(1667789361, LISTEN_NAMESPACE + 65536 * (pg_catalog.pg_backend_pid() % 16)) THEN pg_catalog.pg_notify('chronicle_events_app', max(w.position)::text) END FROM written w"#
                    .replace("KEY", &((u64::from(namespace("app")) << POSITION_BITS) as i64).to_string())
                    .replace("LISTEN_NAMESPACE", &namespace("app").to_string()),
            ),
            (
                &sql.state,
                r#"SELECT 0 AS kind, s.stream_id, coalesce((SELECT max(e.version) FROM "app".events e WHERE e.stream_id = s.stream_id), 0) AS version, NULL::uuid AS event_id, NULL::bigint AS position FROM unnest($1::uuid[]) AS s(stream_id) UNION ALL SELECT 1, e.stream_id, e.version, e.event_id, e.position FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS r(stream_id, low, high) JOIN "app".events e ON e.stream_id = r.stream_id AND e.version > r.low AND e.version <= r.high UNION ALL SELECT 2, NULL, t.position, NULL, NULL FROM "app".tracking t WHERE t.consumer = $4"#.to_owned(),
            ),
            (
                &sql.read_stream_ascending,
                format!(r#"{EVENTS} FROM "app".events WHERE stream_id = $1 AND version >= $2 AND version <= $3 ORDER BY version ASC LIMIT $4"#),
            ),
            (
                &sql.read_stream_descending,
                format!(r#"{EVENTS} FROM "app".events WHERE stream_id = $1 AND version >= $2 AND version <= $3 ORDER BY version DESC LIMIT $4"#),
            ),
            (
                &sql.fold_stream_ascending,
                r#"SELECT version, recorded_at, event_type, schema_version, payload, payload_bytes FROM "app".events WHERE stream_id = $1 AND version >= $2 AND version <= $3 ORDER BY version ASC LIMIT $4"#.to_owned(),
            ),
            (
                &sql.fold_stream_descending,
                r#"SELECT version, recorded_at, event_type, schema_version, payload, payload_bytes FROM "app".events WHERE stream_id = $1 AND version >= $2 AND version <= $3 ORDER BY version DESC LIMIT $4"#.to_owned(),
            ),
            (
                &sql.mark_horizon,
                r#"SELECT "app".chronicle_mark_horizon()"#.to_owned(),
            ),
            (
                &sql.read_log,
                format!(
                    r#"{EVENTS} FROM ({EVENTS} FROM "app".events WHERE position > $1 AND ($3::text[] IS NULL OR event_type = ANY ($3)) AND ($4::text[] IS NULL OR aggregate_type IS NULL OR aggregate_type = ANY ($4)) ORDER BY position LIMIT $2) page WHERE position <= (SELECT pg_catalog.current_setting('chronicle.horizon')::bigint) ORDER BY position"#
                ),
            ),
            (
                &sql.read_log_unfiltered,
                format!(
                    r#"{EVENTS} FROM ({EVENTS} FROM "app".events WHERE position > $1 ORDER BY position LIMIT $2) page WHERE position <= (SELECT pg_catalog.current_setting('chronicle.horizon')::bigint) ORDER BY position"#
                ),
            ),
            (
                &sql.last_position,
                r#"SELECT "app".chronicle_last_position()"#.to_owned(),
            ),
            (&sql.listen, r#"SELECT "app".chronicle_listen()"#.to_owned()),
            (
                &sql.tracked,
                r#"SELECT position FROM "app".tracking WHERE consumer = $1"#.to_owned(),
            ),
            (
                &sql.save_snapshot,
                r#"INSERT INTO "app".snapshots (stream_id, version, snapshot_type, schema_version, recorded_at, payload, payload_bytes) VALUES ($1, $2, $3, $4, $5, $6::text::json, $7) ON CONFLICT (stream_id, version) DO UPDATE SET snapshot_type = excluded.snapshot_type, schema_version = excluded.schema_version, recorded_at = excluded.recorded_at, payload = excluded.payload, payload_bytes = excluded.payload_bytes"#.to_owned(),
            ),
            (
                &sql.latest_snapshot,
                r#"SELECT version, snapshot_type, schema_version, recorded_at, payload, payload_bytes FROM "app".snapshots WHERE stream_id = $1 AND version <= $2 ORDER BY version DESC LIMIT 1"#.to_owned(),
            ),
            (
                &sql.continue_tracking,
                r#"UPDATE "app".tracking SET position = $2 WHERE consumer = $1 AND position = $3 AND position < $2 RETURNING position"#.to_owned(),
            ),
            (
                &sql.start_tracking,
                r#"INSERT INTO "app".tracking (consumer, position) VALUES ($1, $2) ON CONFLICT (consumer) DO NOTHING RETURNING position"#.to_owned(),
            ),
            (
                &sql.delete_tracking,
                r#"DELETE FROM "app".tracking WHERE consumer = $1"#.to_owned(),
            ),
        ];
        for (actual, expected) in expected {
            assert_eq!(actual, &expected);
        }
    }

    #[test]
    fn the_setup_is_rendered_for_its_schema() {
        let sql = Sql::new("app");
        let scripts = [&sql.tables, &sql.functions, &sql.migrations[0].2];
        // Every placeholder filled in (the scripts have no braces of their own).
        for script in scripts {
            assert!(!script.contains(['{', '}']), "{script}");
        }
        for expected in [
            r#"CREATE SEQUENCE IF NOT EXISTS "app".events_position_seq AS bigint;"#,
            r#"CREATE TABLE IF NOT EXISTS "app".events ("#,
            "    aggregate_type text,\n    chain_hash bytea,\n    CONSTRAINT events_stream_version UNIQUE (stream_id, version));",
            r#"CREATE TABLE IF NOT EXISTS "app".snapshots ("#,
            r#"CREATE TABLE IF NOT EXISTS "app".tracking ("#,
            r#"CREATE TABLE IF NOT EXISTS "app".layout ("#,
        ] {
            assert!(sql.tables.contains(expected), "missing: {expected}");
        }
        for expected in [
            r#"CREATE OR REPLACE FUNCTION "app".chronicle_horizon() RETURNS bigint"#,
            r#"CREATE OR REPLACE FUNCTION "app".chronicle_append("#,
            "p_consumer text, p_position bigint, e_aggregate text[], e_chain bytea[]) RETURNS bigint",
            r#"CREATE OR REPLACE FUNCTION "app".chronicle_append_in_group("#,
            "p_consumer text, p_position bigint, e_aggregate text[], e_chain bytea[],\n    OUT o_position bigint, OUT o_code text, OUT o_message text)",
            r#"CREATE OR REPLACE FUNCTION "app".chronicle_append_together("#,
            "p_consumers text[], p_positions bigint[], e_aggregate text[], e_chain bytea[])\nRETURNS bigint[]",
            r#"PERFORM pg_catalog.pg_notify('chronicle_events_app', v_positions[array_length(v_positions, 1)]::text);"#,
            r#"CREATE OR REPLACE FUNCTION "app".chronicle_listen() RETURNS void"#,
            "    LISTEN \"chronicle_events_app\";",
            r#"CREATE OR REPLACE FUNCTION "app".chronicle_mark_horizon() RETURNS bigint"#,
            "PERFORM pg_catalog.set_config('chronicle.horizon', v_horizon::text, false);",
            r#"CREATE OR REPLACE FUNCTION "app".chronicle_read_log("#,
            "p_after bigint, p_limit bigint, p_types text[], p_aggregates text[])",
            r#"CREATE OR REPLACE FUNCTION "app".chronicle_last_position() RETURNS bigint"#,
            "PERFORM pg_catalog.pg_notify('chronicle_events_app', v_position::text);",
            r#"PERFORM pg_catalog.pg_notify('chronicle_events_app', currval('"app".events_position_seq')::text);"#,
        ] {
            assert!(sql.functions.contains(expected), "missing: {expected}");
        }
        assert_eq!(sql.migrations.len() as u32, LATEST_LAYOUT - 1);
        assert!(sql.migrations[0]
            .2
            .contains(r#"ALTER TABLE "app".events ADD COLUMN IF NOT EXISTS aggregate_type text;"#));
        // Processes of different versions must agree on the namespace: pinned.
        assert_eq!(namespace("chronicle"), 61714);
        // The set-up lock, the lock scan and the lock key carry the namespace.
        let namespace = namespace("app");
        let key_base = (u64::from(namespace) << POSITION_BITS) as i64;
        assert_eq!(
            sql.lock_schema,
            format!(
                r#"SELECT pg_catalog.pg_advisory_xact_lock(1667789360, {}); CREATE SCHEMA IF NOT EXISTS "app";"#,
                i32::from(namespace)
            )
        );
        for expected in [
            format!("AND (l.classid::bigint >> 16) = {namespace};"),
            format!("v_key := ({key_base}::bigint) | least("),
            "281474976710655::bigint);".to_owned(),
        ] {
            assert!(sql.functions.contains(&expected), "missing: {expected}");
        }
        // The same scripts for another schema differ only in the values.
        let other = Sql::new("other");
        assert_eq!(
            other.functions.lines().count(),
            sql.functions.lines().count(),
            "the script's shape does not depend on the schema"
        );
    }

    #[test]
    fn lock_keys_carry_namespace_and_floor() {
        for schema in ["chronicle", "a", "chronicle_test_0123456789abcdef"] {
            let namespace = namespace(schema);
            let sql = Sql::new(schema);
            let key_base = (u64::from(namespace) << POSITION_BITS) as i64;
            assert!(sql.functions.contains(&format!("({key_base}::bigint)")));
            // What pg_locks shows for key = base | floor: classid = high 32
            // bits, objid = low 32 bits.
            let floor: i64 = 0x0000_1234_5678_9abc;
            let key = (key_base | floor) as u64;
            let (classid, objid) = (key >> 32, key & 0xffff_ffff);
            assert_eq!(classid >> 16, u64::from(namespace));
            assert_eq!(((classid & 0xffff) << 32) | objid, floor as u64);
        }
    }

    #[test]
    fn listener_registry_keys() {
        let sql = Sql::new("app");
        let namespace = i32::from(namespace("app"));
        // A listener takes every slot's key (shared), an append one (exclusive).
        assert!(sql.functions.contains(&format!(
            "    PERFORM pg_catalog.pg_advisory_lock_shared(1667789361, {namespace} + 65536 * s.slot)\n       FROM pg_catalog.generate_series(0, 16 - 1) AS s(slot);"
        )));
        // Each function notifies only when its slot's key is refused.
        let try_key = format!(
            "pg_catalog.pg_try_advisory_xact_lock(1667789361, {namespace} + 65536 * (pg_catalog.pg_backend_pid() % 16))"
        );
        assert_eq!(sql.functions.matches(&try_key).count(), 3);
        assert_eq!(
            sql.functions.matches("pg_catalog.pg_notify(").count(),
            3,
            "every notification is behind a try of the registry key"
        );
        for guarded in [
            format!("        IF NOT {try_key} THEN\n            PERFORM pg_catalog.pg_notify('chronicle_events_app', v_position::text);"),
            format!("    IF NOT {try_key} THEN\n        PERFORM pg_catalog.pg_notify('chronicle_events_app', currval("),
            format!("    IF v_positions IS NOT NULL AND NOT {try_key} THEN\n        PERFORM pg_catalog.pg_notify("),
        ] {
            assert!(sql.functions.contains(&guarded), "missing: {guarded}");
        }
        // The plain statement's `$13`: the slots in turn, wrapping around,
        // each the second int4 of a key `chronicle_listen` takes.
        assert_eq!(sql.listen_key(0), namespace);
        assert_eq!(sql.listen_key(15), namespace + 65536 * 15);
        assert_eq!(sql.listen_key(16), namespace);
        assert_eq!(sql.listen_key(u32::MAX), namespace + 65536 * 15);
        // Not the set-up lock's first int4; processes of different versions
        // must agree on the keys: pinned.
        assert_ne!(LISTEN_CLASS, SETUP_CLASS);
        assert_eq!((LISTEN_CLASS, LISTEN_SLOTS), (1667789361, 16));
    }

    #[test]
    fn placeholders_are_replaced_by_name() {
        assert_eq!(
            render(
                "{a} and {b}, {a}; {c}",
                &[("a", "1".into()), ("b", "2".into())]
            ),
            "1 and 2, 1; {c}"
        );
    }
}
