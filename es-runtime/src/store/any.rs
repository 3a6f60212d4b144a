//! Stores chosen at run time: [`AnyStore`] and [`AnySqlStore`].
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::capability::{
    fold_pages, EventStore, LogStore, ReadModelStore, SnapshotStore, StreamStore, TrackingStore,
};
use super::error::StoreError;
use super::memory::MemoryStore;
use super::model::{ModelWrite, SqlValue};
use super::record::{DecodedEvent, EventRef, StoredEvent};
use super::request::{AppendOutcome, AppendRequest, LogQuery, Snapshot, StreamQuery, Tracking};
#[cfg(feature = "postgres")]
use super::PostgresStore;
#[cfg(feature = "sqlite")]
use super::SqliteStore;
use crate::BoxFuture;

/// The environment variable [`AnyStore::from_env`] reads.
pub const STORE_URL_ENV: &str = "CHRONICLE_STORE_URL";

/// An [`EventStore`] chosen at run time: one of the stores compiled in,
/// opened from a URL (see below), or any event store
/// given to [`AnyStore::new`]. Cloning shares the store.
///
/// Choosing a store at run time, from a URL.
///
/// | URL | store |
/// |---|---|
/// | `memory:` | [`MemoryStore`] (not for [`AnySqlStore`]) |
/// | `sqlite::memory:` | an in-memory [`SqliteStore`] (feature `sqlite`) |
/// | `sqlite://path/to/file.db`, `sqlite:///absolute/path.db`, `sqlite:file.db` | a [`SqliteStore`] file (feature `sqlite`) |
/// | `postgres://user@host:5432/db?schema=app` | a [`PostgresStore`] in schema `app` (default `chronicle`; feature `postgres`) |
///
/// SQLite URLs take the query parameters `synchronous=full|normal` and
/// `table_prefix=NAME`. PostgreSQL URLs take `schema=NAME`,
/// `max_connections=N`, and `retry_budget_ms=N` and `commit_timeout_ms=N`
/// (see [`PostgresStoreBuilder`](super::PostgresStoreBuilder); for a
/// replicated cluster, with several hosts and
/// `target_session_attrs=read-write`); every other parameter goes to the
/// driver. Both take
/// `migrate=false`, which refuses to upgrade an older stored layout (see
/// the stores' `migrate` option).
///
/// [`AnyStore::from_env`] reads the URL from `CHRONICLE_STORE_URL`, so the
/// same application runs on every store unchanged.
///
/// [`AnySqlStore`] is the same for uses that need SQL read models
/// ([`ReadModelStore`]): it opens SQLite and PostgreSQL URLs and refuses
/// `memory:` when it is opened, with an error that says why.
///
/// Both hold their store behind an object-safe form of the capability
/// traits (each method returning a boxed future), so they dispatch once per
/// call without naming the backends, and any store can be put behind them
/// ([`AnyStore::new`], [`AnySqlStore::new`]).
#[derive(Clone)]
pub struct AnyStore {
    store: Arc<dyn DynEventStore>,
    kind: &'static str,
}

/// An [`EventStore`] with SQL read models ([`ReadModelStore`]) chosen at run
/// time: SQLite or PostgreSQL from a URL, or any such store given to
/// [`AnySqlStore::new`]. Cloning shares the store.
#[derive(Clone)]
pub struct AnySqlStore {
    store: Arc<dyn DynEventStore>,
    models: Arc<dyn DynReadModelStore>,
    kind: &'static str,
}

impl fmt::Debug for AnyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyStore")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AnySqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnySqlStore")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Splits `rest?a=b&c=d` into `rest` and its parameters.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
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
async fn open_sqlite(rest: &str) -> Result<super::SqliteStore, StoreError> {
    use super::{SqliteStore, Synchronous};

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
            ("migrate", _) => builder.migrate(parse_migrate(value)?),
            _ => {
                return Err(StoreError::Config(format!(
                    "unknown sqlite URL parameter `{key}={value}` (known: synchronous=full|normal, table_prefix=NAME, migrate=true|false)"
                )))
            }
        };
    }
    builder.open().await
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<super::PostgresStore, StoreError> {
    use super::PostgresStore;

    let (base, parameters) = split_query(url);
    let mut schema = None;
    let mut max_connections = None;
    let mut migrate = true;
    let mut retry_budget = None;
    let mut commit_timeout = None;
    let mut passed = Vec::new();
    for (key, value) in parameters {
        match key {
            "schema" => schema = Some(value),
            "migrate" => migrate = parse_migrate(value)?,
            "retry_budget_ms" => retry_budget = Some(parse_millis(key, value)?),
            "commit_timeout_ms" => commit_timeout = Some(parse_millis(key, value)?),
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
    if let Some(budget) = retry_budget {
        builder = builder.retry_budget(budget);
    }
    if let Some(timeout) = commit_timeout {
        builder = builder.commit_timeout(timeout);
    }
    builder.migrate(migrate).connect().await
}

/// A duration URL parameter in milliseconds.
#[cfg(feature = "postgres")]
fn parse_millis(key: &str, value: &str) -> Result<std::time::Duration, StoreError> {
    value
        .parse::<u64>()
        .map(std::time::Duration::from_millis)
        .map_err(|_| StoreError::Config(format!("{key}={value} is not a number of milliseconds")))
}

/// The value of a `migrate` URL parameter.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn parse_migrate(value: &str) -> Result<bool, StoreError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(StoreError::Config(format!(
            "migrate={value} is neither true nor false"
        ))),
    }
}

