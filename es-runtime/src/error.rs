//! The application-level error type.

use uuid::Uuid;

use crate::aggregate::ApplyError;
use crate::codec::CodecError;
use crate::event::PayloadError;
use crate::store::StoreError;

/// Why an application operation failed. Every variant names what was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No aggregate of this type has this id.
    #[error("{aggregate} {id} not found")]
    NotFound {
        /// The aggregate type.
        aggregate: &'static str,
        /// The id asked for.
        id: Uuid,
    },
    /// The aggregate exists but has not reached the requested version.
    #[error("{aggregate} {id} has no version {requested}: its latest version is {latest}")]
    VersionNotFound {
        /// The aggregate type.
        aggregate: &'static str,
        /// The id asked for.
        id: Uuid,
        /// The version asked for.
        requested: u64,
        /// The stream's latest version.
        latest: u64,
    },
    /// Optimistic concurrency: another writer saved this stream first.
    /// Nothing of the save was written; reload and retry the command.
    #[error("concurrency conflict on stream {stream_id}: expected version {expected}, actual version {actual}")]
    Conflict {
        /// The stream.
        stream_id: Uuid,
        /// The version the save expected.
        expected: u64,
        /// The version the store holds.
        actual: u64,
    },
    /// A pending event could not be encoded, or would not read back as it
    /// was recorded (a NaN that JSON would store as `null`, a type whose
    /// `Deserialize` disagrees with its `Serialize`): the source names the
    /// field. Nothing of the save was stored, and the aggregates keep their
    /// pending events.
    #[error(
        "cannot encode event `{event_type}` (stream {stream_id}, version {version}): {source}"
    )]
    Encode {
        /// The stream.
        stream_id: Uuid,
        /// The event's version.
        version: u64,
        /// The event type.
        event_type: &'static str,
        /// The codec's error, or why the payload would not read back.
        source: CodecError,
    },
    /// A stored event could not be decoded.
    #[error(
        "cannot decode event `{event_type}` (stream {stream_id}, version {version}): {source}"
    )]
    Decode {
        /// The stream.
        stream_id: Uuid,
        /// The event's version.
        version: u64,
        /// The stored type name.
        event_type: String,
        /// What went wrong.
        source: PayloadError,
    },
    /// A stored event decoded but does not fit the stream (a gap in versions,
    /// a creation event in the middle, ...).
    #[error("cannot replay {aggregate} {stream_id} at version {version}: {source}")]
    Replay {
        /// The aggregate type.
        aggregate: &'static str,
        /// The stream.
        stream_id: Uuid,
        /// The stored version that does not fit.
        version: u64,
        /// What went wrong.
        source: ApplyError,
    },
    /// A snapshot could not be written or read. On a save, the events were
    /// stored: only the snapshot failed.
    #[error("snapshot of {aggregate} {stream_id} at version {version}: {reason}")]
    Snapshot {
        /// The aggregate type.
        aggregate: &'static str,
        /// The stream.
        stream_id: Uuid,
        /// The snapshot's version.
        version: u64,
        /// What went wrong.
        reason: SnapshotError,
    },
    /// [`take_snapshot`](crate::Application::take_snapshot) on an aggregate
    /// declared without snapshots.
    #[error("{aggregate} has no snapshots: declare it with #[aggregate(snapshots)] or #[aggregate(snapshot_every = N)] and derive Serialize and Deserialize")]
    SnapshotsDisabled {
        /// The aggregate type.
        aggregate: &'static str,
    },
    /// A payload could not be protected or unprotected (see
    /// [`PayloadProtection`](crate::protect::PayloadProtection)).
    #[error(transparent)]
    Protection(#[from] crate::protect::ProtectionError),
    /// A stream's hash chain is broken (see [`chain`](crate::chain)): an
    /// application with hash chains on loaded or verified it.
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainBreak),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

/// Why a snapshot could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The state did not encode, or would not read back as it is (the
    /// snapshot was not stored).
    #[error("cannot encode the state: {0}")]
    Encode(CodecError),
    /// The stored state did not decode (or upcast).
    #[error("cannot decode the state: {0}")]
    Decode(PayloadError),
    /// The snapshot was stored for another aggregate type.
    #[error("stored for aggregate type `{stored}`")]
    WrongType {
        /// The stored type name.
        stored: String,
    },
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict {
                stream_id,
                expected,
                actual,
            } => Error::Conflict {
                stream_id,
                expected,
                actual,
            },
            other => Error::Store(other),
        }
    }
}

impl Error {
    /// True for an optimistic-concurrency conflict, which a caller usually
    /// answers by reloading and retrying.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }
}
