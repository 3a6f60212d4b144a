//! The PostgreSQL event store (feature `postgres`), documented on
//! [`PostgresStore`]. This module holds the store, its options, the schema
//! name rule and the capabilities; the work is split by concern:
//!
//! - `statements`: every statement, and the set-up script (`schema.sql`)
//!   rendered for the schema;
//! - `connection`: the pool, transient failures and the retry loop;
//! - `cluster`: connecting to a replicated cluster (hosts in order, a primary
//!   that can commit preferred, commit warnings watched);
//! - `failover`: appends whose outcome was lost, and how they are settled;
//! - `replicas`: reads from read replicas, read-your-writes;
//! - `rows`: column types and row decoding;
//! - `append`: the append fast path and the second look after a failed check;
//! - `notify`: `LISTEN` for followers' wake-ups;
//! - `read_models`: projections' SQL with their tracking records;
//! - `held`: a test hook (feature `test-hooks`).

mod append;
mod cluster;
mod connection;
mod failover;
mod group;
#[cfg(feature = "test-hooks")]
mod held;
mod notify;
mod read_models;
mod replicas;
mod rows;
mod statements;

use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use futures_util::TryStreamExt;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use self::cluster::{ClusterConnect, CommitWarnings};
use self::connection::{cluster_pool, retrying, Failure, HotStatements, DEFAULT_RETRY_BUDGET};
use self::failover::Forgotten;
use self::group::GroupCommit;
use self::notify::Listener;
use self::replicas::Replicas;
use self::rows::{
    events_from_rows, snapshot_from_row, split_payload, EventDecoder, FoldDecoder, JsonColumn,
    PgTime,
};
use self::statements::{Sql, LATEST_LAYOUT};
use super::capability::{LogStore, ReadModelStore, SnapshotStore, StreamStore, TrackingStore};
use super::encoding::{
    backend, check_snapshot_fits, last_position_from_db, to_db, tracked_from_db,
};
use super::error::StoreError;
use super::layout::{plan, LayoutPlan};
use super::record::{EventRef, StoredEvent};
use super::request::{AppendOutcome, AppendRequest, LogQuery, Snapshot, StreamQuery, Tracking};

pub(crate) use self::connection::config;
#[cfg(feature = "encryption")]
pub(crate) use self::connection::pool;

/// How long an append waits for its commit unless the builder says otherwise.
const DEFAULT_COMMIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a read waits for a replica to catch up unless the builder says otherwise.
const DEFAULT_REPLICA_WAIT: Duration = Duration::from_millis(100);
/// Connections per replica pool.
const REPLICA_CONNECTIONS: usize = 8;

/// The driver this store uses, for connecting by hand with the same version.
pub use tokio_postgres;

const BACKEND: &str = "postgres";

/// Events a log read makes room for before its rows arrive: a usual page.
const LOG_PAGE_ROOM: usize = 1_000;

/// The schema used unless configured (also by the PostgreSQL key store).
pub(crate) const DEFAULT_SCHEMA: &str = "chronicle";

/// Options for connecting a [`PostgresStore`].
#[derive(Debug, Clone)]
pub struct PostgresStoreBuilder {
    url: String,
    schema: String,
    max_connections: usize,
    application_name: Option<String>,
    migrate: bool,
    retry_budget: Duration,
    commit_timeout: Duration,
    replicas: Vec<String>,
    replica_wait: Duration,
}

impl PostgresStoreBuilder {
    /// The schema holding the tables (default `chronicle`): 1 to 63 of
    /// `a-z`, `0-9`, `_`, not starting with a digit. Created if missing.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The most connections the pool opens (default 8).
    pub fn max_connections(mut self, count: usize) -> Self {
        self.max_connections = count.max(1);
        self
    }

    /// The `application_name` the connections report (default: the URL's,
    /// else `chronicle`).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// Whether connecting to a schema written with an older layout upgrades
    /// it in place (the default), or refuses with [`StoreError::Layout`],
    /// changing nothing: for deployments that migrate in a step of their
    /// own.
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// How long an operation keeps trying on fresh connections after
    /// connection failures and in-doubt commits before it returns the error
    /// (default 40 s). In a replicated cluster, make it longer than a
    /// failover takes (Patroni: about its `ttl` plus `loop_wait`), so that
    /// calls ride out a failover instead of failing. It also bounds how
    /// long [`connect`](Self::connect) keeps trying a server that is down.
    pub fn retry_budget(mut self, budget: Duration) -> Self {
        self.retry_budget = budget;
        self
    }

