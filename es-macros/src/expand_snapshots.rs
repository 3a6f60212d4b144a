//! Expansion snapshots, in the style of pin-project's `tests/expand`: each
//! `tests/expand/<case>.rs` of the workspace is expanded here, at the
//! `proc_macro2` level (no cargo-expand, no nightly), and compared with
//! `tests/expand/<case>.expanded.rs`.
//!
//! Every item carrying `#[aggregate]` (at any depth of inline modules) is
//! replaced by what `expand::aggregate` makes of it, then every call of an
//! aggregate's bridge (the hidden macro through which the struct's expansion
//! reaches the impl block's) is replaced by what it expands to, so a snapshot
//! shows the code rustc compiles. Other macros, `#[derive]` included, are left
//! as written, and the file is printed with prettyplease.
//!
//! Run `UPDATE_EXPAND=1 cargo test -p chronicle-es-macros expand` to rewrite
//! the snapshots, then review the diff.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit_mut::VisitMut;

use crate::expand::{self, StructFacts};

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/expand");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.ends_with(".rs") && !name.ends_with(".expanded.rs")
        })
        .collect();
    cases.sort();
    cases
}

/// The bridges of a file's aggregate structs, by name.
type Bridges = HashMap<String, StructFacts>;

/// The file with every `#[aggregate]` item expanded, pretty-printed with a
/// blank line between top-level items.
fn expand_file(source: &str) -> String {
    let mut file = syn::parse_file(source).expect("the input is not valid Rust");
    let mut bridges = Bridges::new();
    collect_bridges(&file.items, &mut bridges);
    let items = expand_items(std::mem::take(&mut file.items), &bridges);
    let mut printed = vec![prettyplease::unparse(&file)];
    printed.extend(items.into_iter().map(|item| {
        prettyplease::unparse(&syn::File {
            shebang: None,
            frontmatter: None,
            attrs: Vec::new(),
            items: vec![item],
        })
    }));
    printed.retain(|text| !text.is_empty());
    printed.join("\n")
}

/// Structs come first: an impl block may precede its struct in the file.
fn collect_bridges(items: &[syn::Item], bridges: &mut Bridges) {
    for item in items {
        match item {
            syn::Item::Mod(module) => {
                if let Some((_, content)) = &module.content {
                    collect_bridges(content, bridges);
                }
            }
            syn::Item::Struct(item) => {
                let mut item = item.clone();
                let Some(index) = item.attrs.iter().position(is_aggregate_attr) else {
                    continue;
                };
                let attr = item.attrs.remove(index);
                if let Some((bridge, facts)) = expand::bridge_of(attr_args(attr), &item) {
                    bridges.insert(bridge.to_string(), facts);
                }
            }
            _ => {}
        }
    }
}

fn attr_args(attr: syn::Attribute) -> TokenStream {
    match attr.meta {
        syn::Meta::List(list) => list.tokens,
        _ => TokenStream::new(),
    }
}

fn expand_items(items: Vec<syn::Item>, bridges: &Bridges) -> Vec<syn::Item> {
    items
        .into_iter()
        .flat_map(|item| expand_item(item, bridges))
        .collect()
}

fn expand_item(mut item: syn::Item, bridges: &Bridges) -> Vec<syn::Item> {
    if let syn::Item::Mod(module) = &mut item {
        if let Some((_, content)) = &mut module.content {
            *content = expand_items(std::mem::take(content), bridges);
        }
        return vec![item];
    }
    let Some(attrs) = item_attrs(&mut item) else {
        return vec![item];
    };
    let Some(index) = attrs.iter().position(is_aggregate_attr) else {
        return vec![item];
    };
    // Like rustc: the attribute macro gets its arguments, and the item
    // without that attribute but with all the others.
    let attr = attrs.remove(index);
    let output = expand::aggregate(attr_args(attr), item.into_token_stream());
    let file: syn::File = syn::parse2(output.clone())
        .unwrap_or_else(|error| panic!("the expansion does not parse ({error}):\n{output}"));
    file.items
        .into_iter()
        .flat_map(|item| follow_bridges(item, bridges))
        .collect()
}

/// A bridge call `name! { @body ... }` or `name! { @items ... }`: the facts of
/// its struct and the tokens after the `@` keyword.
fn bridge_call<'a>(
    mac: &syn::Macro,
    keyword: &str,
    bridges: &'a Bridges,
) -> Option<(&'a StructFacts, TokenStream)> {
    let facts = bridges.get(&mac.path.get_ident()?.to_string())?;
    let mut tokens = mac.tokens.clone().into_iter();
    match (tokens.next(), tokens.next()) {
        (Some(TokenTree::Punct(at)), Some(TokenTree::Ident(word)))
            if at.as_char() == '@' && word == keyword =>
        {
            Some((facts, tokens.collect()))
        }
        _ => None,
    }
}