/// What a URL named, opened.
enum Opened {
    // Boxed: the memory store is held inline, the others are handles.
    Memory(Box<MemoryStore>),
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteStore),
    #[cfg(feature = "postgres")]
    Postgres(PostgresStore),
}

impl Opened {
    async fn from_url(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once(':').ok_or_else(|| {
            StoreError::Config(format!(
                "store URL `{url}` has no scheme; use memory:, sqlite://PATH or postgres://..."
            ))
        })?;
        match scheme.to_ascii_lowercase().as_str() {
            "memory" | "mem" if rest.trim_start_matches('/').is_empty() => {
                Ok(Opened::Memory(Box::new(MemoryStore::new())))
            }
            "sqlite" => {
                #[cfg(feature = "sqlite")]
                return open_sqlite(rest).await.map(Opened::Sqlite);
                #[cfg(not(feature = "sqlite"))]
                return Err(StoreError::Config(
                    "sqlite: URLs need chronicle-es's `sqlite` feature".into(),
                ));
            }
            "postgres" | "postgresql" => {
                #[cfg(feature = "postgres")]
                return open_postgres(url).await.map(Opened::Postgres);
                #[cfg(not(feature = "postgres"))]
                return Err(StoreError::Config(
                    "postgres: URLs need chronicle-es's `postgres` feature".into(),
                ));
            }
            _ => Err(StoreError::Config(format!(
                "unknown store URL `{url}`; use memory:, sqlite://PATH, sqlite::memory: or postgres://..."
            ))),
        }
    }
}

/// The URL in `CHRONICLE_STORE_URL`, else `default_url`, else an error.
fn url_from_env(default_url: Option<&str>) -> Result<String, StoreError> {
    match (std::env::var(STORE_URL_ENV), default_url) {
        (Ok(url), _) => Ok(url),
        (Err(_), Some(url)) => Ok(url.to_owned()),
        (Err(_), None) => Err(StoreError::Config(format!(
            "set {STORE_URL_ENV} to memory:, sqlite://PATH or postgres://..."
        ))),
    }
}

impl AnyStore {
    /// Puts `store` behind an `AnyStore`.
    pub fn new<S: EventStore>(store: S) -> Self {
        Self::with_kind(store, std::any::type_name::<S>())
    }

    fn with_kind<S: EventStore>(store: S, kind: &'static str) -> Self {
        Self {
            store: Arc::new(store),
            kind,
        }
    }

    /// Opens the store a URL names (see [`AnyStore`]). An unknown
    /// scheme, or one whose feature is not compiled in, is a
    /// [`StoreError::Config`].
    pub async fn from_url(url: &str) -> Result<Self, StoreError> {
        Ok(match Opened::from_url(url).await? {
            Opened::Memory(store) => (*store).into(),
            #[cfg(feature = "sqlite")]
            Opened::Sqlite(store) => store.into(),
            #[cfg(feature = "postgres")]
            Opened::Postgres(store) => store.into(),
        })
    }

    /// Opens the store named by the `CHRONICLE_STORE_URL` environment
    /// variable; an unset variable is a [`StoreError::Config`].
    pub async fn from_env() -> Result<Self, StoreError> {
        Self::from_url(&url_from_env(None)?).await
    }

    /// Like [`from_env`](Self::from_env), but opens `default_url` when the
    /// variable is unset.
    pub async fn from_env_or(default_url: &str) -> Result<Self, StoreError> {
        Self::from_url(&url_from_env(Some(default_url))?).await
    }

    /// Which store this is: `"memory"`, `"sqlite"`, `"postgres"`, or the
    /// type name of a store given to [`new`](Self::new).
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}

