//! Why a store operation failed.

use uuid::Uuid;

/// Why a store operation failed. Every variant names what was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Optimistic concurrency: the stream was not at the expected version.
    /// Nothing of the request was written.
    #[error("concurrency conflict on stream {stream_id}: expected version {expected}, actual version {actual}")]
    Conflict {
        /// The stream.
        stream_id: Uuid,
        /// The version the writer expected.
        expected: u64,
        /// The version the stream is at.
        actual: u64,
    },
    /// A tracking record would move a consumer backwards (or repeat a
    /// position), or does not continue from where the consumer stands.
    /// Nothing of the request was written.
    #[error("tracking for consumer `{consumer}` is at position {current}; refusing position {attempted}")]
    TrackingConflict {
        /// The consumer.
        consumer: String,
        /// Its tracked position.
        current: u64,
        /// The position the request tried to record.
        attempted: u64,
    },
    /// The request itself is malformed (a stream named twice, ...).
    #[error("invalid append request: {0}")]
    InvalidRequest(String),
    /// Stored data that cannot be read as an event record.
    #[error("corrupt record in stream {stream_id} at version {version}: {reason}")]
    Corrupt {
        /// The stream.
        stream_id: Uuid,
        /// The version.
        version: u64,
        /// What is wrong.
        reason: String,
    },
    /// The store cannot be opened as configured: an unknown URL scheme, an
    /// invalid schema name or table prefix, a missing feature, a backend
    /// that lacks a capability the caller asked for.
    #[error("store configuration: {0}")]
    Config(String),
    /// The database's stored layout is not the one this code uses: older,
    /// and the store was opened with migrations refused, or newer (written by
    /// a later version of this library). Nothing was changed.
    #[error(
        "{location} has store layout version {found}, this code uses version {expected}: {remedy}"
    )]
    Layout {
        /// The database (file, or schema).
        location: String,
        /// The layout version found.
        found: u32,
        /// The layout version this code reads and writes.
        expected: u32,
        /// What to do about it.
        remedy: &'static str,
    },
    /// A read-model statement ([`ReadModelStore`](super::ReadModelStore))
    /// failed: nothing of its transaction was applied.
    #[error("read-model statement #{index} failed ({sql}): {source}")]
    ModelStatement {
        /// The statement's index in the list passed (0 for `query_model`).
        index: usize,
        /// The statement, as passed.
        sql: String,
        /// What the database or the parameter conversion said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The outcome of an append is unknown: it reached the server, but the
    /// answer was lost (the connection or the server failed, the commit
    /// waited longer than the store's commit timeout for a synchronous
    /// standby, or the server cut that wait short with a warning) and the
    /// store could not settle it within its retry budget. The events may or
    /// may not be stored. Appending the same request again (same event ids
    /// and expected versions) settles it: written once, or reported as
    /// already written (`written: false`), never twice.
    #[error("{backend}: outcome of the append unknown: {source}")]
    InDoubt {
        /// Which store (`"postgres"`).
        backend: &'static str,
        /// The last failure seen while settling.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database or its driver failed.
    #[error("{backend} error: {source}")]
    Backend {
        /// Which store (`"sqlite"`, `"postgres"`).
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
