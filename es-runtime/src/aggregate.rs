//! Aggregates: the consistency boundary whose state is the fold of its events.

use std::fmt;

use uuid::Uuid;

use crate::codec::{Codec, CodecError};
use crate::event::{DomainEvent, Envelope, EventHeader, PayloadError};
use crate::metadata::Metadata;
use crate::timestamp::Timestamp;

/// An event-sourced aggregate. Implemented by `#[aggregate]`; not meant to be
/// implemented by hand.
pub trait Aggregate: Sized + Send + Sync + 'static {
    /// The aggregate's type name (`"Dog"`).
    const TYPE_NAME: &'static str;

    /// The generated event enum (`DogEvent`). `PartialEq`, so that a save
    /// can check that each event reads back as it was recorded.
    type Event: DomainEvent + PartialEq;

    /// Identity, version, timestamps and pending events.
    fn meta(&self) -> &AggregateMeta<Self::Event>;

    /// Mutable access for the runtime (saving drains pending events).
    #[doc(hidden)]
    fn meta_mut(&mut self) -> &mut AggregateMeta<Self::Event>;

    /// Runs the creation body of a stored creation event.
    fn create(header: &EventHeader, event: Self::Event) -> Result<Self, ApplyError>;

    /// Runs the body of a stored event on existing state. The runtime checks
    /// versions and advances the metadata; this changes the state only.
    fn mutate(&mut self, event: Self::Event) -> Result<(), ApplyError>;

    /// Former type names (`#[aggregate(aliases = ["Dog"])]`), accepted when
    /// reading snapshots stored under them.
    const TYPE_ALIASES: &'static [&'static str] = &[];

    /// True when the state can be snapshotted (`#[aggregate(snapshots)]` or
    /// `#[aggregate(snapshot_every = N)]`).
    const SNAPSHOTS: bool = false;

    /// Take a snapshot whenever a save crosses a multiple of this version
    /// (`#[aggregate(snapshot_every = N)]`); an application may override it.
    const SNAPSHOT_EVERY: Option<u64> = None;

    /// The version of the state's schema, stored with snapshots
    /// (`#[aggregate(version = N)]`; 1 by default).
    const STATE_VERSION: u32 = 1;

    /// Encodes the state (and creation time) as a snapshot payload. Only
    /// called when [`SNAPSHOTS`](Self::SNAPSHOTS) is true.
    fn encode_snapshot<C: Codec>(&self, codec: &C) -> Result<Vec<u8>, CodecError>;

    /// True when every field of `event` has a plain type (see
    /// [`Codec::EXACT_FOR_PLAIN_TYPES`]): a save with such a codec need not
    /// check that it reads back.
    #[doc(hidden)]
    fn __plain_event(event: &Self::Event) -> bool {
        let _ = event;
        false
    }

    /// Whether `other` is the same aggregate value (identity, version,
    /// timestamps and state): `Some` when the aggregate derives `PartialEq`,
    /// `None` when it cannot tell. A save compares a snapshot read back with
    /// the aggregate it was taken of.
    #[doc(hidden)]
    fn __same_value(&self, _other: &Self) -> Option<bool> {
        None
    }

    /// Rebuilds the aggregate from a snapshot payload stored at
    /// `schema_version`, upcasting older states. `header` gives the stream,
    /// the snapshot's version and the time of its last event.
    fn decode_snapshot<C: Codec>(
        codec: &C,
        header: &EventHeader,
        schema_version: u32,
        payload: &[u8],
    ) -> Result<Self, PayloadError>;
}

/// The stored form of a snapshot: the state and when the aggregate was
/// created (id, version and modification time are kept beside the payload).
#[doc(hidden)]
#[derive(serde::Serialize)]
pub struct SnapshotOut<'a, T> {
    pub created_on: i64,
    pub state: &'a T,
}

/// The stored form of a snapshot, read back (see [`SnapshotOut`]).
#[doc(hidden)]
#[derive(serde::Deserialize)]
pub struct SnapshotIn<T> {
    pub created_on: i64,
    pub state: T,
}

