//! The SQLite event store (feature `sqlite`), documented on
//! [`SqliteStore`]. This module holds the store, its options and its
//! capabilities; the work is split by concern:
//!
//! - `statements`: every statement, with the table prefix filled in
//!   (`schema.sql`: the tables);
//! - `threads`: the connections, the writer thread (group commit) and the
//!   readers (`readers`: the reader threads, the last one idle first);
//! - `append`: one append inside the writer's transaction;
//! - `rows`: decoding rows, checking every column;
//! - `read_ahead`: the next page of the log, read while a caller that
//!   pages through it works on the last;
//! - `read_models`: projections' SQL with their tracking records.

mod append;
mod layout;
mod read_ahead;
mod read_models;
mod readers;
mod rows;
mod statements;
mod threads;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection};
use uuid::Uuid;

use self::append::{blob, payload_value, Payloads};
use self::read_ahead::{next_page, Foreseen, LogReadAhead};
use self::rows::{collect_events, event_ref_from_row, snapshot_from_row, tracked_position};
use self::statements::Sql;
use self::threads::Threads;
use super::capability::{LogStore, ReadModelStore, SnapshotStore, StreamStore, TrackingStore};
use super::encoding::{backend, check_append, check_snapshot_fits, last_position_from_db, to_db};
use super::error::StoreError;
use super::record::{EventRef, StoredEvent};
use super::request::{AppendOutcome, AppendRequest, LogQuery, Snapshot, StreamQuery, Tracking};

/// The SQLite driver this store uses, for reading or repairing a database by
/// hand with the same version.
pub use rusqlite;

const BACKEND: &str = "sqlite";

/// How hard SQLite works to make a commit durable (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Sync the WAL at every commit: an append that returned survives a power
    /// cut. The default.
    #[default]
    Full,
    /// Sync only at checkpoints: faster for one-at-a-time appends; survives a
    /// crash of the process, but the last appends may be lost on a power cut
    /// or OS crash (the database itself stays consistent).
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

#[derive(Debug, Clone)]
enum Location {
    File(PathBuf),
    Memory,
}

/// Options for opening a [`SqliteStore`].
#[derive(Debug, Clone)]
pub struct SqliteStoreBuilder {
    location: Location,
    synchronous: Synchronous,
    table_prefix: String,
    read_connections: usize,
    busy_timeout: Duration,
    migrate: bool,
}

impl SqliteStoreBuilder {
    /// How hard commits are made durable (default [`Synchronous::Full`]).
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// A prefix for the table names (`app_` gives `app_events`, ...): letters,
    /// digits and `_`, not starting with a digit, at most 32 characters.
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.table_prefix = prefix.into();
        self
    }

    /// How many read-only connections (and threads) serve reads (default 4;
    /// 0 sends reads to the writer thread). An in-memory database always
    /// reads through the writer.
    pub fn read_connections(mut self, count: usize) -> Self {
        self.read_connections = count;
        self
    }

    /// How long to wait for a lock held by another process (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Whether opening a database written with an older layout upgrades it
    /// in place (the default), or refuses with [`StoreError::Layout`],
    /// changing nothing: for deployments that migrate in a step of their
    /// own.
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Opens (creating if needed) the database and its tables.
    pub async fn open(self) -> Result<SqliteStore, StoreError> {
        validate_prefix(&self.table_prefix)?;
        let sql = Arc::new(Sql::new(&self.table_prefix));
        let threads = Threads::start(&self, sql).await?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                threads,
                read_ahead: LogReadAhead::default(),
            }),
        })
    }
}

/// Refuses a table prefix that would need quoting (it is put into SQL as is).
fn validate_prefix(prefix: &str) -> Result<(), StoreError> {
    let mut chars = prefix.chars();
    let valid = prefix.len() <= 32
        && chars
            .next()
            .is_none_or(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "invalid SQLite table prefix {prefix:?}: use letters, digits and `_`, not starting with a digit, at most 32 characters"
        )))
    }
}

