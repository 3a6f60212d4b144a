//! Strict parsing of `#[aggregate(...)]` and `#[event(...)]` arguments:
//! every unknown or malformed argument is an error at its own span.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Token};

use crate::ctxt::Ctxt;

/// Arguments of `#[event(...)]`: `#[event]`, `#[event("Name")]`,
/// `#[event("Name", id = expr)]`.
#[derive(Default)]
pub(crate) struct EventArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) id: Option<Expr>,
}

enum EventArg {
    Name(LitStr),
    KeyValue(Ident, Expr),
}

impl Parse for EventArg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return input.parse().map(EventArg::Name);
        }
        let key: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected an event name in quotes or `id = ...`, as in #[event(\"TrickAdded\")]",
            )
        })?;
        input.parse::<Token![=]>()?;
        Ok(EventArg::KeyValue(key, input.parse()?))
    }
}

pub(crate) fn parse_event_args(cx: &mut Ctxt, tokens: TokenStream) -> EventArgs {
    let mut args = EventArgs::default();
    let parsed = match Punctuated::<EventArg, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(parsed) => parsed,
        Err(error) => {
            cx.syn_error(error);
            return args;
        }
    };
    for (index, arg) in parsed.into_iter().enumerate() {
        match arg {
            EventArg::Name(name) if index == 0 => args.name = Some(name),
            EventArg::Name(name) => cx.error_spanned_by(
                &name,
                "the event name goes first and only once, as in #[event(\"TrickAdded\")]",
            ),
            EventArg::KeyValue(key, value) if key == "id" => {
                if args.id.is_some() {
                    cx.error_spanned_by(&key, "duplicate `id` argument: give `id = ...` once");
                }
                args.id = Some(value);
            }
            EventArg::KeyValue(key, _) => cx.error_spanned_by(
                &key,
                format!(
                    "unknown #[event] argument `{key}`: #[event] takes an event name in quotes and, on a creation event, `id = <expression>`, as in #[event(\"Registered\", id = ...)]"
                ),
            ),
        }
    }
    args
}

/// `#[aggregate]` takes no arguments yet; anything given is an error.
pub(crate) fn parse_aggregate_args(cx: &mut Ctxt, tokens: TokenStream) {
    if let Some(first) = tokens.into_iter().next() {
        cx.syn_error(syn::Error::new(
            first.span(),
            "#[aggregate] takes no arguments: write a bare `#[aggregate]`",
        ));
    }
}

/// The event name derived from a method name: `add_trick` -> `AddTrick`.
pub(crate) fn camel_case(method: &str) -> String {
    method
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// Validates an event name: it names a variant of the event enum, so it must
/// be a non-empty Rust identifier.
pub(crate) fn event_name_ident(cx: &mut Ctxt, name: &LitStr) -> Option<Ident> {
    let value = name.value();
    if value.is_empty() {
        cx.error_spanned_by(
            name,
            "event name cannot be empty: write a name, as in #[event(\"TrickAdded\")], or a bare #[event] to name the event after the method",
        );
        return None;
    }
    match syn::parse_str::<Ident>(&value) {
        Ok(_) if !value.starts_with("r#") => Some(Ident::new(&value, name.span())),
        _ => {
            cx.error_spanned_by(
                name,
                format!(
                    "event name `{value}` is not a Rust identifier, and it names a variant of the event enum: use an UpperCamelCase name such as \"{}\"",
                    camel_case(&value.replace(|c: char| !c.is_alphanumeric(), "_"))
                ),
            );
            None
        }
    }
}
