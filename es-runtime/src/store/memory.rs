//! An event store in process memory, for tests and for the speed of light.

use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

use super::capability::{LogStore, SnapshotStore, StreamStore, TrackingStore};
use super::decision::{decide, validate_request, StreamCheck};
use super::error::StoreError;
use super::record::{DecodedEvent, EventRef, StoredEvent};
use super::request::{AppendOutcome, AppendRequest, LogQuery, Snapshot, StreamQuery, Tracking};

/// Keeps encoded records in memory, exactly as a durable store would keep
/// them, behind one lock (appends are atomic because they happen under it).
/// It has every capability but SQL read models: keep a projection's model in
/// process (`type Writes = ()`) on this store.
#[derive(Debug)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
    /// The last position, announced after every append that wrote events.
    appended: watch::Sender<u64>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            inner: RwLock::default(),
            appended: watch::Sender::new(0),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// The global log; an event's position is its index + 1.
    log: Vec<StoredEvent>,
    /// Beside each event of the log, the event before encoding when the
    /// application offered it (`append_decoded`).
    decoded: Vec<Option<DecodedEvent>>,
    /// Per stream, the log indexes of its events in version order.
    streams: HashMap<Uuid, Vec<usize>>,
    tracking: HashMap<String, u64>,
    /// Per stream, snapshots ordered by version.
    snapshots: HashMap<Uuid, BTreeMap<u64, Snapshot>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read<T>(&self, f: impl FnOnce(&Inner) -> T) -> T {
        // A panic while holding the lock cannot leave `Inner` half-written:
        // appends decide everything before the first push.
        f(&self.inner.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn write<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.write().unwrap_or_else(PoisonError::into_inner))
    }

    fn append_now(
        &self,
        request: AppendRequest,
        tracking: Option<Tracking>,
        decoded: Vec<DecodedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        validate_request(&request)?;
        let outcome = self.write(|inner| inner.append(request, tracking, decoded))?;
        if let (true, Some(position)) = (outcome.written, outcome.last_position) {
            self.appended.send_replace(position);
        }
        Ok(outcome)
    }
}

impl Inner {
    fn stream_version(&self, stream_id: Uuid) -> u64 {
        self.streams.get(&stream_id).map_or(0, |i| i.len() as u64)
    }

    /// The log position of `stream_id`'s event at `version`.
    fn position_at(&self, stream_id: Uuid, version: u64) -> Option<u64> {
        let index = usize::try_from(version.checked_sub(1)?).ok()?;
        self.streams
            .get(&stream_id)?
            .get(index)
            .map(|&log_index| log_index as u64 + 1)
    }

    /// Appends `request`, keeping `decoded` beside its events when it holds
    /// one per event (else none).
    fn append(
        &mut self,
        request: AppendRequest,
        tracking: Option<Tracking>,
        decoded: Vec<DecodedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        let decision = decide(
            &request,
            tracking.as_ref(),
            |append| Ok(self.stream_version(append.stream_id)),
            |append| {
                let indexes = self.streams.get(&append.stream_id);
                Ok(indexes
                    .into_iter()
                    .flatten()
                    .skip(append.expected_version as usize)
                    .take(append.events.len())
                    .map(|&index| self.log[index].event_id)
                    .collect())
            },
            |consumer| Ok(self.tracking.get(consumer).copied().unwrap_or(0)),
        )?;
        if decision == StreamCheck::AlreadyStored {
            let last_position = request
                .streams
                .iter()
                .filter_map(|append| {
                    let last = append.expected_version + append.events.len() as u64;
                    self.position_at(append.stream_id, last)
                })
                .max();
            return Ok(AppendOutcome {
                last_position,
                written: false,
            });
        }
        let length_before = self.log.len();
        let mut decoded = (decoded.len() == request.event_count()).then(|| decoded.into_iter());
        for append in request.streams {
            let indexes = self.streams.entry(append.stream_id).or_default();
            for (version, event) in (append.expected_version + 1..).zip(append.events) {
                indexes.push(self.log.len());
                self.log.push(StoredEvent {
                    position: self.log.len() as u64 + 1,
                    stream_id: append.stream_id,
                    version,
                    event_id: event.event_id,
                    aggregate_type: Some(event.aggregate_type),
                    event_type: event.event_type,
                    schema_version: event.schema_version,
                    timestamp: event.timestamp,
                    metadata: event.metadata,
                    payload: event.payload,
                });
                self.decoded.push(decoded.as_mut().and_then(Iterator::next));
            }
        }
        if let Some(record) = tracking {
            self.tracking.insert(record.consumer, record.position);
        }
        Ok(AppendOutcome {
            last_position: (self.log.len() > length_before).then_some(self.log.len() as u64),
            written: true,
        })
    }

    /// The events of `stream_id` that `query` selects, in its order.
    fn stream_events(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
    ) -> impl Iterator<Item = &StoredEvent> {
        self.stream_indexes(stream_id, query)
            .map(|index| &self.log[index])
    }

