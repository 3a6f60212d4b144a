//! Read replicas with read-your-writes, against a replicated cluster
//! (`tests/common/cluster.rs`): loads go to a replica that has replayed the
//! application's writes, and to the primary when it has not. Needs
//! `CHRONICLE_TEST_CLUSTER=1` (CI sets it); without it the test prints a
//! note and passes.
#![cfg(feature = "postgres")]

#[path = "common/cluster.rs"]
mod cluster;
mod common;

use std::time::Duration;

use chronicle_es::prelude::*;
use chronicle_es::store::{PostgresStore, StreamQuery, StreamStore};

use cluster::{psql, Cluster};
use common::dogs::Dog;

/// Sessions of the store under test carry this name, so that the replica's
/// `pg_stat_activity` shows whether the store read there.
const APP_NAME: &str = "chronicle_replica_test";

fn sql(url: &str, query: &str) -> String {
    psql(url, query).unwrap_or_else(|e| panic!("{query}: {e}"))
}

/// How many of the store's sessions on the server at `url` last ran a read
/// of the test's schema (rather than only the replay check).
fn sessions_that_read(url: &str, schema: &str) -> u32 {
    sql(
        url,
        &format!(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = '{APP_NAME}' AND query LIKE '%{schema}%'"
        ),
    )
    .parse()
    .expect("a count")
}

#[test]
fn loads_read_a_replica_that_has_replayed_the_writes_else_the_primary() {
    let Some(c) = Cluster::start_if_enabled(
        "loads_read_a_replica_that_has_replayed_the_writes_else_the_primary",
    ) else {
        return;
    };
    let replica = c.async_replicas()[0];
    let replica_url = c.node_url(replica).to_owned();
    let schema = common::postgres::schema_name();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let app = rt.block_on(async {
        let store = PostgresStore::builder(c.primary_url())
            .schema(&schema)
            .application_name(APP_NAME)
            .replica(&replica_url)
            .replica_wait(Duration::from_millis(200))
            .connect()
            .await
            .expect("connecting to the cluster");
        Application::new(store)
    });

    // Read-your-writes through the replica: every load after a save sees it.
    let dog_id = rt.block_on(async {
        let mut dog = Dog::register("Fido".into());
        app.save(&mut dog).await.unwrap();
        for n in 0..20 {
            dog.add_trick(format!("trick {n}"));
            app.save(&mut dog).await.unwrap();
            let loaded: Dog = app.get(dog.id()).await.unwrap();
            assert_eq!(loaded.version(), dog.version(), "a load after save {n}");
            assert_eq!(loaded.tricks(), dog.tricks());
        }
        dog.id()
    });
    assert!(
        sessions_that_read(&replica_url, &schema) > 0,
        "the store never read from the replica node{replica}"
    );

    // A replica that lags: its replay is held, the store writes, and the
    // load must not return the replica's stale state.
    c.hold_replay(replica);
    let version = rt.block_on(async {
        let mut dog: Dog = app.get(dog_id).await.unwrap();
        dog.add_trick("while the replica lags".into());
        app.save(&mut dog).await.unwrap();
        dog.version()
    });
    let on_replica = sql(
        &replica_url,
        &format!("SELECT max(version) FROM {schema}.events WHERE stream_id = '{dog_id}'"),
    );
    assert_eq!(
        on_replica,
        (version - 1).to_string(),
        "the held replica already has the last save"
    );
    rt.block_on(async {
        let loaded: Dog = app.get(dog_id).await.unwrap();
        assert_eq!(loaded.version(), version, "a load fell back to stale state");
        let events = app
            .store()
            .read_stream(dog_id, StreamQuery::all())
            .await
            .unwrap();
        assert_eq!(events.len() as u64, version);
    });

    // Released, the replica catches up and serves the loads again.
    c.release_replay(replica);
    rt.block_on(async {
        let loaded: Dog = app.get(dog_id).await.unwrap();
        assert_eq!(loaded.version(), version);
    });
}
