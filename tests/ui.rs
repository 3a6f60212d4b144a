//! Compile-fail and compile-pass tests of `#[aggregate]` and `#[event]`, and
//! of the store capabilities.
//!
//! Each file in `tests/ui/fail` and `tests/ui/capability` must fail to
//! compile with exactly the diagnostics in its `.stderr` file; each file in
//! `tests/ui/pass` must compile and run. To regenerate the `.stderr` files
//! after changing a message, run
//! `TRYBUILD=overwrite cargo test --all-features --test ui` and review the
//! diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}

/// Using a store where it lacks a capability. The compiler lists the stores
/// that have it, which depends on the store features, so these run with the
/// SQLite and PostgreSQL stores compiled in, as CI does.
#[cfg(all(feature = "sqlite", feature = "postgres"))]
#[test]
fn capability_mismatches() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/capability/*.rs");
}
