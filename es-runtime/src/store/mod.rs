//! Event stores: the contract, one trait per capability, and the stores that
//! fulfil it.
//!
//! A store keeps encoded events ([`NewEvent`] in, [`StoredEvent`] out) in
//! streams, one per aggregate, and in one global log. What a store can do is
//! said by the traits it implements (see each for its guarantees):
//!
//! | trait | capability | needed by |
//! |---|---|---|
//! | [`StreamStore`] | atomic appends to streams, reading a stream | saving and loading aggregates |
//! | [`SnapshotStore`] | snapshots of aggregates | saving and loading aggregates |
//! | [`LogStore`] | the ordered log, and waiting for it to grow | subscriptions; the upstream of projections and process applications |
//! | [`TrackingStore`] | followers' positions, committed with their effects | projections; the downstream of process applications |
//! | [`ReadModelStore`] | a projection's SQL, committed with its position | projections that write SQL read models |
//!
//! [`EventStore`] is the first four together: [`MemoryStore`],
//! [`SqliteStore`], [`PostgresStore`] and [`AnyStore`] are event stores;
//! SQLite and PostgreSQL (and [`AnySqlStore`]) are also read-model stores.
//! A store that lacks a capability cannot be passed where it is needed: the
//! compiler says which capability is missing.
//!
//! [`AnyStore::from_url`] chooses a store at run time (`memory:`,
//! `sqlite://…`, `postgres://…`); [`AnySqlStore::from_url`] does the same for
//! uses that need read models, and refuses a URL whose store has none.

mod any;
mod capability;
mod decision;
mod encoding;
mod error;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod layout;
mod memory;
pub(crate) mod model;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
mod record;
mod request;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

pub use any::{AnySqlStore, AnyStore, STORE_URL_ENV};
pub use capability::{
    EventStore, LogStore, ReadModelStore, SnapshotStore, StreamStore, TrackingStore,
};
pub use error::StoreError;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{tokio_postgres, PostgresStore, PostgresStoreBuilder};
pub use record::{DecodedEvent, EventRef, NewEvent, StoredEvent};
pub use request::{
    AppendOutcome, AppendRequest, LogQuery, Snapshot, StreamAppend, StreamQuery, Tracking,
};
#[cfg(feature = "sqlite")]
pub use sqlite::{rusqlite, SqliteStore, SqliteStoreBuilder, Synchronous};

pub(crate) use decision::check_tracking;
