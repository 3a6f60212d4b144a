//! Fixtures shared by the integration tests; each test file uses them
//! through `mod common;`.
//!
//! - [`dogs`]: the test aggregates several files use (`Dog`, `Badge`), and
//!   the helpers around them;
//! - [`stores`]: one fresh store per test, with a guard that cleans up after
//!   it (memory, SQLite file, SQLite in memory, `AnyStore` and `AnySqlStore`);
//! - [`postgres`] (feature `postgres`): the one rule for
//!   `CHRONICLE_TEST_POSTGRES_URL`, a raw client, schemas of their own, and
//!   the PostgreSQL harnesses.
//!
//! Every test binary compiles all of this and uses only part of it, so dead
//! code is allowed here, and only here.
#![allow(dead_code)]

pub mod dogs;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod stores;
