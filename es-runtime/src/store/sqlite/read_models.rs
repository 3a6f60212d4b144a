//! Read models on SQLite: a projection's statements (`$N` parameters run as
//! `?N`) with its tracking record in one `BEGIN IMMEDIATE` transaction on
//! the writer thread, and queries on the readers.

use std::sync::Arc;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{CachedStatement, Connection, Transaction, TransactionBehavior};

use super::append::upsert_tracking;
use super::rows::tracked_position;
use super::statements::Sql;
use super::{Db, SqliteStore};
use crate::store::capability::ReadModelStore;
use crate::store::decision::check_tracking;
use crate::store::encoding::check_tracking_fits;
use crate::store::error::StoreError;
use crate::store::model::{
    check_writes, checked_query, starts_with_keyword, to_sqlite_placeholders, ModelWrite, SqlValue,
};
use crate::store::request::Tracking;

impl ReadModelStore for SqliteStore {
    /// Runs the statements (`$N` parameters as `?N`) and moves the tracking
    /// record in one `BEGIN IMMEDIATE` transaction on the writer thread.
    async fn commit_model(
        &self,
        writes: Vec<ModelWrite>,
        tracking: Tracking,
        after: u64,
    ) -> Result<(), StoreError> {
        check_tracking_fits(&tracking)?;
        check_writes(&writes)?;
        // The writes are freed after the answer, while the caller handles
        // its next page.
        self.write_then_drop(move |connection, sql| {
            (commit(connection, sql, &writes, &tracking, after), writes)
        })
        .await
    }

    /// Runs the statements and deletes the tracking record of `consumer` in
    /// one transaction on the writer thread.
    async fn reset_model(&self, writes: Vec<ModelWrite>, consumer: &str) -> Result<(), StoreError> {
        check_writes(&writes)?;
        let consumer = consumer.to_owned();
        self.write(move |connection, sql| reset(connection, sql, &writes, &consumer))
            .await
    }

    /// Runs one statement and returns its rows: a query on a reader
    /// connection (the writer when there are none), anything else (DDL,
    /// writes) on the writer, in its own transaction.
    async fn query_model(
        &self,
        sql: &str,
        params: Vec<SqlValue>,
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let write = checked_query(sql, params)?;
        let query = starts_with_keyword(sql, &["SELECT", "WITH", "VALUES"]);
        let write = Arc::new(write);
        if query && self.inner.threads.has_readers() {
            let on_reader = Arc::clone(&write);
            let rows = self
                .read(move |connection, _| {
                    run_model_statement(connection, 0, &on_reader, Run::ReadOnly)
                })
                .await?;
            if let Some(rows) = rows {
                return Ok(rows);
            }
            // A statement that writes (`WITH ... INSERT`): on the writer.
        }
        self.write(move |connection, _| {
            run_model_statement(connection, 0, &write, Run::Query).map(Option::unwrap_or_default)
        })
        .await
    }
}

/// Moves `tracking.consumer` from exactly `after` and runs `writes`, in one
/// transaction (rolled back when it is dropped on an error).
fn commit(
    connection: &Connection,
    sql: &Sql,
    writes: &[ModelWrite],
    tracking: &Tracking,
    after: u64,
) -> Result<(), StoreError> {
    let transaction =
        Transaction::new_unchecked(connection, TransactionBehavior::Immediate).db()?;
    let current = tracked_position(&transaction, sql, &tracking.consumer)?;
    check_tracking(tracking, current, Some(after))?;
    run_writes(&transaction, writes)?;
    upsert_tracking(&transaction, sql, tracking)?;
    transaction.commit().db()
}

/// Runs `writes` and forgets `consumer`'s position, in one transaction.
fn reset(
    connection: &Connection,
    sql: &Sql,
    writes: &[ModelWrite],
    consumer: &str,
) -> Result<(), StoreError> {
    let transaction =
        Transaction::new_unchecked(connection, TransactionBehavior::Immediate).db()?;
    run_writes(&transaction, writes)?;
    transaction
        .prepare_cached(&sql.delete_tracking)
        .db()?
        .execute([consumer])
        .db()?;
    transaction.commit().db()
}

/// A read-model parameter as SQLite binds it.
struct Param<'a>(&'a SqlValue);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            SqlValue::Null => ValueRef::Null,
            SqlValue::Integer(value) => ValueRef::Integer(*value),
            SqlValue::Real(value) => ValueRef::Real(*value),
            SqlValue::Text(value) => ValueRef::Text(value.as_bytes()),
            SqlValue::Blob(value) => ValueRef::Blob(value),
        }))
    }
}

/// How [`run_model_statement`] runs a statement (writes inside a commit
/// run with [`run_writes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// A query on a read-only connection: `None` when the statement writes
    /// (it must go to the writer).
    ReadOnly,
    /// Any statement, rows kept.
    Query,
}