/// An event store in one SQLite file (feature `sqlite`, SQLite bundled):
/// events, snapshots, tracking records and read models. Cloning is cheap
/// and shares the connections.
///
/// # Threads
/// SQLite calls block, so none runs on the caller's executor: one writer
/// thread owns the only read-write connection and receives appends and
/// snapshot writes over a channel; a few reader threads (4 by default) each own
/// a read-only connection, and a read goes to the reader that went idle last
/// (its connection's caches are warm). Answers come
/// back on `tokio::sync::oneshot` channels, which work on any executor, so the
/// store needs no tokio runtime. Dropping the last clone of the store ends the
/// threads and closes the connections. A `SqliteKeyStore` (feature
/// `encryption`) made from the store runs on the same threads: one writer per
/// database.
///
/// # Appends and ordering
/// The database runs in WAL mode: readers never block the writer and see the
/// last committed state. Every append runs in one `BEGIN IMMEDIATE`
/// transaction with cached prepared statements. Appends that queue up while the
/// writer is busy are committed together ("group commit"): one transaction,
/// one `SAVEPOINT` per append (an append that fails is rolled back to its
/// savepoint alone and gets its own error), one commit and so one sync of the
/// WAL for the whole group. Every caller is answered only after that commit.
///
/// Log positions are the `AUTOINCREMENT` row ids of the events table. SQLite
/// has a single writer, so positions are allocated and committed in one order:
/// every position a reader can see was committed before any higher one could
/// be allocated, so a reader that follows the log never skips an event that
/// commits later. (Positions are never reused, even for a rolled-back append.)
///
/// # Reading the log
/// A caller that pages through the log ([`LogStore::read_log`] with the
/// position after a full page it read, the same limit and filters, as a
/// projection catching up does) gets the page after that one read ahead on
/// a reader while it works on the last. A page read ahead is handed over
/// only if it is full: stored events never change and positions are given
/// in commit order, so it holds exactly what a new read would return (an
/// event committed since comes after it). A page that is not full is read
/// again. Pages of more than 10,000 events are not read ahead, and at most
/// four callers paging at once are followed. (An `UPDATE` made by hand to
/// stored events, such as typing old events, may be missed by a page
/// already read ahead.)
///
/// # Durability
/// [`Synchronous::Full`] (the default) syncs the WAL at every commit: an
/// append that returned survives a power cut. [`Synchronous::Normal`] syncs
/// only at checkpoints: the database never corrupts, and survives a crash of
/// the process, but the last appends before a power cut or OS crash may be
/// lost. Group commit makes `Full` cheap under concurrent writers; a single
/// task appending one event at a time pays one sync per append.
///
/// Measured on a 2-core VM (release build, one JSON event per append unless
/// said): one task appending 4.1k events/s with `Full`, 14k with `Normal`;
/// 8 tasks appending at once 22k/s with `Full` (group commit), 44k with
/// `Normal`; 100 events per append about 300k/s; reading the log or a stream
/// about 1.7-2M events/s.
///
/// # Layout (version 3, with an optional table prefix)
/// ```sql
/// CREATE TABLE events (
///     position       INTEGER PRIMARY KEY AUTOINCREMENT,
///     stream_id      BLOB NOT NULL,    -- 16 bytes
///     version        INTEGER NOT NULL, -- 1, 2, ... within the stream
///     event_id       BLOB NOT NULL,    -- 16 bytes
///     event_type     TEXT NOT NULL,
///     schema_version INTEGER NOT NULL,
///     recorded_at    INTEGER NOT NULL, -- microseconds since the Unix epoch
///     metadata       TEXT,             -- JSON, NULL when empty
///     payload        NOT NULL,         -- TEXT when it is JSON, else BLOB
///     aggregate_type TEXT,             -- NULL for events of layout 1 not typed since
///     chain_hash     BLOB,             -- 32 bytes with hash chains (crate::chain), else NULL
///     UNIQUE (stream_id, version));
/// CREATE TABLE snapshots (stream_id, version, snapshot_type, schema_version,
///     recorded_at, payload, PRIMARY KEY (stream_id, version)) WITHOUT ROWID;
/// CREATE TABLE tracking (consumer TEXT PRIMARY KEY, position INTEGER NOT NULL);
/// CREATE TABLE layout (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL,
///     description TEXT NOT NULL);   -- one row per layout version reached
/// ```
/// Opening a database of an older layout migrates it in the writer's first
/// transaction (see [`SqliteStoreBuilder::migrate`]).
/// A payload that is valid JSON is stored as TEXT, so `json_extract(payload,
/// '$.name')` works in the `sqlite3` shell; any other payload is a BLOB. Both
/// read back byte for byte.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    threads: Threads,
    /// Log pages expected next, some read ahead.
    read_ahead: LogReadAhead,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Options for a database file at `path` (created if missing).
    pub fn builder(path: impl AsRef<Path>) -> SqliteStoreBuilder {
        SqliteStoreBuilder {
            location: Location::File(path.as_ref().to_path_buf()),
            synchronous: Synchronous::default(),
            table_prefix: String::new(),
            read_connections: 4,
            busy_timeout: Duration::from_secs(5),
            migrate: true,
        }
    }

    /// Options for a private in-memory database, gone when the store is dropped.
    pub fn in_memory_builder() -> SqliteStoreBuilder {
        SqliteStoreBuilder {
            location: Location::Memory,
            ..Self::builder("")
        }
    }

    /// Opens (creating if needed) the database file at `path` with default options.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::builder(path).open().await
    }

    /// Opens a private in-memory database, for tests.
    pub async fn in_memory() -> Result<Self, StoreError> {
        Self::in_memory_builder().open().await
    }

    /// Runs `work` on a reader connection (the writer when there are none).
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection, &Sql) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.inner.threads.on_reader(work).await?
    }

    /// Reads one page of the log on a reader.
    async fn read_log_page(&self, query: LogQuery) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(move |connection, sql| read_log_page(connection, sql, &query))
            .await
    }

    /// Returns `page`, read for `query`, after noting that the page after
    /// it is expected next (when `page` is full), and starting to read
    /// that page for a caller who `continues` (see `read_ahead`).
    fn expect_next(
        &self,
        query: LogQuery,
        page: Vec<StoredEvent>,
        continues: bool,
    ) -> Vec<StoredEvent> {
        if let Some(next) = next_page(&query, &page) {
            let ahead = if continues {
                let query = next.clone();
                self.inner
                    .threads
                    .start_on_reader(move |connection, sql| read_log_page(connection, sql, &query))
            } else {
                None
            };
            self.inner.read_ahead.expect(next, ahead);
        }
        page
    }

    /// Runs `work` on the writer connection.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection, &Sql) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.inner.threads.on_writer(work).await?
    }

    /// Runs `work` on the writer connection, dropping the second thing it
    /// returns after answering (see `Threads::on_writer_then_drop`).
    async fn write_then_drop<T: Send + 'static, L>(
        &self,
        work: impl FnOnce(&Connection, &Sql) -> (Result<T, StoreError>, L) + Send + 'static,
    ) -> Result<T, StoreError> {
        self.inner.threads.on_writer_then_drop(work).await?
    }

    /// Runs `work` on the writer connection, for another table of the same
    /// database (the key store's). The error is the store's when its threads
    /// have stopped; `work`'s own result comes back as it is.
    #[cfg_attr(not(feature = "encryption"), allow(dead_code))]
    pub(crate) async fn on_writer<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        self.inner
            .threads
            .on_writer(move |connection, _| work(connection))
            .await
    }

    /// Runs `work` on a reader connection (the writer when there are none),
    /// as [`on_writer`](Self::on_writer) does.
    #[cfg_attr(not(feature = "encryption"), allow(dead_code))]
    pub(crate) async fn on_reader<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        self.inner
            .threads
            .on_reader(move |connection, _| work(connection))
            .await
    }

    /// Validates an append and hands it to the writer thread, which may
    /// commit it together with others (group commit).
    async fn append_on_writer(
        &self,
        request: AppendRequest,
        tracking: Option<Tracking>,
        payloads: Payloads,
    ) -> Result<AppendOutcome, StoreError> {
        check_append(&request, tracking.as_ref())?;
        self.inner.threads.append(request, tracking, payloads).await
    }
}

