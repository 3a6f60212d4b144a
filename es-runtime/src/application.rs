//! Applications: save aggregates, load them back, read the event log.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::codec::{Codec, JsonCodec};
use crate::error::{Error, SnapshotError};
use crate::event::{DomainEvent, Envelope, EventHeader};
use crate::metadata::Metadata;
use crate::protection::PayloadProtection;
use crate::record::{NewEvent, StoredEvent};
use crate::replay::fold;
use crate::store::{
    AppendOutcome, AppendRequest, EventStore, LogQuery, MemoryStore, Snapshot, StreamAppend,
    StreamQuery, Tracking,
};

/// An event-sourced application: a store, a codec, and the operations that
/// tie aggregates to them. Cheap to clone; clones share the store.
pub struct Application<S = MemoryStore, C = JsonCodec> {
    inner: Arc<Inner<S, C>>,
}

struct Inner<S, C> {
    store: S,
    codec: C,
    protection: Option<Arc<dyn PayloadProtection>>,
    snapshot_intervals: SnapshotIntervals,
}

/// Per aggregate type, how often to snapshot: the application's overrides of
/// `#[aggregate(snapshot_every = N)]`.
#[derive(Debug, Clone, Default)]
pub struct SnapshotIntervals {
    overrides: HashMap<&'static str, u64>,
}

impl SnapshotIntervals {
    /// The interval in force for `A`: the application's override, else the
    /// macro's; `None` when `A` is not snapshotted automatically.
    pub fn interval<A: Aggregate>(&self) -> Option<u64> {
        if !A::SNAPSHOTS {
            return None;
        }
        self.overrides
            .get(A::TYPE_NAME)
            .copied()
            .or(A::SNAPSHOT_EVERY)
            .filter(|&every| every > 0)
    }
}

/// Builds an [`Application`]: a store, then optionally a codec and a payload
/// protection.
pub struct ApplicationBuilder<S, C = JsonCodec> {
    store: S,
    codec: C,
    protection: Option<Arc<dyn PayloadProtection>>,
    snapshot_intervals: SnapshotIntervals,
}

impl<S: EventStore, C: Codec> ApplicationBuilder<S, C> {
    /// Encodes payloads with `codec` instead of JSON.
    pub fn codec<C2: Codec>(self, codec: C2) -> ApplicationBuilder<S, C2> {
        ApplicationBuilder {
            store: self.store,
            codec,
            protection: self.protection,
            snapshot_intervals: self.snapshot_intervals,
        }
    }

    /// Snapshots `A` whenever a save crosses a multiple of `every` versions,
    /// overriding `#[aggregate(snapshot_every = N)]`; 0 turns automatic
    /// snapshots of `A` off. Only aggregates declared with snapshots
    /// (`#[aggregate(snapshots)]` or `snapshot_every`) can be snapshotted.
    pub fn snapshot_every<A: Aggregate>(mut self, every: u64) -> Self {
        self.snapshot_intervals
            .overrides
            .insert(A::TYPE_NAME, every);
        self
    }

    /// Protects every payload (events and snapshots) with `protection` after
    /// encoding, and unprotects it before decoding.
    pub fn protection(mut self, protection: impl PayloadProtection) -> Self {
        self.protection = Some(Arc::new(protection));
        self
    }

    /// The application.
    pub fn build(self) -> Application<S, C> {
        Application {
            inner: Arc::new(Inner {
                store: self.store,
                codec: self.codec,
                protection: self.protection,
                snapshot_intervals: self.snapshot_intervals,
            }),
        }
    }
}

impl<S, C> Clone for Application<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl Application<MemoryStore, JsonCodec> {
    /// An application on a fresh in-memory store with the JSON codec.
    pub fn in_memory() -> Self {
        Self::new(MemoryStore::new())
    }
}

impl<S: EventStore> Application<S, JsonCodec> {
    /// An application on `store` with the JSON codec.
    pub fn new(store: S) -> Self {
        Self::builder(store).build()
    }

    /// Options for an application on `store`.
    pub fn builder(store: S) -> ApplicationBuilder<S, JsonCodec> {
        ApplicationBuilder {
            store,
            codec: JsonCodec,
            protection: None,
            snapshot_intervals: SnapshotIntervals::default(),
        }
    }
}

