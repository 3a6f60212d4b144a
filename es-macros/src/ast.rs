//! A borrowed model of the macro input that keeps the original syntax nodes
//! for spans, built while checking every rule. Each broken rule is reported
//! (all of them, not just the first) at the span of the offending syntax.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::visit::Visit;
use syn::{
    Attribute, Expr, Fields, FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, ItemStruct, LitStr, Pat,
    ReceiverKind, ReturnType, Safety, Type,
};

use crate::attr::{self, AggregateArgs, EventArgs};
use crate::ctxt::Ctxt;
use crate::names;

/// `#[aggregate] struct Dog { ... }`.
pub(crate) struct AggregateStruct<'a> {
    pub(crate) item: &'a ItemStruct,
    pub(crate) args: AggregateArgs,
    /// Named fields, or (already reported as an error) tuple or unit fields.
    pub(crate) fields: &'a Fields,
}

impl<'a> AggregateStruct<'a> {
    pub(crate) fn from_syn(
        cx: &mut Ctxt,
        item: &'a ItemStruct,
        args: AggregateArgs,
    ) -> Option<Self> {
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            cx.error_spanned_by(
                &item.generics,
                format!(
                    "#[aggregate] does not support generic aggregates: remove the generic parameters of `{}`",
                    item.ident
                ),
            );
            return None;
        }
        // Tuple and unit structs are reported, but still expanded (with the
        // state keeping the same shape) so that the impl block and the code
        // using the aggregate add no errors of their own.
        match &item.fields {
            syn::Fields::Named(_) => {}
            syn::Fields::Unnamed(fields) => cx.error_spanned_by(
                fields,
                format!(
                    "#[aggregate] does not support tuple structs: name the fields, as in `struct {} {{ name: String }}`",
                    item.ident
                ),
            ),
            syn::Fields::Unit => cx.error_spanned_by(
                &item.ident,
                format!(
                    "#[aggregate] does not support unit structs: give it named fields, as in `struct {} {{ name: String }}`",
                    item.ident
                ),
            ),
        }
        Some(Self {
            item,
            args,
            fields: &item.fields,
        })
    }
}

/// `#[aggregate] impl Dog { ... }`.
pub(crate) struct AggregateImpl<'a> {
    pub(crate) item: &'a ItemImpl,
    pub(crate) self_ident: Ident,
    pub(crate) items: Vec<Member<'a>>,
}

/// One item of the impl block.
pub(crate) enum Member<'a> {
    /// An `#[event]` method.
    Event(Box<EventMethod<'a>>),
    /// An `#[upcast(...)]` function.
    Upcaster(Upcaster<'a>),
    /// Anything else, passed through unchanged.
    Plain(&'a ImplItem),
}

/// An `#[event]` method and the event it records.
pub(crate) struct EventMethod<'a> {
    pub(crate) func: &'a ImplItemFn,
    /// The event (and enum variant) name.
    pub(crate) variant: Ident,
    /// `id = <expr>` on a creation event.
    pub(crate) id: Option<Expr>,
    /// No receiver: the event creates the aggregate.
    pub(crate) creation: bool,
    pub(crate) args: Vec<EventField<'a>>,
    /// The schema version (`version = N`, 1 by default).
    pub(crate) version: u32,
    /// Former names, accepted when decoding.
    pub(crate) aliases: Vec<LitStr>,
    /// The `#[event]` attribute, for errors about the event as a whole.
    pub(crate) attr: &'a Attribute,
}

/// `#[upcast("TrickAdded", from = 1)] fn f(payload: Value) -> Value`.
pub(crate) struct Upcaster<'a> {
    pub(crate) func: &'a ImplItemFn,
    /// The event's name, or `None` for the state.
    pub(crate) event: Option<LitStr>,
    pub(crate) from: u32,
    pub(crate) from_literal: syn::LitInt,
}

impl Upcaster<'_> {
    /// The function without its `#[upcast]` attribute.
    pub(crate) fn without_attr(&self) -> ImplItemFn {
        let mut func = self.func.clone();
        func.attrs.retain(|attr| !is_upcast_attr(attr));
        func
    }
}