/// Why a stored event could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The stream's first event does not create the aggregate.
    #[error("event `{event_type}` cannot start a stream: it is not a creation event")]
    NotACreationEvent {
        /// The stored type name.
        event_type: &'static str,
    },
    /// A creation event appears after the stream's first event.
    #[error("creation event `{event_type}` found in a stream that already exists")]
    UnexpectedCreationEvent {
        /// The stored type name.
        event_type: &'static str,
    },
    /// Versions in the stream are not consecutive.
    #[error("expected version {expected}, found version {found}")]
    VersionGap {
        /// The version that should come next.
        expected: u64,
        /// The version stored.
        found: u64,
    },
}

/// What every aggregate carries beside its state: id, version, timestamps and
/// the events recorded since it was last saved.
#[derive(Clone)]
pub struct AggregateMeta<E> {
    id: Uuid,
    version: u64,
    created_on: Timestamp,
    modified_on: Timestamp,
    pending: Vec<Envelope<E>>,
}

impl<E> AggregateMeta<E> {
    /// The aggregate's id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The version of the last event applied (1 after creation).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When the creation event happened.
    pub fn created_on(&self) -> Timestamp {
        self.created_on
    }

    /// When the last event happened.
    pub fn modified_on(&self) -> Timestamp {
        self.modified_on
    }

    /// Events recorded but not yet saved, oldest first.
    pub fn pending_events(&self) -> &[Envelope<E>] {
        &self.pending
    }

    /// The version the store holds: the version before the pending events.
    pub fn saved_version(&self) -> u64 {
        self.version - self.pending.len() as u64
    }

    /// Takes the pending events, oldest first, leaving none.
    pub fn collect_events(&mut self) -> Vec<Envelope<E>> {
        std::mem::take(&mut self.pending)
    }

    /// Metadata for a freshly recorded creation event; used by `#[event]` methods.
    #[doc(hidden)]
    pub fn __record_created(id: Uuid, event: E) -> Self {
        let envelope = new_envelope(id, 1, event);
        Self {
            id,
            version: 1,
            created_on: envelope.timestamp,
            modified_on: envelope.timestamp,
            pending: vec![envelope],
        }
    }

    /// Records a new event after its body ran; used by `#[event]` methods.
    #[doc(hidden)]
    pub fn __record(&mut self, event: E) {
        let envelope = new_envelope(self.id, self.version + 1, event);
        self.version = envelope.version;
        self.modified_on = envelope.timestamp;
        self.pending.push(envelope);
    }

    /// Metadata for an aggregate rebuilt from its stored creation event.
    #[doc(hidden)]
    pub fn __replayed(header: &EventHeader) -> Self {
        Self {
            id: header.stream_id,
            version: header.version,
            created_on: header.timestamp,
            modified_on: header.timestamp,
            pending: Vec::new(),
        }
    }

    /// Metadata for an aggregate rebuilt from a snapshot.
    #[doc(hidden)]
    pub fn __from_snapshot(header: &EventHeader, created_on_micros: i64) -> Self {
        Self {
            id: header.stream_id,
            version: header.version,
            created_on: Timestamp::from_unix_micros(created_on_micros),
            modified_on: header.timestamp,
            pending: Vec::new(),
        }
    }

    pub(crate) fn advance(&mut self, header: &EventHeader) {
        self.version = header.version;
        self.modified_on = header.timestamp;
    }

    pub(crate) fn mark_saved(&mut self) {
        self.pending.clear();
    }
}

fn new_envelope<E>(stream_id: Uuid, version: u64, event: E) -> Envelope<E> {
    Envelope {
        event_id: Uuid::new_v4(),
        stream_id,
        version,
        timestamp: Timestamp::now(),
        metadata: Metadata::default(),
        event,
    }
}

impl<E> PartialEq for AggregateMeta<E> {
    /// Compares identity, version and timestamps. Pending events are not part
    /// of an aggregate's value: a saved aggregate equals its replayed copy.
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.version == other.version
            && self.created_on == other.created_on
            && self.modified_on == other.modified_on
    }
}

impl<E> Eq for AggregateMeta<E> {}

impl<E: fmt::Debug> fmt::Debug for AggregateMeta<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AggregateMeta")
            .field("id", &self.id)
            .field("version", &self.version)
            .field("created_on", &self.created_on)
            .field("modified_on", &self.modified_on)
            .field("pending", &self.pending.len())
            .finish()
    }
}