impl<S: EventStore, C: Codec> Application<S, C> {
    /// An application on `store` encoding payloads with `codec`.
    pub fn with_codec(store: S, codec: C) -> Self {
        Application::builder(store).codec(codec).build()
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The payload codec.
    pub fn codec(&self) -> &C {
        &self.inner.codec
    }

    /// Appends the pending events of one or more aggregates in one atomic
    /// write, then clears them. Accepts `&mut aggregate`, `&mut [A]`,
    /// `&mut Vec<A>` and tuples of these (`(&mut dog, &mut school)`).
    ///
    /// On error nothing is written and the aggregates keep their pending events.
    pub async fn save<T: Changes>(&self, changes: T) -> Result<AppendOutcome, Error> {
        self.save_with(changes, &Metadata::default()).await
    }

    /// Like [`save`](Self::save), filling each event's unset metadata
    /// (correlation, causation, key/values) from `metadata`.
    pub async fn save_with<T: Changes>(
        &self,
        mut changes: T,
        metadata: &Metadata,
    ) -> Result<AppendOutcome, Error> {
        let mut streams = Vec::new();
        changes.append_to(&self.inner.codec, metadata, &mut streams)?;
        if streams.is_empty() {
            return Ok(AppendOutcome {
                last_position: None,
                written: false,
            });
        }
        let outcome = self.append_encoded(streams, None).await?;
        let mut snapshots = Vec::new();
        let due = changes.snapshots_due(
            &self.inner.codec,
            &self.inner.snapshot_intervals,
            &mut snapshots,
        );
        changes.mark_saved();
        // The events are stored: from here on, failures concern snapshots only.
        due?;
        for snapshot in snapshots {
            self.store_snapshot(snapshot).await?;
        }
        Ok(outcome)
    }

    /// Protects encoded events (when the application protects payloads) and
    /// appends them, with `tracking` if given, in one atomic write.
    pub(crate) async fn append_encoded(
        &self,
        mut streams: Vec<StreamAppend>,
        tracking: Option<Tracking>,
    ) -> Result<AppendOutcome, Error> {
        if let Some(protection) = &self.inner.protection {
            for append in &mut streams {
                let mut payloads: Vec<Vec<u8>> = append
                    .events
                    .iter_mut()
                    .map(|event| std::mem::take(&mut event.payload))
                    .collect();
                protection.protect(append.stream_id, &mut payloads).await?;
                for (event, payload) in append.events.iter_mut().zip(payloads) {
                    event.payload = payload;
                }
            }
        }
        Ok(self
            .inner
            .store
            .append(AppendRequest { streams, tracking })
            .await?)
    }

    /// Takes a snapshot of aggregate `id` at its latest version, whatever the
    /// interval; returns that version.
    pub async fn take_snapshot<A: Aggregate>(&self, id: Uuid) -> Result<u64, Error> {
        if !A::SNAPSHOTS {
            return Err(Error::SnapshotsDisabled {
                aggregate: A::TYPE_NAME,
            });
        }
        let aggregate: A = self.get(id).await?;
        let snapshot = encode_snapshot(&aggregate, &self.inner.codec)?;
        let version = snapshot.version;
        self.store_snapshot(snapshot).await?;
        Ok(version)
    }

    async fn store_snapshot(&self, mut snapshot: Snapshot) -> Result<(), Error> {
        if let Some(protection) = &self.inner.protection {
            let mut payloads = [std::mem::take(&mut snapshot.payload)];
            protection
                .protect(snapshot.stream_id, &mut payloads)
                .await?;
            let [payload] = payloads;
            snapshot.payload = payload;
        }
        Ok(self.inner.store.save_snapshot(snapshot).await?)
    }

    /// The repository of this application's aggregates.
    pub fn repository(&self) -> Repository<'_, S, C> {
        Repository { app: self }
    }

    /// Loads the aggregate `id` at its latest version.
    pub async fn get<A: Aggregate>(&self, id: Uuid) -> Result<A, Error> {
        self.repository().get(id).await
    }

