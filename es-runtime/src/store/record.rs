//! Encoded events as stores keep them: written as [`NewEvent`]s, read back
//! as [`StoredEvent`]s. The [`Mapper`](crate::Mapper) turns domain events
//! into these records and back.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use crate::chain::ChainHash;
use crate::metadata::Metadata;
use crate::timestamp::Timestamp;

/// An encoded event on its way into a store; the store gives it its version
/// and its position in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The event's own id.
    pub event_id: Uuid,
    /// The type of the aggregate whose stream this is (`"Dog"`): followers
    /// filter on it, so events named alike in different aggregates never
    /// mix.
    pub aggregate_type: String,
    /// The stored type name (`"TrickAdded"`).
    pub event_type: String,
    /// The version of the event's schema (1 until the event's shape changes).
    pub schema_version: u32,
    /// When the event was recorded.
    pub timestamp: Timestamp,
    /// Correlation, causation and user key/values.
    pub metadata: Metadata,
    /// The encoded payload.
    pub payload: Vec<u8>,
    /// Its link in the stream's hash chain, set by an application with
    /// [`hash_chain`](crate::ApplicationBuilder::hash_chain) on (`None`
    /// otherwise); stores keep it as given.
    pub chain_hash: Option<ChainHash>,
}

/// An encoded event read back from a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its position in the store's global log, starting at 1 and strictly
    /// increasing in commit order.
    pub position: u64,
    /// The stream (aggregate) it belongs to.
    pub stream_id: Uuid,
    /// Its version within the stream, starting at 1.
    pub version: u64,
    /// The event's own id.
    pub event_id: Uuid,
    /// The type of the aggregate whose stream this is; `None` for an event
    /// stored before the aggregate type was recorded (layout version 1)
    /// whose type the migration could not tell.
    pub aggregate_type: Option<String>,
    /// The stored type name.
    pub event_type: String,
    /// The version of the event's schema.
    pub schema_version: u32,
    /// When the event was recorded.
    pub timestamp: Timestamp,
    /// Correlation, causation and user key/values.
    pub metadata: Metadata,
    /// The encoded payload.
    pub payload: Vec<u8>,
    /// Its link in the stream's hash chain (see [`crate::chain`]); `None`
    /// for an event stored without one.
    pub chain_hash: Option<ChainHash>,
}

#[cfg(test)]
impl NewEvent {
    /// A `Happened` event of a `Thing`, its payload an empty JSON object:
    /// the event the store tests append when only its count matters.
    pub(crate) fn happened() -> Self {
        NewEvent {
            event_id: Uuid::new_v4(),
            aggregate_type: "Thing".into(),
            event_type: "Happened".into(),
            schema_version: 1,
            timestamp: Timestamp::from_unix_micros(0),
            metadata: Metadata::new(),
            payload: b"{}".to_vec(),
            chain_hash: None,
        }
    }
}

impl NewEvent {
    /// The event as `stream_id` stores it at `version` and `position`.
    pub(crate) fn into_stored(self, position: u64, stream_id: Uuid, version: u64) -> StoredEvent {
        StoredEvent {
            position,
            stream_id,
            version,
            event_id: self.event_id,
            aggregate_type: Some(self.aggregate_type),
            event_type: self.event_type,
            schema_version: self.schema_version,
            timestamp: self.timestamp,
            metadata: self.metadata,
            payload: self.payload,
            chain_hash: self.chain_hash,
        }
    }
}

/// A stored event to append again, for instance into another store (what
/// `chronicle copy` does): the same id, types, time, metadata, payload and
/// chain hash; an aggregate type the store could not tell becomes empty.
impl From<StoredEvent> for NewEvent {
    fn from(event: StoredEvent) -> Self {
        NewEvent {
            event_id: event.event_id,
            aggregate_type: event.aggregate_type.unwrap_or_default(),
            event_type: event.event_type,
            schema_version: event.schema_version,
            timestamp: event.timestamp,
            metadata: event.metadata,
            payload: event.payload,
            chain_hash: event.chain_hash,
        }
    }
}

/// One stored event as a fold over a stream sees it: what rebuilding an
/// aggregate needs, borrowed from the store's own buffers (a database row,
/// an in-memory record), so that a long stream is folded without copying
/// or collecting its records.
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    /// The stream (aggregate) it belongs to.
    pub stream_id: Uuid,
    /// Its version within the stream.
    pub version: u64,
    /// The stored type name.
    pub event_type: &'a str,
    /// The version of the event's schema.
    pub schema_version: u32,
    /// When the event was recorded.
    pub timestamp: Timestamp,
    /// The encoded payload.
    pub payload: &'a [u8],
    /// The event as it was before encoding, when the store kept it
    /// ([`StreamStore::append_decoded`]): a fold may use it instead of
    /// decoding the payload.
    ///
    /// [`StreamStore::append_decoded`]: super::StreamStore::append_decoded
    pub decoded: Option<&'a DecodedEvent>,
}

impl<'a> From<&'a StoredEvent> for EventRef<'a> {
    fn from(event: &'a StoredEvent) -> Self {
        EventRef {
            stream_id: event.stream_id,
            version: event.version,
            event_type: &event.event_type,
            schema_version: event.schema_version,
            timestamp: event.timestamp,
            payload: &event.payload,
            decoded: None,
        }
    }
}

/// A domain event as it was before encoding, type-erased: what an
/// application offers a store that keeps its records in process
/// ([`StreamStore::append_decoded`]), so that loading the stream again
/// clones events instead of decoding payloads. Saves refuse an event whose
/// payload would not decode back to an equal event, so either way a load
/// sees the same event. Cloning shares the event.
///
/// [`StreamStore::append_decoded`]: super::StreamStore::append_decoded
#[derive(Clone)]
pub struct DecodedEvent(Arc<dyn Any + Send + Sync>);

impl DecodedEvent {
    /// Wraps `event`.
    pub fn new<E: Any + Send + Sync>(event: E) -> Self {
        Self(Arc::new(event))
    }

    /// The event, when it is an `E`.
    pub fn downcast_ref<E: Any>(&self) -> Option<&E> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for DecodedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DecodedEvent").finish_non_exhaustive()
    }
}
