#![warn(missing_docs)]
//! Runtime of the `chronicle-es` event-sourcing library. Users depend on the
//! `chronicle-es` facade crate, which re-exports everything here together
//! with the `#[aggregate]` / `#[event]` macros.
//!
//! # Design
//!
//! ## Stores by capability
//! The store contract is split by what a store can do
//! ([`store`] module docs): [`StreamStore`](store::StreamStore) (append
//! and read streams), [`SnapshotStore`](store::SnapshotStore),
//! [`LogStore`](store::LogStore) (the ordered log and its wake-ups),
//! [`TrackingStore`](store::TrackingStore) (followers' positions, committed
//! with their effects) and [`ReadModelStore`](store::ReadModelStore) (SQL
//! committed with a position). Each operation asks for what it uses:
//!
//! | operation | needs |
//! |---|---|
//! | [`Application::save`], [`Application::get`], [`Repository`], [`AggregateCache`] | `StreamStore + SnapshotStore` |
//! | [`Application::read_log`], [`Subscription`], the upstream of a runner | `LogStore` |
//! | [`ProjectionRunner`] with `type Writes = ()` | `LogStore + TrackingStore` |
//! | [`ProjectionRunner`] with `type Writes = ModelWrites` | `LogStore + ReadModelStore` |
//! | [`ProcessRunner`]'s downstream | [`ProcessStore`] (`TrackingStore + SnapshotStore`) |
//!
//! A store without a capability is a compile error at the call, naming the
//! missing trait. [`AnyStore`](store::AnyStore) and
//! [`AnySqlStore`](store::AnySqlStore) choose a store at run time through an
//! object-safe form of the traits.
//!
//! ## One mapper
//! Between a domain event and a stored row there is one path, the
//! [`Mapper`]: the codec (and the event's schema version), then payload
//! protection; back, unprotection, then upcasting and decoding. The
//! application, the cache, subscriptions, projections and process
//! applications all go through it.
//!
//! What it encodes, it checks it can decode: each event payload (and each
//! snapshot) is decoded back and compared with the original before anything
//! is stored, so that a save never stores what a load could not return
//! (a NaN that JSON writes as `null`); events whose fields all have plain
//! types skip the check with an exact codec
//! ([`Codec::EXACT_FOR_PLAIN_TYPES`]). On the way back, stored data never
//! makes it panic: upcasters only see maps, and a panicking one is contained.
//!
//! ```text
//!  dog.add_trick("sit")                         app.get::<Dog>(id), followers
//!     │ #[event] method: body runs, event        ▲ Aggregate::create / mutate
//!     ▼ recorded as pending                      │ (the same bodies)
//!  Envelope<DogEvent>                         Envelope<DogEvent>
//!     │ Application::save                        ▲
//!  ┌──┴──────────────────── Mapper ──────────────┴──────────────────┐
//!  │ encode: codec (JSON, MessagePack),     decode: codec, upcasters │
//!  │         schema version                         from the version │
//!  │ protect: compress, encrypt             unprotect: decrypt,      │
//!  │          (per-stream keys)                        decompress    │
//!  └──┬─────────────────────────────────────────────┬────────────────┘
//!     ▼ NewEvent                                    ▲ StoredEvent
//!  StreamStore::append ──► row ──► StreamStore::read_stream, LogStore::read_log
//! ```
//!
//! # Public API
//! - Aggregates and events: [`Aggregate`], [`AggregateMeta`], [`DomainEvent`],
//!   [`Envelope`], [`EventHeader`], [`Metadata`], [`Timestamp`]
//!   (and [`TimestampParseError`]), [`Uuid`].
//! - Applications: [`Application`], [`ApplicationBuilder`], [`Repository`],
//!   [`Changes`], [`AggregateCache`], [`CacheStats`].
//! - Payloads: [`Mapper`], [`Codec`], [`JsonCodec`], `MsgPackCodec` (feature
//!   `msgpack`), the [`protect`] module, the [`upcast`] module.
//! - Following the log: [`Subscription`], [`SubscriptionOptions`],
//!   [`SubscriptionStopper`], [`Projection`], [`ProjectionWrites`],
//!   [`CommitWrites`], [`ModelWrites`], [`ModelWrite`], [`SqlValue`],
//!   [`ProjectionRunner`], [`Policy`], [`ProcessStore`], [`ProcessContext`],
//!   [`ProcessRunner`], [`System`], [`RunningSystem`], [`Follower`],
//!   [`ErrorPolicy`], [`Partition`], [`PositionWaiter`], [`Progress`].
//! - Stores: the [`store`] module.
//! - Tamper-evident streams: the [`chain`] module (hash chains).
//! - Publishing the log to NATS JetStream or RabbitMQ and consuming it in
//!   another service: the [`broker`] module (features `nats`, `rabbitmq`).
//! - Testing aggregates by their events: the [`testing`] module.
//! - Errors: [`Error`], [`ApplyError`], [`PayloadError`], [`SnapshotError`],
//!   [`CodecError`], [`HandlerError`], [`RunnerError`],
//!   [`StoreError`](store::StoreError),
//!   [`ProtectionError`](protect::ProtectionError),
//!   [`ChainBreak`](chain::ChainBreak).
//! - [`BoxFuture`], for object-safe extension traits.

