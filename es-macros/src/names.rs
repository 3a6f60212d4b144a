//! Every name `#[aggregate]` gives to something it generates, in one place:
//! the accessors users call (which an impl block may therefore not define),
//! the generated types, and the hidden items that tie the struct's expansion
//! to the impl block's.
//!
//! Locals and parameters of generated code are not here: they are created
//! with [`local`], at mixed-site hygiene, so that no argument name a user
//! chooses (`header`, `codec`, `event`, ...) can capture or shadow them.

use proc_macro2::{Ident, Span};
use quote::format_ident;

/// The methods `#[aggregate]` generates on the aggregate struct.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accessor {
    Id,
    Version,
    CreatedOn,
    ModifiedOn,
    PendingEvents,
    CollectEvents,
}

impl Accessor {
    pub(crate) const ALL: [Accessor; 6] = [
        Accessor::Id,
        Accessor::Version,
        Accessor::CreatedOn,
        Accessor::ModifiedOn,
        Accessor::PendingEvents,
        Accessor::CollectEvents,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Accessor::Id => "id",
            Accessor::Version => "version",
            Accessor::CreatedOn => "created_on",
            Accessor::ModifiedOn => "modified_on",
            Accessor::PendingEvents => "pending_events",
            Accessor::CollectEvents => "collect_events",
        }
    }

    pub(crate) fn doc(self) -> &'static str {
        match self {
            Accessor::Id => " The aggregate's id.",
            Accessor::Version => " The version of the last event (1 after creation).",
            Accessor::CreatedOn => " When the creation event happened.",
            Accessor::ModifiedOn => " When the last event happened.",
            Accessor::PendingEvents => {
                " Events recorded since the aggregate was last saved, oldest first."
            }
            Accessor::CollectEvents => " Takes the pending events, oldest first, leaving none.",
        }
    }
}

/// Method names an `#[aggregate]` impl block may not define, because the
/// struct's expansion defines them.
pub(crate) fn reserved_method(name: &Ident) -> bool {
    Accessor::ALL.iter().any(|accessor| name == accessor.name())
}

/// The struct the aggregate's fields move to: `DogState`.
pub(crate) fn state_type(aggregate: &Ident) -> Ident {
    format_ident!("{}State", aggregate, span = aggregate.span())
}

/// The generated event enum: `DogEvent`.
pub(crate) fn event_type(aggregate: &Ident) -> Ident {
    format_ident!("{}Event", aggregate, span = aggregate.span())
}

/// The hidden macro (and module) through which the struct's expansion tells
/// the impl block's expansion what it needs to know (the library's path, the
/// aggregate's visibility, the state's version). When the struct lacks
/// `#[aggregate]`, rustc's only error is that this name cannot be found, so
/// the name itself says what to do: `__add_aggregate_above_struct_Dog`.
pub(crate) fn bridge(aggregate: &Ident) -> Ident {
    format_ident!(
        "__add_aggregate_above_struct_{}",
        aggregate,
        span = aggregate.span()
    )
}

/// The alias of `<crate>::__private` inside generated method bodies, which
/// are written before the library's path is known.
pub(crate) fn private_alias() -> Ident {
    Ident::new("__chronicle_es", Span::call_site())
}

/// The field of the aggregate struct holding its state.
pub(crate) fn state_field() -> Ident {
    Ident::new("__state", Span::call_site())
}

/// The field of the aggregate struct holding id, version and pending events.
pub(crate) fn meta_field() -> Ident {
    Ident::new("__meta", Span::call_site())
}

/// The method of the state that runs an event's body: `__event_add_trick`.
pub(crate) fn mutator(method: &Ident) -> Ident {
    format_ident!("__event_{}", method)
}

/// A local variable or parameter of generated code, invisible to user code.
pub(crate) fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}