    /// How long an append waits for its commit before its outcome counts as
    /// unknown (default 10 s): the connection is dropped and the append is
    /// settled by its event ids within the retry budget (see "Replicated
    /// clusters" on [`PostgresStore`]). A primary cut off from its
    /// synchronous standby holds every commit; this bound is what keeps a
    /// writer from waiting on it forever. Make it longer than your largest
    /// append takes.
    pub fn commit_timeout(mut self, timeout: Duration) -> Self {
        self.commit_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Adds a read replica (a standby of the primary's cluster; its URL may
    /// list several hosts, tried in order). Stream reads, aggregate loads
    /// and snapshot reads then go to the replicas in turn, with
    /// read-your-writes (see "Read replicas" on [`PostgresStore`]); the
    /// log, tracking records and read models are read from the primary.
    pub fn replica(mut self, url: impl Into<String>) -> Self {
        self.replicas.push(url.into());
        self
    }

    /// How long a read waits for a replica to replay this store's last
    /// write before it reads from the primary instead (default 100 ms).
    pub fn replica_wait(mut self, wait: Duration) -> Self {
        self.replica_wait = wait;
        self
    }

    /// Connects, creates the schema, tables and functions if missing and
    /// migrates an older layout (safe when several processes start at once:
    /// they take turns, and only the first migrates).
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        check_schema_name(&self.schema).map_err(StoreError::Config)?;
        let mut config = config(&self.url, "chronicle").map_err(StoreError::Config)?;
        if let Some(name) = &self.application_name {
            config.application_name(name);
        }
        let sql = Sql::new(&self.schema);
        let listener = Listener::new(config.clone(), sql.listen.clone());
        let commit_warnings = CommitWarnings::default();
        // Several hosts: a replicated cluster, whose primary should be one
        // that can commit.
        let cluster = config.get_hosts().len() > 1;
        let connect = ClusterConnect::new(&config, cluster, commit_warnings.clone());
        let pool =
            cluster_pool(config, connect, self.max_connections).map_err(StoreError::Config)?;
        let mut replica_pools = Vec::with_capacity(self.replicas.len());
        for url in &self.replicas {
            let mut replica = self::connection::config(url, "chronicle")
                .map_err(|error| StoreError::Config(format!("replica {error}")))?;
            if let Some(name) = &self.application_name {
                replica.application_name(name);
            }
            let connect = ClusterConnect::new(&replica, false, commit_warnings.clone());
            replica_pools.push(
                cluster_pool(replica, connect, REPLICA_CONNECTIONS).map_err(StoreError::Config)?,
            );
        }
        let replicas =
            (!replica_pools.is_empty()).then(|| Replicas::new(replica_pools, self.replica_wait));
        let mut store = PostgresStore {
            inner: Arc::new(Inner {
                pool,
                sql,
                schema: self.schema,
                json_payloads: false,
                listener,
                retry_budget: self.retry_budget,
                commit_timeout: self.commit_timeout,
                commit_warnings,
                forgotten: Forgotten::default(),
                cluster,
                replicas,
                group: GroupCommit::default(),
                hot: HotStatements::new(self.max_connections),
                listen_turn: AtomicU32::new(0),
            }),
        };
        let json_payloads = store.set_up(self.migrate).await?;
        if let Some(inner) = Arc::get_mut(&mut store.inner) {
            inner.json_payloads = json_payloads;
        }
        Ok(store)
    }
}

/// The schema-name rule of the event and key stores: 1 to 63 of `a-z`,
/// `0-9`, `_`, not starting with a digit or `pg_`, a plain identifier that
/// needs no quoting and is safe to put into SQL. The error says so.
pub(crate) fn check_schema_name(schema: &str) -> Result<(), String> {
    let mut chars = schema.chars();
    let plain = !schema.is_empty()
        && schema.len() <= 63
        && chars
            .next()
            .is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with("pg_");
    if plain {
        Ok(())
    } else {
        Err(format!(
            "invalid PostgreSQL schema name {schema:?}: use 1 to 63 of a-z, 0-9 and _, not starting with a digit or pg_"
        ))
    }
}

/// 64-bit FNV-1a: a stable hash (the same in every process and version),
/// for names derived from the schema.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// This store's 16-bit advisory-lock namespace: FNV-1a of the schema name,
/// folded. Every process using the schema must compute the same.
fn namespace(schema: &str) -> u16 {
    let hash = fnv1a(format!("chronicle:{schema}").as_bytes());
    (hash ^ (hash >> 16) ^ (hash >> 32) ^ (hash >> 48)) as u16
}

/// An event store in a PostgreSQL schema (feature `postgres`): events,
/// snapshots, tracking records and read models, through tokio-postgres with a
/// deadpool connection pool. Needs a tokio runtime. Cloning is cheap and
/// shares the pool.
///
/// # Reading the log without gaps, writers in parallel
/// Positions come from a sequence, so they are allocated when a transaction
/// inserts but become visible when it commits: a reader that moved past the
/// highest position it saw would skip a lower position that commits later.
/// Instead of serialising writers (`LOCK TABLE`) or guessing with timeouts,
/// every reader stops at an **in-flight horizon**:
///
/// * **Writers.** Every append statement (`chronicle_append`, one PL/pgSQL
///   call; the plain statement of a single event; the plain statement of a
///   group, or `chronicle_append_together` for a group that tracks; each
///   one round trip, one implicit transaction) first reads the sequence's
///   last allocated value `L` and takes a *shared*, transaction-scoped
///   advisory lock whose key encodes this store's namespace (16 bits hashed
///   from the schema name) and `L` (48 bits). Only then does it call `nextval`, so every position it
///   allocates is greater than `L`. The lock is released when the transaction
///   ends, after its commit is visible to new snapshots. Shared locks never
///   block each other, so writers to different streams run in parallel.
/// * **Readers.** `chronicle_horizon()` reads, in this order, `S` = the
///   sequence's last allocated value, then `M` = the smallest `L` among this
///   namespace's advisory locks in `pg_locks` (current database). The horizon
///   is `min(S, M)`. Log reads then read rows with `position <= horizon` in
///   a *later statement*, hence a snapshot taken after the horizon was
///   computed: `chronicle_last_position` inside one VOLATILE PL/pgSQL
///   function (a fresh snapshot per statement at READ COMMITTED; the
///   functions refuse to run at any other isolation level); `read_log` as
///   two statements pipelined on one connection, `chronicle_mark_horizon()`
///   keeping the horizon in a session setting that the plain `SELECT` after
///   it reads, so that rows stream without being collected by a function.
///
/// **Invariant: every position at or below the horizon belongs to a
/// transaction that had committed or aborted before the reading snapshot was
/// taken.** Take a writer W with a position p <= horizon. W took its lock
/// before allocating p. If the lock scan saw the lock, `M <= L_W < p`, a
/// contradiction. If W took its lock after the scan, it allocated p after `S`
/// was read, so `p > S`, a contradiction. So W had released its lock, that is
/// ended, before the scan, and the snapshot taken after the scan sees its
/// commit. Hence a reader that resumes after the last position it saw never
/// skips an event, and never sees one twice. Aborted appends leave holes in
/// the positions, which are permanent and harmless.
///
/// The cost: an append transaction that stays open holds the horizon of every
/// reader of this schema (only this schema's appends count, not unrelated
/// transactions). Readers poll `pg_locks`, which is cheap at follower polling
/// rates. Read the log from the primary: a replica does not show the
/// primary's locks. The key space allows 2^48 positions.
///
/// # Appends
/// `chronicle_append` checks every stream's version (and the tracking
/// record) and inserts all events with one multi-row `INSERT ... SELECT FROM
/// unnest(...)`. An append of one event to one stream without a tracking
/// record is first sent as one plain guarded single-row `INSERT`, without
/// PL/pgSQL, whose condition (the floor's lock taken, the stream holds the
/// expected version) is its check; when it writes nothing,
/// `chronicle_append` decides. Appends that arrive while another commits
/// share one statement guarded the same way for all their streams, or one
/// `chronicle_append_together` call when one of them is tracked (see the
/// group commit in `group.rs`). When a check fails, or a concurrent writer
/// took the same version (unique violation on `(stream_id, version)`), nothing is written
/// and the store reads the streams once more, in one statement and one
/// snapshot, and decides with the same rules as every other store: a
/// conflict, a tracking conflict, an idempotent retry (`written: false`), or
/// a fresh attempt when the stream has moved to the expected version since.
///
/// Measured on a 2-core VM against a local PostgreSQL 15 (release build):
/// one task appending one event at a time 3.2k events/s, 8 tasks at once 10k/s
/// (writers do not serialise), 100 events per append 138k/s; reading the log
/// in pages of 1,000 350k/s, loading a stream 940k/s.
///
/// # Connections
/// Connections that fail (a terminated backend, a restarted server, a
/// network error) are dropped from the pool and the call is retried on a
/// fresh connection, with a short backoff (up to 800 ms apart), for as long
/// as the retry budget lasts ([`PostgresStoreBuilder::retry_budget`],
/// default 40 s). Every operation is safe to retry: appends are idempotent by
/// event id. (An append with a tracking record whose commit was lost with the
/// connection comes back as a tracking conflict, which says the same: already
/// done.) Connections use no TLS. A `PostgresKeyStore` (feature `encryption`)
/// made with `PostgresKeyStore::for_store` shares the pool and the schema.
///
/// # Replicated clusters
/// A URL may list several hosts, `postgres://u@h1:5432,h2:5432,h3:5432/db?target_session_attrs=read-write`;
/// each new connection tries them in order and takes the first read-write
/// one that has a synchronous standby streaming from it (in
/// `pg_stat_replication`, which needs a superuser or `pg_monitor`), or,
/// when none has, the first read-write one. After a failover the store finds
/// the new primary by itself: calls retry within the retry budget, so set it
/// longer than your failover takes. What the store guarantees, with the
/// cluster in *strict synchronous* replication (Patroni's
/// `synchronous_mode_strict`, or `synchronous_standby_names` with
/// `synchronous_commit = on` or stronger, and failover only to a synchronous
/// standby):
///
/// * **An append reported written survives a failover.** A commit is
///   acknowledged only once the synchronous standby has it. An append whose
///   answer was lost is *in doubt*: the connection or server failed after it
///   was sent; no answer came within the commit timeout
///   ([`PostgresStoreBuilder::commit_timeout`], default 10 s: a primary cut
///   off from its standby holds every commit, and PostgreSQL's
///   `statement_timeout` does not end that wait); or the server answered
///   success with the warning that it cancelled the wait for synchronous
///   replication (that commit is local only, and is lost when the node is
///   rewound). The store never reports such an append as written and never
///   cancels a commit's wait itself. It forgets its connections (a new
///   connection looks for a primary that can commit) and sends the append
///   again. If the stream has moved, it decides by the event ids, from a read
///   made in a transaction whose own commit the synchronous standby must
///   confirm: the append is reported as already written (`written: false`)
///   when its events are there, written when they are not, and never written
///   twice (versions are unique per stream). Appends committed together
///   (group commit) are bounded and checked the same way; one whose
///   group's outcome was lost decides the same way, from the confirmed read
///   when the URL lists several hosts. If the budget runs out first,
///   the append fails with [`StoreError::InDoubt`]; saving the same changes
///   again settles it the same way.
/// * **No position is reissued, none is skipped by a follower.** Positions
///   come from a sequence whose WAL record precedes every commit that uses
///   it, so a promoted standby continues above every acknowledged position.
///   Followers read the log **from the primary**: the in-flight horizon needs
///   the primary's `pg_locks`, which standbys do not see (a standby would
///   let a follower pass an append still in flight on the primary). With a
///   multi-host URL each log read also runs in a
///   transaction whose commit the synchronous standby confirms, so a
///   follower never reads an event that a failover then loses (such as the
///   locally committed one of a cancelled wait on a cut-off primary). The
///   cost: each log read commits a few bytes of WAL and waits for the
///   standby, and followers pause while the primary cannot commit.
///
/// Without synchronous replication, a failover may lose acknowledged
/// appends (the standby had not received them), the promoted node may
/// reissue their positions, and a follower that read them will not see the
/// events that take those positions: use strict synchronous replication.
/// Also not covered: a network partition that leaves a TCP connection
/// hanging (set `keepalives` and `tcp_user_timeout` in the URL), the
/// follower wake-up connection (`LISTEN`), which may stay on a cut-off
/// primary until it fails (followers then poll), and the schema's set-up
/// and read-model writes, which are retried but not settled as appends are.
///
/// # Read replicas
/// [`PostgresStoreBuilder::replica`] adds standbys to read from. Stream
/// reads, aggregate loads ([`StreamStore::read_stream`],
/// [`StreamStore::fold_stream`]) and snapshot reads go to them in turn; the
/// log, tracking records, read models and the decisions of appends stay on
/// the primary. **Read-your-writes:** a read through this store (or any
/// clone of it, so any `Application` built on it) sees every append and
/// snapshot the store acknowledged before the read began. After a write,
/// the first replica read fetches the primary's flushed WAL position (one
/// round trip); a replica is used once it has replayed past it. A replica
/// that has not is asked again every 5 ms for at most the replica wait
/// ([`PostgresStoreBuilder::replica_wait`], default 100 ms), then the read
/// goes to the primary. A replica that fails, or that is not in recovery
/// (promoted, or an old primary cut off from the cluster), is passed over
/// and the primary answers. Writes made by other processes are seen as the
/// replica replays them (no cross-process guarantee).
///
/// # Read models: parameters and results
/// [`SqlValue`](crate::SqlValue) parameters are bound as the type the server
/// infers for each `$N`: an `Integer` as `bigint`, `integer`, `smallint`
/// (when it fits), `double precision` or `boolean` (0 or 1); a `Real` as
/// `double precision` or `real`; `Text` as `text`, `varchar`, `char`, `name`,
/// `json`, `jsonb` or `uuid` (when it parses); a `Blob` as `bytea`; `Null` as
/// NULL of any type. Any other pairing is a [`StoreError::ModelStatement`]
/// naming the statement: cast the parameter (`$1::text`). Result columns come
/// back as `Integer` (integer types, `boolean` as 0/1, `numeric` whole
/// numbers that fit), `Real` (floats, other `numeric` values), `Text` (text
/// types, `json`, `jsonb`, `uuid`), `Blob` (`bytea`) or `Null`; any other
/// column type is an error naming the column: cast it in the query.
///
/// # Notifications
/// Appends notify the schema's channel, `chronicle_events_<schema>` (or
/// `chronicle_events_` and a hash of the schema when that is longer than
/// 63 bytes), with the last position they wrote, **while a listener is
/// registered**; PostgreSQL delivers a notification when (and only if) the
/// append commits. A notification costs the server work at every append and,
/// at commit, a lock that the commits of all notifying transactions of the
/// cluster take in turn, through their WAL flush: appends without listeners
/// skip it.
///
/// * **Listeners.** The first [`LogStore::wait_for_events`] call starts a
///   task that holds one dedicated connection (not from the pool) and calls
///   `SELECT <schema>.chronicle_listen()`, which takes a *shared session*
///   advisory lock on each of the schema's 16 registry keys, waiting if it
///   must, then `LISTEN`s on the channel. The keys are the int4 pairs
///   `(1667789361, namespace + 65536 * slot)`, slot 0 to 15, in the schema's
///   namespace (as for the in-flight horizon above); the pair form shows
///   `objsubid = 2` in `pg_locks`, so the horizon, which reads the floors'
///   `objsubid = 1`, never mistakes one for a floor (the set-up lock is
///   the pair `(1667789360, namespace)`). The task publishes the highest
///   notified position, and each time `LISTEN` is established a new epoch,
///   on which waiters wake and followers read the log again. When the
///   connection drops (its locks go with it), the task reconnects with
///   backoff (50 ms doubling up to 5 s), to the new primary after a
///   failover; meanwhile waiters wake at their timeout, which is polling.
///   A notified position may still be above the in-flight horizon: a
///   waiter only needs the wake-up. The task ends when the last clone of the
///   store is dropped.
/// * **Appends.** Before it notifies, an append tries, without waiting, an
///   *exclusive* transaction-scoped lock on one registry key (a plain
///   single-event append takes the slots in turn, the functions by backend
///   pid): refused, a listener holds or awaits the key (or another append
///   of the same slot holds it) and the append notifies; taken, no listener
///   was registered or registering, and the append does not notify.
/// * **No wake-up is missed.** An append that took its key holds it until
///   it ends, after its commit is visible. A listener that registers later
///   waits for it, and only then `LISTEN`s and starts a new epoch: the
///   followers' read after that sees the append. Every append that tries its
///   key after the listener took it notifies: if it commits after the
///   `LISTEN` did, the notification is delivered; if before, the read after
///   the new epoch sees it. The try costs an append about 1k server
///   instructions, and about as much again to release the lock at commit,
///   in place of a notification's work (about 2k in `pg_notify` and at
///   commit, plus the expression's set-up in the statement, and the
///   executor start of a `PERFORM` in the functions). Measured without a
///   listener: `chronicle_append_together` of 4 events about 10k server
///   instructions fewer per call (2%); the single-event statement about 5k
///   fewer (4%), which dropping its CTE accounts for (the try costs about
///   what the notification did), and its commit no longer takes the
///   cluster-wide notification lock, which the commits of concurrent
///   appends (of every schema and database) would otherwise take in turn.
///   A listener waits at most for the appends in flight when it registers,
///   one per slot: while it waits for a key, appends are refused that key.
/// * **Listening yourself.** The channel is public: a session of your own
///   that `LISTEN`s on it must register first, or it hears only what appends
///   send while some store's listener is registered. Call
///   `SELECT <schema>.chronicle_listen()` instead of `LISTEN` (outside an
///   open transaction, or commit it: `LISTEN` takes effect at commit); the
///   registration lasts until the session ends (or
///   `pg_advisory_unlock_all()`), and a session that stops listening but
///   stays registered only makes appends notify for nothing. It may wait
///   for appends in flight (an append transaction left open holds it up),
///   and holds 16 entries of the server's shared lock table.
/// * **Rolling upgrades.** Processes of earlier versions always notify, and
///   their listeners do not register: while no process of this version
///   listens on the schema, appends of this version (and, once a process of
///   this version has set the schema up, the functions that earlier
///   processes call) send nothing to them, and their followers wake at their
///   polling interval ([`SubscriptionOptions::poll_interval`], default
///   100 ms) until they are upgraded. They miss no event: only the latency
///   changes.
///
/// [`SubscriptionOptions::poll_interval`]: crate::SubscriptionOptions::poll_interval
///
/// # Layout (version 3, in schema `chronicle` unless configured)
/// ```sql
/// CREATE TABLE events (
///     position       bigint PRIMARY KEY,   -- from events_position_seq
///     stream_id      uuid NOT NULL,
///     version        bigint NOT NULL,
///     event_id       uuid NOT NULL,
///     event_type     text NOT NULL,
///     schema_version bigint NOT NULL,
///     recorded_at    timestamptz NOT NULL, -- microseconds, exact
///     metadata       jsonb,                -- NULL when empty
///     payload        json,                 -- the payload when it is JSON ...
///     payload_bytes  bytea,                -- ... else its bytes
///     aggregate_type text,                 -- NULL for events of layout 1 not typed since
///     chain_hash     bytea,                -- 32 bytes with hash chains (crate::chain), else NULL
///     UNIQUE (stream_id, version));
/// CREATE TABLE snapshots (stream_id uuid, version bigint, snapshot_type text,
///     schema_version bigint, recorded_at timestamptz, payload json,
///     payload_bytes bytea, PRIMARY KEY (stream_id, version));
/// CREATE TABLE tracking (consumer text PRIMARY KEY, position bigint NOT NULL);
/// CREATE TABLE layout (version integer PRIMARY KEY, applied_at timestamptz,
///     description text);                   -- one row per layout version reached
/// ```
/// Connecting to a schema of an older layout migrates it under the schema's
/// set-up lock (see [`PostgresStoreBuilder::migrate`]).
/// A JSON payload goes into a `json` column, which keeps its text exactly
/// (so it reads back byte for byte, unlike `jsonb`) and still answers psql's
/// JSON operators: `SELECT payload->>'name' FROM chronicle.events`. Other
/// payloads (and every payload in a database whose encoding is not UTF-8) go
/// into `payload_bytes`.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    sql: Sql,
    schema: String,
    /// False when the database encoding is not UTF-8: every payload is bytes.
    json_payloads: bool,
    /// LISTEN for new events, started by the first waiter.
    listener: Listener,
    /// How long operations keep trying after transient failures.
    retry_budget: Duration,
    /// How long an append waits for its commit.
    commit_timeout: Duration,
    /// The synchronous-replication warnings the connections received.
    commit_warnings: CommitWarnings,
    /// Connections made before this are not used again.
    forgotten: Forgotten,
    /// The URL names several hosts: log reads are confirmed by the
    /// synchronous standby.
    cluster: bool,
    /// Read replicas, if any.
    replicas: Option<Replicas>,
    /// Concurrent appends, committed together.
    group: GroupCommit,
    /// The append path's statements, by connection.
    hot: HotStatements,
    /// The next listener-registry slot a single-event append takes
    /// (`Sql::listen_key`).
    listen_turn: AtomicU32,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Options for the database at `url` (`postgres://user:pass@host:5432/db`).
    pub fn builder(url: &str) -> PostgresStoreBuilder {
        PostgresStoreBuilder {
            url: url.to_owned(),
            schema: DEFAULT_SCHEMA.to_owned(),
            max_connections: 8,
            application_name: None,
            migrate: true,
            retry_budget: DEFAULT_RETRY_BUDGET,
            commit_timeout: DEFAULT_COMMIT_TIMEOUT,
            replicas: Vec::new(),
            replica_wait: DEFAULT_REPLICA_WAIT,
        }
    }

