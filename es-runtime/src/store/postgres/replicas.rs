//! Read replicas: where stream reads and snapshot reads go, and the
//! read-your-writes rule (documented on `PostgresStore`, "Read replicas").
//!
//! The store counts the writes it acknowledged. A replica read needs the
//! replica to have replayed past the primary's WAL position read after the
//! last of them (the *fence*; read from the primary once per new write, when
//! a replica read first needs it). A replica known to be past the fence is
//! used at once; one that is not is asked again every few milliseconds until
//! the replica wait runs out, and then the read goes to the primary. Replicas
//! are taken in turn; a replica that fails, or that is not in recovery (a
//! promoted node, or an old primary cut off from the cluster), is passed
//! over for this read and the primary answers.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::{PgLsn, ToSql};
use tokio_postgres::{Row, RowStream};

use super::PostgresStore;

/// The primary's WAL flushed so far: past the commit of every write it
/// acknowledged (standbys receive flushed WAL only).
const PRIMARY_LSN: &str = "SELECT pg_catalog.pg_current_wal_flush_lsn()";
/// Whether a server is a standby, and how far it has replayed.
const REPLAYED: &str = "SELECT pg_catalog.pg_is_in_recovery(), pg_catalog.pg_last_wal_replay_lsn()";
/// How often a replica behind the fence is asked again.
const POLL: Duration = Duration::from_millis(5);

/// One replica: its pool, and the furthest WAL position it was seen to
/// have replayed.
struct Replica {
    pool: Pool,
    replayed: AtomicU64,
}

/// The store's replicas and what read-your-writes needs.
pub(super) struct Replicas {
    replicas: Vec<Replica>,
    next: AtomicUsize,
    /// How long a read waits for a replica to catch up.
    wait: Duration,
    /// Writes the store acknowledged.
    writes: AtomicU64,
    /// (writes counted, primary WAL position read after them).
    fence: Mutex<(u64, u64)>,
}

impl Replicas {
    pub(super) fn new(pools: Vec<Pool>, wait: Duration) -> Self {
        Replicas {
            replicas: pools
                .into_iter()
                .map(|pool| Replica {
                    pool,
                    replayed: AtomicU64::new(0),
                })
                .collect(),
            next: AtomicUsize::new(0),
            wait,
            writes: AtomicU64::new(0),
            fence: Mutex::new((0, 0)),
        }
    }

    /// Counts a write the store acknowledged.
    pub(super) fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }

    fn fence(&self) -> (u64, u64) {
        *self.fence.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn raise_fence(&self, writes: u64, lsn: u64) {
        let mut fence = self.fence.lock().unwrap_or_else(PoisonError::into_inner);
        *fence = (fence.0.max(writes), fence.1.max(lsn));
    }
}

fn lsn(row: &Row, index: usize) -> Option<u64> {
    row.try_get::<_, Option<PgLsn>>(index)
        .ok()
        .flatten()
        .map(u64::from)
}

impl PostgresStore {
    /// Counts an acknowledged write for read-your-writes.
    pub(super) fn wrote(&self) {
        if let Some(replicas) = &self.inner.replicas {
            replicas.wrote();
        }
    }

    /// A connection to a replica that has replayed every write this store
    /// acknowledged, or `None`: read from the primary.
    async fn replica_connection(&self) -> Option<Object> {
        let replicas = self.inner.replicas.as_ref()?;
        let writes = replicas.writes.load(Ordering::SeqCst);
        let (fenced, mut need) = replicas.fence();
        if fenced < writes {
            let row = self.query_cached(PRIMARY_LSN, &[]).await.ok()?;
            need = lsn(row.first()?, 0)?;
            replicas.raise_fence(writes, need);
        }
        let turn = replicas.next.fetch_add(1, Ordering::Relaxed);
        let replica = &replicas.replicas[turn % replicas.replicas.len()];
        let client = replica.pool.get().await.ok()?;
        if replica.replayed.load(Ordering::SeqCst) >= need {
            return Some(client);
        }
        let deadline = Instant::now() + replicas.wait;
        loop {
            let row = client.query_one(REPLAYED, &[]).await.ok()?;
            if !row.try_get::<_, bool>(0).ok()? {
                return None;
            }
            let replayed = lsn(&row, 1)?;
            replica.replayed.fetch_max(replayed, Ordering::SeqCst);
            if replayed >= need {
                return Some(client);
            }
            if Instant::now() + POLL > deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs one of the store's reads on a replica that has caught up with
    /// this store's writes, else on the primary.
    pub(super) async fn query_replica(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, crate::store::StoreError> {
        if let Some(client) = self.replica_connection().await {
            if let Ok(statement) = client.prepare_cached(sql).await {
                if let Ok(rows) = client.query(&statement, params).await {
                    return Ok(rows);
                }
            }
        }
        self.query_cached(sql, params).await
    }

    /// As [`query_streaming`](Self::query_streaming), on a replica that has
    /// caught up with this store's writes, else on the primary.
    pub(super) async fn stream_replica(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<(Object, RowStream), crate::store::StoreError> {
        if let Some(client) = self.replica_connection().await {
            if let Ok(statement) = client.prepare_cached(sql).await {
                if let Ok(rows) = client.query_raw(&statement, params.iter().copied()).await {
                    return Ok((client, rows));
                }
            }
        }
        self.query_streaming(sql, params).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fence_only_moves_forward() {
        let replicas = Replicas::new(Vec::new(), Duration::ZERO);
        assert_eq!(replicas.fence(), (0, 0));
        replicas.wrote();
        replicas.wrote();
        assert_eq!(replicas.writes.load(Ordering::SeqCst), 2);
        replicas.raise_fence(2, 100);
        // A reader that fetched its position earlier, for fewer writes.
        replicas.raise_fence(1, 50);
        assert_eq!(replicas.fence(), (2, 100));
        replicas.raise_fence(3, 120);
        assert_eq!(replicas.fence(), (3, 120));
    }
}
