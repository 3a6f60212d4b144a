#![warn(missing_docs)]
//! Procedural macros of the `chronicle-es` event-sourcing library.
//!
//! - `#[aggregate]` on a struct with named fields turns it into an aggregate
//!   whose state is readable but changes only through events;
//! - `#[aggregate]` on its `impl` block turns each `#[event]` method into an
//!   event: calling it records an event whose fields are the method's
//!   arguments and runs the body as the mutator; replay runs the same body.
//!
//! Use them through the `chronicle-es` crate, which re-exports them.
//!
//! Layout, after thiserror and serde_derive: `ctxt` collects errors, `attr`
//! parses attribute arguments strictly, `ast` models the input (keeping the
//! original syntax for spans) and checks the rules, `names` owns every name
//! the generated code introduces, `expand` generates code.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod names;

use proc_macro::TokenStream;

/// Makes a struct an event-sourced aggregate, or, on its `impl` block, turns
/// its `#[event]` methods into recorded events. See the `chronicle-es` crate docs.
#[proc_macro_attribute]
pub fn aggregate(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::aggregate(args.into(), input.into()).into()
}

/// Marks a method of an `#[aggregate]` impl block as an event:
/// `#[event("TrickAdded")]`, or bare `#[event]` to name it after the method.
/// Only meaningful inside `#[aggregate] impl`, which consumes it.
#[proc_macro_attribute]
pub fn event(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::stray_event(args.into(), input.into()).into()
}

#[cfg(test)]
mod expand_snapshots;

/// The part of `#[aggregate] impl` that needs to know the struct: called by
/// the hidden macro that `#[aggregate]` on the struct defines. Not public API.
#[doc(hidden)]
#[proc_macro]
pub fn __aggregate_impl(input: TokenStream) -> TokenStream {
    expand::aggregate_impl(input.into()).into()
}

/// Declares an upcaster inside an `#[aggregate]` impl block:
/// `#[upcast("TrickAdded", from = 1)] fn f(payload: Value) -> Value` turns a
/// payload stored at version 1 of `TrickAdded` into version 2;
/// `#[upcast(state, from = 1)]` does the same for snapshots of the state.
/// Only meaningful inside `#[aggregate] impl`, which consumes it.
#[proc_macro_attribute]
pub fn upcast(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::stray_upcast(args.into(), input.into()).into()
}