    /// The log indexes of the events of `stream_id` that `query` selects,
    /// in its order.
    fn stream_indexes(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
    ) -> impl Iterator<Item = usize> + '_ {
        let indexes = self.streams.get(&stream_id).map_or(&[][..], Vec::as_slice);
        // Versions are 1-based and dense, so bounds map straight to slice indexes.
        let start = usize::try_from(query.from_version.max(1) - 1).unwrap_or(usize::MAX);
        let end = query.to_version.map_or(indexes.len(), |to| {
            usize::try_from(to).unwrap_or(usize::MAX).min(indexes.len())
        });
        let window = indexes.get(start..end.max(start)).unwrap_or(&[]);
        let ordered: Box<dyn Iterator<Item = &usize>> = if query.descending {
            Box::new(window.iter().rev())
        } else {
            Box::new(window.iter())
        };
        ordered.take(query.limit.unwrap_or(usize::MAX)).copied()
    }

    fn read_log(&self, query: &LogQuery) -> Vec<StoredEvent> {
        let start = usize::try_from(query.after)
            .unwrap_or(usize::MAX)
            .min(self.log.len());
        self.log[start..]
            .iter()
            .filter(|event| query.admits(event.aggregate_type.as_deref(), &event.event_type))
            .take(query.limit)
            .cloned()
            .collect()
    }
}

impl StreamStore for MemoryStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        self.append_now(request, None, Vec::new())
    }

    async fn append_decoded(
        &self,
        request: AppendRequest,
        decoded: Vec<DecodedEvent>,
    ) -> Result<AppendOutcome, StoreError> {
        self.append_now(request, None, decoded)
    }

    fn keeps_decoded(&self) -> bool {
        true
    }

    async fn read_stream(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.read(|inner| inner.stream_events(stream_id, query).cloned().collect()))
    }

    /// Folds the records in place, under the read lock (appends wait for
    /// the fold): nothing is copied.
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
        self.read(|inner| {
            inner
                .stream_indexes(stream_id, query)
                .try_for_each(|index| {
                    let event = EventRef {
                        decoded: inner.decoded.get(index).and_then(Option::as_ref),
                        ..EventRef::from(&inner.log[index])
                    };
                    fold(&mut state, event)
                })
        })?;
        Ok(state)
    }
}

impl LogStore for MemoryStore {
    async fn read_log(&self, query: LogQuery) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.read(|inner| inner.read_log(&query)))
    }

    async fn last_position(&self) -> Result<u64, StoreError> {
        Ok(self.read(|inner| inner.log.len() as u64))
    }

    async fn wait_for_events(&self, position: u64, timeout: Duration) {
        let mut appended = self.appended.subscribe();
        // The sender lives as long as the store, so `wait_for` only ends when
        // the condition holds; the timeout bounds the wait either way.
        let _ = tokio::time::timeout(timeout, appended.wait_for(|&last| last > position)).await;
    }
}

impl TrackingStore for MemoryStore {
    async fn tracked_position(&self, consumer: &str) -> Result<u64, StoreError> {
        Ok(self.read(|inner| inner.tracking.get(consumer).copied().unwrap_or(0)))
    }

    async fn append_tracked(
        &self,
        request: AppendRequest,
        tracking: Tracking,
    ) -> Result<AppendOutcome, StoreError> {
        self.append_now(request, Some(tracking), Vec::new())
    }

    async fn reset_tracking(&self, consumer: &str) -> Result<(), StoreError> {
        self.write(|inner| inner.tracking.remove(consumer));
        Ok(())
    }
}

impl SnapshotStore for MemoryStore {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        self.write(|inner| {
            inner
                .snapshots
                .entry(snapshot.stream_id)
                .or_default()
                .insert(snapshot.version, snapshot)
        });
        Ok(())
    }

    async fn latest_snapshot(
        &self,
        stream_id: Uuid,
        max_version: Option<u64>,
    ) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.read(|inner| {
            inner
                .snapshots
                .get(&stream_id)?
                .range(..=max_version.unwrap_or(u64::MAX))
                .next_back()
                .map(|(_, snapshot)| snapshot.clone())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Metadata;
    use crate::store::NewEvent;
    use crate::timestamp::Timestamp;

    fn events(count: u32) -> Vec<NewEvent> {
        (0..count)
            .map(|n| NewEvent {
                event_id: Uuid::new_v4(),
                aggregate_type: "Thing".into(),
                event_type: "Happened".into(),
                schema_version: 1,
                timestamp: Timestamp::now(),
                metadata: Metadata::default(),
                payload: n.to_le_bytes().to_vec(),
            })
            .collect()
    }

    /// What a fold sees of each event: its version and the kept event.
    async fn folded(store: &MemoryStore, stream: Uuid) -> Vec<(u64, Option<u32>)> {
        store
            .fold_stream(stream, StreamQuery::all(), Vec::new(), |seen, event| {
                let kept = event.decoded.and_then(|d| d.downcast_ref::<u32>()).copied();
                seen.push((event.version, kept));
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap()
    }

    /// Events offered with an append are folded beside their records; an
    /// offer that does not match the events one for one is not kept, and
    /// plain appends keep nothing.
    #[tokio::test]
    async fn folds_see_the_events_kept_with_their_append() {
        let store = MemoryStore::new();
        let stream = Uuid::new_v4();
        let offered = vec![DecodedEvent::new(10u32), DecodedEvent::new(11u32)];
        let request = AppendRequest::stream(stream, 0, events(2));
        store.append_decoded(request, offered).await.unwrap();
        let mismatched = vec![DecodedEvent::new(12u32)];
        let request = AppendRequest::stream(stream, 2, events(2));
        store.append_decoded(request, mismatched).await.unwrap();
        let request = AppendRequest::stream(stream, 4, events(1));
        store.append(request).await.unwrap();
        assert_eq!(
            folded(&store, stream).await,
            vec![
                (1, Some(10)),
                (2, Some(11)),
                (3, None),
                (4, None),
                (5, None)
            ]
        );
    }
}
