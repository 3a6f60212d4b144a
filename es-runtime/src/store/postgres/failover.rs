//! Appends whose outcome was lost, and how they are settled.
//!
//! An append is *in doubt* when its statement reached the server but its
//! answer cannot be trusted: the connection or the server failed before
//! answering, no answer came within the commit timeout (a primary cut off
//! from its synchronous standby holds every commit), or the server answered
//! success after ending the commit's wait for synchronous replication early
//! (a warning: that commit is local only and is lost when the node is
//! rewound). Such an answer is never reported as written. The append is sent
//! again, on a fresh connection, which may reach a new primary; when its
//! checks then find the stream moved, the decision reads what is stored in a
//! transaction whose own commit must be acknowledged by the synchronous
//! standby first, so that events seen there survive a failover: the append
//! is then reported as already written (`written: false`) only if its own
//! event ids are stored, written again if they are not, and never written
//! twice (a stream version is unique).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use deadpool_postgres::{Object, PoolError, TimeoutType, Timeouts};

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::connection::{is_transient, retrying, Failure};
use super::{PostgresStore, BACKEND};
use crate::store::error::StoreError;

/// Makes the transaction write WAL (a transactional logical-decoding
/// message of a few bytes, which needs no table and no privilege), so that
/// its commit waits for the synchronous standby to confirm everything before
/// it. Only taking a transaction id is not enough: PostgreSQL commits a
/// transaction that wrote no WAL without waiting for the standby.
const WRITE_WAL: &str = "SELECT pg_catalog.pg_logical_emit_message(true, 'chronicle', ''::text)";

