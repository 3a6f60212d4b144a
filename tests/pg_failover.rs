//! The PostgreSQL store as the client of a replicated cluster (Patroni,
//! strict synchronous mode, three nodes; `tests/common/cluster.rs`): four
//! writers and a follower run while the primary dies, while it is switched
//! over, and while only its Patroni dies. Needs `CHRONICLE_TEST_CLUSTER=1`
//! (CI sets it); without it each test prints a note and passes.
//!
//! `cargo test --all-features --test pg_failover -- --nocapture` shows the
//! write-unavailability times.
#![cfg(feature = "postgres")]

#[path = "common/cluster.rs"]
mod cluster;
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::store::{LogQuery, LogStore, PostgresStore};
use chronicle_es::{Subscription, SubscriptionOptions};
use tokio::runtime::Runtime;

use cluster::Cluster;
use common::dogs::Dog;

const WRITERS: usize = 4;
/// The store's bounds in these tests: a failover here takes ~15 s.
const RETRY_BUDGET: Duration = Duration::from_secs(45);
const COMMIT_TIMEOUT: Duration = Duration::from_secs(3);
const SETTLE: Duration = Duration::from_secs(60);

type App = Application<PostgresStore>;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

async fn connect(url: &str, schema: &str) -> App {
    let store = PostgresStore::builder(url)
        .schema(schema)
        .retry_budget(RETRY_BUDGET)
        .commit_timeout(COMMIT_TIMEOUT)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the cluster at {url}: {e}"));
    Application::new(store)
}

/// One save a writer made: its dog (one stream, one event), when it ended,
/// how long it took, and whether it returned Ok.
#[derive(Debug, Clone)]
struct Save {
    writer: usize,
    dog: Uuid,
    ended: Instant,
    took: Duration,
    result: Result<(), String>,
}

/// Writers saving new dogs in a loop, and a follower of the log.
struct Load {
    stop: Arc<AtomicBool>,
    writers: Vec<tokio::task::JoinHandle<Vec<Save>>>,
    follower: tokio::task::JoinHandle<()>,
    follower_stop: chronicle_es::SubscriptionStopper,
    followed: Arc<Mutex<Vec<(u64, Uuid)>>>,
}

impl Load {
    fn start(rt: &Runtime, app: &App) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let writers = (0..WRITERS)
            .map(|writer| {
                let (app, stop) = (app.clone(), stop.clone());
                rt.spawn(async move {
                    let mut saves = Vec::new();
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let mut dog = Dog::register(format!("w{writer}-{n}"));
                        let started = Instant::now();
                        let result = app
                            .save(&mut dog)
                            .await
                            .map(drop)
                            .map_err(|e| e.to_string());
                        if result.is_err() {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        saves.push(Save {
                            writer,
                            dog: dog.id(),
                            ended: Instant::now(),
                            took: started.elapsed(),
                            result,
                        });
                    }
                    saves
                })
            })
            .collect();
        let options = SubscriptionOptions {
            max_retries: 100,
            ..SubscriptionOptions::default()
        };
        let mut subscription = Subscription::new(app.clone(), 0, options);
        let follower_stop = subscription.stopper();
        let followed = Arc::new(Mutex::new(Vec::new()));
        let seen = followed.clone();
        let follower = rt.spawn(async move {
            while let Some(batch) = subscription
                .next_batch()
                .await
                .expect("the follower failed")
            {
                let mut seen = seen.lock().expect("the follower's list");
                seen.extend(batch.iter().map(|e| (e.position, e.event_id)));
            }
        });
        Load {
            stop,
            writers,
            follower,
            follower_stop,
            followed,
        }
    }

    /// Stops the writers; then lets the follower read up to the log's end
    /// and stops it. Returns every save and what the follower saw.
    fn finish(self, rt: &Runtime, app: &App) -> (Vec<Save>, Vec<(u64, Uuid)>) {
        self.stop.store(true, Ordering::Relaxed);
        let saves: Vec<Save> = self
            .writers
            .into_iter()
            .flat_map(|w| rt.block_on(w).expect("a writer panicked"))
            .collect();
        let last = rt.block_on(app.last_position()).expect("the log's end");
        let deadline = Instant::now() + SETTLE;
        let reached = || {
            let seen = self.followed.lock().expect("the follower's list");
            seen.last().is_some_and(|e| e.0 >= last)
        };
        while !reached() {
            assert!(
                Instant::now() < deadline,
                "the follower did not reach position {last}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.follower_stop.stop();
        rt.block_on(self.follower).expect("the follower panicked");
        let followed = self.followed.lock().expect("the follower's list").clone();
        (saves, followed)
    }
}

/// The whole log, in position order.
fn whole_log(rt: &Runtime, app: &App) -> Vec<(u64, Uuid, Uuid)> {
    rt.block_on(async {
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let page = app
                .store()
                .read_log(LogQuery::after(after, 10_000))
                .await
                .expect("reading the log");
            let Some(last) = page.last() else {
                return all;
            };
            after = last.position;
            all.extend(page.iter().map(|e| (e.position, e.event_id, e.stream_id)));
        }
    })
}