impl AnySqlStore {
    /// Puts `store` behind an `AnySqlStore`.
    pub fn new<S: EventStore + ReadModelStore>(store: S) -> Self {
        Self::with_kind(store, std::any::type_name::<S>())
    }

    fn with_kind<S: EventStore + ReadModelStore>(store: S, kind: &'static str) -> Self {
        let store = Arc::new(store);
        Self {
            models: Arc::clone(&store) as Arc<dyn DynReadModelStore>,
            store,
            kind,
        }
    }

    /// Opens the store a URL names (see [`AnyStore`]); `memory:`,
    /// which has no SQL read models, is a [`StoreError::Config`] that says
    /// so, as are the errors of [`AnyStore::from_url`].
    pub async fn from_url(url: &str) -> Result<Self, StoreError> {
        match Opened::from_url(url).await? {
            Opened::Memory(_) => Err(StoreError::Config(format!(
                "`{}` names the in-memory store, which has no SQL read models (the ReadModelStore capability): use sqlite:// or postgres://, or open it with AnyStore and keep the projection's model in process",
                url.trim()
            ))),
            #[cfg(feature = "sqlite")]
            Opened::Sqlite(store) => Ok(store.into()),
            #[cfg(feature = "postgres")]
            Opened::Postgres(store) => Ok(store.into()),
        }
    }

    /// Opens the store named by `CHRONICLE_STORE_URL` (see [`from_url`](Self::from_url)).
    pub async fn from_env() -> Result<Self, StoreError> {
        Self::from_url(&url_from_env(None)?).await
    }

    /// Like [`from_env`](Self::from_env), but opens `default_url` when the
    /// variable is unset.
    pub async fn from_env_or(default_url: &str) -> Result<Self, StoreError> {
        Self::from_url(&url_from_env(Some(default_url))?).await
    }

    /// Which store this is: `"sqlite"`, `"postgres"`, or the type name of a
    /// store given to [`new`](Self::new).
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}

impl From<MemoryStore> for AnyStore {
    fn from(store: MemoryStore) -> Self {
        AnyStore::with_kind(store, "memory")
    }
}

#[cfg(feature = "sqlite")]
impl From<SqliteStore> for AnyStore {
    fn from(store: SqliteStore) -> Self {
        AnyStore::with_kind(store, "sqlite")
    }
}

#[cfg(feature = "postgres")]
impl From<PostgresStore> for AnyStore {
    fn from(store: PostgresStore) -> Self {
        AnyStore::with_kind(store, "postgres")
    }
}

#[cfg(feature = "sqlite")]
impl From<SqliteStore> for AnySqlStore {
    fn from(store: SqliteStore) -> Self {
        AnySqlStore::with_kind(store, "sqlite")
    }
}

#[cfg(feature = "postgres")]
impl From<PostgresStore> for AnySqlStore {
    fn from(store: PostgresStore) -> Self {
        AnySqlStore::with_kind(store, "postgres")
    }
}

impl From<AnySqlStore> for AnyStore {
    fn from(store: AnySqlStore) -> Self {
        AnyStore {
            store: store.store,
            kind: store.kind,
        }
    }
}

/// The object-safe form of [`EventStore`]: every method returns a boxed
/// future. Implemented for every event store.
trait DynEventStore: Send + Sync {
    fn append(&self, request: AppendRequest) -> BoxFuture<'_, Result<AppendOutcome, StoreError>>;
    fn append_decoded(
        &self,
        request: AppendRequest,
        decoded: Vec<DecodedEvent>,
    ) -> BoxFuture<'_, Result<AppendOutcome, StoreError>>;
    fn keeps_decoded(&self) -> bool;
    fn append_json(
        &self,
        request: AppendRequest,
    ) -> BoxFuture<'_, Result<AppendOutcome, StoreError>>;
    fn read_stream(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
    ) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>>;
    fn read_log(&self, query: LogQuery) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>>;
    fn last_position(&self) -> BoxFuture<'_, Result<u64, StoreError>>;
    fn wait_for_events(&self, position: u64, timeout: Duration) -> BoxFuture<'_, ()>;
    fn tracked_position<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;
    fn append_tracked(
        &self,
        request: AppendRequest,
        tracking: Tracking,
    ) -> BoxFuture<'_, Result<AppendOutcome, StoreError>>;
    fn reset_tracking<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    fn consumers(&self) -> BoxFuture<'_, Result<Vec<Tracking>, StoreError>>;
    fn save_snapshot(&self, snapshot: Snapshot) -> BoxFuture<'_, Result<(), StoreError>>;
    fn latest_snapshot(
        &self,
        stream_id: Uuid,
        max_version: Option<u64>,
    ) -> BoxFuture<'_, Result<Option<Snapshot>, StoreError>>;
    /// The store itself, to fold through a known store's own
    /// `fold_stream` (generic, so not part of this object-safe form).
    fn as_any(&self) -> &dyn Any;
}

