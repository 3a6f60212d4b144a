//! Code generation.
//!
//! `#[aggregate]` on the struct and `#[aggregate]` on its impl block are two
//! macro calls that cannot see each other. They meet through a hidden macro
//! that the struct's expansion defines, the *bridge* ([`names::bridge`]):
//!
//! - the struct's expansion ([`struct_tokens`]) generates the aggregate
//!   struct, its state, the accessors, the `Aggregate` implementation (which
//!   reaches the events only through the `AggregateEvents` trait), the
//!   derives the user asked for, a stand-in event enum, and the bridge, which
//!   knows the library's path, the aggregate's visibility and the state's
//!   version;
//! - the impl block's expansion ([`impl_tokens`]) checks the block, emits its
//!   methods with each event method's body wrapped in a call of the bridge,
//!   and passes the whole block to the bridge, which hands it with the
//!   struct's facts to the hidden `aggregate_impl!` macro
//!   ([`aggregate_impl`]): the event enum, the mutators, payload encoding and
//!   the `AggregateEvents` implementation.
//!
//! So each mistake gets one error. A struct without `#[aggregate]` leaves
//! every call of the bridge unresolved at the same span, which rustc reports
//! once, under a name that says what to do. An impl block with a mistake
//! emits its methods with stub bodies and no event enum; the struct's
//! stand-in enum (a glob import, shadowed by the real enum when there is one)
//! keeps everything else compiling, so the macro's message stands alone.
//!
//! Hygiene: generated code reaches the library through one path
//! (`::chronicle_es::__private`, or `#[aggregate(crate = "...")]`) and the
//! standard library as `::core`, so a user's `Result`, `Option`, `Clone` or
//! `mod core` cannot capture it; its locals and parameters are mixed-site
//! identifiers ([`names::local`]), which no argument name can shadow.

use proc_macro2::{Delimiter, Group, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Ident, ItemImpl, ItemStruct, LitInt, Path, Token, Visibility};

use crate::ast::{self, AggregateImpl, AggregateStruct, EventMethod, Member};
use crate::attr;
use crate::ctxt::Ctxt;
use crate::names::{self, Accessor};

pub(crate) fn aggregate(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: syn::Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#error #input);
        }
    };
    let message = match &item {
        syn::Item::Struct(item) => return expand_struct(args, item),
        syn::Item::Impl(item) => return expand_impl(args, item),
        syn::Item::Enum(item) => syn::Error::new(
            item.enum_token.span(),
            "#[aggregate] does not support enums: use a struct with named fields and keep the alternatives in a field",
        ),
        syn::Item::Union(item) => syn::Error::new(
            item.union_token.span(),
            "#[aggregate] does not support unions: use a struct with named fields",
        ),
        syn::Item::Trait(item) => syn::Error::new(
            item.trait_token.span(),
            "#[aggregate] does not go on traits: put it on a struct with named fields and on that struct's own impl block",
        ),
        other => syn::Error::new_spanned(
            other,
            "#[aggregate] goes on a struct with named fields and on that struct's impl block",
        ),
    };
    let error = message.to_compile_error();
    quote!(#error #item)
}