    /// Connects to the database at `url`, keeping everything in `schema`.
    pub async fn connect(url: &str, schema: &str) -> Result<Self, StoreError> {
        Self::builder(url).schema(schema).connect().await
    }

    /// The schema holding this store's tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The store's connection pool (shared by a key store made for it).
    #[cfg_attr(not(feature = "encryption"), allow(dead_code))]
    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Brings the schema to the latest layout (creating it, or migrating an
    /// older one when `migrate` allows), then creates or replaces the
    /// functions, in one transaction under the schema's set-up lock; answers
    /// whether payloads may use the `json` column (the database encoding is
    /// UTF-8).
    async fn set_up(&self, migrate: bool) -> Result<bool, StoreError> {
        let sql = &self.inner.sql;
        let location = format!("PostgreSQL schema {}", self.inner.schema);
        retrying!(self, |client| {
            let transaction = client.transaction().await?;
            transaction.batch_execute(&sql.lock_schema).await?;
            let tables = transaction.query_one(&sql.layout_tables, &[]).await?;
            let (has_layout, has_events): (bool, bool) = (tables.try_get(0)?, tables.try_get(1)?);
            let found = if has_layout {
                let version: Option<i32> = transaction
                    .query_one(&sql.layout_version, &[])
                    .await?
                    .try_get(0)?;
                // A layout table with no row is a migration's own table
                // (created before the first row): the version before it.
                Some(version.map_or(1, |v| u32::try_from(v).unwrap_or(u32::MAX)))
            } else if has_events {
                Some(1)
            } else {
                None
            };
            let record = |version: u32, description: &'static str| {
                let version = i32::try_from(version).unwrap_or(i32::MAX);
                let transaction = &transaction;
                async move {
                    transaction
                        .execute(&sql.record_layout, &[&version, &description])
                        .await
                }
            };
            match plan(found, LATEST_LAYOUT, migrate, &location)? {
                LayoutPlan::Create => {
                    transaction.batch_execute(&sql.tables).await?;
                    record(LATEST_LAYOUT, "created").await?;
                }
                LayoutPlan::Current => {}
                LayoutPlan::Migrate { from } => {
                    tracing::info!(
                        store = "PostgresStore",
                        schema = self.inner.schema.as_str(),
                        from,
                        to = LATEST_LAYOUT,
                        "migrating the stored layout"
                    );
                    for (to, description, script) in &sql.migrations {
                        if *to > from {
                            transaction.batch_execute(script).await?;
                            record(*to, description).await?;
                        }
                    }
                }
            }
            transaction.batch_execute(&sql.functions).await?;
            let encoding: String = transaction
                .query_one("SELECT pg_catalog.current_setting('server_encoding')", &[])
                .await?
                .try_get(0)?;
            transaction.commit().await?;
            Ok::<_, Failure>(encoding.eq_ignore_ascii_case("UTF8"))
        })
    }
}

