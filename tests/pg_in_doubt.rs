//! Appends whose outcome is in doubt, against a replicated cluster in strict
//! synchronous mode (`tests/common/cluster.rs`): the synchronous standby is
//! made to acknowledge nothing, so the primary holds every commit. Needs
//! `CHRONICLE_TEST_CLUSTER=1` (CI sets it); without it each test prints a
//! note and passes.
#![cfg(feature = "postgres")]

#[path = "common/cluster.rs"]
mod cluster;
mod common;

use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::store::{LogQuery, PostgresStore, StoreError};
use chronicle_es::Error;

use cluster::{psql, Cluster};
use common::dogs::Dog;

const APP_NAME: &str = "chronicle_in_doubt_test";

fn sql(url: &str, query: &str) -> String {
    psql(url, query).unwrap_or_else(|e| panic!("{query}: {e}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

async fn connect(
    c: &Cluster,
    schema: &str,
    commit: Duration,
    budget: Duration,
) -> Application<PostgresStore> {
    let store = PostgresStore::builder(c.primary_url())
        .schema(schema)
        .application_name(APP_NAME)
        .commit_timeout(commit)
        .retry_budget(budget)
        .connect()
        .await
        .expect("connecting to the cluster");
    Application::new(store)
}

/// How many events of stream `id` the primary at `url` shows.
fn stored(url: &str, schema: &str, id: Uuid) -> String {
    sql(
        url,
        &format!("SELECT count(*) FROM {schema}.events WHERE stream_id = '{id}'"),
    )
}

/// A commit whose wait for the synchronous standby is cancelled answers
/// success with a warning, and is local only: the store must not report it
/// as written until the standby confirms it.
#[test]
fn a_cancelled_synchronous_wait_is_not_reported_as_written() {
    let Some(c) =
        Cluster::start_if_enabled("a_cancelled_synchronous_wait_is_not_reported_as_written")
    else {
        return;
    };
    let rt = runtime();
    let schema = common::postgres::schema_name();
    let app = rt.block_on(connect(
        &c,
        &schema,
        Duration::from_secs(60),
        Duration::from_secs(60),
    ));
    rt.block_on(common::dogs::saved_dog(&app, "Rex", 0));
    let leader = c.node_url(c.leader()).to_owned();
    let standby = c.sync_standby().expect("a sync standby");

    c.hold_receive(standby);
    let mut dog = Dog::register("Fido".into());
    let id = dog.id();
    let save = rt.spawn({
        let app = app.clone();
        async move { app.save(&mut dog).await }
    });
    // The store's commit waits for the standby; cancel that wait as a user
    // would (PostgreSQL then answers success, with a warning).
    let waiting = format!(
        "SELECT pid FROM pg_stat_activity WHERE application_name = '{APP_NAME}' AND wait_event = 'SyncRep'"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid = loop {
        let pid = sql(&leader, &waiting);
        if !pid.is_empty() {
            break pid.lines().next().unwrap_or_default().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the save's commit never waited for the standby"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    sql(&leader, &format!("SELECT pg_cancel_backend({pid})"));
    // The event is now visible on the primary, but the standby has not got it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored(&leader, &schema, id) != "1" {
        assert!(
            Instant::now() < deadline,
            "the cancelled commit is not visible"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A follower's read of the log must not see it either: the read waits
    // for the standby to confirm what it saw.
    let read = rt.spawn({
        let app = app.clone();
        async move { app.read_log(LogQuery::after(0, 100)).await }
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !save.is_finished(),
        "the save returned although the standby had not confirmed it: {:?}",
        rt.block_on(save)
    );
    assert!(
        !read.is_finished(),
        "the log was read although the standby had not confirmed it: {:?}",
        rt.block_on(read)
    );

    // Once the standby acknowledges again, the store settles the save by its
    // event id: already written, and stored once.
    c.release_receive(standby);
    let outcome = rt.block_on(save).expect("the save task").expect("the save");
    assert!(!outcome.written, "settled as already written");
    assert_eq!(stored(&leader, &schema, id), "1");
    let log = rt.block_on(read).expect("the read task").expect("the read");
    let streams: Vec<Uuid> = log.iter().map(|e| e.stream_id).collect();
    assert_eq!(streams.len(), 2, "{streams:?}");
    assert_eq!(streams[1], id);
}

/// A commit that the primary holds longer than the commit timeout is in
/// doubt; when the retry budget runs out the save fails as in doubt, and
/// saving the same dog again settles it: stored once.
#[test]
fn a_held_commit_is_in_doubt_and_saving_again_settles_it() {
    let Some(c) =
        Cluster::start_if_enabled("a_held_commit_is_in_doubt_and_saving_again_settles_it")
    else {
        return;
    };
    let rt = runtime();
    let schema = common::postgres::schema_name();
    let app = rt.block_on(connect(
        &c,
        &schema,
        Duration::from_secs(1),
        Duration::from_secs(3),
    ));
    rt.block_on(common::dogs::saved_dog(&app, "Rex", 0));
    let leader = c.node_url(c.leader()).to_owned();
    let standby = c.sync_standby().expect("a sync standby");

    c.hold_receive(standby);
    let mut dog = Dog::register("Fido".into());
    dog.add_trick("sit".into());
    let id = dog.id();
    let started = Instant::now();
    let failed = rt.block_on(app.save(&mut dog));
    let took = started.elapsed();
    match failed {
        Err(Error::Store(StoreError::InDoubt { .. })) => {}
        other => panic!("expected an in-doubt error, got {other:?}"),
    }
    // The retry budget plus one commit timeout, and some slack for the
    // connections made meanwhile.
    assert!(took < Duration::from_secs(10), "the save took {took:?}");

    c.release_receive(standby);
    let outcome = rt.block_on(app.save(&mut dog)).expect("saving again");
    assert!(outcome.last_position.is_some());
    assert_eq!(stored(&leader, &schema, id), "2");
    let loaded: Dog = rt.block_on(app.get(id)).expect("load");
    assert_eq!(loaded.tricks(), ["sit"]);
}
