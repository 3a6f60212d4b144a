//! Data keys in PostgreSQL (features `encryption` and `postgres`).

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use uuid::Uuid;

use super::keys::{KeyRecord, KeyStore};
use super::payload::ProtectionError;
use crate::store::postgres::{invalid_schema_message, is_plain_schema_name, DEFAULT_SCHEMA};
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
    if is_plain_schema_name(schema) {
        Ok(())
    } else {
        Err(ProtectionError::Config(invalid_schema_message(schema)))
    }
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
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|error| ProtectionError::Config(format!("invalid PostgreSQL URL: {error}")))?;
        if config.get_application_name().is_none() {
            config.application_name("chronicle-keys");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(4)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(15)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|error| ProtectionError::Config(format!("PostgreSQL pool: {error}")))?;
        Self::from_pool(pool, schema).await
    }

    /// Uses `pool` (needing a tokio runtime) and the table `data_keys` in
    /// `schema`, creating both if missing.
    pub async fn from_pool(pool: Pool, schema: &str) -> Result<Self, ProtectionError> {
        validate_schema(schema)?;
        let table = format!("{schema}.data_keys");
        let store = Self {
            pool,
            load_sql: format!("SELECT wrapped_key FROM {table} WHERE stream_id = $1"),
            create_sql: format!(
                "INSERT INTO {table} (stream_id, wrapped_key) VALUES ($1, $2)
                 ON CONFLICT (stream_id) DO NOTHING"
            ),
            forget_sql: format!(
                "INSERT INTO {table} (stream_id, wrapped_key, forgotten_at) VALUES ($1, NULL, now())
                 ON CONFLICT (stream_id) DO UPDATE SET wrapped_key = NULL,
                     forgotten_at = coalesce({table}.forgotten_at, excluded.forgotten_at)"
            ),
        };
        let mut client = store.pool.get().await.map_err(store_error)?;
        let transaction = client.transaction().await.map_err(store_error)?;
        // Serialise concurrent set-ups (CREATE ... IF NOT EXISTS races).
        transaction
            .batch_execute(&format!(
                "SELECT pg_advisory_xact_lock(hashtext('chronicle data_keys {schema}'));
                 CREATE SCHEMA IF NOT EXISTS {schema};
                 CREATE TABLE IF NOT EXISTS {table} (
                     stream_id    uuid PRIMARY KEY,
                     wrapped_key  bytea,
                     created_at   timestamptz NOT NULL DEFAULT now(),
                     forgotten_at timestamptz);"
            ))
            .await
            .map_err(store_error)?;
        transaction.commit().await.map_err(store_error)?;
        drop(client);
        Ok(store)
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
    use super::validate_schema;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["chronicle", "_x", "a1_b"] {
            assert!(validate_schema(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1a",
            "A",
            "a-b",
            "a;drop",
            "pg_x",
            "\"x\"",
            &"a".repeat(64),
        ] {
            assert!(validate_schema(bad).is_err(), "{bad}");
        }
    }
}