pub(crate) fn is_upcast_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "upcast")
}

/// An argument of an event method, which becomes a field of the event.
pub(crate) struct EventField<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) mutable: bool,
    pub(crate) ty: &'a Type,
}

impl EventMethod<'_> {
    /// Attributes other than `#[event]`, kept on the generated method.
    pub(crate) fn kept_attrs(&self) -> impl Iterator<Item = &Attribute> {
        self.func.attrs.iter().filter(|attr| !is_event_attr(attr))
    }
}

pub(crate) fn is_event_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "event")
}

impl<'a> AggregateImpl<'a> {
    pub(crate) fn from_syn(cx: &mut Ctxt, item: &'a ItemImpl) -> Option<Self> {
        if let Some((path, _)) = &item.trait_ {
            cx.error_spanned_by(
                path,
                "#[aggregate] goes on the aggregate's own impl block (`impl Dog { ... }`), not on a trait impl",
            );
            return None;
        }
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            cx.error_spanned_by(
                &item.generics,
                "#[aggregate] does not support generic aggregates: remove the generic parameters",
            );
        }
        let self_ident = match &*item.self_ty {
            Type::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
                let segment = &path.path.segments[0];
                if !segment.arguments.is_none() {
                    cx.error_spanned_by(
                        &segment.arguments,
                        "#[aggregate] does not support generic aggregates: remove the generic arguments",
                    );
                }
                Some(segment.ident.clone())
            }
            other => {
                cx.error_spanned_by(
                    other,
                    "#[aggregate] goes on `impl Name { ... }` where `Name` is a struct marked #[aggregate] in this module",
                );
                None
            }
        };

        let mut items = Vec::with_capacity(item.items.len());
        let mut names: Vec<(String, &Ident)> = Vec::new();
        // A malformed upcaster is reported on its own; the version chains it
        // may have belonged to are not checked again.
        let mut broken_upcaster = false;
        for impl_item in &item.items {
            let ImplItem::Fn(func) = impl_item else {
                items.push(Member::Plain(impl_item));
                continue;
            };
            if names::reserved_method(&func.sig.ident) {
                cx.error_spanned_by(
                    &func.sig.ident,
                    format!(
                        "`{}` is generated by #[aggregate] on the struct; give this method another name",
                        func.sig.ident
                    ),
                );
            }
            if let Some(upcast_attr) = func.attrs.iter().find(|attr| is_upcast_attr(attr)) {
                match Upcaster::from_syn(cx, func, upcast_attr) {
                    Some(upcaster) => items.push(Member::Upcaster(upcaster)),
                    None => broken_upcaster = true,
                }
                continue;
            }
            let mut event_attrs = func.attrs.iter().filter(|attr| is_event_attr(attr));
            let Some(event_attr) = event_attrs.next() else {
                check_no_state_assignment(cx, func);
                items.push(Member::Plain(impl_item));
                continue;
            };
            for duplicate in event_attrs {
                cx.error_spanned_by(
                    duplicate,
                    "a method can record only one event: remove this second #[event]",
                );
            }
            let args = match &event_attr.meta {
                syn::Meta::Path(_) => EventArgs::default(),
                syn::Meta::List(list) => attr::parse_event_args(cx, list.tokens.clone()),
                syn::Meta::NameValue(nv) => {
                    cx.error_spanned_by(nv, "write #[event(\"TrickAdded\")] or a bare #[event]");
                    EventArgs::default()
                }
            };
            let name_span = match &args.name {
                Some(name) => name.to_token_stream(),
                None => event_attr.to_token_stream(),
            };
            if let Some(method) =
                EventMethod::from_syn(cx, func, event_attr, args, self_ident.as_ref())
            {
                let name = method.variant.to_string();
                if let Some((_, first)) = names.iter().find(|(seen, _)| *seen == name) {
                    cx.error_spanned_by(
                        name_span,
                        format!(
                            "duplicate event name `{name}`: method `{first}` already records an event of that name; give this event another name"
                        ),
                    );
                } else {
                    names.push((name, &func.sig.ident));
                }
                items.push(Member::Event(Box::new(method)));
            }
        }
        if !broken_upcaster {
            check_versions(cx, &items);
        }
        let self_ident = self_ident?;
        if !cx.has_errors() {
            check_event_bodies(cx, &items, &self_ident);
        }
        if !cx.has_errors()
            && !items
                .iter()
                .any(|m| matches!(m, Member::Event(e) if e.creation))
        {
            let has_events = items.iter().any(|m| matches!(m, Member::Event(_)));
            let message = if has_events {
                format!(
                    "this #[aggregate] impl block has no creation event (an #[event] method without `self` that returns `Self`): an aggregate's #[event] methods all go in one `#[aggregate] impl {self_ident}` block, with its creation event. If that is another block, move these #[event] methods there and keep other methods in plain `impl {self_ident}` blocks; otherwise add a creation event, such as `#[event(\"Registered\")] fn register(name: String) -> Self`"
                )
            } else {
                format!(
                    "this #[aggregate] impl block has no #[event] methods: an aggregate's events all go in one `#[aggregate] impl {self_ident}` block, with its creation event (an #[event] method without `self` that returns `Self`); other methods go in plain `impl {self_ident}` blocks, without #[aggregate]"
                )
            };
            cx.error_spanned_by(&item.self_ty, message);
        }
        Some(Self {
            item,
            self_ident,
            items,
        })
    }

    pub(crate) fn events(&self) -> impl Iterator<Item = &EventMethod<'a>> {
        self.items.iter().filter_map(|member| match member {
            Member::Event(event) => Some(&**event),
            _ => None,
        })
    }

    pub(crate) fn upcasters(&self) -> impl Iterator<Item = &Upcaster<'a>> {
        self.items.iter().filter_map(|member| match member {
            Member::Upcaster(upcaster) => Some(upcaster),
            _ => None,
        })
    }
}

