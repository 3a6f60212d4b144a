//! Encoded events as stores keep them.

use uuid::Uuid;

use crate::codec::Codec;
use crate::error::Error;
use crate::event::{DomainEvent, Envelope};
use crate::metadata::Metadata;
use crate::timestamp::Timestamp;

/// An encoded event on its way into a store; the store gives it its version
/// and its position in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The event's own id.
    pub event_id: Uuid,
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
}

impl StoredEvent {
    /// Decodes the payload into an event of `E`; the error names the stream,
    /// version and event type of a record that does not decode.
    pub fn decode<E: DomainEvent, C: Codec>(&self, codec: &C) -> Result<Envelope<E>, Error> {
        let event = self.decode_event(codec)?;
        Ok(Envelope {
            event_id: self.event_id,
            stream_id: self.stream_id,
            version: self.version,
            timestamp: self.timestamp,
            metadata: self.metadata.clone(),
            event,
        })
    }

    pub(crate) fn decode_event<E: DomainEvent, C: Codec>(&self, codec: &C) -> Result<E, Error> {
        E::decode_payload(codec, &self.event_type, self.schema_version, &self.payload).map_err(
            |source| Error::Decode {
                stream_id: self.stream_id,
                version: self.version,
                event_type: self.event_type.clone(),
                source,
            },
        )
    }
}