impl StreamStore for PostgresStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let outcome = self.append_now(request, None, JsonColumn::Checked).await?;
        self.wrote();
        Ok(outcome)
    }

    /// Sends the payloads as JSON without parsing each first: the server
    /// parses them anyway, and should it refuse one, the append is sent
    /// again with every payload as bytes.
    async fn append_json(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let outcome = self.append_now(request, None, JsonColumn::Trusted).await?;
        self.wrote();
        Ok(outcome)
    }

    async fn read_stream(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if query.limit == Some(0) {
            return Ok(Vec::new());
        }
        let sql = if query.descending {
            &self.inner.sql.read_stream_descending
        } else {
            &self.inner.sql.read_stream_ascending
        };
        let from = to_db(query.from_version);
        let to = to_db(query.to_version.unwrap_or(u64::MAX));
        let limit = query.limit.map(to_db);
        let rows = self
            .query_replica(sql, &[&stream_id, &from, &to, &limit])
            .await?;
        events_from_rows(&rows)
    }

    /// Folds rows as they arrive from the server (`query_raw`), without
    /// collecting them. Starting the query is retried on a fresh connection;
    /// a connection lost once rows were folded ends the fold with its error
    /// (the state is then partly folded, so it cannot be retried here).
    async fn fold_stream<T, E, F>(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
        mut state: T,
        mut fold: F,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&mut T, EventRef<'_>) -> Result<(), E> + Send + 'static,
    {
        if query.limit == Some(0) {
            return Ok(state);
        }
        let sql = if query.descending {
            &self.inner.sql.fold_stream_descending
        } else {
            &self.inner.sql.fold_stream_ascending
        };
        let from = to_db(query.from_version);
        let to = to_db(query.to_version.unwrap_or(u64::MAX));
        let limit = query.limit.map(to_db);
        let params: [&(dyn ToSql + Sync); 4] = [&stream_id, &from, &to, &limit];
        let (_client, rows) = self.stream_replica(sql, &params).await?;
        let mut rows = std::pin::pin!(rows);
        let mut decoder = FoldDecoder::default();
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|error| E::from(backend(BACKEND, error)))?
        {
            fold(&mut state, decoder.decode(&row, stream_id)?)?;
        }
        Ok(state)
    }
}