impl<'a> EventMethod<'a> {
    fn from_syn(
        cx: &mut Ctxt,
        func: &'a ImplItemFn,
        attr: &'a Attribute,
        args: EventArgs,
        self_ident: Option<&Ident>,
    ) -> Option<Self> {
        let sig = &func.sig;
        let errors_before = cx.has_errors();
        let mut ok = true;
        let mut fail = |cx: &mut Ctxt, tokens: &dyn quote::ToTokens, message: &str| {
            cx.error_spanned_by(tokens.to_token_stream(), message);
            ok = false;
        };
        if let Some(token) = &sig.asyncness {
            fail(cx, token, "#[event] methods cannot be async, because their bodies also run when events are replayed, which is synchronous: remove `async`, and await in an ordinary method before calling this one");
        }
        if let Some(token) = &sig.constness {
            fail(cx, token, "#[event] methods cannot be const, because recording an event happens at run time: remove `const`");
        }
        if let Safety::Unsafe(token) = &sig.safety {
            fail(cx, token, "#[event] methods cannot be unsafe, because replaying an event runs the body with no caller to uphold its safety contract: remove `unsafe`, and keep unsafe code in an ordinary method");
        }
        if let Some(abi) = &sig.abi {
            fail(cx, abi, "#[event] methods cannot declare an ABI: remove it");
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            fail(cx, &sig.generics, "#[event] methods cannot be generic, because each argument becomes a stored field of the event: use concrete types, and convert in an ordinary method that calls this one");
        }
        if let Some(variadic) = &sig.variadic {
            fail(
                cx,
                variadic,
                "#[event] methods cannot be variadic: take a `Vec` instead",
            );
        }

        let mut receiver_ok = true;
        let creation = match sig.receiver() {
            None => true,
            Some(receiver) => {
                let message = match &receiver.kind {
                    ReceiverKind::Reference(_, _, Some(_)) => None,
                    ReceiverKind::Reference(_, _, None) => Some(
                        "#[event] methods change the aggregate, so they cannot take `&self`: take `&mut self`",
                    ),
                    ReceiverKind::Value => Some(
                        "#[event] methods cannot take `self` by value: take `&mut self` to change the aggregate, or no `self` at all (returning `Self`) for the event that creates it",
                    ),
                    _ => Some("#[event] methods take `&mut self`, or no `self` at all (returning `Self`) for the event that creates it"),
                };
                if let Some(message) = message {
                    fail(cx, receiver, message);
                    receiver_ok = false;
                }
                false
            }
        };
        // With a wrong receiver the return type is usually wrong for the same
        // reason (`fn rename(self) -> Self`): report the receiver only.
        match (&sig.output, creation) {
            (ReturnType::Default, true) => fail(
                cx,
                &sig.ident,
                "an #[event] method without `self` creates the aggregate, so it must return `Self`: add `-> Self`, or take `&mut self` if it changes an existing aggregate",
            ),
            (ReturnType::Type(_, ty), true) if !returns_self(ty, self_ident) => fail(
                cx,
                ty,
                "an #[event] method without `self` creates the aggregate, so it must return `Self`: return `Self`, or take `&mut self` if it changes an existing aggregate",
            ),
            (ReturnType::Type(_, ty), false) if receiver_ok && returns_self(ty, self_ident) => {
                if let Some(receiver) = sig.receiver() {
                    fail(
                        cx,
                        receiver,
                        "an #[event] method that returns `Self` creates the aggregate, so it takes no `self`: remove this receiver; event methods that change an existing aggregate take `&mut self` and return nothing",
                    );
                }
            }
            (ReturnType::Type(_, ty), false) if receiver_ok && !is_unit(ty) => fail(
                cx,
                ty,
                "#[event] methods cannot return a value: the body only changes state; remove the return type, and return results from an ordinary method that validates and then calls the event method",
            ),
            _ => {}
        }
        if let (Some(id), false) = (&args.id, creation) {
            fail(cx, id, "`id = ...` only applies to creation events (methods without `self`): remove it, or move it to the creation event");
        }

        let mut fields = Vec::new();
        for input in &sig.inputs {
            let FnArg::Typed(typed) = input else { continue };
            let ident = match &*typed.pat {
                Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                    Some((&pat.ident, pat.mutability.is_some()))
                }
                other => {
                    fail(cx, other, "event arguments must be plain names, because each becomes a named field of the event: bind the argument to a name, such as `size: (u8, u8)`, and destructure it in the body");
                    None
                }
            };
            if let Some(message) = argument_type_problem(&typed.ty) {
                fail(cx, &typed.ty, &message);
            }
            if let Some((ident, mutable)) = ident {
                fields.push(EventField {
                    ident,
                    mutable,
                    ty: &typed.ty,
                });
            }
        }

