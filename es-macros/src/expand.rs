//! Code generation. Generated code names everything through the hidden
//! `::chronicle_es::__private` module, so a user who shadows `Result`, `Option`,
//! `Vec` or `core` still compiles; internal locals use mixed-site hygiene.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Ident, ItemImpl, ItemStruct, Path, Token};

use crate::ast::{self, AggregateImpl, AggregateStruct, EventMethod, Member};
use crate::attr;
use crate::ctxt::Ctxt;

/// Derives that make sense on the aggregate itself (the wrapper around its
/// state); every derive also applies to the state struct.
const WRAPPER_DERIVES: &[&str] = &["Debug", "Clone", "PartialEq", "Eq"];

fn private() -> TokenStream {
    quote!(::chronicle_es::__private)
}

// Generated `#[doc = "..."]` strings start with a space, as `///` comments do.

fn state_ident(aggregate: &Ident) -> Ident {
    format_ident!("{}State", aggregate, span = aggregate.span())
}

fn event_ident(aggregate: &Ident) -> Ident {
    format_ident!("{}Event", aggregate, span = aggregate.span())
}

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
        other => syn::Error::new_spanned(
            other,
            "#[aggregate] goes on a struct with named fields and on that struct's impl block",
        ),
    };
    let error = message.to_compile_error();
    quote!(#error #item)
}

/// `#[event]` reached on its own: it was not inside an `#[aggregate]` impl.
pub(crate) fn stray_event(_args: TokenStream, input: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "#[event] only works on methods of an impl block marked #[aggregate]: add #[aggregate] above `impl ...`",
    )
    .to_compile_error();
    quote!(#error #input)
}

/// `#[upcast]` reached on its own: it was not inside an `#[aggregate]` impl.
pub(crate) fn stray_upcast(_args: TokenStream, input: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "#[upcast] only works on functions of an impl block marked #[aggregate]: add #[aggregate] above `impl ...`",
    )
    .to_compile_error();
    quote!(#error #input)
}

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

fn struct_tokens(input: &AggregateStruct) -> TokenStream {
    let private = private();
    let item = input.item;
    let vis = &item.vis;
    let name = &item.ident;
    let state = state_ident(name);
    let event = event_ident(name);
    let fields = input.fields;
    let semi = (!matches!(fields, syn::Fields::Named(_))).then(|| quote!(;));

    let mut wrapper_attrs = Vec::new();
    let mut state_attrs = Vec::new();
    for attr in &item.attrs {
        if attr.path().is_ident("doc") {
            wrapper_attrs.push(attr.to_token_stream());
            continue;
        }
        if attr.path().is_ident("derive") {
            if let Ok(paths) = attr.parse_args_with(Punctuated::<Path, Token![,]>::parse_terminated)
            {
                let kept: Vec<&Path> = paths
                    .iter()
                    .filter(|path| {
                        path.segments
                            .last()
                            .is_some_and(|s| WRAPPER_DERIVES.iter().any(|d| s.ident == d))
                    })
                    .collect();
                if !kept.is_empty() {
                    wrapper_attrs.push(quote!(#[derive(#(#kept),*)]));
                }
            }
        }
        state_attrs.push(attr.to_token_stream());
    }
    let state_doc = format!(
        " The state of [`{name}`]: its fields, readable through `Deref`, changed only by the `#[event]` methods of `{name}`."
    );
    let snapshots = struct_options(input);

    quote! {
        #(#wrapper_attrs)*
        #vis struct #name {
            __state: #state,
            __meta: #private::AggregateMeta<#event>,
        }

        #[doc = #state_doc]
        #(#state_attrs)*
        #vis struct #state #fields #semi

        impl #private::Deref for #name {
            type Target = #state;

            #[inline]
            fn deref(&self) -> &#state {
                &self.__state
            }
        }

        impl #name {
            /// The aggregate's id.
            #vis fn id(&self) -> #private::Uuid {
                self.__meta.id()
            }

            /// The version of the last event (1 after creation).
            #vis fn version(&self) -> #private::u64 {
                self.__meta.version()
            }

            /// When the creation event happened.
            #vis fn created_on(&self) -> #private::Timestamp {
                self.__meta.created_on()
            }

            /// When the last event happened.
            #vis fn modified_on(&self) -> #private::Timestamp {
                self.__meta.modified_on()
            }

            /// Events recorded since the aggregate was last saved, oldest first.
            #vis fn pending_events(&self) -> &[#private::Envelope<#event>] {
                self.__meta.pending_events()
            }

            /// Takes the pending events, oldest first, leaving none.
            #vis fn collect_events(&mut self) -> #private::Vec<#private::Envelope<#event>> {
                self.__meta.collect_events()
            }
        }

        #snapshots
    }
}

