//! Encoded events as stores keep them: written as [`NewEvent`]s, read back
//! as [`StoredEvent`]s. The [`Mapper`](crate::Mapper) turns domain events
//! into these records and back.

use uuid::Uuid;

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
}
