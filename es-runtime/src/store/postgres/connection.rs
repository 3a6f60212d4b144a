//! Connections: the pool, which failures are worth another attempt, and the
//! one retry loop every operation of the store goes through.

use std::error::Error as StdError;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use deadpool_postgres::{
    Manager, ManagerConfig, Object, ObjectId, Pool, PoolError, RecyclingMethod, Runtime,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
#[cfg(feature = "encryption")]
use tokio_postgres::NoTls;
use tokio_postgres::{Row, RowStream, Statement};

use super::cluster::ClusterConnect;
use super::{PostgresStore, BACKEND};
use crate::store::encoding::backend;
use crate::store::error::StoreError;

/// How long an operation keeps trying on fresh connections unless the
/// builder says otherwise: longer than a Patroni failover with its default
/// `ttl` of 30 s takes to promote a standby.
pub(super) const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(40);

/// The connection settings of `url`, reporting `application_name` unless
/// the URL names one, and giving up connecting after 10 s unless it says
/// otherwise. The error is for a configuration error of the caller's type.
pub(crate) fn config(url: &str, application_name: &str) -> Result<tokio_postgres::Config, String> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|error| format!("invalid PostgreSQL URL: {error}"))?;
    if config.get_application_name().is_none() {
        config.application_name(application_name);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    Ok(config)
}

/// A pool of at most `max_size` connections (no TLS; tokio runtime).
#[cfg(feature = "encryption")]
pub(crate) fn pool(config: tokio_postgres::Config, max_size: usize) -> Result<Pool, String> {
    let manager = Manager::from_config(config, NoTls, manager_config());
    pool_of(manager, max_size)
}

/// The store's pool: connections made by `connect` (hosts in order, see
/// `cluster`).
pub(super) fn cluster_pool(
    config: tokio_postgres::Config,
    connect: ClusterConnect,
    max_size: usize,
) -> Result<Pool, String> {
    pool_of(
        Manager::from_connect(config, connect, manager_config()),
        max_size,
    )
}

fn manager_config() -> ManagerConfig {
    ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    }
}

fn pool_of(manager: Manager, max_size: usize) -> Result<Pool, String> {
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(Duration::from_secs(15)))
        .wait_timeout(Some(Duration::from_secs(30)))
        .build()
        .map_err(|error| format!("PostgreSQL pool: {error}"))
}

/// Why one attempt failed: worth another attempt on a fresh connection, or not.
pub(super) enum Failure {
    Retry(StoreError),
    Fail(StoreError),
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Fail(error)
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        if is_transient(&error) {
            Failure::Retry(backend(BACKEND, error))
        } else {
            Failure::Fail(backend(BACKEND, error))
        }
    }
}

impl From<PoolError> for Failure {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Backend(error) => {
                if is_transient(&error) || error.code().is_none() {
                    Failure::Retry(backend(BACKEND, error))
                } else {
                    Failure::Fail(backend(BACKEND, error))
                }
            }
            PoolError::Timeout(_) => Failure::Retry(backend(BACKEND, error)),
            other => Failure::Fail(backend(BACKEND, other)),
        }
    }
}

/// Lost connections and server restarts; also deadlocks and serialization
/// failures, which a new attempt resolves.
pub(super) fn is_transient(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        Some(code) => is_transient_code(code),
        None => {
            let mut source = error.source();
            while let Some(cause) = source {
                if cause.is::<std::io::Error>() {
                    return true;
                }
                source = cause.source();
            }
            false
        }
    }
}

/// Connection exceptions (class 08), operator interventions such as a
/// shutdown (57P), too many connections, deadlocks and serialization failures.
fn is_transient_code(code: &SqlState) -> bool {
    let code = code.code();
    code.starts_with("08")
        || code.starts_with("57P")
        || code == SqlState::TOO_MANY_CONNECTIONS.code()
        || code == SqlState::T_R_DEADLOCK_DETECTED.code()
        || code == SqlState::T_R_SERIALIZATION_FAILURE.code()
}

