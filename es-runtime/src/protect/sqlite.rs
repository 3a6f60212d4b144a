//! Data keys in SQLite (features `encryption` and `sqlite`).

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use super::keys::{KeyRecord, KeyStore};
use super::payload::ProtectionError;
use crate::store::{SqliteStore, StoreError};
use crate::BoxFuture;

/// The table, created when missing. Its name carries no table prefix, even
/// for a store opened with one: databases written before the key store
/// shared the event store's connections hold their keys in `data_keys`, and
/// a prefixed name would lose them.
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS data_keys (
    stream_id    BLOB PRIMARY KEY,
    wrapped_key  BLOB,
    created_at   INTEGER NOT NULL,
    forgotten_at INTEGER
) WITHOUT ROWID";

const LOAD: &str = "SELECT wrapped_key FROM data_keys WHERE stream_id = ?1";

const CREATE: &str = "INSERT INTO data_keys (stream_id, wrapped_key, created_at) \
     VALUES (?1, ?2, ?3) ON CONFLICT (stream_id) DO NOTHING";

const FORGET: &str = "INSERT INTO data_keys (stream_id, wrapped_key, created_at, forgotten_at) \
     VALUES (?1, NULL, ?2, ?2) \
     ON CONFLICT (stream_id) DO UPDATE SET wrapped_key = NULL, \
     forgotten_at = coalesce(forgotten_at, excluded.forgotten_at)";

/// Per-stream data keys in the table `data_keys` of a [`SqliteStore`]'s
/// database:
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
/// The table is named `data_keys` whatever the store's
/// [table prefix](crate::store::SqliteStoreBuilder::table_prefix): existing
/// databases hold their keys there.
///
/// The key store runs on the event store's threads (SQLite calls block, so
/// it needs no tokio runtime): writes on the store's writer, one at a time
/// with its appends, reads on its readers. Key writes are as durable as the
/// store's [`Synchronous`](crate::store::Synchronous) setting makes its
/// appends; they share one write-ahead log, so an event cannot outlive the
/// creation of the key that encrypts it.
///
/// Creating the key store turns on `secure_delete` for the writer connection,
/// so that SQLite overwrites a forgotten key in the database file (and the
/// event store's own deletes, which are rare, with it), and every forget
/// checkpoints the write-ahead log so that the old page leaves it too (best
/// effort: a checkpoint waits for no reader). Copies of the file, and the
/// file system's own, are out of its reach.
///
/// Cheap to clone; clones share the store's threads, which end when the last
/// clone of the store and of its key stores is dropped.
#[derive(Clone)]
pub struct SqliteKeyStore {
    store: SqliteStore,
}

impl std::fmt::Debug for SqliteKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteKeyStore").finish_non_exhaustive()
    }
}

fn key_store_error(error: impl std::error::Error + Send + Sync + 'static) -> ProtectionError {
    ProtectionError::KeyStore(Box::new(error))
}

/// The event store's threads have stopped.
fn stopped(error: StoreError) -> ProtectionError {
    key_store_error(error)
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl SqliteKeyStore {
    /// The data keys of `store`'s database, in its table `data_keys`
    /// (created if missing); turns on `secure_delete` for the store's writer
    /// connection.
    pub async fn new(store: &SqliteStore) -> Result<Self, ProtectionError> {
        let key_store = Self {
            store: store.clone(),
        };
        key_store
            .write(|connection| {
                connection.execute_batch(&format!("PRAGMA secure_delete = ON; {CREATE_TABLE};"))
            })
            .await?;
        Ok(key_store)
    }

    /// Runs `work` on the store's writer connection.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> Result<T, ProtectionError> {
        self.store
            .on_writer(work)
            .await
            .map_err(stopped)?
            .map_err(key_store_error)
    }
}

fn load(connection: &Connection, stream_id: Uuid) -> Result<Option<KeyRecord>, rusqlite::Error> {
    connection
        .prepare_cached(LOAD)?
        .query_row(params![stream_id.as_bytes().as_slice()], |row| {
            row.get::<_, Option<Vec<u8>>>(0)
        })
        .optional()
        .map(|found| found.map(|wrapped| wrapped.map_or(KeyRecord::Forgotten, KeyRecord::Active)))
}

impl KeyStore for SqliteKeyStore {
    fn load(&self, stream_id: Uuid) -> BoxFuture<'_, Result<Option<KeyRecord>, ProtectionError>> {
        Box::pin(async move {
            self.store
                .on_reader(move |connection| load(connection, stream_id))
                .await
                .map_err(stopped)?
                .map_err(key_store_error)
        })
    }

    fn create(
        &self,
        stream_id: Uuid,
        wrapped_key: Vec<u8>,
    ) -> BoxFuture<'_, Result<KeyRecord, ProtectionError>> {
        Box::pin(async move {
            // Insert and load in one job on the writer: a concurrent
            // winner's key comes back, and a reader cannot lag behind.
            let record = self
                .write(move |connection| {
                    connection.prepare_cached(CREATE)?.execute(params![
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
        Box::pin(self.write(move |connection| {
            connection
                .prepare_cached(FORGET)?
                .execute(params![stream_id.as_bytes().as_slice(), now_micros()])?;
            // Best effort: move the page out of the WAL (busy readers may
            // keep it there until a later checkpoint).
            let _ = connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            Ok(())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_prepare_against_the_table() {
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(CREATE_TABLE).unwrap();
        for statement in [LOAD, CREATE, FORGET] {
            connection.prepare(statement).unwrap();
        }
        assert_eq!(
            FORGET,
            "INSERT INTO data_keys (stream_id, wrapped_key, created_at, forgotten_at) \
             VALUES (?1, NULL, ?2, ?2) ON CONFLICT (stream_id) DO UPDATE SET wrapped_key = NULL, \
             forgotten_at = coalesce(forgotten_at, excluded.forgotten_at)"
        );
    }

    #[tokio::test]
    async fn keys_are_created_once_loaded_and_forgotten_for_good() {
        let store = SqliteStore::in_memory().await.unwrap();
        let keys = SqliteKeyStore::new(&store).await.unwrap();
        let stream = Uuid::new_v4();
        assert!(keys.load(stream).await.unwrap().is_none());
        let first = keys.create(stream, vec![1; 8]).await.unwrap();
        assert!(matches!(&first, KeyRecord::Active(key) if key == &[1; 8]));
        // A second creation loses to the first.
        let second = keys.create(stream, vec![2; 8]).await.unwrap();
        assert_eq!(second, first);
        keys.forget(stream).await.unwrap();
        assert_eq!(keys.load(stream).await.unwrap(), Some(KeyRecord::Forgotten));
        assert_eq!(
            keys.create(stream, vec![3; 8]).await.unwrap(),
            KeyRecord::Forgotten
        );
        let secure_delete: i64 = store
            .on_writer(|connection| {
                connection.query_row("PRAGMA secure_delete", [], |row| row.get(0))
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(secure_delete, 1);
    }
}