    /// Decodes a record read from the log (unprotecting its payload first when
    /// the application protects payloads).
    pub async fn decode<E: DomainEvent>(&self, record: &StoredEvent) -> Result<Envelope<E>, Error> {
        match &self.inner.protection {
            None => record.decode(&self.inner.codec),
            Some(protection) => {
                let mut payloads = [record.payload.clone()];
                protection
                    .unprotect(record.stream_id, &mut payloads)
                    .await?;
                let [payload] = payloads;
                let unprotected = StoredEvent {
                    payload,
                    ..record.clone()
                };
                unprotected.decode(&self.inner.codec)
            }
        }
    }

    /// Unprotects the payloads of records read from one stream, in place.
    async fn unprotect_stream(&self, records: &mut [StoredEvent]) -> Result<(), Error> {
        let (Some(protection), Some(first)) = (&self.inner.protection, records.first()) else {
            return Ok(());
        };
        let stream_id = first.stream_id;
        let mut payloads: Vec<Vec<u8>> = records
            .iter_mut()
            .map(|record| std::mem::take(&mut record.payload))
            .collect();
        protection.unprotect(stream_id, &mut payloads).await?;
        for (record, payload) in records.iter_mut().zip(payloads) {
            record.payload = payload;
        }
        Ok(())
    }

    /// Reads the application's event log: up to `query.limit` events after
    /// `query.after`, in position order. Payloads are returned as stored
    /// (still protected, if the application protects them): decode them with
    /// [`decode`](Self::decode).
    pub async fn read_log(&self, query: LogQuery) -> Result<Vec<StoredEvent>, Error> {
        Ok(self.inner.store.read_log(query).await?)
    }

    /// The position of the newest event in the log (0 when empty).
    pub async fn last_position(&self) -> Result<u64, Error> {
        Ok(self.inner.store.last_position().await?)
    }
}

/// Loads aggregates by id from an application's store.
pub struct Repository<'a, S, C> {
    app: &'a Application<S, C>,
}

impl<S: EventStore, C: Codec> Repository<'_, S, C> {
    /// The aggregate `id` at its latest version.
    pub async fn get<A: Aggregate>(&self, id: Uuid) -> Result<A, Error> {
        self.load(id, StreamQuery::all())
            .await?
            .ok_or(Error::NotFound {
                aggregate: A::TYPE_NAME,
                id,
            })
    }

    /// The aggregate `id` as it was at `version` (a temporal query).
    pub async fn get_at<A: Aggregate>(&self, id: Uuid, version: u64) -> Result<A, Error> {
        let aggregate: A = self
            .load(id, StreamQuery::all().to_version(version))
            .await?
            .ok_or(Error::NotFound {
                aggregate: A::TYPE_NAME,
                id,
            })?;
        let latest = aggregate.meta().version();
        if latest != version {
            return Err(Error::VersionNotFound {
                aggregate: A::TYPE_NAME,
                id,
                requested: version,
                latest,
            });
        }
        Ok(aggregate)
    }

    /// True when the store holds an aggregate with this id.
    pub async fn contains(&self, id: Uuid) -> Result<bool, Error> {
        let first = self
            .app
            .inner
            .store
            .read_stream(id, StreamQuery::all().limit(1))
            .await?;
        Ok(!first.is_empty())
    }

    /// Applies the events stored after `aggregate`'s version, so that it
    /// catches up with the store. Pending events must have been saved first.
    pub async fn fast_forward<A: Aggregate>(&self, aggregate: A) -> Result<A, Error> {
        let id = aggregate.meta().id();
        let query = StreamQuery::all().from_version(aggregate.meta().version() + 1);
        let mut records = self.app.inner.store.read_stream(id, query).await?;
        self.app.unprotect_stream(&mut records).await?;
        let folded = fold(Some(aggregate), &self.app.inner.codec, records)?;
        // `fold` only returns `None` when it started from `None`.
        folded.ok_or(Error::NotFound {
            aggregate: A::TYPE_NAME,
            id,
        })
    }

    /// Folds the events `query` selects onto the latest snapshot within its
    /// upper bound, when `A` has snapshots.
    async fn load<A: Aggregate>(&self, id: Uuid, query: StreamQuery) -> Result<Option<A>, Error> {
        let start = self.latest_snapshot::<A>(id, query.to_version).await?;
        let query = match &start {
            Some(aggregate) => query.from_version(aggregate.meta().version() + 1),
            None => query,
        };
        let mut records = self.app.inner.store.read_stream(id, query).await?;
        self.app.unprotect_stream(&mut records).await?;
        fold(start, &self.app.inner.codec, records)
    }

    async fn latest_snapshot<A: Aggregate>(
        &self,
        id: Uuid,
        max_version: Option<u64>,
    ) -> Result<Option<A>, Error> {
        if !A::SNAPSHOTS {
            return Ok(None);
        }
        let store = &self.app.inner.store;
        let Some(mut snapshot) = store.latest_snapshot(id, max_version).await? else {
            return Ok(None);
        };
        let snapshot_error = |reason| Error::Snapshot {
            aggregate: A::TYPE_NAME,
            stream_id: id,
            version: snapshot.version,
            reason,
        };
        let type_name = snapshot.snapshot_type.as_str();
        if type_name != A::TYPE_NAME && !A::TYPE_ALIASES.contains(&type_name) {
            return Err(snapshot_error(SnapshotError::WrongType {
                stored: snapshot.snapshot_type.clone(),
            }));
        }
        if let Some(protection) = &self.app.inner.protection {
            let mut payloads = [std::mem::take(&mut snapshot.payload)];
            protection.unprotect(id, &mut payloads).await?;
            let [payload] = payloads;
            snapshot.payload = payload;
        }
        let header = EventHeader {
            stream_id: id,
            version: snapshot.version,
            timestamp: snapshot.timestamp,
        };
        A::decode_snapshot(
            &self.app.inner.codec,
            &header,
            snapshot.schema_version,
            &snapshot.payload,
        )
        .map(Some)
        .map_err(|source| snapshot_error(SnapshotError::Decode(source)))
    }
}