/// How long to wait before attempt `attempt` (0 for the first).
pub(super) fn backoff(attempt: usize) -> Duration {
    Duration::from_millis([0, 20, 100, 300, 800].get(attempt).copied().unwrap_or(800))
}

/// The attempts of one operation: another one after each transient failure
/// until the retry budget is spent (at least two in all, so that a connection
/// a server closed while it sat in the pool never fails a call by itself).
pub(super) struct Attempts {
    started: Instant,
    budget: Duration,
    attempt: usize,
}

impl Attempts {
    pub(super) fn new(budget: Duration) -> Self {
        Attempts {
            started: Instant::now(),
            budget,
            attempt: 0,
        }
    }

    /// How many attempts were allowed after the first.
    pub(super) fn count(&self) -> usize {
        self.attempt
    }

    /// Sleeps before the next attempt and answers true, or answers false
    /// when the budget does not leave room for one.
    pub(super) async fn another(&mut self) -> bool {
        match self.delay(self.started.elapsed()) {
            Some(delay) => {
                tokio::time::sleep(delay).await;
                true
            }
            None => false,
        }
    }

    /// The pause before the next attempt when `elapsed` has passed since
    /// the first, or `None` when the budget is spent.
    fn delay(&mut self, elapsed: Duration) -> Option<Duration> {
        self.attempt += 1;
        let delay = backoff(self.attempt);
        (self.attempt == 1 || elapsed + delay <= self.budget).then_some(delay)
    }
}

/// Runs `$body` with a pooled client bound to `$client`, again on a fresh
/// connection when it fails with a transient error. `$body` evaluates to
/// `Result<T, Failure>`. A macro, not a function taking an async closure:
/// the store's futures must be `Send`, and a bound cannot yet say that of
/// the future an async closure returns.
macro_rules! retrying {
    ($store:expr, |$client:ident| $body:expr) => {{
        use $crate::store::postgres::connection;
        let mut attempts = connection::Attempts::new($store.inner.retry_budget);
        loop {
            let result: Result<_, connection::Failure> = async {
                #[allow(unused_mut)]
                let mut $client = $store.checkout().await?;
                let outcome = $body;
                let discard = match &outcome {
                    Err(failure) => {
                        $client.is_closed()
                            || $crate::store::postgres::failover::discards_connection(failure)
                    }
                    Ok(_) => false,
                };
                if discard {
                    drop(::deadpool_postgres::Object::take($client));
                }
                outcome
            }
            .await;
            match result {
                Ok(value) => break Ok(value),
                Err(connection::Failure::Retry(error)) => {
                    if !attempts.another().await {
                        break Err(error);
                    }
                    ::tracing::warn!(
                        store = "PostgresStore",
                        attempt = attempts.count(),
                        %error,
                        "PostgreSQL operation failed; retrying on a fresh connection"
                    );
                }
                Err(connection::Failure::Fail(error)) => break Err(error),
            }
        }
    }};
}
pub(super) use retrying;

/// The statements of the append path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hot {
    /// `Sql::append_one`.
    AppendOne,
    /// `Sql::append`.
    Append,
    /// `Sql::append_together`.
    AppendTogether,
    /// `Sql::append_untracked`.
    AppendUntracked,
    /// `Sql::append_in_group`.
    AppendInGroup,
}

impl Hot {
    /// How many there are.
    const COUNT: usize = 5;
}

/// The append path's statements as prepared on each connection, found by
/// the connection's id in the pool. deadpool's statement cache finds a
/// statement by hashing its whole text (SipHash, about two instructions a
/// byte: more than the rest of an append's client work but the driver's
/// own), on every call; the append statements run once per append.
///
/// Ids are unique in a pool and grow with each connection made, so an
/// entry never serves another connection than its own. Entries of
/// connections that were closed since stay until evicted, oldest id first,
/// once the cache holds one per statement and possible connection; an
/// entry evicted too early only sends its connection to deadpool's cache
/// again.
///
/// Generic only so that it can be tested without a server (neither
/// `ObjectId` nor `Statement` can be made by hand).
pub(super) struct HotStatements<K = ObjectId, V = Statement> {
    capacity: usize,
    prepared: Mutex<Vec<(K, Hot, V)>>,
}

