//! PostgreSQL for the tests: which server to use (one rule for every test),
//! a raw client, a schema of its own per test, and the harnesses.
//!
//! # The URL rule
//!
//! [`url`] reads `CHRONICLE_TEST_POSTGRES_URL`
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`) by the rule of
//! [`service_url`](super::service_url): used when set, a panic in CI when
//! unset, a skip otherwise.
//!
//! Built without the `postgres` feature, none of this is compiled, and
//! there are no PostgreSQL tests to run or skip.

use std::path::Path;

use chronicle_es::store::tokio_postgres::{self, NoTls};
use chronicle_es::store::PostgresStore;
use chronicle_es::Uuid;

use super::stores::{open_url, ByUrl, Cleanup, Harness};

/// The variable that names the test server.
pub const URL_ENV: &str = "CHRONICLE_TEST_POSTGRES_URL";

/// The test server's URL, by the rule above: `None` means skip the test.
pub fn url() -> Option<String> {
    super::service_url(
        URL_ENV,
        "PostgreSQL",
        "postgres://postgres@127.0.0.1:5432/test",
    )
}

/// A plain connection to the test server, for what the stores do not do.
pub async fn raw_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {URL_ENV}: {error}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A fresh schema name, `chronicle_test_` and a random id.
pub fn schema_name() -> String {
    format!("chronicle_test_{}", Uuid::new_v4().simple())
}

/// A schema of a test's own on the server at `url`: a guard that drops the
/// schema, with everything in it, when dropped. [`Schema::drop_now`] does
/// that on the test's runtime and fails the test if it cannot.
pub struct Schema {
    url: String,
    name: String,
    dropped: bool,
}

impl Schema {
    /// A new name; the schema is created by whatever store opens it.
    pub fn fresh(url: &str) -> Schema {
        Schema {
            url: url.to_owned(),
            name: schema_name(),
            dropped: false,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of a store in this schema, for `AnyStore::from_url` and
    /// `AnySqlStore::from_url`; its connections report the schema as their
    /// application name, as [`store_in`]'s do.
    pub fn store_url(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}schema={name}&application_name={name}",
            self.url,
            name = self.name
        )
    }

    /// A harness for `store`, which lives in this schema.
    pub fn harness<S>(self, store: S) -> Harness<S> {
        Harness {
            store,
            cleanup: Cleanup::Schema(self),
        }
    }

    /// Drops the schema now; panics if that fails.
    pub async fn drop_now(mut self) {
        raw_client(&self.url)
            .await
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await
            .unwrap_or_else(|error| panic!("cannot drop schema {}: {error}", self.name));
        self.dropped = true;
    }
}

impl Drop for Schema {
    /// The fallback, when a test did not get to [`Schema::drop_now`] (it
    /// panicked, say): drops the schema from a thread with a runtime of its
    /// own, as this one may be inside the test's runtime. A failure is
    /// reported, and fails the test unless it is already failing.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (url, name) = (self.url.clone(), self.name.clone());
        let sql = format!("SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {name} CASCADE");
        let outcome = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async move {
                let (client, connection) = tokio_postgres::connect(&url, NoTls)
                    .await
                    .map_err(|error| error.to_string())?;
                tokio::spawn(connection);
                client
                    .batch_execute(&sql)
                    .await
                    .map_err(|error| error.to_string())
            })
        })
        .join()
        .unwrap_or_else(|_| Err("the thread dropping it panicked".into()));
        if let Err(error) = outcome {
            if std::thread::panicking() {
                eprintln!("note: cannot drop schema {}: {error}", self.name);
            } else {
                panic!("cannot drop schema {}: {error}", self.name);
            }
        }
    }
}

/// A store in `schema`; its connections report the schema as their
/// application name, so that a test can find (and kill) them.
pub async fn store_in(url: &str, schema: &str) -> PostgresStore {
    PostgresStore::builder(url)
        .schema(schema)
        .application_name(schema)
        .connect()
        .await
        .unwrap_or_else(|error| panic!("cannot open a PostgresStore at {URL_ENV}: {error}"))
}

/// A `PostgresStore` in a schema of its own ([`store_in`]); `None` when the
/// URL rule says skip.
pub async fn store() -> Option<Harness<PostgresStore>> {
    let schema = Schema::fresh(&url()?);
    let store = store_in(schema.url(), schema.name()).await;
    Some(schema.harness(store))
}

/// An `AnyStore` or `AnySqlStore` opened by a `postgres://` URL
/// ([`Schema::store_url`]), in a schema of its own; `None` when the URL rule
/// says skip.
pub async fn by_url<S: ByUrl>() -> Option<Harness<S>> {
    let schema = Schema::fresh(&url()?);
    let store = open_url(&schema.store_url(), "postgres").await;
    Some(schema.harness(store))
}

/// `schema` dumped as plain SQL (`pg_dump --inserts`), to commit as a
/// fixture written by the code of the day.
pub fn dump_schema(url: &str, schema: &str) -> String {
    let output = std::process::Command::new("pg_dump")
        .args([
            "--no-owner",
            "--no-privileges",
            "--inserts",
            "--schema",
            schema,
            "--dbname",
            url,
        ])
        .output()
        .expect("pg_dump");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the dump is UTF-8")
}

/// Restores the committed dump at `path`, of schema `from`, into `schema`.
/// The dump is plain SQL but for psql meta-commands such as `\restrict`,
/// which a server does not understand: they are left out.
pub async fn restore_dump(url: &str, path: &Path, from: &str, schema: &Schema) {
    let dump = std::fs::read_to_string(path).unwrap();
    let dump: String = dump
        .lines()
        .filter(|line| !line.starts_with('\\'))
        .flat_map(|line| [line, "\n"])
        .collect();
    raw_client(url)
        .await
        .batch_execute(&dump.replace(from, schema.name()))
        .await
        .unwrap();
}