/// Aggregates whose pending events can be saved together. Implemented for
/// `&mut A`, `&mut [A]`, `&mut Vec<A>` and tuples of up to six of these.
pub trait Changes {
    /// Encodes the pending events as appends, one per aggregate that has any.
    fn append_to<C: Codec>(
        &self,
        codec: &C,
        metadata: &Metadata,
        out: &mut Vec<StreamAppend>,
    ) -> Result<(), Error>;

    /// Encodes snapshots of the aggregates whose pending events cross a
    /// multiple of their snapshot interval. Called after a successful append,
    /// before [`mark_saved`](Self::mark_saved).
    fn snapshots_due<C: Codec>(
        &self,
        codec: &C,
        intervals: &SnapshotIntervals,
        out: &mut Vec<Snapshot>,
    ) -> Result<(), Error>;

    /// Clears the pending events after a successful save.
    fn mark_saved(&mut self);
}

/// A snapshot of `aggregate` at its current version.
fn encode_snapshot<A: Aggregate, C: Codec>(aggregate: &A, codec: &C) -> Result<Snapshot, Error> {
    let meta = aggregate.meta();
    let payload = aggregate
        .encode_snapshot(codec)
        .map_err(|source| Error::Snapshot {
            aggregate: A::TYPE_NAME,
            stream_id: meta.id(),
            version: meta.version(),
            reason: SnapshotError::Encode(source),
        })?;
    Ok(Snapshot {
        stream_id: meta.id(),
        version: meta.version(),
        snapshot_type: A::TYPE_NAME.to_owned(),
        schema_version: A::STATE_VERSION,
        timestamp: meta.modified_on(),
        payload,
    })
}

/// Adds a snapshot of `aggregate` to `out` when its unsaved events cross a
/// multiple of its interval (Python eventsourcing snapshots when
/// `version % interval == 0`; crossing also covers saves of several events).
fn snapshot_if_due<A: Aggregate, C: Codec>(
    aggregate: &A,
    codec: &C,
    intervals: &SnapshotIntervals,
    out: &mut Vec<Snapshot>,
) -> Result<(), Error> {
    let Some(every) = intervals.interval::<A>() else {
        return Ok(());
    };
    let meta = aggregate.meta();
    if meta.saved_version() / every < meta.version() / every {
        out.push(encode_snapshot(aggregate, codec)?);
    }
    Ok(())
}