/// How many distinct statements [`run_writes`] keeps prepared at once (the
/// writer's statement cache holds 32); statements beyond them are looked up
/// in that cache each time they run.
const HELD: usize = 8;

/// Runs a commit's writes in order, preparing each distinct statement once:
/// a page's writes repeat a few statements, and rewriting one's
/// placeholders and looking it up in the connection's cache again for every
/// event cost half as much as running it.
fn run_writes(connection: &Connection, writes: &[ModelWrite]) -> Result<(), StoreError> {
    let mut held: Vec<(&str, CachedStatement<'_>)> = Vec::new();
    for (index, write) in writes.iter().enumerate() {
        let slot = match held.iter().position(|(sql, _)| *sql == write.sql) {
            Some(slot) => slot,
            None if held.len() < HELD => {
                held.push((&write.sql, prepare_write(connection, index, write)?));
                held.len() - 1
            }
            None => {
                let mut statement = prepare_write(connection, index, write)?;
                execute_write(&mut statement, index, write)?;
                continue;
            }
        };
        execute_write(&mut held[slot].1, index, write)?;
    }
    Ok(())
}

/// A read-model statement's error, naming it.
fn failed(
    index: usize,
    write: &ModelWrite,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    StoreError::ModelStatement {
        index,
        sql: write.sql.clone(),
        source: source.into(),
    }
}

/// Prepares a read-model write (`$N` parameters as `?N`), kept in the
/// connection's cache: a statement that writes nothing (a query) is refused.
fn prepare_write<'c>(
    connection: &'c Connection,
    index: usize,
    write: &ModelWrite,
) -> Result<CachedStatement<'c>, StoreError> {
    let statement = connection
        .prepare_cached(&to_sqlite_placeholders(&write.sql))
        .map_err(|error| failed(index, write, error))?;
    if statement.readonly() {
        return Err(failed(
            index,
            write,
            "the statement writes nothing: only writes belong in read-model writes (read with query_model)",
        ));
    }
    Ok(statement)
}

/// Runs a prepared read-model write with its parameters; rows it returns
/// (`RETURNING`) are not kept.
fn execute_write(
    statement: &mut rusqlite::Statement<'_>,
    index: usize,
    write: &ModelWrite,
) -> Result<(), StoreError> {
    let mut rows = statement
        .query(rusqlite::params_from_iter(write.params.iter().map(Param)))
        .map_err(|error| failed(index, write, error))?;
    while rows
        .next()
        .map_err(|error| failed(index, write, error))?
        .is_some()
    {}
    Ok(())
}