/// An in-doubt failure: retried on a fresh connection (the one it came on is
/// dropped: it may still be waiting for a standby).
fn doubtful(reason: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Failure {
    Failure::Retry(StoreError::InDoubt {
        backend: BACKEND,
        source: reason.into(),
    })
}

/// Whether a failed statement may have committed: the connection or the
/// server went away before answering (no SQLSTATE, class 08, or a shutdown).
fn outcome_unknown(error: &tokio_postgres::Error) -> bool {
    match error.code() {
        None => is_transient(error),
        Some(code) => {
            let code = code.code();
            code.starts_with("08") || code.starts_with("57P")
        }
    }
}

impl PostgresStore {
    /// Awaits a statement that commits (an append in its own implicit
    /// transaction), bounded by the commit timeout. Its result is returned
    /// as is when the outcome is certain; otherwise `in_doubt` is set and the
    /// attempt fails as in doubt (retried within the budget).
    pub(super) async fn committed<T>(
        &self,
        in_doubt: &mut bool,
        statement: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<Result<T, tokio_postgres::Error>, Failure> {
        let warnings = self.inner.commit_warnings.seen();
        let Some(result) = self.within_commit_timeout(statement).await else {
            *in_doubt = true;
            return Err(doubtful(format!(
                "no answer to the commit within {:?}: the primary may be cut off from its synchronous standby",
                self.inner.commit_timeout
            )));
        };
        match &result {
            Ok(_) if self.inner.commit_warnings.seen() != warnings => {
                *in_doubt = true;
                Err(doubtful(
                    "the server ended the commit's wait for synchronous replication early",
                ))
            }
            Err(error) if outcome_unknown(error) => {
                *in_doubt = true;
                Ok(result)
            }
            _ => Ok(result),
        }
    }

    /// Runs one of the store's reads (after `first`, a statement without
    /// parameters, if given) in a transaction that commits through the
    /// synchronous standby, bounded by the commit timeout: rows it returns
    /// are on a standby that a failover promotes. For settling an in-doubt
    /// append, and for log reads through a multi-host URL.
    pub(super) async fn query_durable(
        &self,
        first: Option<&str>,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        retrying!(self, |client| {
            let warnings = self.inner.commit_warnings.seen();
            let transaction = client.transaction().await?;
            transaction.execute(WRITE_WAL, &[]).await?;
            if let Some(first) = first {
                let statement = transaction.prepare_cached(first).await?;
                transaction.query(&statement, &[]).await?;
            }
            let statement = transaction.prepare_cached(sql).await?;
            let rows = transaction.query(&statement, params).await?;
            match self.within_commit_timeout(transaction.commit()).await {
                None => Err(doubtful(format!(
                    "settling: no answer to the commit within {:?}",
                    self.inner.commit_timeout
                ))),
                Some(Err(error)) => Err(Failure::from(error)),
                Some(Ok(())) if self.inner.commit_warnings.seen() != warnings => Err(doubtful(
                    "settling: the server ended the commit's wait for synchronous replication early",
                )),
                Some(Ok(())) => Ok(rows),
            }
        })
    }

    /// Awaits `commit`, bounded by the commit timeout; `None` when no
    /// answer came in time, after forgetting every connection (a primary
    /// cut off from its synchronous standby never answers; see
    /// `forget_connections`). Every path that commits goes through here.
    pub(super) async fn within_commit_timeout<T>(
        &self,
        commit: impl Future<Output = T>,
    ) -> Option<T> {
        let answer = tokio::time::timeout(self.inner.commit_timeout, commit).await;
        if answer.is_err() {
            self.forget_connections();
        }
        answer.ok()
    }

    /// Forgets every connection made so far (idle ones now, busy ones when
    /// next checked out): after a commit went unanswered, new connections
    /// look for a primary that can commit (see `cluster`), and reads stop
    /// going to a primary that no longer is one.
    pub(super) fn forget_connections(&self) {
        self.inner.forgotten.set(Instant::now());
        self.inner.pool.retain(|_, _| false);
    }

    /// A pooled connection made after the last time the store forgot its
    /// connections.
    pub(super) async fn checkout(&self) -> Result<Object, PoolError> {
        loop {
            let client = self.pooled().await?;
            if self
                .inner
                .forgotten
                .covers(Object::metrics(&client).created)
            {
                drop(Object::take(client));
                continue;
            }
            return Ok(client);
        }
    }
}

impl PostgresStore {
    /// A connection from the pool: one that is free at once when there is
    /// one (or room to open one), else the first freed, waiting up to the
    /// pool's wait timeout. Asking without waiting first spares the common
    /// case the timer of that wait, which the pool sets up before it looks.
    async fn pooled(&self) -> Result<Object, PoolError> {
        let pool = &self.inner.pool;
        let at_once = Timeouts {
            wait: Some(Duration::ZERO),
            ..pool.timeouts()
        };
        match pool.timeout_get(&at_once).await {
            Err(PoolError::Timeout(TimeoutType::Wait)) => pool.get().await,
            pooled => pooled,
        }
    }
}

/// When the store last forgot its connections.
#[derive(Debug, Default)]
pub(super) struct Forgotten {
    /// Whether it ever did: until then a checkout needs no lock.
    ever: AtomicBool,
    at: Mutex<Option<Instant>>,
}

impl Forgotten {
    fn set(&self, at: Instant) {
        *self.at.lock().unwrap_or_else(PoisonError::into_inner) = Some(at);
        self.ever.store(true, Ordering::Release);
    }

    /// Whether a connection made at `created` was forgotten.
    fn covers(&self, created: Instant) -> bool {
        self.ever.load(Ordering::Acquire)
            && self
                .at
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_some_and(|at| created <= at)
    }
}

/// The error an append ends with: after an in-doubt attempt, a failure of
/// the database (the budget spent) says the outcome is unknown.
pub(super) fn settle_error(in_doubt: bool, error: StoreError) -> StoreError {
    match error {
        StoreError::Backend { source, .. } if in_doubt => StoreError::InDoubt {
            backend: BACKEND,
            source,
        },
        other => other,
    }
}

/// Whether a failure means the connection it came on must not be reused.
pub(super) fn discards_connection(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::Retry(StoreError::InDoubt { .. }) | Failure::Fail(StoreError::InDoubt { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_backend_failures_become_in_doubt() {
        let refused = || crate::store::encoding::backend(BACKEND, "refused");
        assert!(matches!(
            settle_error(false, refused()),
            StoreError::Backend { .. }
        ));
        let settled = settle_error(true, refused());
        assert!(matches!(settled, StoreError::InDoubt { .. }), "{settled}");
        assert!(settled
            .to_string()
            .contains("outcome of the append unknown"));
        let conflict = settle_error(
            true,
            StoreError::Conflict {
                stream_id: uuid::Uuid::nil(),
                expected: 1,
                actual: 2,
            },
        );
        assert!(matches!(conflict, StoreError::Conflict { .. }));
        assert!(discards_connection(&doubtful("x")));
        assert!(!discards_connection(&Failure::Retry(
            crate::store::encoding::backend(BACKEND, "x")
        )));
    }

    #[test]
    fn forgetting_covers_connections_made_until_then() {
        let forgotten = Forgotten::default();
        let before = Instant::now();
        assert!(!forgotten.covers(before));
        forgotten.set(Instant::now());
        assert!(forgotten.covers(before));
        assert!(!forgotten.covers(Instant::now() + std::time::Duration::from_millis(1)));
    }
}
