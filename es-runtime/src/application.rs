//! Applications: save aggregates, load them back, read the event log.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::chain::{self, ChainVerifier, StreamHead};
use crate::codec::{Codec, JsonCodec};
use crate::error::Error;
use crate::event::{DomainEvent, Envelope};
use crate::mapper::Mapper;
use crate::metadata::Metadata;
use crate::protect::PayloadProtection;
use tracing::Instrument;

use crate::store::{
    AppendOutcome, AppendRequest, DecodedEvent, LogQuery, LogStore, MemoryStore, Snapshot,
    SnapshotStore, StoredEvent, StreamAppend, StreamQuery, StreamStore, Tracking, TrackingStore,
};

/// The store's type name without its path (`MemoryStore`), for spans.
fn store_kind<S>() -> &'static str {
    let name = std::any::type_name::<S>();
    let name = name.split('<').next().unwrap_or(name);
    name.rsplit("::").next().unwrap_or(name)
}

/// How many records a load reads, unprotects or checks, and folds at a time
/// when it cannot fold rows as the store reads them.
const RECORD_PAGE: usize = 1_000;

/// An event-sourced application: a store, the [`Mapper`] between events and
/// stored records, and the operations that tie aggregates to them. Cheap to
/// clone; clones share the store.
///
/// Each operation asks the store for the capabilities it uses (see the
/// [`store`](crate::store) module): saving and loading need
/// [`StreamStore`] and [`SnapshotStore`], reading the log needs
/// [`LogStore`].
pub struct Application<S = MemoryStore, C = JsonCodec> {
    inner: Arc<Inner<S, C>>,
}

struct Inner<S, C> {
    store: S,
    mapper: Mapper<C>,
    snapshot_intervals: SnapshotIntervals,
    hash_chain: bool,
}

/// Per aggregate type, how often to snapshot: the application's overrides of
/// `#[aggregate(snapshot_every = N)]`.
#[derive(Debug, Clone, Default)]
struct SnapshotIntervals {
    overrides: HashMap<&'static str, u64>,
}

