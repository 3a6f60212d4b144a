//! Fixtures shared by the integration tests; each test file uses them
//! through `mod common;`.
//!
//! - [`dogs`]: the test aggregates several files use (`Dog`, `Badge`), and
//!   the helpers around them;
//! - [`stores`]: one fresh store per test, with a guard that cleans up after
//!   it (memory, SQLite file, SQLite in memory, `AnyStore` and `AnySqlStore`);
//! - [`postgres`] (feature `postgres`): `CHRONICLE_TEST_POSTGRES_URL`, a
//!   raw client, schemas of their own, and the PostgreSQL harnesses;
//! - [`brokers`] (features `nats`, `rabbitmq`): `CHRONICLE_TEST_NATS_URL`
//!   and `CHRONICLE_TEST_AMQP_URL`, a `nats-server` of a test's own, and
//!   RabbitMQ virtual hosts of a test's own;
//! - [`service_url`]: the one rule for the variables that name a test
//!   service.
//!
//! Every test binary compiles all of this and uses only part of it, so dead
//! code is allowed here, and only here.
#![allow(dead_code)]

use std::env::VarError;
use std::io::Write;
use std::sync::Mutex;

#[cfg(any(feature = "nats", feature = "rabbitmq"))]
pub mod brokers;
pub mod dogs;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod stores;

/// The URL of a test service from the variable `var`:
///
/// - set and not empty (white space around it is trimmed): the tests use it;
/// - unset, or empty (or only white space): when `CI` is set, the test
///   panics, so that CI cannot skip the service's tests silently; otherwise
///   the test skips the service (a test that needs only it returns early and
///   passes), and a note on stderr (not captured, once per variable and test
///   binary) says so;
/// - set but not Unicode: the test panics, CI or not.
///
/// `CI` counts as set when it has a value other than empty, `0` or `false`
/// (in any case), as CI services set it (`CI=true`).
pub fn service_url(var: &str, service: &str, example: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => return Some(url.trim().to_owned()),
        Ok(_) | Err(VarError::NotPresent) => {}
        Err(VarError::NotUnicode(_)) => panic!("{var} is set but is not valid Unicode"),
    }
    if in_ci() {
        panic!(
            "CI is set but {var} is unset or empty: the {service} tests must run in CI \
             (set it, e.g. to {example})"
        );
    }
    static NOTED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut noted = NOTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !noted.iter().any(|noted| noted == var) {
        noted.push(var.to_owned());
        // Straight to stderr: the test harness captures `eprintln!`.
        let _ = writeln!(
            std::io::stderr(),
            "note: {var} is unset or empty: this test binary skips {service}"
        );
    }
    None
}

/// Whether `CI` is set, as [`service_url`] counts it.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|value| {
        !(value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false"))
    })
}