mod aggregate;
mod application;
pub mod broker;
mod cache;
pub mod chain;
mod codec;
mod error;
mod event;
mod follow;
mod macro_support;
mod mapper;
mod metadata;
#[cfg(feature = "msgpack")]
mod msgpack;
pub mod protect;
mod round_trip;
pub mod store;
pub mod testing;
mod timestamp;
mod versioning;

pub use aggregate::{Aggregate, AggregateMeta, ApplyError};
pub use application::{Application, ApplicationBuilder, Changes, Repository};
pub use cache::{AggregateCache, CacheStats};
pub use codec::{Codec, CodecError, JsonCodec};
pub use error::{Error, SnapshotError};
pub use event::{DomainEvent, Envelope, EventHeader, PayloadError};
pub use follow::{
    CommitWrites, ErrorPolicy, Follower, HandlerError, Partition, Policy, PositionWaiter,
    ProcessContext, ProcessRunner, ProcessStore, Progress, Projection, ProjectionRunner,
    ProjectionWrites, RunnerError, RunningSystem, Subscription, SubscriptionOptions,
    SubscriptionStopper, System,
};
pub use mapper::Mapper;
pub use metadata::Metadata;
#[cfg(feature = "msgpack")]
pub use msgpack::MsgPackCodec;
pub use store::model::{ModelWrite, ModelWrites, SqlValue};
pub use timestamp::{Timestamp, TimestampParseError};
pub use uuid::Uuid;

/// Upcasting: turning payloads stored by an older shape of an event (or of
/// an aggregate's state) into the current shape.
///
/// Upcasters work on a codec-neutral document, [`Value`](upcast::Value)
/// (JSON's data model), so they are written once whatever codec stores the
/// payloads:
///
/// ```ignore
/// #[upcast("TrickAdded", from = 1)]
/// fn trick_added_v1(mut payload: Value) -> Value {
///     payload["level"] = json!(1);
///     payload
/// }
/// ```
///
/// Payloads at the current version decode directly; older ones decode into a
/// `Value`, pass through each upcaster from their version to the current one,
/// then decode into the current type.
pub mod upcast {
    pub use serde_json::{json, Value};
}

/// A boxed, sendable future: what the object-safe extension traits
/// ([`protect::PayloadProtection`], [`protect::KeyStore`], [`Follower`])
/// return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What code generated by `#[aggregate]` refers to, by absolute path, so that
/// a user who shadows `Result`, `Option` or `core` still compiles. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::aggregate::{Aggregate, AggregateMeta, ApplyError, SnapshotIn, SnapshotOut};
    pub use crate::codec::{Codec, CodecError};
    pub use crate::event::{DomainEvent, Envelope, EventHeader, PayloadError};
    pub use crate::macro_support::*;
    pub use crate::timestamp::Timestamp;
    pub use crate::versioning::{
        check_schema_version, decode_snapshot, decode_versioned, encode_snapshot, from_value,
        snapshots_disabled, SnapshotState,
    };
    pub use ::core::clone::Clone;
    pub use ::core::ops::Deref;
    pub use ::core::option::Option::{self, None, Some};
    pub use ::core::primitive::{bool, str, u32, u64, u8, usize};
    pub use ::core::result::Result::{self, Err, Ok};
    pub use ::serde;
    pub use ::std::borrow::ToOwned;
    pub use ::std::vec::Vec;
    pub use ::uuid::Uuid;
    pub use serde_json::Value;

    /// A fresh random (v4) aggregate id.
    pub fn new_id() -> Uuid {
        Uuid::new_v4()
    }
}