impl SnapshotIntervals {
    /// The interval in force for `A`: the application's override, else the
    /// macro's; `None` when `A` is not snapshotted automatically.
    fn interval<A: Aggregate>(&self) -> Option<u64> {
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

/// Builds an [`Application`]: a store, then optionally a codec, a payload
/// protection and snapshot intervals.
#[must_use]
pub struct ApplicationBuilder<S, C = JsonCodec> {
    store: S,
    codec: C,
    protection: Option<Arc<dyn PayloadProtection>>,
    snapshot_intervals: SnapshotIntervals,
    hash_chain: bool,
}

impl<S, C: Codec> ApplicationBuilder<S, C> {
    /// Encodes payloads with `codec` instead of JSON (keeping the protection).
    pub fn codec<C2: Codec>(self, codec: C2) -> ApplicationBuilder<S, C2> {
        ApplicationBuilder {
            store: self.store,
            codec,
            protection: self.protection,
            snapshot_intervals: self.snapshot_intervals,
            hash_chain: self.hash_chain,
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

    /// Makes the streams this application writes tamper-evident (off by
    /// default): each event it stores carries a hash of its predecessor's
    /// hash and its own stored fields, and each load checks the chain of the
    /// events it reads, failing with [`Error::Chain`] at the first bad
    /// version. Saving an event to an existing stream costs one read of the
    /// stream's last event. See [`chain`](crate::chain) for what it detects
    /// and what it does not.
    pub fn hash_chain(mut self, on: bool) -> Self {
        self.hash_chain = on;
        self
    }

    /// The application.
    pub fn build(self) -> Application<S, C> {
        Application {
            inner: Arc::new(Inner {
                store: self.store,
                mapper: Mapper::from_parts(self.codec, self.protection),
                snapshot_intervals: self.snapshot_intervals,
                hash_chain: self.hash_chain,
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

impl<S> Application<S, JsonCodec> {
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
            hash_chain: false,
        }
    }
}

impl<S, C: Codec> Application<S, C> {
    /// An application on `store` encoding payloads with `codec`.
    pub fn with_codec(store: S, codec: C) -> Self {
        Application::builder(store).codec(codec).build()
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The mapper between this application's events and stored records.
    pub fn mapper(&self) -> &Mapper<C> {
        &self.inner.mapper
    }

    /// Appends the pending events of one or more aggregates in one atomic
    /// write, then clears them. Accepts `&mut aggregate`, `&mut [A]`,
    /// `&mut Vec<A>` and tuples of these (`(&mut dog, &mut school)`).
    ///
    /// On error nothing is written and the aggregates keep their pending
    /// events; after [`StoreError::InDoubt`](crate::store::StoreError::InDoubt)
    /// (PostgreSQL: an answer lost in a failover) the events may be stored,
    /// and saving again settles it by their ids. Aggregates whose new events cross a multiple of their
    /// snapshot interval are snapshotted after the append.
    pub async fn save<T: Changes>(&self, changes: T) -> Result<AppendOutcome, Error>
    where
        S: StreamStore + SnapshotStore,
    {
        self.save_with(changes, &Metadata::default()).await
    }

    /// Like [`save`](Self::save), filling each event's unset metadata
    /// (correlation, causation, key/values) from `metadata`.
    pub async fn save_with<T: Changes>(
        &self,
        mut changes: T,
        metadata: &Metadata,
    ) -> Result<AppendOutcome, Error>
    where
        S: StreamStore + SnapshotStore,
    {
        let streams = self.encode_changes(&changes, metadata)?;
        if streams.is_empty() {
            return Ok(AppendOutcome {
                last_position: None,
                written: false,
            });
        }
        let span = tracing::debug_span!(
            "chronicle.save",
            store = store_kind::<S>(),
            aggregate_type = streams[0].events.first().map(|e| e.aggregate_type.as_str()),
            stream_id = %streams[0].stream_id,
            from_version = streams[0].expected_version,
            streams = streams.len(),
            events = streams.iter().map(|s| s.events.len()).sum::<usize>(),
        );
        let outcome = async {
            let outcome = if self.inner.store.keeps_decoded() && !self.inner.mapper.protects() {
                let mut decoded = KeepDecoded(Vec::new());
                changes.each(&mut decoded)?;
                // Nothing to protect here; links the hash chains when on.
                let request = self.protected(streams).await?;
                self.inner.store.append_decoded(request, decoded.0).await?
            } else {
                let request = self.protected(streams).await?;
                if self.inner.mapper.stores_json() {
                    // The codec's own output: the store need not parse it again.
                    self.inner.store.append_json(request).await?
                } else {
                    self.inner.store.append(request).await?
                }
            };
            tracing::debug!(
                position = outcome.last_position,
                written = outcome.written,
                "appended"
            );
            Ok::<_, Error>(outcome)
        }
        .instrument(span)
        .await?;
        let mut due = SnapshotsDue {
            mapper: &self.inner.mapper,
            intervals: &self.inner.snapshot_intervals,
            out: Vec::new(),
        };
        let encoded = changes.each(&mut due);
        changes.mark_saved();
        // The events are stored: from here on, failures concern snapshots only.
        encoded?;
        for snapshot in due.out {
            self.store_snapshot(snapshot).await?;
        }
        Ok(outcome)
    }

    /// Encodes the pending events of `changes`, one append per aggregate
    /// that has any.
    fn encode_changes<T: Changes>(
        &self,
        changes: &T,
        metadata: &Metadata,
    ) -> Result<Vec<StreamAppend>, Error> {
        let mut pending = EncodePending {
            mapper: &self.inner.mapper,
            metadata,
            out: Vec::new(),
        };
        changes.each(&mut pending)?;
        Ok(pending.out)
    }

    /// Protects encoded appends, links them to their streams' hash chains
    /// (when on: over the payloads as stored) and makes them one request.
    async fn protected(&self, mut streams: Vec<StreamAppend>) -> Result<AppendRequest, Error>
    where
        S: StreamStore,
    {
        self.inner.mapper.protect_appends(&mut streams).await?;
        if self.inner.hash_chain {
            chain::link_appends(&self.inner.store, &mut streams).await?;
        }
        Ok(AppendRequest::new(streams))
    }

    /// Protects encoded appends and appends them with `tracking` in one
    /// atomic write (process applications).
    pub(crate) async fn append_tracked(
        &self,
        streams: Vec<StreamAppend>,
        tracking: Tracking,
    ) -> Result<AppendOutcome, Error>
    where
        S: TrackingStore,
    {
        let request = self.protected(streams).await?;
        Ok(self.inner.store.append_tracked(request, tracking).await?)
    }

    /// Takes a snapshot of aggregate `id` at its latest version, whatever the
    /// interval; returns that version.
    pub async fn take_snapshot<A: Aggregate>(&self, id: Uuid) -> Result<u64, Error>
    where
        S: StreamStore + SnapshotStore,
    {
        if !A::SNAPSHOTS {
            return Err(Error::SnapshotsDisabled {
                aggregate: A::TYPE_NAME,
            });
        }
        let aggregate: A = self.get(id).await?;
        let snapshot = self.inner.mapper.encode_snapshot(&aggregate)?;
        let version = snapshot.version;
        self.store_snapshot(snapshot).await?;
        Ok(version)
    }

    async fn store_snapshot(&self, mut snapshot: Snapshot) -> Result<(), Error>
    where
        S: SnapshotStore,
    {
        self.inner.mapper.protect_snapshot(&mut snapshot).await?;
        tracing::debug!(
            store = store_kind::<S>(),
            aggregate_type = snapshot.snapshot_type,
            stream_id = %snapshot.stream_id,
            version = snapshot.version,
            "saving snapshot"
        );
        Ok(self.inner.store.save_snapshot(snapshot).await?)
    }

    /// The repository of this application's aggregates.
    pub fn repository(&self) -> Repository<'_, S, C> {
        Repository { app: self }
    }

    /// Loads the aggregate `id` at its latest version.
    pub async fn get<A: Aggregate>(&self, id: Uuid) -> Result<A, Error>
    where
        S: StreamStore + SnapshotStore,
    {
        self.repository().get(id).await
    }

    /// The last event of stream `id` (its version and hash-chain link), to
    /// keep outside the database and pass to
    /// [`verify_stream`](Self::verify_stream) later; `None` for a stream
    /// with no events.
    pub async fn stream_head(&self, id: Uuid) -> Result<Option<StreamHead>, Error>
    where
        S: StreamStore,
    {
        chain::read_head(&self.inner.store, id).await
    }

    /// Checks the whole hash chain of stream `id` (whether or not this
    /// application links new events), and that the stream still holds
    /// `anchor` (a head kept since, with [`stream_head`](Self::stream_head)),
    /// which reveals a truncated end. Returns the stream's head; a broken
    /// chain is [`Error::Chain`] naming the first bad version. Payloads are
    /// not decoded: a crypto-shredded stream verifies.
    pub async fn verify_stream(
        &self,
        id: Uuid,
        anchor: Option<StreamHead>,
    ) -> Result<Option<StreamHead>, Error>
    where
        S: StreamStore,
    {
        let verifier = ChainVerifier::new(id);
        let verifier = match anchor {
            Some(anchor) => verifier.anchored(anchor),
            None => verifier,
        };
        chain::verify_stored(&self.inner.store, id, verifier).await
    }

    /// Decodes a record read from the log with this application's mapper
    /// (unprotecting its payload first when the application protects
    /// payloads).
    pub async fn decode<E: DomainEvent>(&self, record: &StoredEvent) -> Result<Envelope<E>, Error> {
        self.inner.mapper.decode(record).await
    }

    /// Reads the application's event log: up to `query.limit` events after
    /// `query.after`, in position order. Payloads are returned as stored
    /// (still protected, if the application protects them): decode them with
    /// [`decode`](Self::decode).
    pub async fn read_log(&self, query: LogQuery) -> Result<Vec<StoredEvent>, Error>
    where
        S: LogStore,
    {
        let span = tracing::debug_span!(
            "chronicle.read_log",
            store = store_kind::<S>(),
            after = query.after,
            limit = query.limit,
        );
        async {
            let page = self.inner.store.read_log(query).await?;
            tracing::debug!(
                events = page.len(),
                last_position = page.last().map(|e| e.position),
                "read"
            );
            Ok(page)
        }
        .instrument(span)
        .await
    }

    /// The position of the newest event in the log (0 when empty).
    pub async fn last_position(&self) -> Result<u64, Error>
    where
        S: LogStore,
    {
        Ok(self.inner.store.last_position().await?)
    }
}

/// Loads aggregates by id from an application's store.
pub struct Repository<'a, S, C> {
    app: &'a Application<S, C>,
}

impl<S, C: Codec> Repository<'_, S, C> {
    /// The aggregate `id` at its latest version.
    pub async fn get<A: Aggregate>(&self, id: Uuid) -> Result<A, Error>
    where
        S: StreamStore + SnapshotStore,
    {
        self.load(id, StreamQuery::all())
            .await?
            .ok_or(Error::NotFound {
                aggregate: A::TYPE_NAME,
                id,
            })
    }

    /// The aggregate `id` as it was at `version` (a temporal query).
    pub async fn get_at<A: Aggregate>(&self, id: Uuid, version: u64) -> Result<A, Error>
    where
        S: StreamStore + SnapshotStore,
    {
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
    pub async fn contains(&self, id: Uuid) -> Result<bool, Error>
    where
        S: StreamStore,
    {
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
    pub async fn fast_forward<A: Aggregate>(&self, aggregate: A) -> Result<A, Error>
    where
        S: StreamStore,
    {
        let id = aggregate.meta().id();
        let query = StreamQuery::all().from_version(aggregate.meta().version() + 1);
        let folded = self.fold_onto(id, Some(aggregate), query).await?;
        // `fold` only returns `None` when it started from `None`.
        folded.ok_or(Error::NotFound {
            aggregate: A::TYPE_NAME,
            id,
        })
    }

    /// Folds the events `query` selects onto the latest snapshot within its
    /// upper bound, when `A` has snapshots.
    async fn load<A: Aggregate>(&self, id: Uuid, query: StreamQuery) -> Result<Option<A>, Error>
    where
        S: StreamStore + SnapshotStore,
    {
        let span = tracing::debug_span!(
            "chronicle.load",
            store = store_kind::<S>(),
            aggregate_type = A::TYPE_NAME,
            stream_id = %id,
            to_version = query.to_version,
        );
        async {
            let start = self.latest_snapshot::<A>(id, query.to_version).await?;
            let snapshot_version = start.as_ref().map(|a| a.meta().version());
            let query = match snapshot_version {
                Some(version) => query.from_version(version + 1),
                None => query,
            };
            let loaded = self.fold_onto(id, start, query).await?;
            tracing::debug!(
                snapshot_version,
                version = loaded.as_ref().map(|a| a.meta().version()),
                "loaded"
            );
            Ok(loaded)
        }
        .instrument(span)
        .await
    }

    /// Folds the events of stream `id` that `query` selects onto `start`
    /// (from nothing when `None`). Unprotected, unchained payloads are folded
    /// as the store reads them ([`StreamStore::fold_stream`]); others by
    /// pages of records ([`fold_records`](Self::fold_records)). Either way a
    /// long stream is never held whole.
    async fn fold_onto<A: Aggregate>(
        &self,
        id: Uuid,
        start: Option<A>,
        query: StreamQuery,
    ) -> Result<Option<A>, Error>
    where
        S: StreamStore,
    {
        let inner = &self.app.inner;
        if inner.mapper.protects() || inner.hash_chain {
            return self.fold_records(id, start, query).await;
        }
        let app = Arc::clone(inner);
        inner
            .store
            .fold_stream(id, query, start, move |aggregate, event| {
                app.mapper.replay(aggregate, event)
            })
            .await
    }

    /// [`fold_onto`](Self::fold_onto) a page of records at a time: protected
    /// payloads are unprotected a page in one batch; with hash chains, each
    /// page's chain is checked before it is folded, from the event before
    /// the first one folded (read with the first page, trusted, not folded).
    async fn fold_records<A: Aggregate>(
        &self,
        id: Uuid,
        start: Option<A>,
        query: StreamQuery,
    ) -> Result<Option<A>, Error>
    where
        S: StreamStore,
    {
        let inner = &self.app.inner;
        let mut chain = inner.hash_chain.then(|| ChainVerifier::new(id));
        let mut seed = match chain {
            Some(_) => query.from_version.max(1) - 1,
            None => 0,
        };
        let from = if seed > 0 { seed } else { query.from_version };
        let mut query = query.from_version(from).limit(RECORD_PAGE);
        let mut aggregate = start;
        loop {
            let mut records = inner.store.read_stream(id, query).await?;
            let full = records.len() == RECORD_PAGE;
            if let Some(verifier) = &mut chain {
                if seed > 0 {
                    let hash = match records.first() {
                        Some(first) if first.version == seed => records.remove(0).chain_hash,
                        _ => None,
                    };
                    *verifier = ChainVerifier::after(StreamHead {
                        stream_id: id,
                        version: seed,
                        hash,
                    });
                    seed = 0;
                }
                records
                    .iter()
                    .try_for_each(|record| verifier.check(record))?;
            }
            let next = records.last().map(|last| last.version + 1);
            aggregate = inner.mapper.fold(aggregate, records).await?;
            match next {
                Some(next) if full => query = query.from_version(next),
                _ => return Ok(aggregate),
            }
        }
    }

    async fn latest_snapshot<A: Aggregate>(
        &self,
        id: Uuid,
        max_version: Option<u64>,
    ) -> Result<Option<A>, Error>
    where
        S: SnapshotStore,
    {
        if !A::SNAPSHOTS {
            return Ok(None);
        }
        match self
            .app
            .inner
            .store
            .latest_snapshot(id, max_version)
            .await?
        {
            Some(snapshot) => self.app.inner.mapper.restore(snapshot).await.map(Some),
            None => Ok(None),
        }
    }
}

/// Aggregates whose pending events can be saved together: `&mut A`,
/// `&mut [A]`, `&mut Vec<A>` and tuples of up to six of these
/// (`(&mut dog, &mut school)`). Sealed: implemented by this crate only.
pub trait Changes: changes::Each {}

impl<T: changes::Each> Changes for T {}

/// The sealed part of [`Changes`]: visiting each aggregate.
mod changes {
    use crate::aggregate::Aggregate;
    use crate::error::Error;

    /// Something done to each aggregate of a save, whatever its type.
    pub trait Visit {
        fn visit<A: Aggregate>(&mut self, aggregate: &A) -> Result<(), Error>;
    }

    pub trait Each {
        /// Visits every aggregate, in order.
        fn each<V: Visit>(&self, visit: &mut V) -> Result<(), Error>;

        /// Clears the pending events after a successful save.
        fn mark_saved(&mut self);
    }

    impl<A: Aggregate> Each for &mut A {
        fn each<V: Visit>(&self, visit: &mut V) -> Result<(), Error> {
            visit.visit(&**self)
        }

        fn mark_saved(&mut self) {
            self.meta_mut().mark_saved();
        }
    }

    /// `Each` for a mutable borrow of a collection of aggregates: every
    /// aggregate in it, in order.
    macro_rules! collection {
        ($collection:ty) => {
            impl<A: Aggregate> Each for $collection {
                fn each<V: Visit>(&self, visit: &mut V) -> Result<(), Error> {
                    self.iter().try_for_each(|aggregate| visit.visit(aggregate))
                }

                fn mark_saved(&mut self) {
                    self.iter_mut()
                        .for_each(|aggregate| aggregate.meta_mut().mark_saved());
                }
            }
        };
    }

    collection!(&mut [A]);
    collection!(&mut Vec<A>);

    macro_rules! tuple {
        ($($name:ident . $index:tt),+) => {
            impl<$($name: Each),+> Each for ($($name,)+) {
                fn each<V: Visit>(&self, visit: &mut V) -> Result<(), Error> {
                    $(self.$index.each(visit)?;)+
                    Ok(())
                }

                fn mark_saved(&mut self) {
                    $(self.$index.mark_saved();)+
                }
            }
        };
    }

    tuple!(T0.0, T1.1);
    tuple!(T0.0, T1.1, T2.2);
    tuple!(T0.0, T1.1, T2.2, T3.3);
    tuple!(T0.0, T1.1, T2.2, T3.3, T4.4);
    tuple!(T0.0, T1.1, T2.2, T3.3, T4.4, T5.5);
}

/// Encodes the pending events of each aggregate.
struct EncodePending<'a, C> {
    mapper: &'a Mapper<C>,
    metadata: &'a Metadata,
    out: Vec<StreamAppend>,
}

impl<C: Codec> changes::Visit for EncodePending<'_, C> {
    fn visit<A: Aggregate>(&mut self, aggregate: &A) -> Result<(), Error> {
        self.mapper
            .encode_pending(aggregate, self.metadata, &mut self.out)
    }
}

/// Clones the pending events of each aggregate, as a store that keeps them
/// in process is offered them (`StreamStore::append_decoded`), in the order
/// `EncodePending` encodes them.
struct KeepDecoded(Vec<DecodedEvent>);

impl changes::Visit for KeepDecoded {
    fn visit<A: Aggregate>(&mut self, aggregate: &A) -> Result<(), Error> {
        let pending = aggregate.meta().pending_events();
        self.0.extend(
            pending
                .iter()
                .map(|envelope| DecodedEvent::new(envelope.event.clone())),
        );
        Ok(())
    }
}

/// Encodes snapshots of the aggregates whose unsaved events cross a multiple
/// of their interval (Python eventsourcing snapshots when
/// `version % interval == 0`; crossing also covers saves of several events).
struct SnapshotsDue<'a, C> {
    mapper: &'a Mapper<C>,
    intervals: &'a SnapshotIntervals,
    out: Vec<Snapshot>,
}

impl<C: Codec> changes::Visit for SnapshotsDue<'_, C> {
    fn visit<A: Aggregate>(&mut self, aggregate: &A) -> Result<(), Error> {
        let Some(every) = self.intervals.interval::<A>() else {
            return Ok(());
        };
        let meta = aggregate.meta();
        if meta.saved_version() / every < meta.version() / every {
            self.out.push(self.mapper.encode_snapshot(aggregate)?);
        }
        Ok(())
    }
}

/// Stages aggregates' pending events for a process application's atomic
/// append (see [`ProcessContext`](crate::ProcessContext)).
pub(crate) fn encode_staged<A: Aggregate, C: Codec>(
    mapper: &Mapper<C>,
    aggregate: &A,
    metadata: &Metadata,
    staged: &mut Vec<StreamAppend>,
) -> Result<(), Error> {
    let mut appends = Vec::new();
    mapper.encode_pending(aggregate, metadata, &mut appends)?;
    for append in appends {
        match staged
            .iter_mut()
            .find(|staged| staged.stream_id == append.stream_id)
        {
            // Saved twice in one reaction: the later events follow on.
            Some(staged) => staged.events.extend(append.events),
            None => staged.push(append),
        }
    }
    Ok(())
}
