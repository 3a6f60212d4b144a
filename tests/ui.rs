//! Compile-fail and compile-pass tests of `#[aggregate]` and `#[event]`, and
//! of the store capabilities.
//!
//! Each file in `tests/ui/fail`, `tests/ui/capability`, `tests/ui/serde`
//! and `tests/ui/serde_brokers` must fail to compile with exactly the
//! diagnostics in its `.stderr` file; each file in
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

/// An event argument or a snapshot state without serde: the compiler lists
/// other types that implement the serde traits, and the form of that list
/// depends on the dependency graph (the broker clients' dependencies make
/// rustc print `Deserialize` implementors in its long form). So these run
/// once per graph: without the broker features, and with both (as CI does).
#[cfg(not(any(feature = "nats", feature = "rabbitmq")))]
#[test]
fn serde_listings() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/serde/*.rs");
}

/// [`serde_listings`] with the broker clients compiled in.
#[cfg(all(feature = "nats", feature = "rabbitmq"))]
#[test]
fn serde_listings_with_brokers() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/serde_brokers/*.rs");
}