/// What the struct's `#[aggregate(...)]` options mean to the runtime: the
/// stored type name and aliases, and snapshot support, as hidden inherent
/// items that the impl block's `Aggregate` implementation forwards to.
fn struct_options(input: &AggregateStruct) -> TokenStream {
    let private = private();
    let name = &input.item.ident;
    let state = state_ident(name);
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
    let version = Literal::u32_unsuffixed(args.version.as_ref().map_or(1, |(version, _)| *version));
    // Both calls carry the `snapshots` argument's span, so a state without
    // serde gets one error there instead of errors inside the expansion.
    let span = args.snapshots_span.unwrap_or_else(Span::call_site);
    let encode_snapshot = quote_spanned!(span=> #private::encode_snapshot);
    let decode_snapshot = quote_spanned!(span=> #private::decode_snapshot);
    let codec_functions = if snapshots {
        quote! {
            #[doc(hidden)]
            fn __encode_snapshot<C: #private::Codec>(
                &self,
                codec: &C,
            ) -> #private::Result<#private::Vec<#private::u8>, #private::CodecError> {
                #encode_snapshot(
                    codec,
                    self.__meta.created_on().unix_micros(),
                    &self.__state,
                )
            }

            #[doc(hidden)]
            fn __decode_snapshot<C: #private::Codec>(
                codec: &C,
                header: &#private::EventHeader,
                schema_version: #private::u32,
                payload: &[#private::u8],
            ) -> #private::Result<Self, #private::PayloadError> {
                let snapshot: #private::SnapshotIn<#state> = #decode_snapshot(
                    codec,
                    payload,
                    schema_version,
                    Self::__STATE_VERSION,
                    Self::__upcast_state,
                )?;
                #private::Ok(Self {
                    __state: snapshot.state,
                    __meta: #private::AggregateMeta::__from_snapshot(header, snapshot.created_on),
                })
            }
        }
    } else {
        quote! {
            #[doc(hidden)]
            fn __encode_snapshot<C: #private::Codec>(
                &self,
                _codec: &C,
            ) -> #private::Result<#private::Vec<#private::u8>, #private::CodecError> {
                #private::Err(#private::snapshots_disabled(#type_name))
            }

            #[doc(hidden)]
            fn __decode_snapshot<C: #private::Codec>(
                _codec: &C,
                _header: &#private::EventHeader,
                _schema_version: #private::u32,
                _payload: &[#private::u8],
            ) -> #private::Result<Self, #private::PayloadError> {
                #private::Err(#private::PayloadError::Codec(#private::snapshots_disabled(#type_name)))
            }
        }
    };
    quote! {
        impl #name {
            #[doc(hidden)]
            const __TYPE_NAME: &'static #private::str = #type_name;
            #[doc(hidden)]
            const __TYPE_ALIASES: &'static [&'static #private::str] = &[#(#aliases),*];
            #[doc(hidden)]
            const __SNAPSHOTS: #private::bool = #snapshots;
            #[doc(hidden)]
            const __SNAPSHOT_EVERY: #private::Option<#private::u64> = #every;
            #[doc(hidden)]
            const __STATE_VERSION: #private::u32 = #version;

            #codec_functions
        }
    }
}

