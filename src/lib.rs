#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub use chronicle_es_macros::{aggregate, event, upcast};
pub use chronicle_es_runtime::*;

/// The names most programs need: `use chronicle_es::prelude::*;`. The store
/// capability traits are here so that their methods can be called on any
/// store.
pub mod prelude {
    pub use chronicle_es_macros::{aggregate, event, upcast};
    pub use chronicle_es_runtime::store::{
        EventStore, LogQuery, LogStore, ReadModelStore, SnapshotStore, StreamQuery, StreamStore,
        TrackingStore,
    };
    pub use chronicle_es_runtime::{
        Aggregate, Application, DomainEvent, Envelope, Error, Metadata, Timestamp, Uuid,
    };
}