/// The error of a call whose connection thread has gone.
fn stopped() -> StoreError {
    backend(BACKEND, "the SQLite store's worker thread has stopped")
}

/// `rusqlite` results into store results.
trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|error| backend(BACKEND, error))
    }
}

impl StreamStore for SqliteStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        self.append_on_writer(request, None, Payloads::Unchecked)
            .await
    }

    async fn append_json(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        self.append_on_writer(request, None, Payloads::Json).await
    }

    async fn read_stream(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if query.limit == Some(0) {
            return Ok(Vec::new());
        }
        self.read(move |connection, sql| {
            let text = if query.descending {
                &sql.read_stream_descending
            } else {
                &sql.read_stream_ascending
            };
            let mut statement = connection.prepare_cached(text).db()?;
            let rows = statement
                .query(params![
                    blob(&stream_id),
                    to_db(query.from_version),
                    to_db(query.to_version.unwrap_or(u64::MAX)),
                    query.limit.map_or(-1, to_db),
                ])
                .db()?;
            collect_events(rows, query.limit.unwrap_or(usize::MAX), Some(stream_id))
        })
        .await
    }

    /// Folds rows on a reader thread as SQLite steps through them: no
    /// record is copied or collected, and the state travels to the thread
    /// and back.
    async fn fold_stream<T, E, F>(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
        mut state: T,
        mut fold: F,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&mut T, EventRef<'_>) -> Result<(), E> + Send + 'static,
    {
        if query.limit == Some(0) {
            return Ok(state);
        }
        let folded = self
            .read(move |connection, sql| {
                // Versions start at 1: from 0 is the whole stream too.
                let whole = query == StreamQuery::all().from_version(query.from_version.min(1));
                let mut statement = connection
                    .prepare_cached(match (whole, query.descending) {
                        (true, _) => &sql.fold_whole_stream,
                        (false, true) => &sql.fold_stream_descending,
                        (false, false) => &sql.fold_stream_ascending,
                    })
                    .db()?;
                let mut rows = if whole {
                    statement.query(params![blob(&stream_id)])
                } else {
                    statement.query(params![
                        blob(&stream_id),
                        to_db(query.from_version),
                        to_db(query.to_version.unwrap_or(u64::MAX)),
                        query.limit.map_or(-1, to_db),
                    ])
                }
                .db()?;
                while let Some(row) = rows.next().db()? {
                    let event = event_ref_from_row(row, stream_id)?;
                    if let Err(error) = fold(&mut state, event) {
                        return Ok(Err(error));
                    }
                }
                Ok(Ok(state))
            })
            .await;
        folded.map_err(E::from)?
    }
}