/// Appends `aggregate`'s pending events, encoded, to `out`.
pub(crate) fn encode_pending<A: Aggregate, C: Codec>(
    aggregate: &A,
    codec: &C,
    metadata: &Metadata,
    out: &mut Vec<StreamAppend>,
) -> Result<(), Error> {
    let meta = aggregate.meta();
    let pending = meta.pending_events();
    if pending.is_empty() {
        return Ok(());
    }
    let mut events = Vec::with_capacity(pending.len());
    for envelope in pending {
        let event_type = envelope.event.event_type();
        let payload = envelope
            .event
            .encode_payload(codec)
            .map_err(|source| Error::Encode {
                stream_id: envelope.stream_id,
                version: envelope.version,
                event_type,
                source,
            })?;
        events.push(NewEvent {
            event_id: envelope.event_id,
            event_type: event_type.to_owned(),
            schema_version: envelope.event.schema_version(),
            timestamp: envelope.timestamp,
            metadata: envelope.metadata.clone().or(metadata),
            payload,
        });
    }
    out.push(StreamAppend {
        stream_id: meta.id(),
        expected_version: meta.saved_version(),
        events,
    });
    Ok(())
}

impl<A: Aggregate> Changes for &mut A {
    fn append_to<C: Codec>(
        &self,
        codec: &C,
        metadata: &Metadata,
        out: &mut Vec<StreamAppend>,
    ) -> Result<(), Error> {
        encode_pending(&**self, codec, metadata, out)
    }

    fn snapshots_due<C: Codec>(
        &self,
        codec: &C,
        intervals: &SnapshotIntervals,
        out: &mut Vec<Snapshot>,
    ) -> Result<(), Error> {
        snapshot_if_due(&**self, codec, intervals, out)
    }

    fn mark_saved(&mut self) {
        self.meta_mut().mark_saved();
    }
}

/// `Changes` for a mutable borrow of a collection of aggregates: every
/// aggregate in it, in order.
macro_rules! collection_changes {
    ($collection:ty) => {
        impl<A: Aggregate> Changes for $collection {
            fn append_to<C: Codec>(
                &self,
                codec: &C,
                metadata: &Metadata,
                out: &mut Vec<StreamAppend>,
            ) -> Result<(), Error> {
                self.iter()
                    .try_for_each(|aggregate| encode_pending(aggregate, codec, metadata, out))
            }

            fn snapshots_due<C: Codec>(
                &self,
                codec: &C,
                intervals: &SnapshotIntervals,
                out: &mut Vec<Snapshot>,
            ) -> Result<(), Error> {
                self.iter()
                    .try_for_each(|aggregate| snapshot_if_due(aggregate, codec, intervals, out))
            }

            fn mark_saved(&mut self) {
                self.iter_mut()
                    .for_each(|aggregate| aggregate.meta_mut().mark_saved());
            }
        }
    };
}

collection_changes!(&mut [A]);
collection_changes!(&mut Vec<A>);

macro_rules! tuple_changes {
    ($($name:ident . $index:tt),+) => {
        impl<$($name: Changes),+> Changes for ($($name,)+) {
            fn append_to<C: Codec>(
                &self,
                codec: &C,
                metadata: &Metadata,
                out: &mut Vec<StreamAppend>,
            ) -> Result<(), Error> {
                $(self.$index.append_to(codec, metadata, out)?;)+
                Ok(())
            }

            fn snapshots_due<C: Codec>(
                &self,
                codec: &C,
                intervals: &SnapshotIntervals,
                out: &mut Vec<Snapshot>,
            ) -> Result<(), Error> {
                $(self.$index.snapshots_due(codec, intervals, out)?;)+
                Ok(())
            }

            fn mark_saved(&mut self) {
                $(self.$index.mark_saved();)+
            }
        }
    };
}

tuple_changes!(T0.0, T1.1);
tuple_changes!(T0.0, T1.1, T2.2);
tuple_changes!(T0.0, T1.1, T2.2, T3.3);
tuple_changes!(T0.0, T1.1, T2.2, T3.3, T4.4);
tuple_changes!(T0.0, T1.1, T2.2, T3.3, T4.4, T5.5);
