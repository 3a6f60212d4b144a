//! Strict parsing of `#[aggregate(...)]` and `#[event(...)]` arguments:
//! every unknown or malformed argument is an error at its own span.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lit, LitInt, LitStr, Meta, Token};

use crate::ctxt::Ctxt;

/// Arguments of `#[event(...)]`: `#[event]`, `#[event("Name")]`,
/// `#[event("Name", id = expr, version = 2, aliases = ["OldName"])]`.
#[derive(Default)]
pub(crate) struct EventArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) id: Option<Expr>,
    /// The schema version, when given (1 otherwise).
    pub(crate) version: Option<(u32, LitInt)>,
    /// Former names, still accepted when reading stored events.
    pub(crate) aliases: Vec<LitStr>,
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
            EventArg::KeyValue(key, value) if key == "version" => {
                if args.version.is_some() {
                    cx.error_spanned_by(&key, "duplicate `version` argument: give `version = N` once");
                }
                args.version = schema_version(cx, &value);
            }
            EventArg::KeyValue(key, value) if key == "aliases" => {
                if !args.aliases.is_empty() {
                    cx.error_spanned_by(&key, "duplicate `aliases` argument: list every former name in one `aliases = [...]`");
                }
                args.aliases = string_list(cx, &value, "aliases");
            }
            EventArg::KeyValue(key, _) => cx.error_spanned_by(
                &key,
                format!(
                    "unknown #[event] argument `{key}`: #[event] takes an event name in quotes, then optionally `version = N`, `aliases = [\"OldName\"]` and, on a creation event, `id = <expression>`"
                ),
            ),
        }
    }
    args
}

/// A schema version: an integer literal from 1 to `u32::MAX`.
fn schema_version(cx: &mut Ctxt, value: &Expr) -> Option<(u32, LitInt)> {
    let literal = match value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(literal),
            ..
        }) => literal,
        other => {
            cx.error_spanned_by(other, "a version is a whole number, as in `version = 2`");
            return None;
        }
    };
    match literal.base10_parse::<u32>() {
        Ok(version) if version >= 1 => Some((version, literal.clone())),
        _ => {
            cx.error_spanned_by(
                literal,
                "versions start at 1 (the first shape) and go up by one with each change of shape",
            );
            None
        }
    }
}

/// `["A", "B"]`: a list of string literals.
fn string_list(cx: &mut Ctxt, value: &Expr, what: &str) -> Vec<LitStr> {
    let Expr::Array(array) = value else {
        cx.error_spanned_by(
            value,
            format!("`{what}` takes a list of names in quotes, as in `{what} = [\"OldName\"]`"),
        );
        return Vec::new();
    };
    array
        .elems
        .iter()
        .filter_map(|element| match element {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(name),
                ..
            }) => Some(name.clone()),
            other => {
                cx.error_spanned_by(
                    other,
                    format!("`{what}` takes names in quotes, as in `{what} = [\"OldName\"]`"),
                );
                None
            }
        })
        .collect()
}

/// Arguments of `#[aggregate(...)]` on the struct.
#[derive(Default)]
pub(crate) struct AggregateArgs {
    /// `snapshots` or `snapshot_every = N`: the state can be snapshotted.
    pub(crate) snapshots: bool,
    /// Where snapshots were asked for, for errors about the state.
    pub(crate) snapshots_span: Option<proc_macro2::Span>,
    /// `snapshot_every = N`.
    pub(crate) snapshot_every: Option<u64>,
    /// `version = N`: the state's schema version.
    pub(crate) version: Option<(u32, LitInt)>,
    /// `name = "Dog"`: the stored type name, when it differs from the struct's.
    pub(crate) name: Option<LitStr>,
    /// `aliases = ["Dog"]`: former stored type names.
    pub(crate) aliases: Vec<LitStr>,
    /// `crate = "path"`: where generated code finds the library, when it is
    /// not `::chronicle_es` (a renamed dependency, or a re-export).
    pub(crate) krate: Option<syn::Path>,
}

const AGGREGATE_ARGUMENTS: &str = "#[aggregate] on a struct takes `snapshots`, `snapshot_every = N`, `version = N`, `name = \"StoredName\"`, `aliases = [\"OldName\"]` and `crate = \"path::to::chronicle_es\"`";