impl LogStore for PostgresStore {
    async fn read_log(&self, query: LogQuery) -> Result<Vec<StoredEvent>, StoreError> {
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let after = to_db(query.after);
        let limit = to_db(query.limit);
        let types = &query.event_types;
        let aggregates = &query.aggregate_types;
        let sql = &self.inner.sql;
        let filtered: [&(dyn ToSql + Sync); 4] = [&after, &limit, types, aggregates];
        let (read_log, params) = if types.is_none() && aggregates.is_none() {
            (&sql.read_log_unfiltered, &filtered[..2])
        } else {
            (&sql.read_log, &filtered[..])
        };
        if self.inner.cluster {
            // Only events a failover keeps (see "Replicated clusters").
            let rows = self
                .query_durable(Some(&sql.mark_horizon), read_log, params)
                .await?;
            return events_from_rows(&rows);
        }
        // Room for a usual page up front; a page streams into it as its rows
        // arrive, each row dropped once decoded (instead of collecting the
        // rows, then the events).
        let room = query.limit.min(LOG_PAGE_ROOM);
        retrying!(self, |client| {
            let mark = client.prepare_cached(&sql.mark_horizon).await?;
            let read = client.prepare_cached(read_log).await?;
            // Sent together, one round trip; the read is a statement of its
            // own, so its snapshot is taken after the horizon was computed.
            let (marked, rows) = futures_util::future::join(
                client.query_one(&mark, &[]),
                client.query_raw(&read, params.iter().copied()),
            )
            .await;
            marked?;
            let mut rows = std::pin::pin!(rows?);
            let mut decoder = EventDecoder::default();
            let mut events = Vec::with_capacity(room);
            while let Some(row) = rows.try_next().await? {
                events.push(decoder.decode(&row)?);
            }
            Ok::<_, Failure>(events)
        })
    }

