//! The event store contract, and the stores that fulfil it.
//!
//! A store keeps encoded events in streams (one per aggregate) and in one
//! global log. Every store upholds the same guarantees:
//! - an append is all or nothing, across every stream it names;
//! - a stale expected version writes nothing and returns
//!   [`StoreError::Conflict`] naming the stream, expected and actual versions;
//! - retrying an append whose events (by id) are already stored at the same
//!   versions succeeds and writes nothing; a partial overlap is a conflict;
//! - log positions strictly increase in commit order, so a reader that follows
//!   the log never skips or repeats an event.

pub mod any;
mod encoding;
mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::future::Future;
use std::time::Duration;

use uuid::Uuid;

pub use any::{AnyStore, STORE_URL_ENV};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresStore, PostgresStoreBuilder};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteStore, SqliteStoreBuilder, Synchronous};

use crate::model::{ModelWrite, SqlValue};
use crate::record::{NewEvent, StoredEvent};

/// Events to append to one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamAppend {
    /// The stream (aggregate id).
    pub stream_id: Uuid,
    /// The version the stream must be at before this append; 0 for a new stream.
    pub expected_version: u64,
    /// The events, which take versions `expected_version + 1` onwards.
    pub events: Vec<NewEvent>,
}

/// A consumer's progress through a log: the position of the last event it has
/// fully handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// The consumer (projection, process application) name.
    pub consumer: String,
    /// The last handled position.
    pub position: u64,
}

/// One atomic write: events for any number of streams, and optionally a
/// tracking record committed with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendRequest {
    /// The streams to append to; each stream at most once.
    pub streams: Vec<StreamAppend>,
    /// A tracking record to write in the same transaction.
    pub tracking: Option<Tracking>,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// The log position of the last event of the request (already stored ones
    /// included, for an idempotent retry); `None` when it held no events.
    pub last_position: Option<u64>,
    /// False when every event was already stored (an idempotent retry).
    pub written: bool,
}

/// A stored snapshot: an aggregate's encoded state as of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The aggregate.
    pub stream_id: Uuid,
    /// The version of the last event folded into the state.
    pub version: u64,
    /// The aggregate type name.
    pub snapshot_type: String,
    /// The version of the state's schema.
    pub schema_version: u32,
    /// When the snapshot was taken.
    pub timestamp: crate::timestamp::Timestamp,
    /// The encoded state.
    pub payload: Vec<u8>,
}

/// Which events of one stream to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamQuery {
    /// Lowest version to read (inclusive).
    pub from_version: u64,
    /// Highest version to read (inclusive), if bounded.
    pub to_version: Option<u64>,
    /// At most this many events.
    pub limit: Option<usize>,
    /// Newest first.
    pub descending: bool,
}

impl Default for StreamQuery {
    fn default() -> Self {
        Self::all()
    }
}

impl StreamQuery {
    /// The whole stream, oldest first.
    pub const fn all() -> Self {
        Self {
            from_version: 1,
            to_version: None,
            limit: None,
            descending: false,
        }
    }

    /// Starts at `version` (inclusive).
    pub const fn from_version(mut self, version: u64) -> Self {
        self.from_version = version;
        self
    }

    /// Stops at `version` (inclusive).
    pub const fn to_version(mut self, version: u64) -> Self {
        self.to_version = Some(version);
        self
    }

    /// Reads at most `limit` events.
    pub const fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Reads newest first.
    pub const fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// True when `version` lies within the bounds.
    pub fn contains(&self, version: u64) -> bool {
        version >= self.from_version && self.to_version.is_none_or(|to| version <= to)
    }
}

/// Which events of the global log to read, in position order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// Read events whose position is greater than this (0 for the start).
    pub after: u64,
    /// At most this many events.
    pub limit: usize,
    /// Only these event types, if set.
    pub event_types: Option<Vec<String>>,
}

impl LogQuery {
    /// Up to `limit` events after `position`.
    pub fn after(position: u64, limit: usize) -> Self {
        Self {
            after: position,
            limit,
            event_types: None,
        }
    }

