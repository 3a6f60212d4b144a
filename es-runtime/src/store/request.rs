//! What callers ask of a store: appends, tracking records, snapshots and
//! the queries that read streams and the log.

use uuid::Uuid;

use super::record::NewEvent;
use crate::timestamp::Timestamp;

/// Events to append to one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamAppend {
    /// The stream (aggregate id).
    pub stream_id: Uuid,
    /// The version the stream must be at before this append; 0 for a new stream.
    pub expected_version: u64,
    /// The events, which take versions `expected_version + 1` onwards.
    pub events: Vec<NewEvent>,
}

/// One atomic write: events for any number of streams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendRequest {
    /// The streams to append to; each stream at most once, each with events.
    pub streams: Vec<StreamAppend>,
}

impl AppendRequest {
    /// A request appending to these streams.
    pub fn new(streams: Vec<StreamAppend>) -> Self {
        Self { streams }
    }

    /// A request appending `events` to one stream expected at `expected_version`.
    pub fn stream(stream_id: Uuid, expected_version: u64, events: Vec<NewEvent>) -> Self {
        Self::new(vec![StreamAppend {
            stream_id,
            expected_version,
            events,
        }])
    }

    /// How many events the request holds, over all its streams.
    pub fn event_count(&self) -> usize {
        self.streams.iter().map(|stream| stream.events.len()).sum()
    }
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// The log position of the last event of the request (already stored ones
    /// included, for an idempotent retry); `None` when it held no events.
    pub last_position: Option<u64>,
    /// False when every event was already stored (an idempotent retry).
    pub written: bool,
}

/// A consumer's progress through a log: the position of the last event it has
/// fully handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// The consumer (projection, process application) name.
    pub consumer: String,
    /// The last handled position.
    pub position: u64,
}

impl Tracking {
    /// `consumer` has handled everything up to `position`.
    pub fn new(consumer: impl Into<String>, position: u64) -> Self {
        Self {
            consumer: consumer.into(),
            position,
        }
    }
}

/// A stored snapshot: an aggregate's encoded state as of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The aggregate.
    pub stream_id: Uuid,
    /// The version of the last event folded into the state.
    pub version: u64,
    /// The aggregate type name.
    pub snapshot_type: String,
    /// The version of the state's schema.
    pub schema_version: u32,
    /// When the snapshot was taken.
    pub timestamp: Timestamp,
    /// The encoded state.
    pub payload: Vec<u8>,
}

/// Which events of one stream to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamQuery {
    /// Lowest version to read (inclusive).
    pub from_version: u64,
    /// Highest version to read (inclusive), if bounded.
    pub to_version: Option<u64>,
    /// At most this many events.
    pub limit: Option<usize>,
    /// Newest first.
    pub descending: bool,
}

impl Default for StreamQuery {
    fn default() -> Self {
        Self::all()
    }
}

impl StreamQuery {
    /// The whole stream, oldest first.
    pub const fn all() -> Self {
        Self {
            from_version: 1,
            to_version: None,
            limit: None,
            descending: false,
        }
    }

    /// Starts at `version` (inclusive).
    pub const fn from_version(mut self, version: u64) -> Self {
        self.from_version = version;
        self
    }

    /// Stops at `version` (inclusive).
    pub const fn to_version(mut self, version: u64) -> Self {
        self.to_version = Some(version);
        self
    }

    /// Reads at most `limit` events.
    pub const fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Reads newest first.
    pub const fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// True when `version` lies within the bounds.
    pub fn contains(&self, version: u64) -> bool {
        version >= self.from_version && self.to_version.is_none_or(|to| version <= to)
    }
}

/// Which events of the global log to read, in position order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// Read events whose position is greater than this (0 for the start).
    pub after: u64,
    /// At most this many events.
    pub limit: usize,
    /// Only these event types, if set.
    pub event_types: Option<Vec<String>>,
    /// Only events of these aggregate types, if set. An event with no
    /// recorded aggregate type (stored before layout version 2 and not typed
    /// since) is not excluded by this filter: the event-type filter alone
    /// decides, as it did when it was stored.
    pub aggregate_types: Option<Vec<String>>,
}

impl LogQuery {
    /// Up to `limit` events after `position`.
    pub fn after(position: u64, limit: usize) -> Self {
        Self {
            after: position,
            limit,
            event_types: None,
            aggregate_types: None,
        }
    }

    /// Only events of these types.
    pub fn event_types<I, T>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.event_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Only events of these aggregate types (a type name and its former
    /// names, say).
    pub fn aggregate_types<I, T>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.aggregate_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// True when an event of `event_type`, of an aggregate of
    /// `aggregate_type` (`None`: not recorded), passes the filters.
    pub fn admits(&self, aggregate_type: Option<&str>, event_type: &str) -> bool {
        let listed = |list: &Option<Vec<String>>, name: &str| {
            list.as_ref()
                .is_none_or(|names| names.iter().any(|n| n == name))
        };
        listed(&self.event_types, event_type)
            && aggregate_type.is_none_or(|aggregate| listed(&self.aggregate_types, aggregate))
    }

    /// True when the query cannot return anything (no room, or an empty
    /// type filter), so a store need not ask its database.
    pub fn is_empty(&self) -> bool {
        self.limit == 0 || self.event_types.as_ref().is_some_and(Vec::is_empty)
    }
}