/// `#[event]` reached on its own: it was not inside an `#[aggregate]` impl
/// block, which would have consumed it.
pub(crate) fn stray_event(_args: TokenStream, input: TokenStream) -> TokenStream {
    let message = if is_bodyless_fn(&input) {
        "#[event] cannot go on a trait's method: event methods belong to the aggregate's own `#[aggregate] impl Name { ... }` block, which generates the event enum from them; a trait method can call an event method from its implementation"
    } else {
        "#[event] only works on methods of the aggregate's own impl block marked #[aggregate]: add #[aggregate] above `impl Name { ... }` (not on a trait impl)"
    };
    let error = syn::Error::new(Span::call_site(), message).to_compile_error();
    // The body was written for the state of an aggregate (`Self { name }`),
    // which it does not run on here: keep the signature, so callers compile,
    // and drop the body, so the message above stands alone.
    let method = match syn::parse2::<syn::ImplItemFn>(input.clone()) {
        Ok(func) => ast::stub_method(&func),
        Err(_) => input,
    };
    quote!(#error #method)
}

/// `#[upcast]` reached on its own: it was not inside an `#[aggregate]` impl.
pub(crate) fn stray_upcast(_args: TokenStream, input: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "#[upcast] only works on functions of the aggregate's own impl block marked #[aggregate]: add #[aggregate] above `impl Name { ... }`",
    )
    .to_compile_error();
    quote!(#error #input)
}

/// `fn name(&mut self);`: a trait's method declaration.
fn is_bodyless_fn(input: &TokenStream) -> bool {
    syn::parse2::<syn::TraitItemFn>(input.clone()).is_ok_and(|func| func.default.is_none())
}

/// What the struct's expansion tells the impl block's, through the bridge:
/// `{ <library path> } { <visibility> } { <state version> }`.
pub(crate) struct StructFacts {
    /// The library's path: `::chronicle_es` unless `crate = "..."` says otherwise.
    pub(crate) krate: TokenStream,
    /// The aggregate's visibility, which the event enum takes.
    pub(crate) vis: Visibility,
    /// `version = N` of a struct with snapshots, for checking the state's upcasters.
    pub(crate) state_version: Option<LitInt>,
}

impl StructFacts {
    fn private(&self) -> TokenStream {
        let krate = &self.krate;
        quote!(#krate::__private)
    }
}

impl ToTokens for StructFacts {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let krate = &self.krate;
        let vis = &self.vis;
        let version = &self.state_version;
        tokens.extend(quote!({ #krate } { #vis } { #version }));
    }
}

/// The input of the hidden `aggregate_impl!`: the struct's facts, then the
/// impl block as the user wrote it.
struct BridgeInput {
    facts: StructFacts,
    item: ItemImpl,
}

impl Parse for BridgeInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let krate;
        syn::braced!(krate in input);
        let vis;
        syn::braced!(vis in input);
        let version;
        syn::braced!(version in input);
        Ok(Self {
            facts: StructFacts {
                krate: krate.parse()?,
                vis: vis.parse()?,
                state_version: version.parse()?,
            },
            item: input.parse()?,
        })
    }
}

// ---------------------------------------------------------------------------
// The struct.

fn expand_struct(args: TokenStream, item: &ItemStruct) -> TokenStream {
    let mut cx = Ctxt::default();
    let args = attr::parse_struct_args(&mut cx, args);
    let parsed = AggregateStruct::from_syn(&mut cx, item, args);
    let error = cx.check().err().map(|error| error.to_compile_error());
    match parsed {
        // Wrong arguments, or a tuple or unit struct: expand anyway, so that
        // the impl block and the code using the aggregate report nothing more.
        Some(parsed) => {
            let expanded = struct_tokens(&parsed);
            quote!(#error #expanded)
        }
        None => quote!(#error #item),
    }
}

/// The bridge's name and facts for `#[aggregate(args)] struct ...`, as the
/// expansion snapshots need them to follow the bridge as rustc does.
#[cfg(test)]
pub(crate) fn bridge_of(args: TokenStream, item: &ItemStruct) -> Option<(Ident, StructFacts)> {
    let mut cx = Ctxt::default();
    let args = attr::parse_struct_args(&mut cx, args);
    let parsed = AggregateStruct::from_syn(&mut cx, item, args)?;
    Some((names::bridge(&item.ident), struct_facts(&parsed)))
}

/// The facts the bridge of this struct carries.
pub(crate) fn struct_facts(input: &AggregateStruct) -> StructFacts {
    StructFacts {
        krate: input
            .args
            .krate
            .as_ref()
            .map_or_else(|| quote!(::chronicle_es), ToTokens::to_token_stream),
        vis: input.item.vis.clone(),
        state_version: input
            .args
            .version
            .as_ref()
            .filter(|_| input.args.snapshots)
            .map(|(_, literal)| literal.clone()),
    }
}

/// How the struct's attributes split between the aggregate and its state.
///
/// The aggregate is the user's struct as the world sees it, so derives that
/// describe a value (`Clone`, `PartialEq`, `Eq`) apply to it as well as to
/// the state, and `Debug`, `Hash` and `Serialize` get implementations that
/// show the aggregate as the struct the user wrote, with its identity in
/// front. The others (`Deserialize`, `Default`, third-party derives, serde
/// attributes) apply to the state only: an aggregate is created by its
/// creation event and loaded from its events, never deserialized or
/// defaulted, while its state may be (snapshots, `..Default::default()` in a
/// creation body).
struct Attributes {
    aggregate: Vec<TokenStream>,
    state: Vec<TokenStream>,
    debug: bool,
    hash: bool,
    serialize: bool,
    /// `PartialEq` is derived: a save compares snapshots read back with it.
    partial_eq: bool,
    /// A container `#[serde(...)]` attribute, which may store the state as
    /// something else than a map of its fields (`transparent`, `into`).
    serde_container: bool,
}

fn split_attributes(item: &ItemStruct) -> Attributes {
    let mut split = Attributes {
        aggregate: Vec::new(),
        state: Vec::new(),
        debug: false,
        hash: false,
        serialize: false,
        partial_eq: false,
        serde_container: false,
    };
    for attr in &item.attrs {
        split.serde_container |= attr.path().is_ident("serde");
        if attr.path().is_ident("doc") {
            split.aggregate.push(attr.to_token_stream());
            continue;
        }
        if !attr.path().is_ident("derive") {
            split.state.push(attr.to_token_stream());
            continue;
        }
        let Ok(paths) = attr.parse_args_with(Punctuated::<Path, Token![,]>::parse_terminated)
        else {
            // Malformed: rustc reports it, once, on the state.
            split.state.push(attr.to_token_stream());
            continue;
        };
        let mut both = Vec::new();
        let mut state_only = Vec::new();
        for path in paths {
            let name = path
                .segments
                .last()
                .map(|segment| segment.ident.to_string())
                .unwrap_or_default();
            match name.as_str() {
                "PartialEq" => {
                    split.partial_eq = true;
                    both.push(path);
                }
                "Clone" | "Eq" => both.push(path),
                "Debug" => split.debug = true,
                "Hash" => split.hash = true,
                "Serialize" => {
                    split.serialize = true;
                    state_only.push(path);
                }
                _ => state_only.push(path),
            }
        }
        if !both.is_empty() {
            split.aggregate.push(quote!(#[derive(#(#both),*)]));
        }
        both.extend(state_only);
        if !both.is_empty() {
            split.state.push(quote!(#[derive(#(#both),*)]));
        }
    }
    split
}

fn struct_tokens(input: &AggregateStruct) -> TokenStream {
    let facts = struct_facts(input);
    let private = facts.private();
    let item = input.item;
    let vis = &item.vis;
    let name = &item.ident;
    let state = names::state_type(name);
    let event = names::event_type(name);
    let state_field = names::state_field();
    let meta_field = names::meta_field();
    let fields = input.fields;
    let semi = (!matches!(fields, syn::Fields::Named(_))).then(|| quote!(;));
    let attributes = split_attributes(item);
    let aggregate_attrs = &attributes.aggregate;
    let state_attrs = &attributes.state;
    let state_doc = format!(
        " The state of [`{name}`]: its fields, readable through `Deref`, changed only by the `#[event]` methods of `{name}`."
    );
    let accessors = Accessor::ALL
        .iter()
        .map(|accessor| accessor_tokens(*accessor, vis, &private, &event));
    let aggregate_impl = aggregate_trait_impl(input, &private, &attributes);
    let shown = shown_fields(fields);
    let debug = attributes
        .debug
        .then(|| debug_impl(name, &shown))
        .into_iter();
    let hash = attributes.hash.then(|| hash_impl(name, &shown)).into_iter();
    let serialize = attributes
        .serialize
        .then(|| serialize_impl(name, &private, &facts.krate))
        .into_iter();
    let bridge = bridge_tokens(name, &facts);

    quote! {
        #(#aggregate_attrs)*
        #vis struct #name {
            #state_field: #state,
            #meta_field: #private::AggregateMeta<#event>,
        }

        #[doc = #state_doc]
        #(#state_attrs)*
        #vis struct #state #fields #semi

        #[automatically_derived]
        impl #private::Deref for #name {
            type Target = #state;

            #[inline]
            fn deref(&self) -> &#state {
                &self.#state_field
            }
        }

        impl #name {
            #(#accessors)*
        }

        #aggregate_impl
        #(#debug)*
        #(#hash)*
        #(#serialize)*
        #bridge
    }
}

fn accessor_tokens(
    accessor: Accessor,
    vis: &Visibility,
    private: &TokenStream,
    event: &Ident,
) -> TokenStream {
    let name = Ident::new(accessor.name(), Span::call_site());
    let doc = accessor.doc();
    let meta = names::meta_field();
    let (receiver, output) = match accessor {
        Accessor::Id => (quote!(&self), quote!(#private::Uuid)),
        Accessor::Version => (quote!(&self), quote!(#private::u64)),
        Accessor::CreatedOn | Accessor::ModifiedOn => (quote!(&self), quote!(#private::Timestamp)),
        Accessor::PendingEvents => (quote!(&self), quote!(&[#private::Envelope<#event>])),
        Accessor::CollectEvents => (
            quote!(&mut self),
            quote!(#private::Vec<#private::Envelope<#event>>),
        ),
    };
    quote! {
        #[doc = #doc]
        #vis fn #name(#receiver) -> #output {
            self.#meta.#name()
        }
    }
}

/// `Aggregate` for the struct: its options from `#[aggregate(...)]`, its
/// metadata and snapshots; creating and mutating go to the event enum.
fn aggregate_trait_impl(
    input: &AggregateStruct,
    private: &TokenStream,
    attributes: &Attributes,
) -> TokenStream {
    let name = &input.item.ident;
    let state = names::state_type(name);
    let event = names::event_type(name);
    let state_field = names::state_field();
    let meta_field = names::meta_field();
    let args = &input.args;
    let type_name = args
        .name
        .as_ref()
        .map_or_else(|| name.to_string(), |name| name.value());
    let aliases = &args.aliases;
    let snapshots = args.snapshots;
    let every = match args.snapshot_every.map(Literal::u64_unsuffixed) {
        Some(every) => quote!(#private::Some(#every)),
        None => quote!(#private::None),
    };
    let version = Literal::u32_unsuffixed(
        args.version
            .as_ref()
            .filter(|_| snapshots)
            .map_or(1, |(version, _)| *version),
    );
    let header = names::local("__header");
    let event_local = names::local("__event");
    let codec = names::local("__codec");
    let schema_version = names::local("__schema_version");
    let payload = names::local("__payload");
    let snapshot = names::local("__snapshot");
    let events = quote!(<#event as #private::AggregateEvents<Self>>);
    // A snapshot read back is compared with the aggregate it was taken of,
    // with the aggregate's own `PartialEq`.
    let same_value = (snapshots && attributes.partial_eq).then(|| {
        let other = names::local("__other");
        quote! {
            fn __same_value(&self, #other: &Self) -> #private::Option<#private::bool> {
                #private::Some(::core::cmp::PartialEq::eq(self, #other))
            }
        }
    });
    let state_is_map = !attributes.serde_container;
    let (encode, decode) = if snapshots {
        // Both calls carry the `snapshots` argument's span, so a state without
        // serde is one error there, not one per call.
        let span = args.snapshots_span.unwrap_or_else(Span::call_site);
        let codec_of = quote_spanned!(span=> #private::snapshot_codec::<__C, #state>());
        (
            quote! {
                (#codec_of.encode)(
                    #codec,
                    self.#meta_field.created_on().unix_micros(),
                    &self.#state_field,
                )
            },
            quote! {
                let #snapshot = (#codec_of.decode)(
                    #codec,
                    #payload,
                    #schema_version,
                    <Self as #private::Aggregate>::STATE_VERSION,
                    #events::upcast_state,
                    #state_is_map,
                )?;
                #private::Ok(Self {
                    #state_field: #snapshot.state,
                    #meta_field: #private::AggregateMeta::__from_snapshot(#header, #snapshot.created_on),
                })
            },
        )
    } else {
        (
            quote!(#private::Err(#private::snapshots_disabled(#type_name))),
            quote! {
                #private::Err(#private::PayloadError::Codec(#private::snapshots_disabled(#type_name)))
            },
        )
    };
    quote! {
        #[automatically_derived]
        impl #private::Aggregate for #name {
            const TYPE_NAME: &'static #private::str = #type_name;
            const TYPE_ALIASES: &'static [&'static #private::str] = &[#(#aliases),*];
            const SNAPSHOTS: #private::bool = #snapshots;
            const SNAPSHOT_EVERY: #private::Option<#private::u64> = #every;
            const STATE_VERSION: #private::u32 = #version;
            type Event = #event;

            fn meta(&self) -> &#private::AggregateMeta<#event> {
                &self.#meta_field
            }

            fn __plain_event(#event_local: &#event) -> #private::bool {
                #events::plain(#event_local)
            }

            fn meta_mut(&mut self) -> &mut #private::AggregateMeta<#event> {
                &mut self.#meta_field
            }

            fn create(
                #header: &#private::EventHeader,
                #event_local: #event,
            ) -> #private::Result<Self, #private::ApplyError> {
                #events::create(#header, #event_local)
            }

            fn mutate(&mut self, #event_local: #event) -> #private::Result<(), #private::ApplyError> {
                #events::mutate(self, #event_local)
            }

            fn encode_snapshot<__C: #private::Codec>(
                &self,
                #codec: &__C,
            ) -> #private::Result<#private::Vec<#private::u8>, #private::CodecError> {
                #encode
            }

            fn decode_snapshot<__C: #private::Codec>(
                #codec: &__C,
                #header: &#private::EventHeader,
                #schema_version: #private::u32,
                #payload: &[#private::u8],
            ) -> #private::Result<Self, #private::PayloadError> {
                #decode
            }

            #same_value
        }
    }
}

/// The struct's named fields, for `Debug` and `Hash` (none for the tuple
/// and unit structs already reported as errors).
fn shown_fields(fields: &syn::Fields) -> Vec<&syn::Field> {
    match fields {
        syn::Fields::Named(named) => named.named.iter().collect(),
        _ => Vec::new(),
    }
}

/// `Dog { id: .., version: 2, name: "Fido", tricks: ["sit"] }`: the struct
/// the user wrote, with its identity in front.
fn debug_impl(name: &Ident, fields: &[&syn::Field]) -> TokenStream {
    let state_field = names::state_field();
    let meta_field = names::meta_field();
    let formatter = names::local("__formatter");
    let builder = names::local("__builder");
    let name_text = name.to_string();
    let shown = fields.iter().filter_map(|field| {
        let ident = field.ident.as_ref()?;
        let text = ident.to_string();
        Some(quote_spanned! {ident.span()=>
            ::core::fmt::DebugStruct::field(&mut #builder, #text, &self.#state_field.#ident);
        })
    });
    quote! {
        #[automatically_derived]
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, #formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut #builder = ::core::fmt::Formatter::debug_struct(#formatter, #name_text);
                ::core::fmt::DebugStruct::field(&mut #builder, "id", &self.#meta_field.id());
                ::core::fmt::DebugStruct::field(&mut #builder, "version", &self.#meta_field.version());
                #(#shown)*
                ::core::fmt::DebugStruct::finish(&mut #builder)
            }
        }
    }
}

/// Hashes what `PartialEq` compares (id, version, fields; equal timestamps
/// follow from equal versions of one aggregate), so equal aggregates hash
/// alike.
fn hash_impl(name: &Ident, fields: &[&syn::Field]) -> TokenStream {
    let state_field = names::state_field();
    let meta_field = names::meta_field();
    let hasher = names::local("__hasher");
    let hashed = fields.iter().filter_map(|field| {
        let ident = field.ident.as_ref()?;
        Some(quote_spanned! {ident.span()=>
            ::core::hash::Hash::hash(&self.#state_field.#ident, #hasher);
        })
    });
    quote! {
        #[automatically_derived]
        impl ::core::hash::Hash for #name {
            fn hash<__H: ::core::hash::Hasher>(&self, #hasher: &mut __H) {
                ::core::hash::Hash::hash(&self.#meta_field.id(), #hasher);
                ::core::hash::Hash::hash(&self.#meta_field.version(), #hasher);
                #(#hashed)*
            }
        }
    }
}

/// `{"id": ..., "version": 2, "name": "Fido", "tricks": ["sit"]}`: the
/// state's own serialization (its serde attributes included), flattened
/// after the identity.
fn serialize_impl(name: &Ident, private: &TokenStream, krate: &TokenStream) -> TokenStream {
    let state = names::state_type(name);
    let state_field = names::state_field();
    let meta_field = names::meta_field();
    let serializer = names::local("__serializer");
    // A path's tokens print with spaces (`:: platform :: es`); serde wants it
    // as written.
    let serde_path = format!("{krate}::__private::serde").replace(' ', "");
    quote! {
        const _: () = {
            #[derive(#private::serde::Serialize)]
            #[serde(crate = #serde_path)]
            struct __Shown<'__a> {
                id: #private::Uuid,
                version: #private::u64,
                #[serde(flatten)]
                state: &'__a #state,
            }

            #[automatically_derived]
            impl #private::serde::Serialize for #name {
                fn serialize<__S: #private::serde::Serializer>(
                    &self,
                    #serializer: __S,
                ) -> #private::Result<__S::Ok, __S::Error> {
                    #private::serde::Serialize::serialize(
                        &__Shown {
                            id: self.#meta_field.id(),
                            version: self.#meta_field.version(),
                            state: &self.#state_field,
                        },
                        #serializer,
                    )
                }
            }
        };
    }
}

/// The bridge, and the stand-in event enum used until (or unless) the impl
/// block generates the real one.
fn bridge_tokens(name: &Ident, facts: &StructFacts) -> TokenStream {
    let private = facts.private();
    let bridge = names::bridge(name);
    let event = names::event_type(name);
    let body = bridged_body(facts, quote!($($body)*));
    let items = bridged_items(facts, quote!($($items)*));
    let event_local = names::local("__event");
    let event_type = names::local("__event_type");
    let doc = format!(
        " Carries what `#[aggregate] struct {name}` knows to `#[aggregate] impl {name}`. Its name is what rustc reports when the struct lacks `#[aggregate]`."
    );
    quote! {
        #[doc(hidden)]
        #[allow(non_snake_case)]
        mod #bridge {
            #[doc = #doc]
            #[allow(unused_macros)]
            macro_rules! bridge {
                (@body $($body:tt)*) => { #body };
                (@items $($items:tt)*) => {
                    #private::aggregate_impl! { #items }
                };
            }
            pub(crate) use bridge;

            pub mod fallback {
                #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq)]
                pub enum #event {}
            }
        }

        #[allow(unused_imports)]
        use #bridge::bridge as #bridge;
        #[allow(unused_imports)]
        use #bridge::fallback::*;

        #[automatically_derived]
        impl #private::DomainEvent for #bridge::fallback::#event {
            const EVENT_TYPES: &'static [&'static #private::str] = &[];
            const AGGREGATE_TYPE: &'static #private::str =
                <#name as #private::Aggregate>::TYPE_NAME;

            fn event_type(&self) -> &'static #private::str {
                match *self {}
            }

            fn schema_version(&self) -> #private::u32 {
                match *self {}
            }

            fn encode_payload<__C: #private::Codec>(
                &self,
                _: &__C,
            ) -> #private::Result<#private::Vec<#private::u8>, #private::CodecError> {
                match *self {}
            }

            fn decode_payload<__C: #private::Codec>(
                _: &__C,
                #event_type: &#private::str,
                _: #private::u32,
                _: &[#private::u8],
            ) -> #private::Result<Self, #private::PayloadError> {
                #private::Err(#private::PayloadError::UnknownEventType {
                    event_type: #private::ToOwned::to_owned(#event_type),
                })
            }
        }

        #[automatically_derived]
        impl #private::AggregateEvents<#name> for #bridge::fallback::#event {
            fn create(
                _: &#private::EventHeader,
                #event_local: Self,
            ) -> #private::Result<#name, #private::ApplyError> {
                match #event_local {}
            }

            fn mutate(_: &mut #name, #event_local: Self) -> #private::Result<(), #private::ApplyError> {
                match #event_local {}
            }

            fn upcast_state(_: #private::u32, _: #private::Value) -> #private::Option<#private::Value> {
                #private::None
            }
        }
    }
}