    /// Only events of these types.
    pub fn event_types<I, T>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.event_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// True when an event of `event_type` passes the filter.
    pub fn admits(&self, event_type: &str) -> bool {
        self.event_types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t == event_type))
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Optimistic concurrency: the stream was not at the expected version.
    /// Nothing of the request was written.
    #[error("concurrency conflict on stream {stream_id}: expected version {expected}, actual version {actual}")]
    Conflict {
        /// The stream.
        stream_id: Uuid,
        /// The version the writer expected.
        expected: u64,
        /// The version the stream is at.
        actual: u64,
    },
    /// A tracking record would move a consumer backwards (or repeat a position).
    #[error("tracking for consumer `{consumer}` is at position {current}; refusing position {attempted}")]
    TrackingConflict {
        /// The consumer.
        consumer: String,
        /// Its tracked position.
        current: u64,
        /// The position the request tried to record.
        attempted: u64,
    },
    /// The request itself is malformed (a stream named twice, ...).
    #[error("invalid append request: {0}")]
    InvalidRequest(String),
    /// Stored data that cannot be read as an event record.
    #[error("corrupt record in stream {stream_id} at version {version}: {reason}")]
    Corrupt {
        /// The stream.
        stream_id: Uuid,
        /// The version.
        version: u64,
        /// What is wrong.
        reason: String,
    },
    /// The store cannot be opened as configured: an unknown URL scheme, an
    /// invalid schema name or table prefix, a missing feature.
    #[error("store configuration: {0}")]
    Config(String),
    /// A read-model statement ([`EventStore::commit_model`],
    /// [`EventStore::reset_model`], [`EventStore::query_model`]) failed:
    /// nothing of its transaction was applied.
    #[error("read-model statement #{index} failed ({sql}): {source}")]
    ModelStatement {
        /// The statement's index in the list passed (0 for `query_model`).
        index: usize,
        /// The statement, as passed.
        sql: String,
        /// What the database or the parameter conversion said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database or its driver failed.
    #[error("{backend} error: {source}")]
    Backend {
        /// Which store (`"sqlite"`, `"postgres"`).
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Storage for events: streams, a global log and tracking records.
///
/// Methods return `Send` futures so an application can run on any executor
/// and across threads.
pub trait EventStore: Send + Sync + 'static {
    /// Appends the request's events atomically, checking every stream's
    /// expected version (see the module docs for the guarantees).
    fn append(
        &self,
        request: AppendRequest,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send;

    /// Reads one stream; an unknown stream reads empty.
    fn read_stream(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Reads the global log in position order.
    fn read_log(
        &self,
        query: LogQuery,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// The position of the last event in the log (0 when empty).
    fn last_position(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Stores a snapshot; a second snapshot at the same version replaces the first.
    fn save_snapshot(
        &self,
        snapshot: Snapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The newest snapshot of `stream_id` whose version is at most
    /// `max_version` (any version when `None`).
    fn latest_snapshot(
        &self,
        stream_id: Uuid,
        max_version: Option<u64>,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send;

    /// The last position tracked for `consumer` (0 when none).
    fn tracked_position(
        &self,
        consumer: &str,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Waits until events may have been appended after `position`, or until
    /// `timeout` has passed. Only a hint for followers of the log, which read
    /// it again either way: a store that cannot be told about new events
    /// simply sleeps (polling), which is what this default does.
    fn wait_for_events(&self, position: u64, timeout: Duration) -> impl Future<Output = ()> + Send {
        let _ = position;
        tokio::time::sleep(timeout)
    }

    /// Runs a projection's read-model statements and records its tracking
    /// position in one transaction (see [`crate::model`]). A store without
    /// SQL accepts only an empty list of statements and records the position.
    fn commit_model(
        &self,
        writes: Vec<ModelWrite>,
        tracking: Tracking,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            if !writes.is_empty() {
                return Err(StoreError::Config(
                    "this store cannot run read-model SQL: keep the projection's model in process, or use SQLite or PostgreSQL".into(),
                ));
            }
            self.append(AppendRequest {
                streams: Vec::new(),
                tracking: Some(tracking),
            })
            .await
            .map(drop)
        }
    }

    /// Like [`commit_model`](Self::commit_model), but only when `consumer`'s
    /// tracked position is exactly `after` (0: none): a commit that does not
    /// continue from where the consumer stands (a second runner of the same
    /// name, or an abandoned commit that landed after a restarted runner
    /// read its position) is a [`StoreError::TrackingConflict`] and writes
    /// nothing, instead of applying the overlapping events twice. The SQL
    /// stores check it in the commit's transaction; this default checks
    /// first, then commits.
    fn commit_model_after(
        &self,
        writes: Vec<ModelWrite>,
        tracking: Tracking,
        after: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            let current = self.tracked_position(&tracking.consumer).await?;
            check_continuation(&tracking, current, after)?;
            self.commit_model(writes, tracking).await
        }
    }

    /// Runs `writes` (typically deleting a read model) and forgets the
    /// tracking position of `consumer`, in one transaction: the start of a
    /// projection's rebuild.
    fn reset_model(
        &self,
        writes: Vec<ModelWrite>,
        consumer: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = (writes, consumer);
        async {
            Err(StoreError::Config(
                "this store cannot reset a tracking position".into(),
            ))
        }
    }

    /// Reads a read model: runs `sql` (with `$N` parameters) and returns its
    /// rows.
    fn query_model(
        &self,
        sql: &str,
        params: Vec<SqlValue>,
    ) -> impl Future<Output = Result<Vec<Vec<SqlValue>>, StoreError>> + Send {
        let _ = (sql, params);
        async {
            Err(StoreError::Config(
                "this store cannot run read-model SQL: use SQLite or PostgreSQL".into(),
            ))
        }
    }
}

/// Checks a request for mistakes no store should accept: a stream named twice,
/// or a stream with no events.
pub(crate) fn validate_request(request: &AppendRequest) -> Result<(), StoreError> {
    for (index, stream) in request.streams.iter().enumerate() {
        if stream.events.is_empty() {
            return Err(StoreError::InvalidRequest(format!(
                "stream {} has no events to append",
                stream.stream_id
            )));
        }
        if request.streams[..index]
            .iter()
            .any(|earlier| earlier.stream_id == stream.stream_id)
        {
            return Err(StoreError::InvalidRequest(format!(
                "stream {} appears twice in one request",
                stream.stream_id
            )));
        }
    }
    Ok(())
}

/// How one stream of a request relates to what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamCheck {
    /// The stream is at the expected version: append.
    Fresh,
    /// Every event is already stored at its version with the same id: skip.
    AlreadyStored,
}

/// Decides whether `append` may go ahead on a stream at `actual` version.
///
/// `stored_ids` yields the ids stored at versions `expected_version + 1`
/// onwards (as many as the store holds, up to the batch's length); it is only
/// consulted when the stream is ahead of the expected version.
pub(crate) fn check_stream<I>(
    append: &StreamAppend,
    actual: u64,
    stored_ids: impl FnOnce() -> Result<I, StoreError>,
) -> Result<StreamCheck, StoreError>
where
    I: IntoIterator<Item = Uuid>,
{
    let conflict = || StoreError::Conflict {
        stream_id: append.stream_id,
        expected: append.expected_version,
        actual,
    };
    if actual == append.expected_version {
        return Ok(StreamCheck::Fresh);
    }
    let batch_end = append.expected_version + append.events.len() as u64;
    if actual < append.expected_version || actual < batch_end {
        return Err(conflict());
    }
    let mut stored = stored_ids()?.into_iter();
    let identical = append
        .events
        .iter()
        .all(|event| stored.next() == Some(event.event_id));
    if identical {
        Ok(StreamCheck::AlreadyStored)
    } else {
        Err(conflict())
    }
}

/// Combines per-stream checks: all fresh appends, or all already stored (an
/// idempotent retry). A mixture is a conflict on the first stored stream.
pub(crate) fn combine_checks(
    request: &AppendRequest,
    checks: &[(StreamCheck, u64)],
) -> Result<StreamCheck, StoreError> {
    let first_stored = checks
        .iter()
        .position(|(check, _)| *check == StreamCheck::AlreadyStored);
    let Some(index) = first_stored else {
        return Ok(StreamCheck::Fresh);
    };
    if checks
        .iter()
        .all(|(check, _)| *check == StreamCheck::AlreadyStored)
    {
        return Ok(StreamCheck::AlreadyStored);
    }
    Err(StoreError::Conflict {
        stream_id: request.streams[index].stream_id,
        expected: request.streams[index].expected_version,
        actual: checks[index].1,
    })
}

/// Refuses a tracking record that does not continue from `after`, or would
/// not move forward, given the `current` tracked position.
pub(crate) fn check_continuation(
    tracking: &Tracking,
    current: u64,
    after: u64,
) -> Result<(), StoreError> {
    if current != after || tracking.position <= current {
        return Err(StoreError::TrackingConflict {
            consumer: tracking.consumer.clone(),
            current,
            attempted: tracking.position,
        });
    }
    Ok(())
}

/// Refuses a tracking record that would not move `consumer` forward from
/// `current`.
pub(crate) fn check_tracking(tracking: &Tracking, current: u64) -> Result<(), StoreError> {
    if tracking.position <= current {
        return Err(StoreError::TrackingConflict {
            consumer: tracking.consumer.clone(),
            current,
            attempted: tracking.position,
        });
    }
    Ok(())
}

/// The whole append decision, in the order [`MemoryStore`] takes it, over
/// what a durable store reads inside its transaction (or from one snapshot):
/// every stream's check, then the tracking record, then the combination.
///
/// `actual` gives a stream's current version, `stored_ids` the ids stored at
/// versions `expected_version + 1` onwards (up to the batch's length) and
/// `tracked` a consumer's tracked position (0 when none).
pub(crate) fn decide(
    request: &AppendRequest,
    mut actual: impl FnMut(&StreamAppend) -> Result<u64, StoreError>,
    mut stored_ids: impl FnMut(&StreamAppend) -> Result<Vec<Uuid>, StoreError>,
    tracked: impl FnOnce(&str) -> Result<u64, StoreError>,
) -> Result<StreamCheck, StoreError> {
    let mut checks = Vec::with_capacity(request.streams.len());
    for append in &request.streams {
        let version = actual(append)?;
        let check = check_stream(append, version, || stored_ids(append))?;
        checks.push((check, version));
    }
    if let Some(tracking) = &request.tracking {
        check_tracking(tracking, tracked(&tracking.consumer)?)?;
    }
    combine_checks(request, &checks)
}