    async fn last_position(&self) -> Result<u64, StoreError> {
        let sql = &self.inner.sql.last_position;
        let row = self
            .query_cached(sql, &[])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| backend(BACKEND, "chronicle_last_position() returned no row"))?;
        let position: i64 = row.try_get(0).map_err(|e| backend(BACKEND, e))?;
        last_position_from_db(BACKEND, position)
    }

    /// Waits for a `NOTIFY` of an append past `position` (see the type's
    /// docs), or `timeout`.
    async fn wait_for_events(&self, position: u64, timeout: Duration) {
        self.inner.listener.wait(position, timeout).await;
    }
}

impl TrackingStore for PostgresStore {
    async fn tracked_position(&self, consumer: &str) -> Result<u64, StoreError> {
        let sql = &self.inner.sql.tracked;
        let Some(row) = self
            .query_cached(sql, &[&consumer])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(0);
        };
        let position: i64 = row.try_get(0).map_err(|e| backend(BACKEND, e))?;
        tracked_from_db(BACKEND, position, consumer)
    }

    async fn append_tracked(
        &self,
        request: AppendRequest,
        tracking: Tracking,
    ) -> Result<AppendOutcome, StoreError> {
        let outcome = self
            .append_now(request, Some(tracking), JsonColumn::Checked)
            .await?;
        self.wrote();
        Ok(outcome)
    }

    async fn reset_tracking(&self, consumer: &str) -> Result<(), StoreError> {
        self.reset_model(Vec::new(), consumer).await
    }

    async fn consumers(&self) -> Result<Vec<Tracking>, StoreError> {
        let rows = self.query_cached(&self.inner.sql.consumers, &[]).await?;
        rows.iter()
            .map(|row| {
                let consumer: String = row.try_get(0).map_err(|e| backend(BACKEND, e))?;
                let position: i64 = row.try_get(1).map_err(|e| backend(BACKEND, e))?;
                let position = tracked_from_db(BACKEND, position, &consumer)?;
                Ok(Tracking::new(consumer, position))
            })
            .collect()
    }
}

