//! An event store in process memory, for tests and for the speed of light.

use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use uuid::Uuid;

use super::{
    check_stream, combine_checks, validate_request, AppendOutcome, AppendRequest, EventStore,
    LogQuery, Snapshot, StoreError, StreamCheck, StreamQuery,
};
use crate::model::ModelWrite;
use crate::record::StoredEvent;

/// Keeps encoded records in memory, exactly as a durable store would keep
/// them, behind one lock (appends are atomic because they happen under it).
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
        // appends validate everything before the first push.
        f(&self.inner.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn append_now(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        validate_request(&request)?;
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let mut checks = Vec::with_capacity(request.streams.len());
        for append in &request.streams {
            let indexes = inner.streams.get(&append.stream_id);
            let actual = indexes.map_or(0, |i| i.len() as u64);
            let check = check_stream(append, actual, || {
                let skip = append.expected_version as usize;
                Ok(indexes
                    .into_iter()
                    .flatten()
                    .skip(skip)
                    .map(|&index| inner.log[index].event_id))
            })?;
            checks.push((check, actual));
        }
        if let Some(tracking) = &request.tracking {
            let current = inner.tracking.get(&tracking.consumer).copied().unwrap_or(0);
            if tracking.position <= current {
                return Err(StoreError::TrackingConflict {
                    consumer: tracking.consumer.clone(),
                    current,
                    attempted: tracking.position,
                });
            }
        }
        if combine_checks(&request, &checks)? == StreamCheck::AlreadyStored {
            let last_position = request
                .streams
                .iter()
                .filter_map(|append| {
                    let indexes = inner.streams.get(&append.stream_id)?;
                    let last = append.expected_version as usize + append.events.len() - 1;
                    indexes.get(last).map(|&index| index as u64 + 1)
                })
                .max();
            return Ok(AppendOutcome {
                last_position,
                written: false,
            });
        }

        let Inner {
            log,
            streams,
            tracking,
            ..
        } = &mut *inner;
        let length_before = log.len();
        for append in request.streams {
            let indexes = streams.entry(append.stream_id).or_default();
            for (offset, event) in append.events.into_iter().enumerate() {
                indexes.push(log.len());
                log.push(StoredEvent {
                    position: log.len() as u64 + 1,
                    stream_id: append.stream_id,
                    version: append.expected_version + offset as u64 + 1,
                    event_id: event.event_id,
                    event_type: event.event_type,
                    schema_version: event.schema_version,
                    timestamp: event.timestamp,
                    metadata: event.metadata,
                    payload: event.payload,
                });
            }
        }
        if let Some(record) = request.tracking {
            tracking.insert(record.consumer, record.position);
        }
        Ok(AppendOutcome {
            last_position: (log.len() > length_before).then_some(log.len() as u64),
            written: true,
        })
    }

    fn read_stream_now(&self, stream_id: Uuid, query: StreamQuery) -> Vec<StoredEvent> {
        self.read(|inner| {
            let Some(indexes) = inner.streams.get(&stream_id) else {
                return Vec::new();
            };
            // Versions are 1-based and dense, so bounds map straight to slice indexes.
            let start = (query.from_version.max(1) - 1) as usize;
            let end = query
                .to_version
                .map_or(indexes.len(), |to| (to as usize).min(indexes.len()));
            let window = indexes.get(start..end.max(start)).unwrap_or(&[]);
            let limit = query.limit.unwrap_or(usize::MAX);
            let pick = |&index: &usize| inner.log[index].clone();
            if query.descending {
                window.iter().rev().take(limit).map(pick).collect()
            } else {
                window.iter().take(limit).map(pick).collect()
            }
        })
    }

    fn read_log_now(&self, query: &LogQuery) -> Vec<StoredEvent> {
        self.read(|inner| {
            let start = usize::try_from(query.after)
                .unwrap_or(usize::MAX)
                .min(inner.log.len());
            inner.log[start..]
                .iter()
                .filter(|event| query.admits(&event.event_type))
                .take(query.limit)
                .cloned()
                .collect()
        })
    }
}

impl EventStore for MemoryStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let outcome = self.append_now(request)?;
        if let (true, Some(position)) = (outcome.written, outcome.last_position) {
            self.appended.send_replace(position);
        }
        Ok(outcome)
    }

    async fn reset_model(&self, writes: Vec<ModelWrite>, consumer: &str) -> Result<(), StoreError> {
        if !writes.is_empty() {
            return Err(StoreError::Config(
                "the in-memory store cannot run read-model SQL".into(),
            ));
        }
        self.inner
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .tracking
            .remove(consumer);
        Ok(())
    }

    async fn wait_for_events(&self, position: u64, timeout: Duration) {
        let mut appended = self.appended.subscribe();
        // The sender lives as long as the store, so `wait_for` only ends when
        // the condition holds; the timeout bounds the wait either way.
        let _ = tokio::time::timeout(timeout, appended.wait_for(|&last| last > position)).await;
    }

    async fn read_stream(
        &self,
        stream_id: Uuid,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.read_stream_now(stream_id, query))
    }

    async fn read_log(&self, query: LogQuery) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.read_log_now(&query))
    }

    async fn last_position(&self) -> Result<u64, StoreError> {
        Ok(self.read(|inner| inner.log.len() as u64))
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner
            .snapshots
            .entry(snapshot.stream_id)
            .or_default()
            .insert(snapshot.version, snapshot);
        Ok(())
    }

    async fn latest_snapshot(
        &self,
        stream_id: Uuid,
        max_version: Option<u64>,
    ) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.read(|inner| {
            let snapshots = inner.snapshots.get(&stream_id)?;
            snapshots
                .range(..=max_version.unwrap_or(u64::MAX))
                .next_back()
                .map(|(_, snapshot)| snapshot.clone())
        }))
    }

    async fn tracked_position(&self, consumer: &str) -> Result<u64, StoreError> {
        Ok(self.read(|inner| inner.tracking.get(consumer).copied().unwrap_or(0)))
    }
}