/// What the bridge makes of an event method's body (`@body`): the body, with
/// the library's `__private` module in scope as [`names::private_alias`].
/// The expansion snapshots use this to show the code rustc compiles.
pub(crate) fn bridged_body(facts: &StructFacts, body: TokenStream) -> TokenStream {
    let private = facts.private();
    let alias = names::private_alias();
    quote! {{
        #[allow(unused_imports)]
        use #private as #alias;
        #body
    }}
}

/// What the bridge makes of an impl block (`@items`): the input of the hidden
/// `aggregate_impl!`.
pub(crate) fn bridged_items(facts: &StructFacts, items: TokenStream) -> TokenStream {
    quote!(#facts #items)
}

// ---------------------------------------------------------------------------
// The impl block.

fn expand_impl(args: TokenStream, item: &ItemImpl) -> TokenStream {
    let mut cx = Ctxt::default();
    attr::parse_impl_args(&mut cx, args);
    let parsed = AggregateImpl::from_syn(&mut cx, item);
    match (cx.check(), parsed) {
        (Ok(()), Some(parsed)) => impl_tokens(&parsed),
        (result, parsed) => {
            let error = result.err().map(|e| e.to_compile_error());
            let stubs = stub_impl(item, parsed.as_ref().map(|p| &p.self_ident));
            quote!(#error #stubs)
        }
    }
}

/// What a failed `#[aggregate] impl` emits beside its errors: its methods,
/// with bodies that never run, so that code calling them reports nothing
/// more. No event enum and no trait implementations: the struct's stand-in
/// enum covers for them, and a second `#[aggregate] impl` block that fails
/// does not collide with the first.
fn stub_impl(item: &ItemImpl, self_ident: Option<&Ident>) -> TokenStream {
    let Some(name) = self_ident else {
        return TokenStream::new();
    };
    let methods = item.items.iter().filter_map(|impl_item| match impl_item {
        // Already reported; the struct defines a method of that name.
        syn::ImplItem::Fn(func) if names::reserved_method(&func.sig.ident) => None,
        syn::ImplItem::Fn(func) => Some(ast::stub_method(func)),
        other => Some(other.to_token_stream()),
    });
    quote! {
        impl #name {
            #(#methods)*
        }
    }
}

/// The impl block's methods, event methods recording their events, and one
/// call of the bridge with the whole block.
fn impl_tokens(input: &AggregateImpl) -> TokenStream {
    let bridge = names::bridge(&input.self_ident);
    let methods = input.items.iter().map(|member| match member {
        Member::Plain(item) => item.to_token_stream(),
        Member::Upcaster(upcaster) => upcaster.without_attr().to_token_stream(),
        Member::Event(method) => event_method(method, &input.self_ident, &bridge),
    });
    let self_ty = &input.item.self_ty;
    let impl_attrs = &input.item.attrs;
    let block = input.item;
    quote! {
        #(#impl_attrs)*
        impl #self_ty {
            #(#methods)*
        }

        #bridge! { @items #block }
    }
}