impl SnapshotStore for PostgresStore {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        check_snapshot_fits(&snapshot)?;
        let (json, bytes) = split_payload(
            &snapshot.payload,
            JsonColumn::Checked.if_json_held(self.inner.json_payloads),
        );
        let version = to_db(snapshot.version);
        let schema_version = i64::from(snapshot.schema_version);
        let time = PgTime(snapshot.timestamp);
        let sql = &self.inner.sql.save_snapshot;
        self.query_cached(
            sql,
            &[
                &snapshot.stream_id,
                &version,
                &snapshot.snapshot_type,
                &schema_version,
                &time,
                &json,
                &bytes,
            ],
        )
        .await?;
        self.wrote();
        Ok(())
    }

    async fn latest_snapshot(
        &self,
        stream_id: Uuid,
        max_version: Option<u64>,
    ) -> Result<Option<Snapshot>, StoreError> {
        let max = to_db(max_version.unwrap_or(u64::MAX));
        let sql = &self.inner.sql.latest_snapshot;
        let rows = self.query_replica(sql, &[&stream_id, &max]).await?;
        rows.first()
            .map(|row| snapshot_from_row(row, stream_id))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names() {
        for good in ["chronicle", "_x", "a1_b2", &"s".repeat(63)] {
            assert!(check_schema_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Chronicle",
            "1abc",
            "a-b",
            "a b",
            "x\"; DROP SCHEMA public; --",
            "pg_catalog",
            "\"x\"",
            &"s".repeat(64),
        ] {
            let message = check_schema_name(bad).unwrap_err();
            assert!(
                message.starts_with("invalid PostgreSQL schema name"),
                "{bad}"
            );
        }
    }

    #[test]
    fn hashes_are_stable() {
        // FNV-1a test vectors, then values other processes depend on.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(namespace("chronicle"), 61714);
    }
}