/// What every fault test checks once the load has stopped: each Ok save's
/// dog is in the log exactly once, each failed one at most once; the log's
/// positions increase; the follower saw exactly the log, in order; every
/// writer saved after `resumed_after`. Returns the longest time the cluster
/// acknowledged no save, and the longest save.
fn check(
    saves: &[Save],
    followed: &[(u64, Uuid)],
    log: &[(u64, Uuid, Uuid)],
    resumed_after: Instant,
) -> (Duration, Duration) {
    let mut per_dog: HashMap<Uuid, usize> = HashMap::new();
    for (_, _, stream) in log {
        *per_dog.entry(*stream).or_default() += 1;
    }
    let (mut ok, mut failed) = (0, 0);
    for save in saves {
        let stored = per_dog.get(&save.dog).copied().unwrap_or(0);
        match &save.result {
            Ok(()) => {
                ok += 1;
                assert_eq!(
                    stored, 1,
                    "acknowledged save {save:?} stored {stored} times"
                );
            }
            Err(_) => {
                failed += 1;
                assert!(stored <= 1, "failed save {save:?} stored {stored} times");
            }
        }
    }
    assert!(
        log.windows(2).all(|w| w[0].0 < w[1].0),
        "the log's positions do not increase"
    );
    let logged: Vec<(u64, Uuid)> = log.iter().map(|&(p, id, _)| (p, id)).collect();
    assert_eq!(
        followed.len(),
        logged.len(),
        "the follower saw {} events, the log holds {}",
        followed.len(),
        logged.len()
    );
    assert!(
        followed == logged,
        "the follower's sequence differs from the log"
    );
    for writer in 0..WRITERS {
        assert!(
            saves
                .iter()
                .any(|s| s.writer == writer && s.result.is_ok() && s.ended > resumed_after),
            "writer {writer} did not resume after the fault"
        );
    }
    let mut acknowledged: Vec<Instant> = saves
        .iter()
        .filter(|s| s.result.is_ok())
        .map(|s| s.ended)
        .collect();
    acknowledged.sort();
    let gap = acknowledged
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    let longest = saves.iter().map(|s| s.took).max().unwrap_or_default();
    println!(
        "{ok} saves acknowledged, {failed} failed, {} events in the log",
        log.len()
    );
    (gap, longest)
}

/// Starts a cluster, a store on it and the load; returns them after a
/// second of steady writes.
fn start(test: &str) -> Option<(Cluster, Runtime, App, Load)> {
    let cluster = Cluster::start_if_enabled(test)?;
    let rt = runtime();
    let schema = common::postgres::schema_name();
    let app = rt.block_on(connect(cluster.primary_url(), &schema));
    let load = Load::start(&rt, &app);
    std::thread::sleep(Duration::from_secs(1));
    Some((cluster, rt, app, load))
}

#[test]
fn the_primary_dies_under_load() {
    let Some((c, rt, app, load)) = start("the_primary_dies_under_load") else {
        return;
    };
    let before = whole_log(&rt, &app).last().map_or(0, |e| e.0);
    let leader = c.leader();
    let killed = Instant::now();
    c.kill_node(leader);
    let new_leader = c.wait_leader(SETTLE, Some(leader));
    let elected = killed.elapsed();
    // Let the writers find the new primary and write there a while.
    std::thread::sleep(Duration::from_secs(5));
    let (saves, followed) = load.finish(&rt, &app);
    let log = whole_log(&rt, &app);
    let (gap, longest) = check(&saves, &followed, &log, killed + elected);
    assert!(
        log.iter().any(|e| e.0 > before),
        "no event after the failover"
    );
    println!(
        "node death: node{leader} killed, node{new_leader} leader after {elected:.1?}; \
         writes unavailable for {gap:.1?}; longest save {longest:.1?}"
    );
}

#[test]
fn a_planned_switchover_is_invisible_to_writers() {
    let Some((c, rt, app, load)) = start("a_planned_switchover_is_invisible_to_writers") else {
        return;
    };
    let leader = c.leader();
    let switched = Instant::now();
    let new_leader = c.switchover(None);
    let took = switched.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    let (saves, followed) = load.finish(&rt, &app);
    let log = whole_log(&rt, &app);
    let (gap, longest) = check(&saves, &followed, &log, switched + took);
    let failed: Vec<&Save> = saves.iter().filter(|s| s.result.is_err()).collect();
    assert!(
        failed.is_empty(),
        "saves failed in a switchover: {failed:?}"
    );
    println!(
        "switchover: node{leader} -> node{new_leader} in {took:.1?}; \
         writes unavailable for {gap:.1?}; longest save {longest:.1?}"
    );
}

#[test]
fn an_isolated_primary_loses_no_acknowledged_save() {
    let Some((c, rt, app, load)) = start("an_isolated_primary_loses_no_acknowledged_save") else {
        return;
    };
    // Only Patroni dies: the old primary's PostgreSQL keeps taking
    // connections as read-write, and once a standby is promoted away from
    // it, every commit there waits for a standby that never comes.
    let leader = c.leader();
    let killed = Instant::now();
    c.kill_patroni(leader);
    let new_leader = c.wait_leader(SETTLE, Some(leader));
    let elected = killed.elapsed();
    std::thread::sleep(Duration::from_secs(8));
    let (saves, followed) = load.finish(&rt, &app);
    // The old primary rejoins as a replica (rewound: what it held
    // uncommitted is gone), and the cluster settles.
    c.restart_node(leader);
    c.wait_healthy(SETTLE);
    let log = whole_log(&rt, &app);
    let (gap, longest) = check(&saves, &followed, &log, killed + elected);
    // A save is bounded by the retry budget plus one commit timeout (the
    // attempt that started just before the budget ran out), and the pool's
    // wait for a connection.
    let bound = RETRY_BUDGET + COMMIT_TIMEOUT + Duration::from_secs(5);
    assert!(
        longest <= bound,
        "a save took {longest:?} (bound {bound:?})"
    );
    println!(
        "isolated primary: node{leader}'s Patroni killed, node{new_leader} leader after \
         {elected:.1?}; writes unavailable for {gap:.1?}; longest save {longest:.1?}"
    );
}
