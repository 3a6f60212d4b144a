#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub use chronicle_es_macros::{aggregate, event, upcast};
pub use chronicle_es_runtime::*;

/// The names most programs need: `use chronicle_es::prelude::*;`.
pub mod prelude {
    pub use chronicle_es_macros::{aggregate, event, upcast};
    pub use chronicle_es_runtime::{
        Aggregate, Application, DomainEvent, Envelope, Error, EventStore, LogQuery, Metadata,
        StreamQuery, Timestamp, Uuid,
    };
}

#[doc(hidden)]
pub use chronicle_es_runtime::__private;
