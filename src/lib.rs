#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub use es_macros::{aggregate, event, upcast};
pub use es_runtime::*;

/// The names most programs need: `use chronicle::prelude::*;`.
pub mod prelude {
    pub use es_macros::{aggregate, event, upcast};
    pub use es_runtime::{
        Aggregate, Application, DomainEvent, Envelope, Error, EventStore, LogQuery, Metadata,
        StreamQuery, Timestamp, Uuid,
    };
}

#[doc(hidden)]
pub use es_runtime::__private;
