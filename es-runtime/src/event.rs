//! Domain events and their envelopes.

use std::fmt::Debug;

use uuid::Uuid;

use crate::codec::{Codec, CodecError};
use crate::metadata::Metadata;
use crate::timestamp::Timestamp;

/// The events of one aggregate type: implemented by `#[aggregate]` for the
/// generated `<Name>Event` enum.
pub trait DomainEvent: Debug + Clone + Send + Sync + Sized + 'static {
    /// Every event type name this enum can hold, in declaration order.
    const EVENT_TYPES: &'static [&'static str];

    /// Former names of these events (`aliases = [...]`), still decoded.
    const ALIASES: &'static [&'static str] = &[];

    /// The type name of the aggregate these events belong to (`"Dog"`),
    /// stored with each of them.
    const AGGREGATE_TYPE: &'static str;

    /// Former names of that aggregate (`#[aggregate(aliases = [...])]`),
    /// under which older events were stored.
    const AGGREGATE_ALIASES: &'static [&'static str] = &[];

    /// Every stored name that decodes into this enum: names and aliases.
    fn stored_types() -> Vec<String> {
        Self::EVENT_TYPES
            .iter()
            .chain(Self::ALIASES)
            .map(|name| (*name).to_owned())
            .collect()
    }

    /// Every aggregate type these events were stored under: the aggregate's
    /// name and its former names. Followers of this enum read only those.
    fn aggregate_types() -> Vec<String> {
        std::iter::once(&Self::AGGREGATE_TYPE)
            .chain(Self::AGGREGATE_ALIASES)
            .map(|name| (*name).to_owned())
            .collect()
    }

    /// The stored name of this event (`"TrickAdded"`).
    fn event_type(&self) -> &'static str;

    /// The version of this event's schema, stored beside its payload
    /// (`#[event("TrickAdded", version = 2)]`; 1 by default).
    fn schema_version(&self) -> u32;

    /// Encodes the event's fields (without the type name, which the envelope keeps).
    fn encode_payload<C: Codec>(&self, codec: &C) -> Result<Vec<u8>, CodecError>;

    /// Decodes the fields of the event stored as `event_type` (its current
    /// name or an alias) at `schema_version`, upcasting older payloads.
    fn decode_payload<C: Codec>(
        codec: &C,
        event_type: &str,
        schema_version: u32,
        payload: &[u8],
    ) -> Result<Self, PayloadError>;
}

/// Why a stored payload could not become an event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// No variant of the event enum has this name.
    #[error("unknown event type `{event_type}`")]
    UnknownEventType {
        /// The stored type name.
        event_type: String,
    },
    /// The payload did not decode into the event's fields.
    #[error("payload does not decode: {0}")]
    Codec(#[from] CodecError),
    /// The payload was written by newer code, at a schema version this code
    /// does not know.
    #[error("schema version {stored} is newer than this code's version {current}")]
    NewerSchema {
        /// The stored schema version.
        stored: u32,
        /// The newest version this code reads.
        current: u32,
    },
    /// The upcast document did not decode into the current shape.
    #[error("upcast payload does not decode: {0}")]
    Upcast(String),
    /// A payload stored at an older schema version is not the shape its
    /// upcasters read (an event's fields, a snapshot and a struct state are
    /// stored as maps): the upcasters were not run on it.
    #[error("the stored document is {found}, but the upcasters read {expected}")]
    Shape {
        /// What the upcasters read (`"a map of the event's fields"`).
        expected: &'static str,
        /// What is stored (`"an array"`).
        found: &'static str,
    },
    /// An upcaster panicked on the stored document. The panic was contained
    /// (which needs `panic = "unwind"`, Rust's default).
    #[error("the upcaster from version {from} panicked: {message}")]
    UpcasterPanicked {
        /// The version the upcaster reads.
        from: u32,
        /// The panic's message.
        message: String,
    },
}

/// Where an event sits in its stream, and when it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHeader {
    /// The aggregate the event belongs to.
    pub stream_id: Uuid,
    /// The aggregate's version after this event (the first event is version 1).
    pub version: u64,
    /// When the event was recorded.
    pub timestamp: Timestamp,
}

/// An event with everything known about it: ids, position in its stream,
/// time and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<E> {
    /// This event's own id; retries with the same id are idempotent.
    pub event_id: Uuid,
    /// The aggregate's id.
    pub stream_id: Uuid,
    /// The aggregate's version after this event.
    pub version: u64,
    /// When the event was recorded.
    pub timestamp: Timestamp,
    /// Correlation, causation and user key/values.
    pub metadata: Metadata,
    /// The domain event itself.
    pub event: E,
}

impl<E: DomainEvent> Envelope<E> {
    /// The stored name of the event.
    pub fn event_type(&self) -> &'static str {
        self.event.event_type()
    }

    /// The header: stream, version and time.
    pub fn header(&self) -> EventHeader {
        EventHeader {
            stream_id: self.stream_id,
            version: self.version,
            timestamp: self.timestamp,
        }
    }
}
