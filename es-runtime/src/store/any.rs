//! Choosing a store at run time, from a URL.
//!
//! | URL | store |
//! |---|---|
//! | `memory:` | [`MemoryStore`] |
//! | `sqlite::memory:` | an in-memory [`SqliteStore`](super::SqliteStore) (feature `sqlite`) |
//! | `sqlite://path/to/file.db`, `sqlite:///absolute/path.db`, `sqlite:file.db` | a [`SqliteStore`](super::SqliteStore) file (feature `sqlite`) |
//! | `postgres://user@host:5432/db?schema=app` | a [`PostgresStore`](super::PostgresStore) in schema `app` (default `chronicle`; feature `postgres`) |
//!
//! SQLite URLs take the query parameters `synchronous=full|normal` and
//! `table_prefix=NAME`. PostgreSQL URLs take `schema=NAME` and
//! `max_connections=N`; every other parameter goes to the driver.
//!
//! [`AnyStore::from_env`] reads the URL from `CHRONICLE_STORE_URL`, so the
//! same application runs on every store unchanged.

use std::sync::Arc;

use uuid::Uuid;

use super::{
    AppendOutcome, AppendRequest, EventStore, LogQuery, MemoryStore, Snapshot, StoreError,
    StreamQuery,
};
use crate::record::StoredEvent;

/// The environment variable [`AnyStore::from_env`] reads.
pub const STORE_URL_ENV: &str = "CHRONICLE_STORE_URL";

/// One of the stores compiled in, chosen at run time (see the
/// [module docs](self) for the URLs). Cloning shares the store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyStore {
    /// Events in process memory.
    Memory(Arc<MemoryStore>),
    /// Events in a SQLite database.
    #[cfg(feature = "sqlite")]
    Sqlite(super::SqliteStore),
    /// Events in PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(super::PostgresStore),
}

impl From<MemoryStore> for AnyStore {
    fn from(store: MemoryStore) -> Self {
        AnyStore::Memory(Arc::new(store))
    }
}

#[cfg(feature = "sqlite")]
impl From<super::SqliteStore> for AnyStore {
    fn from(store: super::SqliteStore) -> Self {
        AnyStore::Sqlite(store)
    }
}

#[cfg(feature = "postgres")]
impl From<super::PostgresStore> for AnyStore {
    fn from(store: super::PostgresStore) -> Self {
        AnyStore::Postgres(store)
    }
}

