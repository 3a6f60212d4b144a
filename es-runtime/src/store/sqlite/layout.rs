//! Layout versions of the SQLite store, and the forward migrations between
//! them.
//!
//! The `layout` table holds one row per version a database has reached
//! (created at, or migrated to). A database from before the table existed
//! is version 1 when it has an `events` table. Opening a store brings the
//! database to [`LATEST`] inside the writer's first `BEGIN IMMEDIATE`
//! transaction: another process opening the same file at the same time
//! waits for the lock, then finds the new version and migrates nothing.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use super::Db;
use crate::store::error::StoreError;
use crate::store::layout::{plan, LayoutPlan};

/// The layout this code reads and writes.
pub(super) const LATEST: u32 = 2;

/// The tables of a new database, at [`LATEST`] (`{prefix}`: the prefix).
const SCHEMA: &str = include_str!("schema.sql");

/// One step forward, from the version before `to`.
struct Migration {
    to: u32,
    description: &'static str,
    sql: &'static str,
}

/// Every migration, in order.
const MIGRATIONS: &[Migration] = &[Migration {
    to: 2,
    description: "events record their aggregate type",
    sql: include_str!("migrate_1_to_2.sql"),
}];

/// `template` with the table prefix filled in.
pub(super) fn render(template: &str, prefix: &str) -> String {
    template.replace("{prefix}", prefix)
}

/// The tables of a new database, for `prefix`.
pub(super) fn schema(prefix: &str) -> String {
    render(SCHEMA, prefix)
}

/// The layout version of the database: `None` when it holds no store yet.
pub(super) fn found_version(
    connection: &Connection,
    prefix: &str,
) -> Result<Option<u32>, StoreError> {
    let has_table = |table: String| -> Result<bool, StoreError> {
        connection
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .db()
    };
    if has_table(format!("{prefix}layout"))? {
        let version: Option<i64> = connection
            .query_row(
                &format!("SELECT max(version) FROM {prefix}layout"),
                [],
                |row| row.get(0),
            )
            .db()?;
        // A layout table without a row was being created by a migration
        // that did not commit: what it migrated from is version 1.
        return Ok(Some(
            version.map_or(1, |v| u32::try_from(v).unwrap_or(u32::MAX)),
        ));
    }
    if has_table(format!("{prefix}events"))? {
        return Ok(Some(1));
    }
    Ok(None)
}

/// Brings the database to [`LATEST`], in the caller's transaction: creates
/// the tables of a new database, migrates an older one (unless `migrate` is
/// false: then a [`StoreError::Layout`] says how to), and refuses a newer
/// one. `location` names the database in errors.
pub(super) fn prepare(
    connection: &Connection,
    prefix: &str,
    migrate: bool,
    location: &str,
) -> Result<(), StoreError> {
    let found = found_version(connection, prefix)?;
    match plan(found, LATEST, migrate, location)? {
        LayoutPlan::Create => {
            connection.execute_batch(&schema(prefix)).db()?;
            record(connection, prefix, LATEST, "created")
        }
        LayoutPlan::Current => Ok(()),
        LayoutPlan::Migrate { from } => {
            tracing::info!(
                store = "SqliteStore",
                location,
                from,
                to = LATEST,
                "migrating the stored layout"
            );
            for migration in MIGRATIONS.iter().filter(|m| m.to > from) {
                connection
                    .execute_batch(&render(migration.sql, prefix))
                    .db()?;
                record(connection, prefix, migration.to, migration.description)?;
            }
            Ok(())
        }
    }
}