/// Runs one statement of `query_model` and returns its rows; errors name it.
fn run_model_statement(
    connection: &Connection,
    index: usize,
    write: &ModelWrite,
    run: Run,
) -> Result<Option<Vec<Vec<SqlValue>>>, StoreError> {
    let mut statement = connection
        .prepare(&to_sqlite_placeholders(&write.sql))
        .map_err(|error| failed(index, write, error))?;
    if run == Run::ReadOnly && !statement.readonly() {
        return Ok(None);
    }
    let columns = statement.column_count();
    let mut rows = statement
        .query(rusqlite::params_from_iter(write.params.iter().map(Param)))
        .map_err(|error| failed(index, write, error))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|error| failed(index, write, error))? {
        let mut values = Vec::with_capacity(columns);
        for column in 0..columns {
            let value = match row
                .get_ref(column)
                .map_err(|error| failed(index, write, error))?
            {
                ValueRef::Null => SqlValue::Null,
                ValueRef::Integer(value) => SqlValue::Integer(value),
                ValueRef::Real(value) => SqlValue::Real(value),
                ValueRef::Text(text) => {
                    SqlValue::Text(String::from_utf8(text.to_vec()).map_err(|_| {
                        failed(
                            index,
                            write,
                            format!("column {column} holds text that is not UTF-8"),
                        )
                    })?)
                }
                ValueRef::Blob(bytes) => SqlValue::Blob(bytes.to_vec()),
            };
            values.push(value);
        }
        out.push(values);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> (Connection, Sql) {
        let sql = Sql::new("");
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(&super::super::layout::schema(""))
            .unwrap();
        connection
            .execute_batch(
                "CREATE TABLE model (id INTEGER PRIMARY KEY, name TEXT, data BLOB, score REAL)",
            )
            .unwrap();
        (connection, sql)
    }

    fn write(sql: &str, params: Vec<SqlValue>) -> ModelWrite {
        ModelWrite {
            sql: sql.into(),
            params,
        }
    }

    fn statement_error(result: Result<impl std::fmt::Debug, StoreError>) -> (usize, String) {
        match result {
            Err(StoreError::ModelStatement { index, source, .. }) => (index, source.to_string()),
            other => panic!("expected a statement error, got {other:?}"),
        }
    }

    #[test]
    fn values_bind_and_read_back_with_their_types() {
        let (connection, _) = database();
        let insert = write(
            "INSERT INTO model VALUES ($1, $2, $3, $4)",
            vec![
                SqlValue::Integer(1),
                SqlValue::Text("Fido".into()),
                SqlValue::Blob(vec![0, 1]),
                SqlValue::Real(2.5),
            ],
        );
        run_writes(&connection, &[insert]).unwrap();
        let select = write(
            "SELECT id, name, data, score, NULL FROM model WHERE id = $1",
            vec![1.into()],
        );
        assert_eq!(
            run_model_statement(&connection, 0, &select, Run::Query).unwrap(),
            Some(vec![vec![
                SqlValue::Integer(1),
                SqlValue::Text("Fido".into()),
                SqlValue::Blob(vec![0, 1]),
                SqlValue::Real(2.5),
                SqlValue::Null,
            ]])
        );
    }

    #[test]
    fn queries_are_refused_as_writes_and_writes_leave_readers() {
        let (connection, _) = database();
        let delete = write("DELETE FROM model", vec![]);
        let select = write("SELECT 1", vec![]);
        let (index, message) = statement_error(run_writes(
            &connection,
            &[delete.clone(), delete.clone(), delete, select],
        ));
        assert_eq!(index, 3);
        assert!(message.contains("writes nothing"), "{message}");
        let insert = write("INSERT INTO model (id) VALUES (1)", vec![]);
        assert_eq!(
            run_model_statement(&connection, 0, &insert, Run::ReadOnly).unwrap(),
            None
        );
        let bad = write("SELECT CAST(x'ff' AS TEXT)", vec![]);
        let (_, message) = statement_error(run_model_statement(&connection, 0, &bad, Run::Query));
        assert_eq!(message, "column 0 holds text that is not UTF-8");
        let (_, message) = statement_error(run_model_statement(
            &connection,
            0,
            &write("SELECT nope FROM model", vec![]),
            Run::Query,
        ));
        assert!(message.contains("nope"), "{message}");
    }

    /// More distinct statements than are kept prepared, interleaved and
    /// repeated, each with its own parameters; a failure names its index.
    #[test]
    fn writes_run_in_order_beyond_the_statements_kept_prepared() {
        let (connection, _) = database();
        let mut writes = Vec::new();
        for round in 0..3i64 {
            for column in 0..HELD as i64 + 4 {
                let id = round * 100 + column;
                writes.push(write(
                    &format!("INSERT INTO model (id, score) VALUES ($1, {column})"),
                    vec![id.into()],
                ));
                writes.push(write(
                    "UPDATE model SET name = $2 WHERE id = $1",
                    vec![id.into(), format!("n{id}").into()],
                ));
            }
        }
        run_writes(&connection, &writes).unwrap();
        let rows: Vec<(i64, String, f64)> = connection
            .prepare("SELECT id, name, score FROM model ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 3 * (HELD + 4));
        for (id, name, score) in rows {
            assert_eq!((name, score), (format!("n{id}"), (id % 100) as f64));
        }
        let again = write(
            &format!("INSERT INTO model (id, score) VALUES ($1, {})", HELD + 3),
            vec![5i64.into()],
        );
        let (index, message) =
            statement_error(run_writes(&connection, &[writes[1].clone(), again]));
        assert_eq!(index, 1);
        assert!(message.contains("UNIQUE"), "{message}");
    }

    #[test]
    fn a_commit_applies_all_or_nothing_and_continues_from_after() {
        let (connection, sql) = database();
        let insert = |id: i64| write("INSERT INTO model (id) VALUES ($1)", vec![id.into()]);
        let count = || -> i64 {
            connection
                .query_row("SELECT count(*) FROM model", [], |row| row.get(0))
                .unwrap()
        };
        commit(&connection, &sql, &[insert(1)], &Tracking::new("p", 5), 0).unwrap();
        assert_eq!(tracked_position(&connection, &sql, "p").unwrap(), 5);
        // Not from where the consumer stands: nothing applied.
        assert!(matches!(
            commit(&connection, &sql, &[insert(2)], &Tracking::new("p", 9), 4),
            Err(StoreError::TrackingConflict {
                current: 5,
                attempted: 9,
                ..
            })
        ));
        // A failing statement rolls back the statements before it.
        let (index, _) = statement_error(commit(
            &connection,
            &sql,
            &[insert(2), insert(1)],
            &Tracking::new("p", 9),
            5,
        ));
        assert_eq!((index, count()), (1, 1));
        assert_eq!(tracked_position(&connection, &sql, "p").unwrap(), 5);
        assert!(connection.is_autocommit());
        reset(
            &connection,
            &sql,
            &[write("DELETE FROM model", vec![])],
            "p",
        )
        .unwrap();
        assert_eq!(
            (count(), tracked_position(&connection, &sql, "p").unwrap()),
            (0, 0)
        );
    }
}
