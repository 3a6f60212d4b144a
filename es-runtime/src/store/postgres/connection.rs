//! Connections: the pool, which failures are worth another attempt, and the
//! one retry loop every operation of the store goes through.

use std::error::Error as StdError;
use std::time::Duration;

use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, RowStream};

use super::{PostgresStore, BACKEND};
use crate::store::encoding::backend;
use crate::store::error::StoreError;

/// Attempts per operation when connections fail.
pub(super) const ATTEMPTS: usize = 5;

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
pub(crate) fn pool(config: tokio_postgres::Config, max_size: usize) -> Result<Pool, String> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
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

/// Runs `$body` with a pooled client bound to `$client`, again on a fresh
/// connection when it fails with a transient error. `$body` evaluates to
/// `Result<T, Failure>`. A macro, not a function taking an async closure:
/// the store's futures must be `Send`, and a bound cannot yet say that of
/// the future an async closure returns.
macro_rules! retrying {
    ($store:expr, |$client:ident| $body:expr) => {{
        use $crate::store::postgres::connection;
        let mut attempt = 0;
        loop {
            let result: Result<_, connection::Failure> = async {
                #[allow(unused_mut)]
                let mut $client = $store.inner.pool.get().await?;
                let outcome = $body;
                if outcome.is_err() && $client.is_closed() {
                    drop(::deadpool_postgres::Object::take($client));
                }
                outcome
            }
            .await;
            match result {
                Ok(value) => break Ok(value),
                Err(connection::Failure::Retry(error)) if attempt + 1 < connection::ATTEMPTS => {
                    attempt += 1;
                    ::tracing::warn!(
                        store = "PostgresStore",
                        attempt,
                        %error,
                        "PostgreSQL operation failed; retrying on a fresh connection"
                    );
                    tokio::time::sleep(connection::backoff(attempt)).await;
                }
                Err(connection::Failure::Retry(error) | connection::Failure::Fail(error)) => {
                    break Err(error)
                }
            }
        }
    }};
}
pub(super) use retrying;

/// Connections for the store's own statements.
impl PostgresStore {
    /// A pooled connection, for work that must not be retried.
    pub(super) async fn client(&self) -> Result<Object, StoreError> {
        self.inner
            .pool
            .get()
            .await
            .map_err(|error| backend(BACKEND, error))
    }

    /// Starts one of the store's queries and returns its rows as they come,
    /// with the connection they come on (keep it until the rows are read);
    /// starting is retried on a fresh connection when the connection fails.
    pub(super) async fn query_streaming(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<(Object, RowStream), StoreError> {
        let mut attempt = 0;
        loop {
            let client = self
                .inner
                .pool
                .get()
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
                Err(Failure::Retry(error)) if attempt + 1 < ATTEMPTS => {
                    attempt += 1;
                    tracing::warn!(
                        store = "PostgresStore",
                        attempt,
                        %error,
                        "PostgreSQL read failed to start; retrying on a fresh connection"
                    );
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(Failure::Retry(error) | Failure::Fail(error)) => return Err(error),
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
    fn backoff_grows_then_stays() {
        let delays: Vec<u64> = (0..7).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(delays, [0, 20, 100, 300, 800, 800, 800]);
        assert!(ATTEMPTS <= delays.len());
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