fn expand_impl(args: TokenStream, item: &ItemImpl) -> TokenStream {
    let mut cx = Ctxt::default();
    attr::parse_impl_args(&mut cx, args);
    let parsed = AggregateImpl::from_syn(&mut cx, item);
    match (cx.check(), parsed) {
        (Ok(()), Some(parsed)) => impl_tokens(&parsed),
        (result, parsed) => {
            let error = result.err().map(|e| e.to_compile_error());
            let fallback = fallback_impl(item, parsed.as_ref().map(|p| &p.self_ident));
            quote!(#error #fallback)
        }
    }
}

/// What a failed `#[aggregate] impl` still emits, so that the user sees the
/// macro's error alone: the methods with their bodies stubbed out, and an empty
/// event enum with stub trait impls so other code keeps type-checking.
fn fallback_impl(item: &ItemImpl, self_ident: Option<&Ident>) -> TokenStream {
    let Some(name) = self_ident else {
        return TokenStream::new();
    };
    let private = private();
    let event = event_ident(name);
    let methods = item.items.iter().map(|impl_item| match impl_item {
        syn::ImplItem::Fn(func) => ast::stub_method(func),
        other => other.to_token_stream(),
    });
    quote! {
        impl #name {
            #(#methods)*
        }

        #[derive(::core::fmt::Debug, #private::Clone, ::core::cmp::PartialEq)]
        #[doc(hidden)]
        pub enum #event {}

        #[allow(unused_variables)]
        impl #private::DomainEvent for #event {
            const EVENT_TYPES: &'static [&'static #private::str] = &[];
            fn event_type(&self) -> &'static #private::str {
                match *self {}
            }
            fn encode_payload<C: #private::Codec>(&self, codec: &C) -> #private::Result<#private::Vec<#private::u8>, #private::CodecError> {
                match *self {}
            }
            fn schema_version(&self) -> #private::u32 {
                match *self {}
            }
            fn decode_payload<C: #private::Codec>(codec: &C, event_type: &#private::str, schema_version: #private::u32, payload: &[#private::u8]) -> #private::Result<Self, #private::PayloadError> {
                ::core::panic!("#[aggregate] failed to expand")
            }
        }

        impl #name {
            #[doc(hidden)]
            fn __upcast_state(_from: #private::u32, _state: #private::Value) -> #private::Option<#private::Value> {
                #private::None
            }
        }

        #[allow(unused_variables)]
        impl #private::Aggregate for #name {
            const TYPE_NAME: &'static #private::str = ::core::stringify!(#name);
            type Event = #event;
            fn meta(&self) -> &#private::AggregateMeta<#event> {
                &self.__meta
            }
            fn meta_mut(&mut self) -> &mut #private::AggregateMeta<#event> {
                &mut self.__meta
            }
            fn create(header: &#private::EventHeader, event: #event) -> #private::Result<Self, #private::ApplyError> {
                match event {}
            }
            fn mutate(&mut self, event: #event) -> #private::Result<(), #private::ApplyError> {
                match event {}
            }
            fn encode_snapshot<C: #private::Codec>(&self, codec: &C) -> #private::Result<#private::Vec<#private::u8>, #private::CodecError> {
                ::core::panic!("#[aggregate] failed to expand")
            }
            fn decode_snapshot<C: #private::Codec>(codec: &C, header: &#private::EventHeader, schema_version: #private::u32, payload: &[#private::u8]) -> #private::Result<Self, #private::PayloadError> {
                ::core::panic!("#[aggregate] failed to expand")
            }
        }
    }
}

fn mutator_ident(method: &EventMethod) -> Ident {
    format_ident!("__event_{}", method.func.sig.ident)
}