/// Replaces the bridge calls in an item by what the bridge expands to.
fn follow_bridges(mut item: syn::Item, bridges: &Bridges) -> Vec<syn::Item> {
    if let syn::Item::Macro(call) = &item {
        if let Some((facts, items)) = bridge_call(&call.mac, "items", bridges) {
            let output = expand::aggregate_impl(expand::bridged_items(facts, items));
            let file: syn::File = syn::parse2(output.clone()).unwrap_or_else(|error| {
                panic!("the bridge's expansion does not parse ({error}):\n{output}")
            });
            return file.items;
        }
    }
    Bodies { bridges }.visit_item_mut(&mut item);
    vec![item]
}

/// Replaces `bridge! { @body ... }` in method bodies.
struct Bodies<'a> {
    bridges: &'a Bridges,
}

impl VisitMut for Bodies<'_> {
    fn visit_stmt_mut(&mut self, stmt: &mut syn::Stmt) {
        if let syn::Stmt::Macro(call) = stmt {
            if let Some((facts, body)) = bridge_call(&call.mac, "body", self.bridges) {
                let block: syn::Expr = syn::parse2(expand::bridged_body(facts, body))
                    .expect("the bridged body is not a block");
                *stmt = syn::Stmt::Expr(block, None);
                return;
            }
        }
        syn::visit_mut::visit_stmt_mut(self, stmt);
    }
}

fn item_attrs(item: &mut syn::Item) -> Option<&mut Vec<syn::Attribute>> {
    match item {
        syn::Item::Struct(item) => Some(&mut item.attrs),
        syn::Item::Impl(item) => Some(&mut item.attrs),
        syn::Item::Enum(item) => Some(&mut item.attrs),
        syn::Item::Union(item) => Some(&mut item.attrs),
        syn::Item::Fn(item) => Some(&mut item.attrs),
        syn::Item::Trait(item) => Some(&mut item.attrs),
        _ => None,
    }
}

fn is_aggregate_attr(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "aggregate")
}

/// A short report of where two texts start to differ.
fn first_difference(expected: &str, actual: &str) -> String {
    let line = expected
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    format!(
        "first difference at line {}:\n  snapshot: {:?}\n  now:      {:?}",
        line + 1,
        expected.lines().nth(line).unwrap_or("<end of file>"),
        actual.lines().nth(line).unwrap_or("<end of file>"),
    )
}

#[test]
fn expansions_match_snapshots() {
    let update = std::env::var_os("UPDATE_EXPAND").is_some();
    let cases = cases();
    assert!(!cases.is_empty(), "no cases in tests/expand");
    let mut stale = Vec::new();
    for case in cases {
        let source = fs::read_to_string(&case).unwrap();
        let expanded = expand_file(&source);
        let snapshot = case.with_extension("expanded.rs");
        let current = fs::read_to_string(&snapshot).ok();
        if current.as_deref() == Some(expanded.as_str()) {
            continue;
        }
        if update {
            fs::write(&snapshot, &expanded).unwrap();
            eprintln!("updated {}", snapshot.display());
            continue;
        }
        stale.push(match current {
            None => format!("{} is missing", snapshot.display()),
            Some(current) => format!(
                "{} is out of date; {}",
                snapshot.display(),
                first_difference(&current, &expanded)
            ),
        });
    }
    assert!(
        stale.is_empty(),
        "{}\n\nrun `UPDATE_EXPAND=1 cargo test -p chronicle-es-macros expand` and review the diff",
        stale.join("\n")
    );
}

#[test]
fn the_harness_expands_nested_items_and_keeps_the_rest() {
    let expanded = expand_file(
        "mod inner {\n    #[aggregate]\n    enum NotAStruct {}\n}\nfn untouched() {}\n",
    );
    assert!(expanded.contains("compile_error!"), "{expanded}");
    assert!(expanded.contains("fn untouched()"), "{expanded}");
    assert!(!expanded.contains("#[aggregate]\n"), "{expanded}");
}

#[test]
fn a_crate_path_replaces_every_path_to_chronicle_es() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/expand/crate_path.rs");
    let expanded = expand_file(&fs::read_to_string(case).unwrap());
    assert!(
        !expanded.contains("::chronicle_es"),
        "generated code still names ::chronicle_es:\n{expanded}"
    );
    assert!(
        expanded.contains(":: platform :: es :: __private")
            || expanded.contains("::platform::es::__private")
    );
}