/// An event method: builds the event from the arguments, runs the body on a
/// copy of it (the same path as replay, which gets its arguments from the
/// stored event), then records it. Cloning the event rather than each
/// argument leaves the enum's `Clone` as the only place that needs the
/// arguments' types to be `Clone`, so a type that is not gets one error.
fn event_method(method: &EventMethod, aggregate: &Ident, bridge: &Ident) -> TokenStream {
    let private = names::private_alias();
    let state = names::state_type(aggregate);
    let event = names::event_type(aggregate);
    let state_field = names::state_field();
    let meta_field = names::meta_field();
    let variant = &method.variant;
    let mutator = names::mutator(&method.func.sig.ident);
    let event_local = names::local("__event");
    let args: Vec<&Ident> = method.args.iter().map(|field| field.ident).collect();
    let build = quote! {
        let #event_local = #event::#variant { #(#args),* };
    };
    let replayed = quote! {
        match ::core::clone::Clone::clone(&#event_local)
    };
    // The arm is unreachable: the event was built as this variant above.
    let other = quote! {
        #[allow(unreachable_patterns)]
        _ => ::core::unreachable!(),
    };
    let body = if method.creation {
        let id_local = names::local("__id");
        let state_local = names::local("__state");
        let id = match &method.id {
            Some(expr) => expr.to_token_stream(),
            None => quote!(#private::new_id()),
        };
        quote! {
            let #id_local: #private::Uuid = #id;
            #build
            let #state_local = #replayed {
                #event::#variant { #(#args),* } => #state::#mutator(#(#args),*),
                #other
            };
            Self {
                #state_field: #state_local,
                #meta_field: #private::AggregateMeta::__record_created(#id_local, #event_local),
            }
        }
    } else {
        quote! {
            #build
            #replayed {
                #event::#variant { #(#args),* } => #state::#mutator(&mut self.#state_field #(, #args)*),
                #other
            }
            self.#meta_field.__record(#event_local);
        }
    };
    let attrs = method.kept_attrs();
    let vis = &method.func.vis;
    let sig = public_signature(method);
    // The user's braces, so that rustc's notes about this method point at
    // the method as written.
    let mut block = Group::new(Delimiter::Brace, quote!(#bridge! { @body #body }));
    block.set_span(method.func.block.brace_token.span.join());
    quote! {
        #(#attrs)*
        #vis #sig #block
    }
}

/// The event method's signature as the user sees it, minus `mut` on
/// arguments (the mutator keeps those).
fn public_signature(method: &EventMethod) -> TokenStream {
    let mut sig = method.func.sig.clone();
    for input in &mut sig.inputs {
        if let syn::FnArg::Typed(typed) = input {
            if let syn::Pat::Ident(pat) = &mut *typed.pat {
                pat.mutability = None;
            }
        }
    }
    sig.to_token_stream()
}

// ---------------------------------------------------------------------------
// The hidden `aggregate_impl!`: the impl block's items that need the struct's
// facts.

pub(crate) fn aggregate_impl(input: TokenStream) -> TokenStream {
    let input: BridgeInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let mut cx = Ctxt::default();
    // The impl block's expansion checked the block already; a block that
    // fails here was written by hand.
    let parsed = AggregateImpl::from_syn(&mut cx, &input.item);
    let (Ok(()), Some(parsed)) = (cx.check(), parsed) else {
        return syn::Error::new(
            Span::call_site(),
            "aggregate_impl! is generated by #[aggregate]; do not call it directly",
        )
        .to_compile_error();
    };
    let mut cx = Ctxt::default();
    check_state_upcasters(&mut cx, &parsed, &input.facts);
    let error = cx.check().err().map(|error| error.to_compile_error());
    let items = impl_items(&parsed, &input.facts);
    quote!(#error #items)
}

/// The `#[upcast(state, from = N)]` functions read every version below the
/// struct's `#[aggregate(version = N)]`, and none at or above it.
fn check_state_upcasters(cx: &mut Ctxt, input: &AggregateImpl, facts: &StructFacts) {
    let name = &input.self_ident;
    let version = facts
        .state_version
        .as_ref()
        .and_then(|literal| literal.base10_parse::<u32>().ok())
        .unwrap_or(1);
    let upcasters: Vec<_> = input
        .upcasters()
        .filter(|upcaster| upcaster.event.is_none())
        .collect();
    for upcaster in &upcasters {
        if upcaster.from >= version {
            cx.error_spanned_by(
                &upcaster.from_literal,
                format!(
                    "the state of `{name}` is at version {version} (#[aggregate(version = N)] on the struct, with snapshots), so state upcasters read versions 1 to {}: this one reads version {}",
                    version - 1,
                    upcaster.from
                ),
            );
        }
    }
    let Some(literal) = &facts.state_version else {
        return;
    };
    if let Some(missing) = (1..version).find(|from| !upcasters.iter().any(|u| u.from == *from)) {
        cx.error_spanned_by(
            literal,
            format!(
                "the state of `{name}` is at version {version}, but no #[upcast(state, from = {missing})] function reads version {missing}: add one to `#[aggregate] impl {name}`, as in `#[upcast(state, from = {missing})] fn state_v{missing}(state: Value) -> Value`"
            ),
        );
    }
}

fn impl_items(input: &AggregateImpl, facts: &StructFacts) -> TokenStream {
    let private = facts.private();
    let vis = &facts.vis;
    let name = &input.self_ident;
    let state = names::state_type(name);
    let event = names::event_type(name);
    let events: Vec<&EventMethod> = input.events().collect();

    let variants = events.iter().map(|method| {
        let variant = &method.variant;
        let method_name = &method.func.sig.ident;
        let doc = format!(" Recorded by [`{name}::{method_name}`].");
        let fields = method.args.iter().map(|field| {
            let ident = field.ident;
            let ty = field.ty;
            let doc = format!(" The `{ident}` argument of [`{name}::{method_name}`].");
            quote!(#[doc = #doc] #ident: #ty)
        });
        quote! {
            #[doc = #doc]
            #variant { #(#fields),* }
        }
    });
    let enum_doc = format!(" The events of [`{name}`], one variant per `#[event]` method.");

    let mutators = events.iter().map(|method| {
        let mutator = names::mutator(&method.func.sig.ident);
        let params = method.args.iter().map(|field| {
            let ident = field.ident;
            let ty = field.ty;
            let mutability = field.mutable.then(|| quote!(mut));
            quote!(#mutability #ident: #ty)
        });
        let block = &method.func.block;
        // The user's own receiver: this code is generated inside the bridge's
        // macro_rules expansion, where a `self` of ours would be hygienic and
        // invisible to the body's `self`.
        let receiver = method
            .func
            .sig
            .receiver()
            .map(|receiver| quote!(#receiver,));
        let output = method.creation.then(|| quote!(-> Self));
        quote! {
            #[doc(hidden)]
            fn #mutator(#receiver #(#params),*) #output #block
        }
    });

    let payloads = events.iter().map(|method| payload_types(method, &private));
    let domain_event = domain_event_impl(input, &events, &private);
    let aggregate_events = aggregate_events_impl(input, &events, &private);
    let serde_impls = event_serde_impls(&event, &events, &private);

    quote! {
        #[doc = #enum_doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq)]
        #vis enum #event {
            #(#variants),*
        }

        impl #state {
            #(#mutators)*
        }

        const _: () = {
            #(#payloads)*
            #domain_event
            #aggregate_events
            #serde_impls
        };
    }
}

/// The hidden struct holding an event's fields by reference, for encoding.
fn fields_type(method: &EventMethod) -> Ident {
    format_ident!("__{}Fields", method.variant)
}

/// The hidden struct holding an event's fields, for decoding.
fn owned_type(method: &EventMethod) -> Ident {
    format_ident!("__{}Owned", method.variant)
}

/// An event's payload: its fields, without the event's name (the envelope
/// keeps that), encoded and decoded as serde's derives would, through the
/// runtime's `serialize_field` and `deserialize_field`, called with each
/// argument type's span.
fn payload_types(method: &EventMethod, private: &TokenStream) -> TokenStream {
    let name = method.variant.to_string();
    let fields = fields_type(method);
    let owned = owned_type(method);
    let idents: Vec<&Ident> = method.args.iter().map(|field| field.ident).collect();
    let types: Vec<&syn::Type> = method.args.iter().map(|field| field.ty).collect();
    let texts: Vec<String> = idents.iter().map(ToString::to_string).collect();
    let count = idents.len();
    let count_literal = Literal::usize_unsuffixed(count);
    let indexes: Vec<syn::Index> = (0..count).map(syn::Index::from).collect();
    let positions = (0..count).map(Literal::usize_unsuffixed);
    // A field-less event borrows nothing, and an unused lifetime is an error.
    let lifetime = (count > 0).then(|| quote!(<'__a>));
    let anonymous = (count > 0).then(|| quote!(<'_>));
    let serializer = names::local("__serializer");
    let fields_local = names::local("__fields");
    let slots = names::local("__slots");
    let index = names::local("__index");
    let source = names::local("__source");
    let deserializer = names::local("__deserializer");
    let serialize_calls = method.args.iter().map(|field| {
        let ident = field.ident;
        let ty = field.ty;
        let text = ident.to_string();
        let call = quote_spanned!(ty.span()=> #private::serialize_field::<#ty, _>);
        quote!(#call(&mut #fields_local, #text, self.#ident)?;)
    });
    let read_arms =
        method
            .args
            .iter()
            .zip(&indexes)
            .zip(positions)
            .map(|((field, slot), position)| {
                let ty = field.ty;
                let text = field.ident.to_string();
                let read = quote_spanned!(ty.span()=> #private::deserialize_field::<#ty, __S>);
                quote! {
                    #position => {
                        if #slots.#slot.is_some() {
                            return #private::Err(#private::duplicate_field(#text));
                        }
                        #slots.#slot = #read(#source)?;
                        #private::Ok(#slots.#slot.is_some())
                    }
                }
            });
    let finished = method.args.iter().zip(&indexes).map(|(field, slot)| {
        let ident = field.ident;
        let ty = field.ty;
        let text = ident.to_string();
        let read = quote_spanned!(ty.span()=> #private::deserialize_field::<#ty, _>);
        let value = names::local("__value");
        quote! {
            #ident: match #slots.#slot {
                #private::Some(#value) => #value,
                #private::None => #private::required(
                    #read(#private::MissingField::<__E>::new(#text))?,
                    #text,
                )?,
            }
        }
    });
    // `()` for a field-less event, which is an empty body.
    let empty_slots = (count > 0).then(|| {
        let nones = (0..count).map(|_| quote!(#private::None,));
        quote!((#(#nones)*))
    });
    quote! {
        struct #fields #lifetime { #(#idents: &'__a #types),* }

        #[automatically_derived]
        impl #private::serde::Serialize for #fields #anonymous {
            fn serialize<__S: #private::serde::Serializer>(
                &self,
                #serializer: __S,
            ) -> #private::Result<__S::Ok, __S::Error> {
                let mut #fields_local =
                    #private::serde::Serializer::serialize_struct(#serializer, #name, #count_literal)?;
                #(#serialize_calls)*
                #private::serde::ser::SerializeStruct::end(#fields_local)
            }
        }

        struct #owned { #(#idents: #types),* }

        #[automatically_derived]
        impl<'de> #private::PayloadFields<'de> for #owned {
            const EVENT: &'static #private::str = #name;
            const FIELDS: &'static [&'static #private::str] = &[#(#texts),*];
            type Slots = (#(#private::Option<#types>,)*);

            fn empty_slots() -> Self::Slots {
                #empty_slots
            }

            fn read_field<__S: #private::FieldSource<'de>>(
                #slots: &mut Self::Slots,
                #index: #private::usize,
                #source: __S,
            ) -> #private::Result<#private::bool, __S::Error> {
                match #index {
                    #(#read_arms)*
                    _ => #private::Ok(true),
                }
            }

            fn finish<__E: #private::serde::de::Error>(
                #slots: Self::Slots,
            ) -> #private::Result<Self, __E> {
                #private::Ok(Self { #(#finished),* })
            }
        }

        #[automatically_derived]
        impl<'de> #private::serde::Deserialize<'de> for #owned {
            fn deserialize<__D: #private::serde::Deserializer<'de>>(
                #deserializer: __D,
            ) -> #private::Result<Self, __D::Error> {
                #private::deserialize_payload(#deserializer)
            }
        }
    }
}

/// `DomainEvent` for the enum: names, schema versions, payloads.
fn domain_event_impl(
    input: &AggregateImpl,
    events: &[&EventMethod],
    private: &TokenStream,
) -> TokenStream {
    let aggregate = &input.self_ident;
    let event = names::event_type(aggregate);
    let codec = names::local("__codec");
    let event_type = names::local("__event_type");
    let schema_version = names::local("__schema_version");
    let payload = names::local("__payload");
    let from = names::local("__from");
    let document = names::local("__document");
    let texts: Vec<String> = events.iter().map(|m| m.variant.to_string()).collect();
    let aliases: Vec<&syn::LitStr> = events.iter().flat_map(|m| &m.aliases).collect();
    let mut type_arms = Vec::new();
    let mut version_arms = Vec::new();
    let mut encode_arms = Vec::new();
    let mut decode_arms = Vec::new();
    for (method, text) in events.iter().zip(&texts) {
        let variant = &method.variant;
        let fields = fields_type(method);
        let owned = owned_type(method);
        let idents: Vec<&Ident> = method.args.iter().map(|f| f.ident).collect();
        let version = Literal::u32_unsuffixed(method.version);
        type_arms.push(quote!(#event::#variant { .. } => #text,));
        version_arms.push(quote!(#event::#variant { .. } => #version,));
        encode_arms.push(quote! {
            #event::#variant { #(#idents),* } => #private::Codec::encode(#codec, &#fields { #(#idents),* }),
        });
        let decoded = if method.version == 1 {
            quote! {
                #private::check_schema_version(#schema_version, 1)?;
                #private::Codec::decode(#codec, #payload)?
            }
        } else {
            let upcast_arms = input
                .upcasters()
                .filter(|u| u.event.as_ref().is_some_and(|n| n.value() == *text))
                .map(|upcaster| {
                    let from = Literal::u32_unsuffixed(upcaster.from);
                    let function = &upcaster.func.sig.ident;
                    quote!(#from => #private::Some(#aggregate::#function(#document)),)
                });
            quote! {
                #private::decode_versioned(
                    #codec,
                    #payload,
                    #schema_version,
                    #version,
                    |#from, #document| match #from {
                        #(#upcast_arms)*
                        _ => {
                            let _ = #document;
                            #private::None
                        }
                    },
                )?
            }
        };
        let aliases = &method.aliases;
        decode_arms.push(quote! {
            #text #(| #aliases)* => {
                let #owned { #(#idents),* } = { #decoded };
                #private::Ok(#event::#variant { #(#idents),* })
            }
        });
    }
    quote! {
        #[automatically_derived]
        impl #private::DomainEvent for #event {
            const EVENT_TYPES: &'static [&'static #private::str] = &[#(#texts),*];
            const ALIASES: &'static [&'static #private::str] = &[#(#aliases),*];
            const AGGREGATE_TYPE: &'static #private::str =
                <#aggregate as #private::Aggregate>::TYPE_NAME;
            const AGGREGATE_ALIASES: &'static [&'static #private::str] =
                <#aggregate as #private::Aggregate>::TYPE_ALIASES;

            fn event_type(&self) -> &'static #private::str {
                match self {
                    #(#type_arms)*
                }
            }

            fn schema_version(&self) -> #private::u32 {
                match self {
                    #(#version_arms)*
                }
            }

            fn encode_payload<__C: #private::Codec>(
                &self,
                #codec: &__C,
            ) -> #private::Result<#private::Vec<#private::u8>, #private::CodecError> {
                match self {
                    #(#encode_arms)*
                }
            }

            fn decode_payload<__C: #private::Codec>(
                #codec: &__C,
                #event_type: &#private::str,
                #schema_version: #private::u32,
                #payload: &[#private::u8],
            ) -> #private::Result<Self, #private::PayloadError> {
                match #event_type {
                    #(#decode_arms)*
                    _ => #private::Err(#private::PayloadError::UnknownEventType {
                        event_type: #private::ToOwned::to_owned(#event_type),
                    }),
                }
            }
        }
    }
}