/// The most event and aggregate type names one log query filters by (each
/// is a parameter; SQLite takes at most 32,766).
const MAX_FILTER_NAMES: usize = 30_000;

/// One page of the log, as `query` asks.
fn read_log_page(
    connection: &Connection,
    sql: &Sql,
    query: &LogQuery,
) -> Result<Vec<StoredEvent>, StoreError> {
    let after = to_db(query.after);
    let limit = to_db(query.limit);
    let (types, aggregates) = (&query.event_types, &query.aggregate_types);
    if types.is_none() && aggregates.is_none() {
        let mut statement = connection.prepare_cached(&sql.read_log).db()?;
        let rows = statement.query(params![after, limit]).db()?;
        return collect_events(rows, query.limit, None);
    }
    let text = sql.read_log_filtered(
        types.as_ref().map(Vec::len),
        aggregates.as_ref().map(Vec::len),
    );
    let mut statement = connection.prepare_cached(&text).db()?;
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&after, &limit];
    values.extend(
        types
            .iter()
            .chain(aggregates)
            .flatten()
            .map(|name| name as &dyn rusqlite::ToSql),
    );
    let rows = statement.query(values.as_slice()).db()?;
    collect_events(rows, query.limit, None)
}

impl LogStore for SqliteStore {
    async fn read_log(&self, query: LogQuery) -> Result<Vec<StoredEvent>, StoreError> {
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let names = query
            .event_types
            .iter()
            .chain(&query.aggregate_types)
            .flatten()
            .count();
        if names > MAX_FILTER_NAMES {
            return Err(StoreError::InvalidRequest(format!(
                "a log query filters by {names} names; at most {MAX_FILTER_NAMES} are supported"
            )));
        }
        let continues = match self.inner.read_ahead.take(&query) {
            Foreseen::No => false,
            Foreseen::Continues => true,
            Foreseen::ReadAhead(page) => match page.await {
                Ok(Ok(page)) if page.len() == query.limit => {
                    return Ok(self.expect_next(query, page, true));
                }
                // Not full (see `read_ahead`), or failed: read it now.
                _ => true,
            },
        };
        let page = self.read_log_page(query.clone()).await?;
        Ok(self.expect_next(query, page, continues))
    }

