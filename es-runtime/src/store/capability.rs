//! The store contract, one trait per capability (the table of who needs
//! which is in the [`store`](super) module docs).

use std::future::Future;
use std::time::Duration;

use uuid::Uuid;

use super::error::StoreError;
use super::model::{ModelWrite, SqlValue};
use super::record::{DecodedEvent, EventRef, StoredEvent};
use super::request::{AppendOutcome, AppendRequest, LogQuery, Snapshot, StreamQuery, Tracking};

/// Appending events to streams and reading them back: what every store does
/// (Python eventsourcing's aggregate recorder).
///
/// Guarantees (checked by the conformance suite on every store):
/// - an append is all or nothing, across every stream it names;
/// - a stale expected version writes nothing and returns
///   [`StoreError::Conflict`] naming the stream, expected and actual versions;
/// - retrying an append whose events (by id) are already stored at the same
///   versions succeeds with `written: false` and writes nothing; a partial
///   overlap is a conflict;
/// - a stream reads back exactly as written, in version order.
///
/// Methods return `Send` futures, so an application can run on any executor
/// and across threads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event store: it lacks the `StreamStore` capability",
    label = "appending and reading streams needs `StreamStore`",
    note = "use MemoryStore, SqliteStore, PostgresStore or AnyStore, or implement `chronicle_es::store::StreamStore` for this type"
)]
pub trait StreamStore: Send + Sync + 'static {
    /// Appends the request's events atomically, checking every stream's
    /// expected version.
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

    /// Appends like [`append`](Self::append), offering the store each event
    /// of `request` as it was before encoding (`decoded`, one per event, in
    /// the request's order). A store that keeps its records in process
    /// keeps them and hands them back to folds
    /// ([`EventRef::decoded`]), which then skip decoding; the default
    /// ignores them. Applications offer them only when
    /// [`keeps_decoded`](Self::keeps_decoded) says so, and never for
    /// protected (encrypted) payloads.
    fn append_decoded(
        &self,
        request: AppendRequest,
        decoded: Vec<DecodedEvent>,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send {
        let _ = decoded;
        self.append(request)
    }

    /// True when [`append_decoded`](Self::append_decoded) keeps the events
    /// it is offered (the memory store); false by default.
    fn keeps_decoded(&self) -> bool {
        false
    }

    /// Appends like [`append`](Self::append) a request whose payloads are
    /// all JSON as `serde_json` writes it: what an application with the
    /// JSON codec and no payload protection appends. A store that keeps
    /// JSON payloads apart from other bytes (SQLite keeps them as text) may
    /// take these as JSON without parsing each again; any payload still
    /// reads back byte for byte. The default appends.
    fn append_json(
        &self,
        request: AppendRequest,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send {
        self.append(request)
    }

    /// Folds the events of one stream that `query` selects, in its order,
    /// into `state`: `fold` sees each event as it is read, borrowed from the
    /// store's buffers, so a stream of any length is folded in memory
    /// bounded by one page of rows and the state. The first error `fold`
    /// returns ends the fold and is returned.
    ///
    /// This default reads pages of [`read_stream`](Self::read_stream); the
    /// stores of this crate fold rows as they come, without copies.
    fn fold_stream<T, E, F>(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
        state: T,
        fold: F,
    ) -> impl Future<Output = Result<T, E>> + Send
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&mut T, EventRef<'_>) -> Result<(), E> + Send + 'static,
    {
        fold_pages(self, stream_id, query, state, fold)
    }
}

/// [`StreamStore::fold_stream`] by pages of [`StreamStore::read_stream`]:
/// the default, and the fallback of stores that dispatch at run time.
pub(crate) async fn fold_pages<S, T, E, F>(
    store: &S,
    stream_id: Uuid,
    query: StreamQuery,
    mut state: T,
    mut fold: F,
) -> Result<T, E>
where
    S: StreamStore + ?Sized,
    E: From<StoreError>,
    F: FnMut(&mut T, EventRef<'_>) -> Result<(), E>,
{
    if query.descending {
        for event in &store.read_stream(stream_id, query).await? {
            fold(&mut state, event.into())?;
        }
        return Ok(state);
    }
    let mut remaining = query.limit.unwrap_or(usize::MAX);
    let mut from = query.from_version;
    while remaining > 0 {
        let page = StreamQuery {
            from_version: from,
            limit: Some(remaining.min(FOLD_PAGE)),
            ..query
        };
        let events = store.read_stream(stream_id, page).await?;
        for event in &events {
            fold(&mut state, event.into())?;
        }
        match events.last() {
            Some(last) if events.len() == FOLD_PAGE.min(remaining) => {
                remaining -= events.len();
                from = last.version + 1;
            }
            _ => break,
        }
    }
    Ok(state)
}

/// How many records a paged fold reads at a time.
pub(crate) const FOLD_PAGE: usize = 1_000;

/// The global log: every appended event at a position, and a signal when
/// new ones arrive (Python eventsourcing's application recorder).
///
/// Positions start at 1 and strictly increase in commit order, so a reader
/// that resumes after the last position it saw never skips an event nor
/// sees one twice, even when a transaction that started earlier commits
/// later. Positions may have holes (an aborted append).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no ordered log to follow: it lacks the `LogStore` capability",
    label = "reading or following the log needs `LogStore`",
    note = "subscriptions, projections and process applications follow an application whose store implements `LogStore` (every store of this crate does)"
)]
pub trait LogStore: StreamStore {
    /// Reads the global log in position order.
    fn read_log(
        &self,
        query: LogQuery,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// The position of the last event in the log (0 when empty).
    fn last_position(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Waits until events may have been appended after `position`, or until
    /// `timeout` has passed. A hint for followers, which read the log again
    /// either way: a store that cannot be told about new events sleeps for
    /// `timeout` (polling).
    fn wait_for_events(&self, position: u64, timeout: Duration) -> impl Future<Output = ()> + Send;
}

/// Tracking records: how far a follower (projection, process application)
/// has got, committed atomically with what it did (Python eventsourcing's
/// process recorder).
///
/// A tracking record never moves backwards: recording a position at or
/// below the tracked one is a [`StoreError::TrackingConflict`] and writes
/// nothing, which is how a follower that crashed after committing knows the
/// work is done.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot keep a follower's position: it lacks the `TrackingStore` capability",
    label = "tracking records need `TrackingStore`",
    note = "projections and process applications commit their position with their effects in a store that implements `TrackingStore` (every store of this crate does)"
)]
pub trait TrackingStore: StreamStore {
    /// The last position tracked for `consumer` (0 when none).
    fn tracked_position(
        &self,
        consumer: &str,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Appends `request` as [`StreamStore::append`] does and records
    /// `tracking`, atomically. A position at or below the consumer's tracked
    /// one is a [`StoreError::TrackingConflict`] and nothing is written (the
    /// append checks come first: a stale stream is a conflict whatever the
    /// tracking). The request may hold no streams: then only the position is
    /// recorded.
    fn append_tracked(
        &self,
        request: AppendRequest,
        tracking: Tracking,
    ) -> impl Future<Output = Result<AppendOutcome, StoreError>> + Send;

    /// Forgets `consumer`'s position (the start of a rebuild).
    fn reset_tracking(&self, consumer: &str)
        -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every tracking record, ordered by consumer name (what an operator
    /// lists: `chronicle consumers`).
    fn consumers(&self) -> impl Future<Output = Result<Vec<Tracking>, StoreError>> + Send;
}

/// Snapshots: an aggregate's encoded state at a version, so that loading it
/// replays only the later events.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot keep snapshots: it lacks the `SnapshotStore` capability",
    label = "saving and loading aggregates needs `SnapshotStore` as well as `StreamStore`",
    note = "every store of this crate implements `SnapshotStore`; a store of your own implements it too (aggregates without snapshots never call it)"
)]
pub trait SnapshotStore: Send + Sync + 'static {
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
}