fn impl_tokens(input: &AggregateImpl) -> TokenStream {
    let private = private();
    let name = &input.self_ident;
    let state = state_ident(name);
    let event = event_ident(name);
    let events: Vec<&EventMethod> = input.events().collect();

    // The event enum.
    let variants = events.iter().map(|method| {
        let variant = &method.variant;
        let doc = format!(" Recorded by [`{name}::{}`].", method.func.sig.ident);
        let method_name = &method.func.sig.ident;
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
    let event_enum = quote! {
        #[doc = #enum_doc]
        #[derive(
            ::core::fmt::Debug,
            #private::Clone,
            ::core::cmp::PartialEq,
            #private::serde::Serialize,
            #private::serde::Deserialize,
        )]
        #[serde(crate = "::chronicle_es::__private::serde")]
        pub enum #event {
            #(#variants),*
        }
    };

    // The impl block: event methods record and apply; other items pass through.
    let event_local = Ident::new("__event", Span::mixed_site());
    let id_local = Ident::new("__id", Span::mixed_site());
    let methods = input.items.iter().map(|member| match member {
        Member::Plain(item) => item.to_token_stream(),
        Member::Upcaster(upcaster) => upcaster.without_attr().to_token_stream(),
        Member::Event(method) => {
            let attrs = method.kept_attrs();
            let vis = &method.func.vis;
            let sig = public_signature(method);
            let variant = &method.variant;
            let mutator = mutator_ident(method);
            let field_inits = method.args.iter().map(|field| {
                let ident = field.ident;
                quote_spanned!(ident.span()=> #ident: #private::Clone::clone(&#ident))
            });
            let arg_names: Vec<&Ident> = method.args.iter().map(|f| f.ident).collect();
            let build_event = quote! {
                let #event_local = #event::#variant { #(#field_inits),* };
            };
            let body = if method.creation {
                let id = match &method.id {
                    Some(expr) => quote_spanned!(expr.span()=> #expr),
                    None => quote!(#private::new_id()),
                };
                quote! {
                    let #id_local: #private::Uuid = #id;
                    #build_event
                    Self {
                        __state: #state::#mutator(#(#arg_names),*),
                        __meta: #private::AggregateMeta::__record_created(#id_local, #event_local),
                    }
                }
            } else {
                quote! {
                    #build_event
                    #state::#mutator(&mut self.__state #(, #arg_names)*);
                    self.__meta.__record(#event_local);
                }
            };
            quote! {
                #(#attrs)*
                #vis #sig {
                    #body
                }
            }
        }
    });

    // The mutators: the user's bodies, run on the state for live calls and replay.
    let mutators = events.iter().map(|method| {
        let mutator = mutator_ident(method);
        let params = method.args.iter().map(|field| {
            let ident = field.ident;
            let ty = field.ty;
            let mutability = field.mutable.then(|| quote!(mut));
            quote!(#mutability #ident: #ty)
        });
        let block = &method.func.block;
        if method.creation {
            quote! {
                #[doc(hidden)]
                fn #mutator(#(#params),*) -> Self #block
            }
        } else {
            quote! {
                #[doc(hidden)]
                fn #mutator(&mut self #(, #params)*) #block
            }
        }
    });

    // Replay: creation events build the state, the others change it.
    let creation_arms = events.iter().filter(|m| m.creation).map(|method| {
        let variant = &method.variant;
        let mutator = mutator_ident(method);
        let names: Vec<&Ident> = method.args.iter().map(|f| f.ident).collect();
        quote! {
            #event::#variant { #(#names),* } => #private::Ok(Self {
                __state: #state::#mutator(#(#names),*),
                __meta: #private::AggregateMeta::__replayed(header),
            }),
        }
    });
    let mutation_arms = events.iter().filter(|m| !m.creation).map(|method| {
        let variant = &method.variant;
        let mutator = mutator_ident(method);
        let names: Vec<&Ident> = method.args.iter().map(|f| f.ident).collect();
        quote! {
            #event::#variant { #(#names),* } => {
                #state::#mutator(&mut self.__state #(, #names)*);
                #private::Ok(())
            }
        }
    });
    let has_mutations = events.iter().any(|m| !m.creation);
    let not_creation_arm = has_mutations.then(|| {
        quote! {
            other => #private::Err(#private::ApplyError::NotACreationEvent {
                event_type: #private::DomainEvent::event_type(&other),
            }),
        }
    });
    let unexpected_creation_arm = events.iter().any(|m| m.creation).then(|| {
        quote! {
            other => #private::Err(#private::ApplyError::UnexpectedCreationEvent {
                event_type: #private::DomainEvent::event_type(&other),
            }),
        }
    });

    let payload = payload_codec(input, &event, &events);
    let state_upcasting = state_upcasting(input);
    let field_checks = events.iter().flat_map(|method| &method.args).map(|field| {
        let ty = field.ty;
        quote_spanned!(ty.span()=> #private::assert_event_field::<#ty>();)
    });

    // First, so that a type that cannot be stored is reported by its own
    // message before the errors of the derives that use it.
    let field_checks: Vec<TokenStream> = field_checks.collect();
    let field_checks = (!field_checks.is_empty()).then(|| {
        quote! {
            const _: () = {
                #(#field_checks)*
            };
        }
    });

    let self_ty = &input.item.self_ty;
    let impl_attrs = &input.item.attrs;
    quote! {
        #field_checks

        #event_enum

        #(#impl_attrs)*
        impl #self_ty {
            #(#methods)*
        }

        impl #state {
            #(#mutators)*
        }

        impl #private::Aggregate for #name {
            const TYPE_NAME: &'static #private::str = Self::__TYPE_NAME;
            const TYPE_ALIASES: &'static [&'static #private::str] = Self::__TYPE_ALIASES;
            const SNAPSHOTS: #private::bool = Self::__SNAPSHOTS;
            const SNAPSHOT_EVERY: #private::Option<#private::u64> = Self::__SNAPSHOT_EVERY;
            const STATE_VERSION: #private::u32 = Self::__STATE_VERSION;
            type Event = #event;

            fn encode_snapshot<C: #private::Codec>(
                &self,
                codec: &C,
            ) -> #private::Result<#private::Vec<#private::u8>, #private::CodecError> {
                self.__encode_snapshot(codec)
            }

            fn decode_snapshot<C: #private::Codec>(
                codec: &C,
                header: &#private::EventHeader,
                schema_version: #private::u32,
                payload: &[#private::u8],
            ) -> #private::Result<Self, #private::PayloadError> {
                Self::__decode_snapshot(codec, header, schema_version, payload)
            }

            fn meta(&self) -> &#private::AggregateMeta<#event> {
                &self.__meta
            }

            fn meta_mut(&mut self) -> &mut #private::AggregateMeta<#event> {
                &mut self.__meta
            }

            fn create(
                header: &#private::EventHeader,
                event: #event,
            ) -> #private::Result<Self, #private::ApplyError> {
                match event {
                    #(#creation_arms)*
                    #not_creation_arm
                }
            }

            fn mutate(&mut self, event: #event) -> #private::Result<(), #private::ApplyError> {
                match event {
                    #(#mutation_arms)*
                    #unexpected_creation_arm
                }
            }
        }

        #state_upcasting

        #payload
    }
}