impl<K: Copy + Ord, V: Clone> HotStatements<K, V> {
    /// A cache for a pool of at most `connections` connections.
    pub(super) fn new(connections: usize) -> Self {
        HotStatements {
            capacity: connections.max(1) * Hot::COUNT,
            prepared: Mutex::new(Vec::new()),
        }
    }

    fn get(&self, connection: K, hot: Hot) -> Option<V> {
        self.lock()
            .iter()
            .find(|(id, kind, _)| *id == connection && *kind == hot)
            .map(|(.., statement)| statement.clone())
    }

    fn keep(&self, connection: K, hot: Hot, statement: V) {
        let mut prepared = self.lock();
        if prepared.len() >= self.capacity {
            let oldest = prepared
                .iter()
                .enumerate()
                .min_by_key(|(_, (id, ..))| *id)
                .map(|(index, _)| index);
            if let Some(oldest) = oldest {
                prepared.swap_remove(oldest);
            }
        }
        prepared.push((connection, hot, statement));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(K, Hot, V)>> {
        // A list of prepared statements holds no invariant a panic could break.
        self.prepared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Connections for the store's own statements.
impl PostgresStore {
    /// A pooled connection, for work that must not be retried.
    pub(super) async fn client(&self) -> Result<Object, StoreError> {
        self.checkout()
            .await
            .map_err(|error| backend(BACKEND, error))
    }

    /// The append path's statement `hot`, prepared on `client` once (see
    /// `HotStatements`).
    pub(super) async fn prepare_hot(
        &self,
        client: &Object,
        hot: Hot,
    ) -> Result<Statement, tokio_postgres::Error> {
        let connection = Object::id(client);
        if let Some(statement) = self.inner.hot.get(connection, hot) {
            return Ok(statement);
        }
        let sql = &self.inner.sql;
        let text = match hot {
            Hot::AppendOne => &sql.append_one,
            Hot::Append => &sql.append,
            Hot::AppendTogether => &sql.append_together,
            Hot::AppendUntracked => &sql.append_untracked,
            Hot::AppendInGroup => &sql.append_in_group,
        };
        let statement = client.prepare_cached(text).await?;
        self.inner.hot.keep(connection, hot, statement.clone());
        Ok(statement)
    }

    /// Starts one of the store's queries and returns its rows as they come,
    /// with the connection they come on (keep it until the rows are read);
    /// starting is retried on a fresh connection when the connection fails.
    pub(super) async fn query_streaming(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<(Object, RowStream), StoreError> {
        let mut attempts = Attempts::new(self.inner.retry_budget);
        loop {
            let client = self
                .checkout()
                .await
                .map_err(|error| backend(BACKEND, error));
            let started = match client {
                Ok(client) => match client.prepare_cached(sql).await {
                    Ok(statement) => client
                        .query_raw(&statement, params.iter().copied())
                        .await
                        .map(|rows| (client, rows))
                        .map_err(Failure::from),
                    Err(error) => {
                        if client.is_closed() {
                            drop(Object::take(client));
                        }
                        Err(Failure::from(error))
                    }
                },
                Err(error) => Err(Failure::Retry(error)),
            };
            match started {
                Ok(started) => return Ok(started),
                Err(Failure::Retry(error)) => {
                    if !attempts.another().await {
                        return Err(error);
                    }
                    tracing::warn!(
                        store = "PostgresStore",
                        attempt = attempts.count(),
                        %error,
                        "PostgreSQL read failed to start; retrying on a fresh connection"
                    );
                }
                Err(Failure::Fail(error)) => return Err(error),
            }
        }
    }

    /// Runs one of the store's statements (prepared once per connection) and
    /// returns its rows (none for a write), again on a fresh connection when
    /// the connection fails.
    pub(super) async fn query_cached(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        retrying!(self, |client| {
            let statement = client.prepare_cached(sql).await?;
            Ok::<_, Failure>(client.query(&statement, params).await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_codes_are_connection_and_concurrency_failures() {
        for code in [
            SqlState::CONNECTION_FAILURE,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::T_R_SERIALIZATION_FAILURE,
        ] {
            assert!(is_transient_code(&code), "{code:?}");
        }
        for code in [
            SqlState::UNIQUE_VIOLATION,
            SqlState::SYNTAX_ERROR,
            SqlState::QUERY_CANCELED,
            SqlState::from_code("CH001"),
        ] {
            assert!(!is_transient_code(&code), "{code:?}");
        }
    }

    #[test]
    fn hot_statements_are_kept_per_connection_and_evicted_oldest_first() {
        let hot = HotStatements::<u32, &str>::new(1);
        assert_eq!(hot.get(1, Hot::AppendOne), None);
        hot.keep(1, Hot::AppendOne, "one on 1");
        hot.keep(1, Hot::Append, "append on 1");
        hot.keep(2, Hot::AppendOne, "one on 2");
        assert_eq!(hot.get(1, Hot::AppendOne), Some("one on 1"));
        assert_eq!(hot.get(1, Hot::Append), Some("append on 1"));
        assert_eq!(hot.get(2, Hot::AppendOne), Some("one on 2"));
        assert_eq!(hot.get(2, Hot::Append), None);
        assert_eq!(hot.get(3, Hot::AppendOne), None);
        // Full (5 statements for 1 connection): the oldest connection's go first.
        hot.keep(3, Hot::AppendOne, "one on 3");
        hot.keep(3, Hot::Append, "append on 3");
        hot.keep(3, Hot::AppendUntracked, "untracked on 3");
        assert_eq!(hot.lock().len(), 5);
        assert_eq!(hot.get(1, Hot::AppendOne), None);
        assert_eq!(hot.get(1, Hot::Append), Some("append on 1"));
        hot.keep(4, Hot::AppendTogether, "together on 4");
        assert_eq!(hot.get(1, Hot::Append), None);
        assert_eq!(hot.get(2, Hot::AppendOne), Some("one on 2"));
        assert_eq!(hot.get(4, Hot::AppendTogether), Some("together on 4"));
        assert_eq!(hot.lock().len(), 5);
    }

    #[test]
    fn backoff_grows_then_stays() {
        let delays: Vec<u64> = (0..7).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(delays, [0, 20, 100, 300, 800, 800, 800]);
    }

    #[test]
    fn attempts_last_the_budget_and_at_least_two() {
        let mut none = Attempts::new(Duration::ZERO);
        assert_eq!(none.delay(Duration::ZERO), Some(Duration::from_millis(20)));
        assert_eq!(none.delay(Duration::from_millis(20)), None);
        let mut attempts = Attempts::new(Duration::from_secs(5));
        let mut elapsed = Duration::ZERO;
        let mut count = 1;
        while let Some(delay) = attempts.delay(elapsed) {
            elapsed += delay;
            count += 1;
        }
        // 20 + 100 + 300 ms, then 800 ms apart up to 5 s.
        assert_eq!(count, 9);
        assert_eq!(elapsed, Duration::from_millis(4420));
    }

    #[test]
    fn configs_default_the_application_name_and_timeout() {
        let defaulted = config("postgres://u@localhost/db", "chronicle").unwrap();
        assert_eq!(defaulted.get_application_name(), Some("chronicle"));
        assert_eq!(
            defaulted.get_connect_timeout(),
            Some(&Duration::from_secs(10))
        );
        let given = config(
            "postgres://u@localhost/db?application_name=mine&connect_timeout=3",
            "chronicle",
        )
        .unwrap();
        assert_eq!(given.get_application_name(), Some("mine"));
        assert_eq!(given.get_connect_timeout(), Some(&Duration::from_secs(3)));
        assert!(config("not a url", "chronicle")
            .unwrap_err()
            .starts_with("invalid PostgreSQL URL"));
    }
}