        let variant = match &args.name {
            Some(name) => attr::event_name_ident(cx, name),
            None => Some(Ident::new(
                &attr::camel_case(&sig.ident.to_string()),
                sig.ident.span(),
            )),
        };
        if !ok || (!errors_before && cx.has_errors()) {
            return None;
        }
        Some(Self {
            func,
            variant: variant?,
            id: args.id,
            creation,
            args: fields,
            version: args.version.map_or(1, |(version, _)| version),
            aliases: args.aliases,
            attr,
        })
    }
}

impl<'a> Upcaster<'a> {
    fn from_syn(cx: &mut Ctxt, func: &'a ImplItemFn, attr: &Attribute) -> Option<Self> {
        let args = attr::parse_upcast_args(cx, attr)?;
        let sig = &func.sig;
        let typed_inputs = sig
            .inputs
            .iter()
            .filter(|input| matches!(input, FnArg::Typed(_)))
            .count();
        if sig.receiver().is_some()
            || typed_inputs != 1
            || matches!(sig.output, ReturnType::Default)
        {
            cx.error_spanned_by(
                sig,
                "an #[upcast] function takes the old payload and returns the new one, without `self`: `fn name(payload: Value) -> Value`",
            );
            return None;
        }
        if sig.asyncness.is_some() || !sig.generics.params.is_empty() {
            cx.error_spanned_by(sig, "an #[upcast] function cannot be async or generic");
            return None;
        }
        let (from, from_literal) = args.from;
        Some(Self {
            func,
            event: args.event,
            from,
            from_literal,
        })
    }
}