/// `__upcast_state`, which snapshot decoding calls for each version between
/// the stored one and the current one, and a compile-time check that the
/// `#[upcast(state, from = N)]` functions cover every version below the
/// struct's `#[aggregate(version = N)]`.
fn state_upcasting(input: &AggregateImpl) -> TokenStream {
    let private = private();
    let name = &input.self_ident;
    let mut froms: Vec<u32> = Vec::new();
    let arms: Vec<TokenStream> = input
        .upcasters()
        .filter(|upcaster| upcaster.event.is_none())
        .map(|upcaster| {
            froms.push(upcaster.from);
            let from = Literal::u32_unsuffixed(upcaster.from);
            let function = &upcaster.func.sig.ident;
            quote!(#from => #private::Some(Self::#function(state)),)
        })
        .collect();
    let mut covered = 0u32;
    while froms.contains(&(covered + 1)) {
        covered += 1;
    }
    let highest_version = covered + 1;
    let highest = Literal::u32_unsuffixed(highest_version);
    let message = format!(
        "the state of `{name}` is at a version (#[aggregate(version = N)]) for which an #[upcast(state, from = {highest_version})] function is missing: every version below N needs one"
    );
    quote! {
        impl #name {
            #[doc(hidden)]
            fn __upcast_state(
                from: #private::u32,
                state: #private::Value,
            ) -> #private::Option<#private::Value> {
                match from {
                    #(#arms)*
                    _ => {
                        let _ = state;
                        #private::None
                    }
                }
            }
        }

        const _: () = ::core::assert!(#name::__STATE_VERSION <= #highest, #message);
    }
}

/// The event method's signature as the user sees it, minus `mut` on arguments
/// (the mutator keeps those).
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