    async fn last_position(&self) -> Result<u64, StoreError> {
        self.read(|connection, sql| {
            let position: i64 = connection
                .prepare_cached(&sql.last_position)
                .db()?
                .query_row([], |row| row.get(0))
                .db()?;
            last_position_from_db(BACKEND, position)
        })
        .await
    }

    /// Waits for the writer thread to announce a commit past `position`, or
    /// `timeout` (appends by other processes are found by the re-read after
    /// the timeout: polling).
    async fn wait_for_events(&self, position: u64, timeout: Duration) {
        let mut appended = self.inner.threads.appended();
        // The sender lives as long as the store, so `wait_for` only ends when
        // the condition holds; the timeout bounds the wait either way.
        let _ = tokio::time::timeout(timeout, appended.wait_for(|&last| last > position)).await;
    }
}

impl TrackingStore for SqliteStore {
    async fn tracked_position(&self, consumer: &str) -> Result<u64, StoreError> {
        let consumer = consumer.to_owned();
        self.read(move |connection, sql| tracked_position(connection, sql, &consumer))
            .await
    }

    async fn append_tracked(
        &self,
        request: AppendRequest,
        tracking: Tracking,
    ) -> Result<AppendOutcome, StoreError> {
        self.append_on_writer(request, Some(tracking), Payloads::Unchecked)
            .await
    }

    async fn reset_tracking(&self, consumer: &str) -> Result<(), StoreError> {
        self.reset_model(Vec::new(), consumer).await
    }

    async fn consumers(&self) -> Result<Vec<Tracking>, StoreError> {
        self.read(rows::consumers).await
    }
}

impl SnapshotStore for SqliteStore {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        check_snapshot_fits(&snapshot)?;
        self.write(move |connection, sql| {
            connection
                .prepare_cached(&sql.save_snapshot)
                .db()?
                .execute(params![
                    blob(&snapshot.stream_id),
                    to_db(snapshot.version),
                    snapshot.snapshot_type,
                    i64::from(snapshot.schema_version),
                    snapshot.timestamp.unix_micros(),
                    payload_value(&snapshot.payload),
                ])
                .db()?;
            Ok(())
        })
        .await
    }

    async fn latest_snapshot(
        &self,
        stream_id: Uuid,
        max_version: Option<u64>,
    ) -> Result<Option<Snapshot>, StoreError> {
        self.read(move |connection, sql| {
            let mut statement = connection.prepare_cached(&sql.latest_snapshot).db()?;
            let mut rows = statement
                .query(params![
                    blob(&stream_id),
                    to_db(max_version.unwrap_or(u64::MAX))
                ])
                .db()?;
            match rows.next().db()? {
                Some(row) => snapshot_from_row(row, stream_id).map(Some),
                None => Ok(None),
            }
        })
        .await
    }
}

/// A store on a fresh database file named after `name`, with `readers`
/// reader threads, and the directory to remove after the test.
#[cfg(test)]
async fn test_file_store(name: &str, readers: usize) -> (SqliteStore, PathBuf) {
    let dir = std::env::temp_dir().join(format!("chronicle-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::builder(dir.join("store.db"))
        .read_connections(readers)
        .open()
        .await
        .unwrap();
    (store, dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_prefixes_need_no_quoting() {
        for good in ["", "app_", "_x", "A1", &"p".repeat(32)] {
            assert!(validate_prefix(good).is_ok(), "{good}");
        }
        for bad in ["1app", "a-b", "a b", "x\"", "x;DROP", "é", &"p".repeat(33)] {
            assert!(
                matches!(validate_prefix(bad), Err(StoreError::Config(_))),
                "{bad}"
            );
        }
    }
}