/// Cross-item rules of schema evolution: every upcaster names an event of
/// this aggregate and a version below the event's; no two upcasters read the
/// same version; every event at version N has upcasters from 1 to N - 1;
/// names and aliases are unique. (The state's chain is checked against the
/// struct's `version` by a constant assertion in the expansion.)
fn check_versions(cx: &mut Ctxt, items: &[Member]) {
    let events: Vec<&EventMethod> = items
        .iter()
        .filter_map(|m| match m {
            Member::Event(event) => Some(&**event),
            _ => None,
        })
        .collect();
    let upcasters: Vec<&Upcaster> = items
        .iter()
        .filter_map(|m| match m {
            Member::Upcaster(upcaster) => Some(upcaster),
            _ => None,
        })
        .collect();

    for (index, upcaster) in upcasters.iter().enumerate() {
        let target = upcaster.event.as_ref().map(LitStr::value);
        if upcasters[..index].iter().any(|earlier| {
            earlier.event.as_ref().map(LitStr::value) == target && earlier.from == upcaster.from
        }) {
            cx.error_spanned_by(
                &upcaster.from_literal,
                format!(
                    "duplicate upcaster: another #[upcast] already reads {} at version {}",
                    target
                        .as_deref()
                        .map_or("the state".to_owned(), |name| format!("event `{name}`")),
                    upcaster.from
                ),
            );
        }
        let (Some(name), Some(literal)) = (target, &upcaster.event) else {
            continue;
        };
        match events.iter().find(|event| event.variant == name) {
            None => cx.error_spanned_by(
                literal,
                format!("no #[event] of this aggregate is named `{name}`: an upcaster names the event's current name"),
            ),
            Some(event) if upcaster.from >= event.version => cx.error_spanned_by(
                &upcaster.from_literal,
                format!(
                    "event `{name}` is at version {}, so upcasters read versions 1 to {}: this one reads version {}",
                    event.version,
                    event.version.saturating_sub(1),
                    upcaster.from
                ),
            ),
            Some(_) => {}
        }
    }

    let mut stored_names: Vec<String> = Vec::new();
    for event in &events {
        let name = event.variant.to_string();
        for from in 1..event.version {
            let present = upcasters.iter().any(|upcaster| {
                upcaster.from == from && upcaster.event.as_ref().is_some_and(|n| n.value() == name)
            });
            if !present {
                cx.error_spanned_by(
                    event.attr,
                    format!(
                        "event `{name}` is at version {} but no upcaster reads version {from}: add #[upcast(\"{name}\", from = {from})] fn ...(payload: Value) -> Value",
                        event.version
                    ),
                );
            }
        }
        stored_names.push(name);
    }
    for event in &events {
        for alias in &event.aliases {
            let value = alias.value();
            if stored_names.contains(&value) {
                cx.error_spanned_by(
                    alias,
                    format!("alias `{value}` is already the name or alias of an event of this aggregate"),
                );
            } else {
                stored_names.push(value);
            }
        }
    }
}

/// Why an argument's type cannot be stored in an event, if it cannot: it
/// borrows (anywhere inside it: `&str`, `Option<&T>`, `Vec<&str>`), or it
/// names no concrete type. The message suggests the owned type.
fn argument_type_problem(ty: &Type) -> Option<String> {
    struct Finder {
        borrows: bool,
        opaque: bool,
    }
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_reference(&mut self, node: &'ast syn::TypeReference) {
            self.borrows = true;
            syn::visit::visit_type_reference(self, node);
        }
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.opaque = true;
        }
        fn visit_type_infer(&mut self, _: &'ast syn::TypeInfer) {
            self.opaque = true;
        }
    }
    let mut finder = Finder {
        borrows: false,
        opaque: false,
    };
    finder.visit_type(ty);
    if finder.opaque {
        return Some("event arguments need a concrete type, because each becomes a stored field of the event: name the type".to_owned());
    }
    if !finder.borrows {
        return None;
    }
    let owned = owned_type(ty);
    let suggestion = match ty {
        Type::Reference(reference) => match &*reference.elem {
            Type::Path(path) if path.path.is_ident("str") => {
                "`String` instead of `&str`".to_owned()
            }
            Type::Slice(_) => format!("`{owned}` instead of a slice"),
            _ => format!("`{owned}` instead of a reference"),
        },
        _ => format!(
            "`{owned}` instead of `{}`",
            type_text(ty.to_token_stream().to_string())
        ),
    };
    Some(format!(
        "event arguments are stored in the event, so they must own their data: use {suggestion}"
    ))
}

