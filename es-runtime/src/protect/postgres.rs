//! Data keys in PostgreSQL (features `encryption` and `postgres`).

use deadpool_postgres::Pool;
use uuid::Uuid;

use super::keys::{KeyRecord, KeyStore};
use super::payload::ProtectionError;
use crate::store::postgres::{check_schema_name, config, pool, DEFAULT_SCHEMA};
use crate::store::PostgresStore;
use crate::BoxFuture;

/// Per-stream data keys in the table `data_keys` of a PostgreSQL schema
/// (created if missing):
///
/// ```sql
/// CREATE TABLE data_keys (
///     stream_id    uuid PRIMARY KEY,
///     wrapped_key  bytea,                  -- NULL once forgotten
///     created_at   timestamptz NOT NULL DEFAULT now(),
///     forgotten_at timestamptz);           -- set by forget
/// ```
///
/// A forgotten key's bytes stay in the table's dead row version until
/// `VACUUM` reclaims it, and in WAL archives and backups: see the
/// [module docs](super) on what crypto-shredding erases. Cheap to clone;
/// clones share the pool.
#[derive(Clone)]
pub struct PostgresKeyStore {
    pool: Pool,
    load_sql: String,
    create_sql: String,
    forget_sql: String,
}

impl std::fmt::Debug for PostgresKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresKeyStore").finish_non_exhaustive()
    }
}

fn store_error(error: impl std::error::Error + Send + Sync + 'static) -> ProtectionError {
    ProtectionError::KeyStore(Box::new(error))
}

/// The same rule as the event store's schema names.
fn validate_schema(schema: &str) -> Result<(), ProtectionError> {
    check_schema_name(schema).map_err(ProtectionError::Config)
}

/// Creates the schema and the table if missing, under a transaction-scoped
/// lock that serialises concurrent set-ups (CREATE ... IF NOT EXISTS races).
fn setup_sql(schema: &str) -> String {
    format!(
        "SELECT pg_advisory_xact_lock(hashtext('chronicle data_keys {schema}'));
         CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.data_keys (
             stream_id    uuid PRIMARY KEY,
             wrapped_key  bytea,
             created_at   timestamptz NOT NULL DEFAULT now(),
             forgotten_at timestamptz);"
    )
}

impl PostgresKeyStore {
    /// Connects to `url` (a small pool of its own, no TLS) and creates the
    /// table in the schema `chronicle` if missing.
    pub async fn connect(url: &str) -> Result<Self, ProtectionError> {
        Self::connect_in(url, DEFAULT_SCHEMA).await
    }

    /// Connects to `url` and uses the table `data_keys` in `schema` (a plain
    /// identifier: 1 to 63 of `a-z`, `0-9`, `_`), creating both if missing.
    pub async fn connect_in(url: &str, schema: &str) -> Result<Self, ProtectionError> {
        validate_schema(schema)?;
        let config = config(url, "chronicle-keys").map_err(ProtectionError::Config)?;
        let pool = pool(config, 4).map_err(ProtectionError::Config)?;
        Self::from_pool(pool, schema).await
    }

    /// Uses the table `data_keys` in `store`'s schema, on `store`'s pool
    /// (creating the table if missing): the keys live beside the events, and
    /// the key store opens no connections of its own.
    pub async fn for_store(store: &PostgresStore) -> Result<Self, ProtectionError> {
        Self::from_pool(store.pool().clone(), store.schema()).await
    }