/// `DomainEvent` for the enum: payloads hold the fields only (the envelope
/// keeps the type name), through one borrowed and one owned helper struct per
/// event.
fn payload_codec(input: &AggregateImpl, event: &Ident, events: &[&EventMethod]) -> TokenStream {
    let private = private();
    let aggregate = &input.self_ident;
    let names: Vec<String> = events.iter().map(|m| m.variant.to_string()).collect();
    let mut helpers = Vec::new();
    let mut type_arms = Vec::new();
    let mut version_arms = Vec::new();
    let all_aliases: Vec<&syn::LitStr> = events.iter().flat_map(|m| &m.aliases).collect();
    let mut encode_arms = Vec::new();
    let mut decode_arms = Vec::new();
    for (method, name) in events.iter().zip(&names) {
        let variant = &method.variant;
        let borrowed = format_ident!("__{}Fields", variant);
        let owned = format_ident!("__{}Owned", variant);
        let idents: Vec<&Ident> = method.args.iter().map(|f| f.ident).collect();
        let types: Vec<&syn::Type> = method.args.iter().map(|f| f.ty).collect();
        // A field-less event borrows nothing, and an unused lifetime is an error.
        let lifetime = (!idents.is_empty()).then(|| quote!(<'a>));
        helpers.push(quote! {
            #[derive(#private::serde::Serialize)]
            #[serde(crate = "::chronicle_es::__private::serde")]
            struct #borrowed #lifetime { #(#idents: &'a #types),* }

            #[derive(#private::serde::Deserialize)]
            #[serde(crate = "::chronicle_es::__private::serde")]
            struct #owned { #(#idents: #types),* }
        });
        let version = Literal::u32_unsuffixed(method.version);
        type_arms.push(quote!(#event::#variant { .. } => #name,));
        version_arms.push(quote!(#event::#variant { .. } => #version,));
        encode_arms.push(quote! {
            #event::#variant { #(#idents),* } => codec.encode(&#borrowed { #(#idents),* }),
        });
        let aliases = &method.aliases;
        let decode = if method.version == 1 {
            quote!(codec.decode(payload)?)
        } else {
            let upcast_arms = input
                .upcasters()
                .filter(|u| u.event.as_ref().is_some_and(|n| n.value() == *name))
                .map(|upcaster| {
                    let from = Literal::u32_unsuffixed(upcaster.from);
                    let function = &upcaster.func.sig.ident;
                    quote!(#from => #private::Some(#aggregate::#function(payload)),)
                });
            quote! {
                #private::decode_versioned(
                    codec,
                    payload,
                    schema_version,
                    #version,
                    |from, payload| match from {
                        #(#upcast_arms)*
                        _ => #private::None,
                    },
                )?
            }
        };
        let check_version = (method.version == 1)
            .then(|| quote!(#private::check_schema_version(schema_version, 1)?;));
        decode_arms.push(quote! {
            #name #(| #aliases)* => {
                #check_version
                let #owned { #(#idents),* } = #decode;
                #private::Ok(#event::#variant { #(#idents),* })
            }
        });
    }
    quote! {
        const _: () = {
            #(#helpers)*

            impl #private::DomainEvent for #event {
                const EVENT_TYPES: &'static [&'static #private::str] = &[#(#names),*];
                const ALIASES: &'static [&'static #private::str] = &[#(#all_aliases),*];

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

                fn encode_payload<C: #private::Codec>(
                    &self,
                    codec: &C,
                ) -> #private::Result<#private::Vec<#private::u8>, #private::CodecError> {
                    match self {
                        #(#encode_arms)*
                    }
                }

                fn decode_payload<C: #private::Codec>(
                    codec: &C,
                    event_type: &#private::str,
                    schema_version: #private::u32,
                    payload: &[#private::u8],
                ) -> #private::Result<Self, #private::PayloadError> {
                    match event_type {
                        #(#decode_arms)*
                        _ => #private::Err(#private::PayloadError::UnknownEventType {
                            event_type: #private::ToOwned::to_owned(event_type),
                        }),
                    }
                }
            }
        };
    }
}