/// `ty` with every borrow replaced by the owned type: `&str` by `String`,
/// `&[T]` by `Vec<T>`, `&T` by `T`, printed as a user would write it.
fn owned_type(ty: &Type) -> String {
    struct Owner;
    impl syn::visit_mut::VisitMut for Owner {
        fn visit_type_mut(&mut self, node: &mut Type) {
            if let Type::Reference(reference) = node {
                let owned: Type = match &*reference.elem {
                    Type::Path(path) if path.path.is_ident("str") => syn::parse_quote!(String),
                    Type::Slice(slice) => {
                        let elem = &slice.elem;
                        syn::parse_quote!(Vec<#elem>)
                    }
                    elem => elem.clone(),
                };
                *node = owned;
            }
            syn::visit_mut::visit_type_mut(self, node);
        }
    }
    let mut owned = ty.clone();
    syn::visit_mut::VisitMut::visit_type_mut(&mut Owner, &mut owned);
    type_text(owned.to_token_stream().to_string())
}

/// A type's tokens as a user would write them: `Option < & str >` becomes
/// `Option<&str>`.
fn type_text(mut text: String) -> String {
    for (spaced, tight) in [
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        (" :: ", "::"),
        (":: ", "::"),
        ("& ", "&"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

/// Event bodies run on the state, for live calls and on replay; they change
/// fields and nothing else. Reports, at the call, a body that records another
/// event (`self.add_trick(...)`) or reads the aggregate's accessors
/// (`self.version()`), which the state does not have, instead of letting
/// rustc suggest a hidden method of the generated state.
fn check_event_bodies(cx: &mut Ctxt, items: &[Member], aggregate: &Ident) {
    struct Finder<'c> {
        cx: &'c mut Ctxt,
        aggregate: &'c Ident,
        body_of: String,
        events: &'c [String],
    }
    impl Finder<'_> {
        fn report(&mut self, method: &Ident, call: &dyn ToTokens) {
            let name = method.to_string();
            let aggregate = self.aggregate;
            let message = if self.events.contains(&name) {
                format!(
                    "an #[event] body only changes the aggregate's state, so it cannot record another event: `{name}` is an #[event] method. Record both events from an ordinary method (a command), as in `pub fn ...(&mut self, ...) {{ self.{}(...); self.{name}(...); }}`",
                    self.body_of
                )
            } else {
                format!(
                    "an #[event] body runs on the aggregate's state, which has no `{name}()`: read `{name}()` in the method that calls `{}` and pass the value as an argument (the body also runs on replay, where `{aggregate}` is being rebuilt)",
                    self.body_of
                )
            };
            self.cx.error_spanned_by(call.to_token_stream(), message);
        }
        fn is_forbidden(&self, method: &Ident) -> bool {
            let name = method.to_string();
            self.events.contains(&name) || names::reserved_method(method)
        }
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_expr_method_call(&mut self, node: &'ast syn::ExprMethodCall) {
            let on_self = matches!(&*node.receiver, Expr::Path(path) if path.path.is_ident("self"));
            if on_self && self.is_forbidden(&node.method) {
                self.report(&node.method, node);
            }
            syn::visit::visit_expr_method_call(self, node);
        }
        fn visit_expr_call(&mut self, node: &'ast syn::ExprCall) {
            if let Expr::Path(path) = &*node.func {
                let segments = &path.path.segments;
                let on_self_type = segments.len() == 2
                    && (segments[0].ident == "Self" || segments[0].ident == *self.aggregate);
                if on_self_type && path.qself.is_none() && self.is_forbidden(&segments[1].ident) {
                    self.report(&segments[1].ident, node);
                }
            }
            syn::visit::visit_expr_call(self, node);
        }
        // Nested items have their own `self`.
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let events: Vec<String> = items
        .iter()
        .filter_map(|member| match member {
            Member::Event(event) => Some(event.func.sig.ident.to_string()),
            _ => None,
        })
        .collect();
    for member in items {
        let Member::Event(event) = member else {
            continue;
        };
        let mut finder = Finder {
            cx: &mut *cx,
            aggregate,
            body_of: event.func.sig.ident.to_string(),
            events: &events,
        };
        finder.visit_block(&event.func.block);
    }
}

/// `Self`, or the aggregate's own name.
fn returns_self(ty: &Type, self_ident: Option<&Ident>) -> bool {
    let Type::Path(path) = ty else { return false };
    path.qself.is_none()
        && (path.path.is_ident("Self") || self_ident.is_some_and(|name| path.path.is_ident(name)))
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(tuple) if tuple.elems.is_empty())
}

/// Reports assignments such as `self.name = ...` or `self.count += 1` in a
/// method that is not an event: state changes only through events. (The
/// generated `Deref`-only access makes such code fail to compile anyway; this
/// says why, at the assignment.)
fn check_no_state_assignment(cx: &mut Ctxt, func: &ImplItemFn) {
    struct Finder<'c> {
        cx: &'c mut Ctxt,
        method: String,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_expr_assign(&mut self, node: &'ast syn::ExprAssign) {
            self.report(&node.left, node);
            syn::visit::visit_expr_assign(self, node);
        }
        fn visit_expr_binary(&mut self, node: &'ast syn::ExprBinary) {
            use syn::BinOp::*;
            if matches!(
                node.op,
                AddAssign(_)
                    | SubAssign(_)
                    | MulAssign(_)
                    | DivAssign(_)
                    | RemAssign(_)
                    | BitXorAssign(_)
                    | BitAndAssign(_)
                    | BitOrAssign(_)
                    | ShlAssign(_)
                    | ShrAssign(_)
            ) {
                self.report(&node.left, node);
            }
            syn::visit::visit_expr_binary(self, node);
        }
        // Closures and nested items have their own `self` rules; assignments in
        // closures still go through `self` and are reported like any other.
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    impl Finder<'_> {
        fn report(&mut self, target: &Expr, whole: &dyn quote::ToTokens) {
            if let Some(field) = self_field(target) {
                self.cx.error_spanned_by(
                    whole.to_token_stream(),
                    format!(
                        "aggregate state changes only through #[event] methods: `{}` assigns to `self.{field}`; move the change into an #[event] method and call that",
                        self.method
                    ),
                );
            }
        }
    }
    if func.sig.receiver().is_none() {
        return;
    }
    let mut finder = Finder {
        cx,
        method: func.sig.ident.to_string(),
    };
    finder.visit_block(&func.block);
}

/// The first field of a place expression rooted at `self` (`self.a.b[0]` -> `a`).
fn self_field(expr: &Expr) -> Option<String> {
    let mut current = expr;
    let mut first_field = None;
    loop {
        match current {
            Expr::Field(field) => {
                first_field = Some(match &field.member {
                    syn::Member::Named(ident) => ident.to_string(),
                    syn::Member::Unnamed(index) => index.index.to_string(),
                });
                current = &field.base;
            }
            Expr::Index(index) => current = &index.expr,
            Expr::Paren(paren) => current = &paren.expr,
            Expr::Path(path) if path.path.is_ident("self") => return first_field,
            _ => return None,
        }
    }
}

/// For the expansion of a failed impl: the token stream of a method with
/// `#[event]` removed and its body replaced, so that the user sees the macro's
/// error and not errors from a body that was never rewritten.
pub(crate) fn stub_method(func: &ImplItemFn) -> TokenStream {
    let attrs = func
        .attrs
        .iter()
        .filter(|attr| !is_event_attr(attr) && !is_upcast_attr(attr));
    let vis = &func.vis;
    let sig = &func.sig;
    quote::quote! {
        #(#attrs)*
        #[allow(unused_variables, clippy::diverging_sub_expression)]
        #vis #sig {
            ::core::panic!("#[aggregate] failed to expand")
        }
    }
}