    /// Uses `pool` (needing a tokio runtime) and the table `data_keys` in
    /// `schema`, creating both if missing.
    pub async fn from_pool(pool: Pool, schema: &str) -> Result<Self, ProtectionError> {
        validate_schema(schema)?;
        let store = Self::with_statements(pool, schema);
        let mut client = store.pool.get().await.map_err(store_error)?;
        let transaction = client.transaction().await.map_err(store_error)?;
        transaction
            .batch_execute(&setup_sql(schema))
            .await
            .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)?;
        drop(client);
        Ok(store)
    }

    /// The key store's statements for the table in `schema` (validated).
    fn with_statements(pool: Pool, schema: &str) -> Self {
        let table = format!("{schema}.data_keys");
        Self {
            pool,
            load_sql: format!("SELECT wrapped_key FROM {table} WHERE stream_id = $1"),
            create_sql: format!(
                "INSERT INTO {table} (stream_id, wrapped_key) VALUES ($1, $2) \
                 ON CONFLICT (stream_id) DO NOTHING"
            ),
            forget_sql: format!(
                "INSERT INTO {table} (stream_id, wrapped_key, forgotten_at) VALUES ($1, NULL, now()) \
                 ON CONFLICT (stream_id) DO UPDATE SET wrapped_key = NULL, \
                 forgotten_at = coalesce({table}.forgotten_at, excluded.forgotten_at)"
            ),
        }
    }

    async fn load_record(&self, stream_id: Uuid) -> Result<Option<KeyRecord>, ProtectionError> {
        let client = self.pool.get().await.map_err(store_error)?;
        let statement = client
            .prepare_cached(&self.load_sql)
            .await
            .map_err(store_error)?;
        let row = client
            .query_opt(&statement, &[&stream_id])
            .await
            .map_err(store_error)?;
        row.map(|row| {
            row.try_get::<_, Option<Vec<u8>>>(0)
                .map(|wrapped| wrapped.map_or(KeyRecord::Forgotten, KeyRecord::Active))
                .map_err(store_error)
        })
        .transpose()
    }
}

impl KeyStore for PostgresKeyStore {
    fn load(&self, stream_id: Uuid) -> BoxFuture<'_, Result<Option<KeyRecord>, ProtectionError>> {
        Box::pin(self.load_record(stream_id))
    }

    fn create(
        &self,
        stream_id: Uuid,
        wrapped_key: Vec<u8>,
    ) -> BoxFuture<'_, Result<KeyRecord, ProtectionError>> {
        Box::pin(async move {
            {
                let client = self.pool.get().await.map_err(store_error)?;
                let statement = client
                    .prepare_cached(&self.create_sql)
                    .await
                    .map_err(store_error)?;
                client
                    .execute(&statement, &[&stream_id, &wrapped_key])
                    .await
                    .map_err(store_error)?;
            }
            // A statement of its own, so it sees a concurrent winner's row.
            self.load_record(stream_id).await?.ok_or_else(|| {
                ProtectionError::KeyStore(
                    format!("the data key of stream {stream_id} vanished as it was created").into(),
                )
            })
        })
    }

    fn forget(&self, stream_id: Uuid) -> BoxFuture<'_, Result<(), ProtectionError>> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(store_error)?;
            let statement = client
                .prepare_cached(&self.forget_sql)
                .await
                .map_err(store_error)?;
            client
                .execute(&statement, &[&stream_id])
                .await
                .map_err(store_error)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_pinned() {
        let config = config("postgres://u@127.0.0.1:1/db", "test").unwrap();
        let keys = PostgresKeyStore::with_statements(pool(config, 1).unwrap(), "app");
        assert_eq!(
            keys.load_sql,
            "SELECT wrapped_key FROM app.data_keys WHERE stream_id = $1"
        );
        assert_eq!(
            keys.create_sql,
            "INSERT INTO app.data_keys (stream_id, wrapped_key) VALUES ($1, $2) \
             ON CONFLICT (stream_id) DO NOTHING"
        );
        assert_eq!(
            keys.forget_sql,
            "INSERT INTO app.data_keys (stream_id, wrapped_key, forgotten_at) VALUES ($1, NULL, now()) \
             ON CONFLICT (stream_id) DO UPDATE SET wrapped_key = NULL, \
             forgotten_at = coalesce(app.data_keys.forgotten_at, excluded.forgotten_at)"
        );
        let setup = setup_sql("app");
        assert!(
            setup.starts_with("SELECT pg_advisory_xact_lock(hashtext('chronicle data_keys app'));")
        );
        assert!(setup.contains("CREATE SCHEMA IF NOT EXISTS app;"));
        assert!(setup.contains("CREATE TABLE IF NOT EXISTS app.data_keys ("));
    }

    #[test]
    fn schema_names_follow_the_event_store_rule() {
        // The rule itself is tested with the event store's.
        assert!(validate_schema("chronicle").is_ok());
        assert!(matches!(
            validate_schema("a;drop"),
            Err(ProtectionError::Config(message)) if message.contains("a;drop")
        ));
    }
}
