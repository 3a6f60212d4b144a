//! The PostgreSQL server a benchmark measures, and a schema of its own there.

use std::future::Future;

use chronicle_es::store::tokio_postgres::{connect, NoTls};
use chronicle_es::store::PostgresStore;

/// The URL of the server to measure: `CHRONICLE_BENCH_POSTGRES_URL`, else
/// `CHRONICLE_TEST_POSTGRES_URL`; `None` when neither names one.
pub fn url() -> Option<String> {
    [
        "CHRONICLE_BENCH_POSTGRES_URL",
        "CHRONICLE_TEST_POSTGRES_URL",
    ]
    .into_iter()
    .find_map(|name| std::env::var(name).ok().filter(|url| !url.is_empty()))
}

/// Runs `measure` on a store in the new schema `schema`, dropped afterwards;
/// prints that PostgreSQL was skipped when no server is named.
pub fn in_own_schema<F: Future<Output = ()>>(
    rt: &tokio::runtime::Runtime,
    schema: &str,
    measure: impl FnOnce(PostgresStore) -> F,
) {
    let Some(url) = url() else {
        println!(
            "postgres: skipped (set CHRONICLE_BENCH_POSTGRES_URL or CHRONICLE_TEST_POSTGRES_URL)"
        );
        return;
    };
    let store = rt
        .block_on(PostgresStore::builder(&url).schema(schema).connect())
        .expect("connect to PostgreSQL");
    rt.block_on(measure(store));
    rt.block_on(async {
        let (client, connection) = connect(&url, NoTls).await.expect("connect");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
            .expect("drop schema");
    });
}