/// Records that the database reached `version`.
fn record(
    connection: &Connection,
    prefix: &str,
    version: u32,
    description: &str,
) -> Result<(), StoreError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
        });
    connection
        .execute(
            &format!(
                "INSERT INTO {prefix}layout (version, applied_at, description) VALUES (?1, ?2, ?3)"
            ),
            params![i64::from(version), now, description],
        )
        .db()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The version-1 tables, as the first layout created them.
    const LAYOUT_1: &str = "
        CREATE TABLE {prefix}events (
            position INTEGER PRIMARY KEY AUTOINCREMENT, stream_id BLOB NOT NULL,
            version INTEGER NOT NULL, event_id BLOB NOT NULL, event_type TEXT NOT NULL,
            schema_version INTEGER NOT NULL, recorded_at INTEGER NOT NULL, metadata TEXT,
            payload NOT NULL, UNIQUE (stream_id, version));
        CREATE TABLE {prefix}snapshots (
            stream_id BLOB NOT NULL, version INTEGER NOT NULL, snapshot_type TEXT NOT NULL,
            schema_version INTEGER NOT NULL, recorded_at INTEGER NOT NULL, payload NOT NULL,
            PRIMARY KEY (stream_id, version)) WITHOUT ROWID;
        CREATE TABLE {prefix}tracking (consumer TEXT PRIMARY KEY NOT NULL, position INTEGER NOT NULL);";

    fn columns(connection: &Connection, table: &str) -> Vec<(String, String)> {
        let mut statement = connection
            .prepare(&format!(
                "SELECT name, type FROM pragma_table_info('{table}')"
            ))
            .unwrap();
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    fn versions(connection: &Connection, prefix: &str) -> Vec<i64> {
        let mut statement = connection
            .prepare(&format!(
                "SELECT version FROM {prefix}layout ORDER BY version"
            ))
            .unwrap();
        let rows = statement.query_map([], |row| row.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[test]
    fn a_new_database_is_created_at_the_latest_layout() {
        let connection = Connection::open_in_memory().unwrap();
        assert_eq!(found_version(&connection, "app_").unwrap(), None);
        prepare(&connection, "app_", false, "test").unwrap();
        assert_eq!(found_version(&connection, "app_").unwrap(), Some(LATEST));
        assert_eq!(versions(&connection, "app_"), [i64::from(LATEST)]);
        // Opening again changes nothing.
        prepare(&connection, "app_", false, "test").unwrap();
        assert_eq!(versions(&connection, "app_"), [i64::from(LATEST)]);
    }

    #[test]
    fn a_migrated_database_has_the_layout_of_a_new_one() {
        let fresh = Connection::open_in_memory().unwrap();
        prepare(&fresh, "", true, "fresh").unwrap();
        let old = Connection::open_in_memory().unwrap();
        old.execute_batch(&render(LAYOUT_1, "")).unwrap();
        assert_eq!(found_version(&old, "").unwrap(), Some(1));
        prepare(&old, "", true, "old").unwrap();
        for table in ["events", "snapshots", "tracking", "layout"] {
            assert_eq!(columns(&old, table), columns(&fresh, table), "{table}");
        }
        assert_eq!(versions(&old, ""), [2]);
    }

    #[test]
    fn migration_types_streams_that_have_snapshots() {
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(&render(LAYOUT_1, "")).unwrap();
        connection
            .execute_batch(
                "INSERT INTO events (stream_id, version, event_id, event_type, schema_version, recorded_at, payload)
                 VALUES (x'01', 1, x'a1', 'Registered', 1, 0, '{}'), (x'02', 1, x'a2', 'Registered', 1, 0, '{}');
                 INSERT INTO snapshots VALUES (x'01', 1, 'Dog', 1, 0, '{}');",
            )
            .unwrap();
        prepare(&connection, "", true, "test").unwrap();
        let mut statement = connection
            .prepare("SELECT aggregate_type FROM events ORDER BY position")
            .unwrap();
        let types: Vec<Option<String>> = statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(types, [Some("Dog".to_owned()), None]);
    }

    #[test]
    fn an_old_layout_is_refused_when_migrations_are_and_a_newer_one_always() {
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(&render(LAYOUT_1, "")).unwrap();
        match prepare(&connection, "", false, "dogs.db") {
            Err(StoreError::Layout {
                location,
                found: 1,
                expected: LATEST,
                remedy,
            }) => {
                assert_eq!(location, "dogs.db");
                assert!(remedy.contains("migrations allowed"), "{remedy}");
            }
            other => panic!("expected a layout error, got {other:?}"),
        }
        assert_eq!(
            found_version(&connection, "").unwrap(),
            Some(1),
            "unchanged"
        );
        prepare(&connection, "", true, "dogs.db").unwrap();
        connection
            .execute("INSERT INTO layout VALUES (9, 0, 'from the future')", [])
            .unwrap();
        assert!(matches!(
            prepare(&connection, "", true, "dogs.db"),
            Err(StoreError::Layout { found: 9, .. })
        ));
    }
}