/// `AggregateEvents` for the enum: replay runs the same bodies as live calls.
fn aggregate_events_impl(
    input: &AggregateImpl,
    events: &[&EventMethod],
    private: &TokenStream,
) -> TokenStream {
    let aggregate = &input.self_ident;
    let state = names::state_type(aggregate);
    let event = names::event_type(aggregate);
    let state_field = names::state_field();
    let meta_field = names::meta_field();
    let header = names::local("__header");
    let event_local = names::local("__event");
    let target = names::local("__aggregate");
    let other = names::local("__other");
    let from = names::local("__from");
    let document = names::local("__state");
    let creation_arms = events.iter().filter(|m| m.creation).map(|method| {
        let variant = &method.variant;
        let mutator = names::mutator(&method.func.sig.ident);
        let args: Vec<&Ident> = method.args.iter().map(|f| f.ident).collect();
        quote! {
            #event::#variant { #(#args),* } => #private::Ok(#aggregate {
                #state_field: #state::#mutator(#(#args),*),
                #meta_field: #private::AggregateMeta::__replayed(#header),
            }),
        }
    });
    let mutation_arms = events.iter().filter(|m| !m.creation).map(|method| {
        let variant = &method.variant;
        let mutator = names::mutator(&method.func.sig.ident);
        let args: Vec<&Ident> = method.args.iter().map(|f| f.ident).collect();
        quote! {
            #event::#variant { #(#args),* } => {
                #state::#mutator(&mut #target.#state_field #(, #args)*);
                #private::Ok(())
            }
        }
    });
    let not_creation = events.iter().any(|m| !m.creation).then(|| {
        quote! {
            #other => #private::Err(#private::ApplyError::NotACreationEvent {
                event_type: #private::DomainEvent::event_type(&#other),
            }),
        }
    });
    let unexpected_creation = quote! {
        #other => #private::Err(#private::ApplyError::UnexpectedCreationEvent {
            event_type: #private::DomainEvent::event_type(&#other),
        }),
    };
    let state_upcasts = input
        .upcasters()
        .filter(|upcaster| upcaster.event.is_none())
        .map(|upcaster| {
            let from = Literal::u32_unsuffixed(upcaster.from);
            let function = &upcaster.func.sig.ident;
            quote!(#from => #private::Some(#aggregate::#function(#document)),)
        });
    // Whether every field's type is `Plain`, asked of each type by autoref
    // specialization; constant per variant once optimized.
    let plain_arms = events.iter().map(|method| {
        let variant = &method.variant;
        let probes = method
            .args
            .iter()
            .map(|field| {
                let ty = field.ty;
                quote!((&&#private::PlainProbe::<#ty>::NEW).is_plain())
            })
            .reduce(|all, probe| quote!(#all && #probe))
            .unwrap_or_else(|| quote!(true));
        quote!(#event::#variant { .. } => #probes,)
    });
    quote! {
        #[automatically_derived]
        impl #private::AggregateEvents<#aggregate> for #event {
            fn plain(#event_local: &Self) -> #private::bool {
                #[allow(unused_imports)]
                use #private::{IsPlain as _, NotPlain as _};
                match #event_local {
                    #(#plain_arms)*
                }
            }

            fn create(
                #header: &#private::EventHeader,
                #event_local: Self,
            ) -> #private::Result<#aggregate, #private::ApplyError> {
                match #event_local {
                    #(#creation_arms)*
                    #not_creation
                }
            }

            fn mutate(
                #target: &mut #aggregate,
                #event_local: Self,
            ) -> #private::Result<(), #private::ApplyError> {
                match #event_local {
                    #(#mutation_arms)*
                    #unexpected_creation
                }
            }

            fn upcast_state(
                #from: #private::u32,
                #document: #private::Value,
            ) -> #private::Option<#private::Value> {
                match #from {
                    #(#state_upcasts)*
                    _ => {
                        let _ = #document;
                        #private::None
                    }
                }
            }
        }
    }
}

