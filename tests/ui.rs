//! Compile-fail and compile-pass tests of `#[aggregate]` and `#[event]`.
//!
//! Each file in `tests/ui/fail` must fail to compile with exactly the
//! diagnostics in its `.stderr` file; each file in `tests/ui/pass` must
//! compile and run. To regenerate the `.stderr` files after changing a
//! message, run `TRYBUILD=overwrite cargo test --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