impl<S: EventStore> DynEventStore for S {
    fn append(&self, request: AppendRequest) -> BoxFuture<'_, Result<AppendOutcome, StoreError>> {
        Box::pin(StreamStore::append(self, request))
    }
    fn append_decoded(
        &self,
        request: AppendRequest,
        decoded: Vec<DecodedEvent>,
    ) -> BoxFuture<'_, Result<AppendOutcome, StoreError>> {
        Box::pin(StreamStore::append_decoded(self, request, decoded))
    }
    fn keeps_decoded(&self) -> bool {
        StreamStore::keeps_decoded(self)
    }
    fn append_json(
        &self,
        request: AppendRequest,
    ) -> BoxFuture<'_, Result<AppendOutcome, StoreError>> {
        Box::pin(StreamStore::append_json(self, request))
    }
    fn read_stream(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
    ) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>> {
        Box::pin(StreamStore::read_stream(self, stream_id, query))
    }
    fn read_log(&self, query: LogQuery) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>> {
        Box::pin(LogStore::read_log(self, query))
    }
    fn last_position(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(LogStore::last_position(self))
    }
    fn wait_for_events(&self, position: u64, timeout: Duration) -> BoxFuture<'_, ()> {
        Box::pin(LogStore::wait_for_events(self, position, timeout))
    }
    fn tracked_position<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(TrackingStore::tracked_position(self, consumer))
    }
    fn append_tracked(
        &self,
        request: AppendRequest,
        tracking: Tracking,
    ) -> BoxFuture<'_, Result<AppendOutcome, StoreError>> {
        Box::pin(TrackingStore::append_tracked(self, request, tracking))
    }
    fn reset_tracking<'a>(&'a self, consumer: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(TrackingStore::reset_tracking(self, consumer))
    }
    fn consumers(&self) -> BoxFuture<'_, Result<Vec<Tracking>, StoreError>> {
        Box::pin(TrackingStore::consumers(self))
    }
    fn save_snapshot(&self, snapshot: Snapshot) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(SnapshotStore::save_snapshot(self, snapshot))
    }
    fn latest_snapshot(
        &self,
        stream_id: Uuid,
        max_version: Option<u64>,
    ) -> BoxFuture<'_, Result<Option<Snapshot>, StoreError>> {
        Box::pin(SnapshotStore::latest_snapshot(self, stream_id, max_version))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Folds a stream of the store behind an `AnyStore` or `AnySqlStore`: with
/// the store's own `fold_stream` when it is one of this crate's stores,
/// else by pages of `read_stream` (the trait's default).
async fn fold_behind<W, T, E, F>(
    wrapper: &W,
    store: &dyn DynEventStore,
    stream_id: Uuid,
    query: StreamQuery,
    state: T,
    fold: F,
) -> Result<T, E>
where
    W: StreamStore,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnMut(&mut T, EventRef<'_>) -> Result<(), E> + Send + 'static,
{
    let store = store.as_any();
    if let Some(memory) = store.downcast_ref::<MemoryStore>() {
        return memory.fold_stream(stream_id, query, state, fold).await;
    }
    #[cfg(feature = "sqlite")]
    if let Some(sqlite) = store.downcast_ref::<SqliteStore>() {
        return sqlite.fold_stream(stream_id, query, state, fold).await;
    }
    #[cfg(feature = "postgres")]
    if let Some(postgres) = store.downcast_ref::<PostgresStore>() {
        return postgres.fold_stream(stream_id, query, state, fold).await;
    }
    fold_pages(wrapper, stream_id, query, state, fold).await
}

/// The object-safe form of [`ReadModelStore`]'s own methods.
trait DynReadModelStore: Send + Sync {
    fn commit_model(
        &self,
        writes: Vec<ModelWrite>,
        tracking: Tracking,
        after: u64,
    ) -> BoxFuture<'_, Result<(), StoreError>>;
    fn reset_model<'a>(
        &'a self,
        writes: Vec<ModelWrite>,
        consumer: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn query_model<'a>(
        &'a self,
        sql: &'a str,
        params: Vec<SqlValue>,
    ) -> BoxFuture<'a, Result<Vec<Vec<SqlValue>>, StoreError>>;
}

