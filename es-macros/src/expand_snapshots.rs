//! Expansion snapshots, in the style of pin-project's `tests/expand`: each
//! `tests/expand/<case>.rs` of the workspace is expanded here, at the
//! `proc_macro2` level (no cargo-expand, no nightly), and compared with
//! `tests/expand/<case>.expanded.rs`.
//!
//! Every item carrying `#[aggregate]` (at any depth of inline modules) is
//! replaced by what `expand::aggregate` makes of it, and the file is printed
//! with prettyplease. Other macros, `#[derive]` included, are left as written,
//! so a snapshot shows exactly what `#[aggregate]` generates.
//!
//! Run `UPDATE_EXPAND=1 cargo test -p es-macros expand` to rewrite the
//! snapshots, then review the diff.

use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::ToTokens;

use crate::expand;

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

/// The file with every `#[aggregate]` item expanded, pretty-printed with a
/// blank line between top-level items.
fn expand_file(source: &str) -> String {
    let mut file = syn::parse_file(source).expect("the input is not valid Rust");
    let items = expand_items(std::mem::take(&mut file.items));
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

fn expand_items(items: Vec<syn::Item>) -> Vec<syn::Item> {
    items.into_iter().flat_map(expand_item).collect()
}

fn expand_item(mut item: syn::Item) -> Vec<syn::Item> {
    if let syn::Item::Mod(module) = &mut item {
        if let Some((_, content)) = &mut module.content {
            *content = expand_items(std::mem::take(content));
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
    let args = match attr.meta {
        syn::Meta::List(list) => list.tokens,
        _ => TokenStream::new(),
    };
    let output = expand::aggregate(args, item.into_token_stream());
    let file: syn::File = syn::parse2(output.clone())
        .unwrap_or_else(|error| panic!("the expansion does not parse ({error}):\n{output}"));
    file.items
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
        "{}\n\nrun `UPDATE_EXPAND=1 cargo test -p es-macros expand` and review the diff",
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