/// Splits `rest?a=b&c=d` into `rest` and its parameters.
fn split_query(url: &str) -> (&str, Vec<(&str, &str)>) {
    match url.split_once('?') {
        None => (url, Vec::new()),
        Some((rest, query)) => (
            rest,
            query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
                .collect(),
        ),
    }
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(rest: &str) -> Result<AnyStore, StoreError> {
    use super::sqlite::{SqliteStore, Synchronous};

    let (location, parameters) = split_query(rest);
    let location = location.strip_prefix("//").unwrap_or(location);
    if location.is_empty() {
        return Err(StoreError::Config(
            "a sqlite URL needs a path (`sqlite://file.db`) or `sqlite::memory:`".into(),
        ));
    }
    let mut builder = if location == ":memory:" {
        SqliteStore::in_memory_builder()
    } else {
        SqliteStore::builder(location)
    };
    for (key, value) in parameters {
        builder = match (key, value.to_ascii_lowercase().as_str()) {
            ("synchronous", "full") => builder.synchronous(Synchronous::Full),
            ("synchronous", "normal") => builder.synchronous(Synchronous::Normal),
            ("table_prefix", _) => builder.table_prefix(value),
            _ => {
                return Err(StoreError::Config(format!(
                    "unknown sqlite URL parameter `{key}={value}` (known: synchronous=full|normal, table_prefix=NAME)"
                )))
            }
        };
    }
    Ok(AnyStore::Sqlite(builder.open().await?))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<AnyStore, StoreError> {
    use super::postgres::PostgresStore;

    let (base, parameters) = split_query(url);
    let mut schema = None;
    let mut max_connections = None;
    let mut passed = Vec::new();
    for (key, value) in parameters {
        match key {
            "schema" => schema = Some(value),
            "max_connections" => {
                max_connections = Some(value.parse::<usize>().map_err(|_| {
                    StoreError::Config(format!("max_connections={value} is not a number"))
                })?)
            }
            _ => passed.push(format!("{key}={value}")),
        }
    }
    let driver_url = if passed.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", passed.join("&"))
    };
    let mut builder = PostgresStore::builder(&driver_url);
    if let Some(schema) = schema {
        builder = builder.schema(schema);
    }
    if let Some(count) = max_connections {
        builder = builder.max_connections(count);
    }
    Ok(AnyStore::Postgres(builder.connect().await?))
}

impl AnyStore {
    /// Opens the store a URL names (see the [module docs](self)). An unknown
    /// scheme, or one whose feature is not compiled in, is a
    /// [`StoreError::Config`].
    pub async fn from_url(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once(':').ok_or_else(|| {
            StoreError::Config(format!(
                "store URL `{url}` has no scheme; use memory:, sqlite://PATH or postgres://..."
            ))
        })?;
        match scheme.to_ascii_lowercase().as_str() {
            "memory" | "mem" if rest.trim_start_matches('/').is_empty() => {
                Ok(MemoryStore::new().into())
            }
            "sqlite" => {
                #[cfg(feature = "sqlite")]
                return open_sqlite(rest).await;
                #[cfg(not(feature = "sqlite"))]
                return Err(StoreError::Config(
                    "sqlite: URLs need chronicle's `sqlite` feature".into(),
                ));
            }
            "postgres" | "postgresql" => {
                #[cfg(feature = "postgres")]
                return open_postgres(url).await;
                #[cfg(not(feature = "postgres"))]
                return Err(StoreError::Config(
                    "postgres: URLs need chronicle's `postgres` feature".into(),
                ));
            }
            _ => Err(StoreError::Config(format!(
                "unknown store URL `{url}`; use memory:, sqlite://PATH, sqlite::memory: or postgres://..."
            ))),
        }
    }

    /// Opens the store named by the `CHRONICLE_STORE_URL` environment
    /// variable; an unset variable is a [`StoreError::Config`].
    pub async fn from_env() -> Result<Self, StoreError> {
        match std::env::var(STORE_URL_ENV) {
            Ok(url) => Self::from_url(&url).await,
            Err(_) => Err(StoreError::Config(format!(
                "set {STORE_URL_ENV} to memory:, sqlite://PATH or postgres://..."
            ))),
        }
    }

    /// Like [`from_env`](Self::from_env), but opens `default_url` when the
    /// variable is unset.
    pub async fn from_env_or(default_url: &str) -> Result<Self, StoreError> {
        match std::env::var(STORE_URL_ENV) {
            Ok(url) => Self::from_url(&url).await,
            Err(_) => Self::from_url(default_url).await,
        }
    }

    /// Which store this is: `"memory"`, `"sqlite"` or `"postgres"`.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::Memory(_) => "memory",
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(_) => "postgres",
        }
    }
}

/// Calls the same method on whichever store `self` holds.
macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($store) => $call,
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite($store) => $call,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres($store) => $call,
        }
    };
}

impl EventStore for AnyStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        delegate!(self, store => store.append(request).await)
    }

    async fn read_stream(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        delegate!(self, store => store.read_stream(stream_id, query).await)
    }

    async fn read_log(&self, query: LogQuery) -> Result<Vec<StoredEvent>, StoreError> {
        delegate!(self, store => store.read_log(query).await)
    }

    async fn last_position(&self) -> Result<u64, StoreError> {
        delegate!(self, store => store.last_position().await)
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        delegate!(self, store => store.save_snapshot(snapshot).await)
    }

    async fn latest_snapshot(
        &self,
        stream_id: Uuid,
        max_version: Option<u64>,
    ) -> Result<Option<Snapshot>, StoreError> {
        delegate!(self, store => store.latest_snapshot(stream_id, max_version).await)
    }

    async fn tracked_position(&self, consumer: &str) -> Result<u64, StoreError> {
        delegate!(self, store => store.tracked_position(consumer).await)
    }

    async fn wait_for_events(&self, position: u64, timeout: std::time::Duration) {
        delegate!(self, store => store.wait_for_events(position, timeout).await)
    }

    async fn commit_model(
        &self,
        writes: Vec<crate::model::ModelWrite>,
        tracking: super::Tracking,
    ) -> Result<(), StoreError> {
        delegate!(self, store => store.commit_model(writes, tracking).await)
    }

    async fn commit_model_after(
        &self,
        writes: Vec<crate::model::ModelWrite>,
        tracking: super::Tracking,
        after: u64,
    ) -> Result<(), StoreError> {
        delegate!(self, store => store.commit_model_after(writes, tracking, after).await)
    }

    async fn reset_model(
        &self,
        writes: Vec<crate::model::ModelWrite>,
        consumer: &str,
    ) -> Result<(), StoreError> {
        delegate!(self, store => store.reset_model(writes, consumer).await)
    }

    async fn query_model(
        &self,
        sql: &str,
        params: Vec<crate::model::SqlValue>,
    ) -> Result<Vec<Vec<crate::model::SqlValue>>, StoreError> {
        delegate!(self, store => store.query_model(sql, params).await)
    }
}