impl<S: ReadModelStore> DynReadModelStore for S {
    fn commit_model(
        &self,
        writes: Vec<ModelWrite>,
        tracking: Tracking,
        after: u64,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(ReadModelStore::commit_model(self, writes, tracking, after))
    }
    fn reset_model<'a>(
        &'a self,
        writes: Vec<ModelWrite>,
        consumer: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(ReadModelStore::reset_model(self, writes, consumer))
    }
    fn query_model<'a>(
        &'a self,
        sql: &'a str,
        params: Vec<SqlValue>,
    ) -> BoxFuture<'a, Result<Vec<Vec<SqlValue>>, StoreError>> {
        Box::pin(ReadModelStore::query_model(self, sql, params))
    }
}

/// Implements the four [`EventStore`] capabilities for `$type` by calling
/// the same methods on `$target`, an object-safe store.
macro_rules! event_store_through {
    ($type:ty, |$this:ident| $target:expr) => {
        impl StreamStore for $type {
            async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
                let $this = self;
                $target.append(request).await
            }

            async fn append_decoded(
                &self,
                request: AppendRequest,
                decoded: Vec<DecodedEvent>,
            ) -> Result<AppendOutcome, StoreError> {
                let $this = self;
                $target.append_decoded(request, decoded).await
            }

            fn keeps_decoded(&self) -> bool {
                let $this = self;
                $target.keeps_decoded()
            }

            async fn append_json(
                &self,
                request: AppendRequest,
            ) -> Result<AppendOutcome, StoreError> {
                let $this = self;
                $target.append_json(request).await
            }

            async fn read_stream(
                &self,
                stream_id: Uuid,
                query: StreamQuery,
            ) -> Result<Vec<StoredEvent>, StoreError> {
                let $this = self;
                $target.read_stream(stream_id, query).await
            }

            async fn fold_stream<T, E, F>(
                &self,
                stream_id: Uuid,
                query: StreamQuery,
                state: T,
                fold: F,
            ) -> Result<T, E>
            where
                T: Send + 'static,
                E: From<StoreError> + Send + 'static,
                F: FnMut(&mut T, EventRef<'_>) -> Result<(), E> + Send + 'static,
            {
                let $this = self;
                fold_behind(self, &*$target, stream_id, query, state, fold).await
            }
        }

        impl LogStore for $type {
            async fn read_log(&self, query: LogQuery) -> Result<Vec<StoredEvent>, StoreError> {
                let $this = self;
                $target.read_log(query).await
            }

            async fn last_position(&self) -> Result<u64, StoreError> {
                let $this = self;
                $target.last_position().await
            }

            async fn wait_for_events(&self, position: u64, timeout: Duration) {
                let $this = self;
                $target.wait_for_events(position, timeout).await
            }
        }

        impl TrackingStore for $type {
            async fn tracked_position(&self, consumer: &str) -> Result<u64, StoreError> {
                let $this = self;
                $target.tracked_position(consumer).await
            }

            async fn append_tracked(
                &self,
                request: AppendRequest,
                tracking: Tracking,
            ) -> Result<AppendOutcome, StoreError> {
                let $this = self;
                $target.append_tracked(request, tracking).await
            }

            async fn reset_tracking(&self, consumer: &str) -> Result<(), StoreError> {
                let $this = self;
                $target.reset_tracking(consumer).await
            }

            async fn consumers(&self) -> Result<Vec<Tracking>, StoreError> {
                let $this = self;
                $target.consumers().await
            }
        }

        impl SnapshotStore for $type {
            async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
                let $this = self;
                $target.save_snapshot(snapshot).await
            }

            async fn latest_snapshot(
                &self,
                stream_id: Uuid,
                max_version: Option<u64>,
            ) -> Result<Option<Snapshot>, StoreError> {
                let $this = self;
                $target.latest_snapshot(stream_id, max_version).await
            }
        }
    };
}

event_store_through!(AnyStore, |this| this.store);
event_store_through!(AnySqlStore, |this| this.store);

impl ReadModelStore for AnySqlStore {
    async fn commit_model(
        &self,
        writes: Vec<ModelWrite>,
        tracking: Tracking,
        after: u64,
    ) -> Result<(), StoreError> {
        self.models.commit_model(writes, tracking, after).await
    }

    async fn reset_model(&self, writes: Vec<ModelWrite>, consumer: &str) -> Result<(), StoreError> {
        self.models.reset_model(writes, consumer).await
    }

    async fn query_model(
        &self,
        sql: &str,
        params: Vec<SqlValue>,
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        self.models.query_model(sql, params).await
    }
}