/// Parses the struct's `#[aggregate(...)]`.
pub(crate) fn parse_struct_args(cx: &mut Ctxt, tokens: TokenStream) -> AggregateArgs {
    let mut args = AggregateArgs::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(metas) => metas,
        Err(error) => {
            cx.syn_error(syn::Error::new(
                error.span(),
                format!("{error}; {AGGREGATE_ARGUMENTS}"),
            ));
            return args;
        }
    };
    for meta in metas {
        match &meta {
            Meta::Path(path) if path.is_ident("snapshots") => {
                args.snapshots = true;
                args.snapshots_span = Some(syn::spanned::Spanned::span(path));
            }
            Meta::NameValue(nv) if nv.path.is_ident("snapshot_every") => {
                match &nv.value {
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Int(literal),
                        ..
                    }) => match literal.base10_parse::<u64>() {
                        Ok(every) if every > 0 => {
                            args.snapshots = true;
                            args.snapshots_span = Some(syn::spanned::Spanned::span(&nv.path));
                            args.snapshot_every = Some(every);
                        }
                        _ => cx.error_spanned_by(
                            literal,
                            "`snapshot_every` is a number of events greater than 0, as in `snapshot_every = 100`",
                        ),
                    },
                    other => cx.error_spanned_by(
                        other,
                        "`snapshot_every` is a number of events, as in `snapshot_every = 100`",
                    ),
                }
            }
            Meta::NameValue(nv) if nv.path.is_ident("version") => {
                args.version = schema_version(cx, &nv.value);
            }
            Meta::NameValue(nv) if nv.path.is_ident("name") => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(name),
                    ..
                }) if !name.value().is_empty() => args.name = Some(name.clone()),
                other => cx.error_spanned_by(
                    other,
                    "`name` is the stored type name in quotes, as in `name = \"Dog\"`",
                ),
            },
            Meta::NameValue(nv) if nv.path.is_ident("aliases") => {
                args.aliases = string_list(cx, &nv.value, "aliases");
            }
            Meta::NameValue(nv) if nv.path.is_ident("crate") => {
                args.krate = crate_path(cx, &nv.value);
            }
            other => cx.error_spanned_by(
                other,
                format!("unknown #[aggregate] argument: {AGGREGATE_ARGUMENTS}"),
            ),
        }
    }
    if let (Some((_, literal)), false) = (&args.version, args.snapshots) {
        cx.error_spanned_by(
            literal,
            "`version` is the schema version of snapshots of the state: add `snapshots` or `snapshot_every = N` too",
        );
    }
    args
}

/// `crate = "path"`: a path in quotes, as serde's `#[serde(crate = "...")]`.
/// Its tokens carry the literal's span, so a path that does not resolve is
/// reported at the attribute.
fn crate_path(cx: &mut Ctxt, value: &Expr) -> Option<syn::Path> {
    const USAGE: &str = "`crate` is the path of the chronicle-es library in quotes, as in `crate = \"::my_es\"` for a renamed dependency or `crate = \"::platform::es\"` for a re-export";
    let Expr::Lit(syn::ExprLit {
        lit: Lit::Str(literal),
        ..
    }) = value
    else {
        cx.error_spanned_by(value, USAGE);
        return None;
    };
    match literal.parse::<syn::Path>() {
        Ok(path) => Some(path),
        Err(_) => {
            cx.error_spanned_by(literal, USAGE);
            None
        }
    }
}

/// `#[aggregate]` on the impl block takes no arguments.
pub(crate) fn parse_impl_args(cx: &mut Ctxt, tokens: TokenStream) {
    if let Some(first) = tokens.into_iter().next() {
        cx.syn_error(syn::Error::new(
            first.span(),
            "#[aggregate] on an impl block takes no arguments: write a bare `#[aggregate]`, and put options on the struct's #[aggregate(...)]",
        ));
    }
}

/// `#[upcast("TrickAdded", from = 1)]` or `#[upcast(state, from = 1)]`.
pub(crate) struct UpcastArgs {
    /// The event's name, or `None` for the aggregate's state.
    pub(crate) event: Option<LitStr>,
    /// The version the upcaster reads; it returns version `from + 1`.
    pub(crate) from: (u32, LitInt),
}

pub(crate) fn parse_upcast_args(cx: &mut Ctxt, attr: &syn::Attribute) -> Option<UpcastArgs> {
    const USAGE: &str = "write #[upcast(\"EventName\", from = N)] for an event, or #[upcast(state, from = N)] for the aggregate's state";
    let list = match &attr.meta {
        Meta::List(list) => list,
        other => {
            cx.error_spanned_by(other, USAGE);
            return None;
        }
    };
    let parsed = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(list.tokens.clone());
    let parts: Vec<Expr> = match parsed {
        Ok(parts) => parts.into_iter().collect(),
        Err(error) => {
            cx.syn_error(syn::Error::new(error.span(), USAGE));
            return None;
        }
    };
    let [target, from] = parts.as_slice() else {
        cx.error_spanned_by(&list.tokens, USAGE);
        return None;
    };
    let event = match target {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(name),
            ..
        }) => Some(name.clone()),
        Expr::Path(path) if path.path.is_ident("state") => None,
        other => {
            cx.error_spanned_by(other, USAGE);
            return None;
        }
    };
    let from = match from {
        Expr::Assign(assign) if matches!(&*assign.left, Expr::Path(p) if p.path.is_ident("from")) => {
            schema_version(cx, &assign.right)?
        }
        other => {
            cx.error_spanned_by(other, USAGE);
            return None;
        }
    };
    Some(UpcastArgs { event, from })
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
