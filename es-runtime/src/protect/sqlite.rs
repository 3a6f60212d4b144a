//! Data keys in SQLite (features `encryption` and `sqlite`).

use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::keys::{KeyRecord, KeyStore};
use super::payload::ProtectionError;
use crate::BoxFuture;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// Per-stream data keys in the table `data_keys` of a SQLite file, usually
/// the event store's (see [`SqliteStore`](crate::store::SqliteStore)):
///
/// ```sql
/// CREATE TABLE data_keys (
///     stream_id    BLOB PRIMARY KEY,  -- 16 bytes
///     wrapped_key  BLOB,              -- NULL once forgotten
///     created_at   INTEGER NOT NULL,  -- microseconds since the Unix epoch
///     forgotten_at INTEGER            -- set by forget
/// ) WITHOUT ROWID;
/// ```
///
/// The key store has its own connection, owned by a thread of its own (SQLite
/// calls block), so it needs no tokio runtime. It turns on `secure_delete`,
/// so that SQLite overwrites a forgotten key in the database file, and
/// checkpoints the write-ahead log after a forget so that the old page
/// leaves it too (best effort: a checkpoint waits for no reader). Copies of
/// the file, and the file system's own, are out of its reach.
///
/// Cheap to clone; the thread ends when the last clone is dropped.
#[derive(Clone)]
pub struct SqliteKeyStore {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for SqliteKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteKeyStore").finish_non_exhaustive()
    }
}

fn store_error(error: impl std::error::Error + Send + Sync + 'static) -> ProtectionError {
    ProtectionError::KeyStore(Box::new(error))
}

fn stopped() -> ProtectionError {
    ProtectionError::KeyStore("the SQLite key store's thread has stopped".into())
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl SqliteKeyStore {
    /// Opens (creating if needed) the database file at `path` and its
    /// `data_keys` table.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, ProtectionError> {
        let path = path.as_ref().to_owned();
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, opened) = oneshot::channel();
        thread::Builder::new()
            .name("chronicle-sqlite-keys".into())
            .spawn(move || match open_connection(&path) {
                Ok(mut connection) => {
                    let _ = ready.send(Ok(()));
                    while let Ok(job) = queue.recv() {
                        job(&mut connection);
                    }
                }
                Err(error) => {
                    let _ = ready.send(Err(error));
                }
            })
            .map_err(store_error)?;
        opened.await.map_err(|_| stopped())??;
        Ok(Self { jobs })
    }

    /// Runs `work` on the key store's thread.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> Result<T, ProtectionError> {
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send(Box::new(move |connection| {
                let _ = answer.send(work(connection));
            }))
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?.map_err(store_error)
    }
}

fn open_connection(path: &Path) -> Result<Connection, ProtectionError> {
    let connection = Connection::open(path).map_err(store_error)?;
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(store_error)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA secure_delete = ON;
             CREATE TABLE IF NOT EXISTS data_keys (
                 stream_id    BLOB PRIMARY KEY,
                 wrapped_key  BLOB,
                 created_at   INTEGER NOT NULL,
                 forgotten_at INTEGER
             ) WITHOUT ROWID;",
        )
        .map_err(store_error)?;
    Ok(connection)
}

fn load(connection: &Connection, stream_id: Uuid) -> Result<Option<KeyRecord>, rusqlite::Error> {
    connection
        .prepare_cached("SELECT wrapped_key FROM data_keys WHERE stream_id = ?1")?
        .query_row(params![stream_id.as_bytes().as_slice()], |row| {
            row.get::<_, Option<Vec<u8>>>(0)
        })
        .optional()
        .map(|found| found.map(|wrapped| wrapped.map_or(KeyRecord::Forgotten, KeyRecord::Active)))
}

impl KeyStore for SqliteKeyStore {
    fn load(&self, stream_id: Uuid) -> BoxFuture<'_, Result<Option<KeyRecord>, ProtectionError>> {
        Box::pin(self.run(move |connection| load(connection, stream_id)))
    }

    fn create(
        &self,
        stream_id: Uuid,
        wrapped_key: Vec<u8>,
    ) -> BoxFuture<'_, Result<KeyRecord, ProtectionError>> {
        Box::pin(async move {
            let record = self
                .run(move |connection| {
                    connection
                        .prepare_cached(
                            "INSERT INTO data_keys (stream_id, wrapped_key, created_at)
                             VALUES (?1, ?2, ?3) ON CONFLICT (stream_id) DO NOTHING",
                        )?
                        .execute(params![
                            stream_id.as_bytes().as_slice(),
                            wrapped_key,
                            now_micros()
                        ])?;
                    load(connection, stream_id)
                })
                .await?;
            record.ok_or_else(|| {
                ProtectionError::KeyStore(
                    format!("the data key of stream {stream_id} vanished as it was created").into(),
                )
            })
        })
    }

    fn forget(&self, stream_id: Uuid) -> BoxFuture<'_, Result<(), ProtectionError>> {
        Box::pin(self.run(move |connection| {
            let now = now_micros();
            connection
                .prepare_cached(
                    "INSERT INTO data_keys (stream_id, wrapped_key, created_at, forgotten_at)
                     VALUES (?1, NULL, ?2, ?2)
                     ON CONFLICT (stream_id) DO UPDATE SET wrapped_key = NULL,
                         forgotten_at = coalesce(forgotten_at, excluded.forgotten_at)",
                )?
                .execute(params![stream_id.as_bytes().as_slice(), now])?;
            // Best effort: move the page out of the WAL (busy readers may
            // keep it there until a later checkpoint).
            let _ = connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            Ok(())
        }))
    }
}