/// SQL read models in the store's own database: a projection's statements
/// run in the same transaction as its tracking record, so that each event
/// takes effect exactly once (see [`ModelWrites`](crate::ModelWrites)).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run read-model SQL: it lacks the `ReadModelStore` capability",
    label = "SQL read models need `ReadModelStore` (SQLite or PostgreSQL)",
    note = "run the projection on SqliteStore, PostgresStore or AnySqlStore, or keep its model in process (`type Writes = ();`)"
)]
pub trait ReadModelStore: TrackingStore {
    /// Runs `writes` and moves `tracking.consumer` from exactly `after` (0:
    /// no position yet) to `tracking.position`, in one transaction. A
    /// consumer found elsewhere (a second runner of the same name, or an
    /// abandoned commit that landed after a restart), or a position that
    /// does not move forward, is a [`StoreError::TrackingConflict`]; a
    /// failing statement is a [`StoreError::ModelStatement`] naming it.
    /// Either way nothing is applied.
    fn commit_model(
        &self,
        writes: Vec<ModelWrite>,
        tracking: Tracking,
        after: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Runs `writes` (typically emptying a read model) and forgets the
    /// position of `consumer`, in one transaction: the start of a rebuild.
    fn reset_model(
        &self,
        writes: Vec<ModelWrite>,
        consumer: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Runs one statement (with `$N` parameters) and returns its rows:
    /// reading a read model, or creating its tables.
    fn query_model(
        &self,
        sql: &str,
        params: Vec<SqlValue>,
    ) -> impl Future<Output = Result<Vec<Vec<SqlValue>>, StoreError>> + Send;
}

/// A complete event store: streams, snapshots, the log and tracking records.
/// Implemented for every type that has the four capabilities; name it in
/// bounds when code needs a whole store (`async fn load<S: EventStore>`).
pub trait EventStore: StreamStore + SnapshotStore + LogStore + TrackingStore {}

impl<S: StreamStore + SnapshotStore + LogStore + TrackingStore> EventStore for S {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Metadata;
    use crate::store::{MemoryStore, NewEvent, StreamAppend};
    use crate::timestamp::Timestamp;

    fn versions_read(events: &[StoredEvent]) -> Vec<u64> {
        events.iter().map(|event| event.version).collect()
    }

    /// The default fold pages through `read_stream` and sees what it reads,
    /// across page boundaries, and stops at the first error.
    #[tokio::test]
    async fn paged_fold_sees_what_read_stream_reads() {
        let store = MemoryStore::new();
        let stream = Uuid::new_v4();
        let events = (1..=2_345u64)
            .map(|n| NewEvent {
                event_id: Uuid::new_v4(),
                aggregate_type: "Thing".into(),
                event_type: "Happened".into(),
                schema_version: 1,
                timestamp: Timestamp::now(),
                metadata: Metadata::new(),
                payload: n.to_string().into_bytes(),
                chain_hash: None,
            })
            .collect();
        store
            .append(AppendRequest {
                streams: vec![StreamAppend {
                    stream_id: stream,
                    expected_version: 0,
                    events,
                }],
            })
            .await
            .unwrap();
        for query in [
            StreamQuery::all(),
            StreamQuery::all().limit(FOLD_PAGE),
            StreamQuery::all().limit(FOLD_PAGE + 1),
            StreamQuery::all().from_version(7).to_version(2_001),
            StreamQuery::all().descending().limit(3),
            StreamQuery::all().limit(0),
        ] {
            let folded = fold_pages(&store, stream, query, Vec::new(), |seen, event| {
                assert_eq!(event.payload, event.version.to_string().as_bytes());
                seen.push(event.version);
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
            let read = store.read_stream(stream, query).await.unwrap();
            assert_eq!(folded, versions_read(&read), "{query:?}");
        }
        let stopped = fold_pages(&store, stream, StreamQuery::all(), 0, |seen, event| {
            *seen += 1;
            match event.version {
                1_001 => Err(StoreError::InvalidRequest(format!("seen {seen}"))),
                _ => Ok(()),
            }
        })
        .await;
        assert!(
            matches!(&stopped, Err(StoreError::InvalidRequest(m)) if m == "seen 1001"),
            "{stopped:?}"
        );
    }
}