/// serde for the enum, externally tagged as serde's derive would do it
/// (`{"TrickAdded": {"trick": "sit"}}` in JSON), through the payload types,
/// so the argument types' serde requirements stay in one place.
fn event_serde_impls(event: &Ident, events: &[&EventMethod], private: &TokenStream) -> TokenStream {
    let serializer = names::local("__serializer");
    let deserializer = names::local("__deserializer");
    let index = names::local("__index");
    let variant_access = names::local("__variant");
    let enum_name = event.to_string();
    let texts: Vec<String> = events.iter().map(|m| m.variant.to_string()).collect();
    let serialize_arms = events.iter().zip(&texts).enumerate().map(|(position, (method, text))| {
        let variant = &method.variant;
        let fields = fields_type(method);
        let idents: Vec<&Ident> = method.args.iter().map(|f| f.ident).collect();
        let position = Literal::u32_unsuffixed(u32::try_from(position).unwrap_or(u32::MAX));
        quote! {
            #event::#variant { #(#idents),* } => #private::serde::Serializer::serialize_newtype_variant(
                #serializer,
                #enum_name,
                #position,
                #text,
                &#fields { #(#idents),* },
            ),
        }
    });
    let deserialize_arms = events.iter().enumerate().map(|(position, method)| {
        let variant = &method.variant;
        let owned = owned_type(method);
        let idents: Vec<&Ident> = method.args.iter().map(|f| f.ident).collect();
        let position = Literal::usize_unsuffixed(position);
        quote! {
            #position => {
                let #owned { #(#idents),* } =
                    #private::serde::de::VariantAccess::newtype_variant::<#owned>(#variant_access)?;
                #private::Ok(#event::#variant { #(#idents),* })
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #private::serde::Serialize for #event {
            fn serialize<__S: #private::serde::Serializer>(
                &self,
                #serializer: __S,
            ) -> #private::Result<__S::Ok, __S::Error> {
                match self {
                    #(#serialize_arms)*
                }
            }
        }

        #[automatically_derived]
        impl<'de> #private::serde::Deserialize<'de> for #event {
            fn deserialize<__D: #private::serde::Deserializer<'de>>(
                #deserializer: __D,
            ) -> #private::Result<Self, __D::Error> {
                #private::deserialize_event_enum(#deserializer)
            }
        }

        #[automatically_derived]
        impl<'de> #private::EventVariants<'de> for #event {
            const ENUM: &'static #private::str = #enum_name;
            const VARIANTS: &'static [&'static #private::str] = &[#(#texts),*];

            fn deserialize_variant<__A: #private::serde::de::VariantAccess<'de>>(
                #index: #private::usize,
                #variant_access: __A,
            ) -> #private::Result<Self, __A::Error> {
                match #index {
                    #(#deserialize_arms)*
                    _ => #private::Err(<__A::Error as #private::serde::de::Error>::custom(
                        "unknown event index",
                    )),
                }
            }
        }
    }
}
