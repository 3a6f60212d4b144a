//! Smoke test of the replicated-cluster harness (`scripts/pg-cluster` and
//! `tests/common/cluster.rs`): start, failover, rejoin, switchover, held
//! replay, teardown. Needs `CHRONICLE_TEST_CLUSTER=1` (and root, as CI has);
//! without it, it prints a note and passes.
//!
//! `cargo test --test cluster_harness -- --nocapture` shows the timings.

#[path = "common/cluster.rs"]
mod cluster;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use cluster::{psql, Cluster, Role, NODES};

const SETTLE: Duration = Duration::from_secs(60);

#[test]
fn cluster_harness_smoke() {
    let Some(c) = Cluster::start_if_enabled("cluster_harness_smoke") else {
        return;
    };
    println!(
        "cluster started in {:.1?} ({})",
        c.started_in(),
        c.dir().display()
    );
    assert!(
        c.started_in() < Duration::from_secs(45),
        "starting took {:?}",
        c.started_in()
    );

    // One leader, one sync standby, one async replica, all running.
    let members = c.members();
    assert_eq!(members.len(), NODES, "{members:?}");
    assert_eq!(count(&members, Role::Leader), 1, "{members:?}");
    assert_eq!(count(&members, Role::SyncStandby), 1, "{members:?}");
    assert!(members.iter().all(|m| m.is_running()), "{members:?}");
    let leader = c.leader();

    // The multi-host read-write URL reaches the leader; the row is written.
    let primary = c.primary_url();
    sql(
        primary,
        "CREATE TABLE smoke (id int PRIMARY KEY, note text);
         INSERT INTO smoke VALUES (1, 'before failover')",
    );
    let port: u16 = sql(primary, "SELECT inet_server_port()").parse().unwrap();
    assert_eq!(
        c.node_of_port(port),
        Some(leader),
        "read-write URL went to port {port}"
    );
    let standby_port: u16 = sql(c.read_only_url(), "SELECT inet_server_port()")
        .parse()
        .unwrap();
    assert_ne!(c.node_of_port(standby_port), Some(leader));

    // Node death of the leader: a new leader takes writes, the row survived.
    let writer = Writer::start(primary);
    let t = Instant::now();
    c.kill_node(leader);
    let new_leader = c.wait_leader(SETTLE, Some(leader));
    let elected = t.elapsed();
    assert_ne!(new_leader, leader);
    sql(primary, "INSERT INTO smoke VALUES (2, 'after failover')");
    let gap = writer.stop();
    println!(
        "failover: node{leader} killed, node{new_leader} leader and writable after {elected:.1?}; \
         longest gap between commits {gap:.1?}"
    );
    assert_eq!(
        sql(
            c.node_url(new_leader),
            "SELECT note FROM smoke WHERE id = 1"
        ),
        "before failover"
    );

    // The killed node comes back as a replica (pg_rewind) and catches up.
    let t = Instant::now();
    c.restart_node(leader);
    c.wait_healthy(SETTLE);
    println!(
        "rejoin: node{leader} back and cluster healthy after {:.1?}",
        t.elapsed()
    );
    assert_eq!(c.leader(), new_leader);
    eventually("the rejoined node has row 2", || {
        psql(c.node_url(leader), "SELECT count(*) FROM smoke").as_deref() == Ok("2")
    });

    // Planned switchover to the sync standby.
    let sync = c.sync_standby().expect("a sync standby");
    let writer = Writer::start(primary);
    let t = Instant::now();
    let switched = c.switchover(None);
    let took = t.elapsed();
    let gap = writer.stop();
    assert_eq!(switched, sync);
    println!(
        "switchover: node{new_leader} -> node{switched} writable after {took:.1?}; \
         longest gap between commits {gap:.1?}"
    );
    c.wait_healthy(SETTLE);

    // Held replay on an async replica: its replay LSN stays behind the
    // primary's WAL until released, then catches up.
    let replica = c.async_replicas()[0];
    let replica_url = c.node_url(replica);
    c.hold_replay(replica);
    sql(
        primary,
        "INSERT INTO smoke SELECT g, 'bulk' FROM generate_series(100, 5099) g",
    );
    let wal = sql(primary, "SELECT pg_current_wal_lsn()");
    let behind = |url: &str| -> i64 {
        sql(
            url,
            &format!("SELECT pg_wal_lsn_diff('{wal}', pg_last_wal_replay_lsn())::bigint"),
        )
        .parse()
        .unwrap()
    };
    thread::sleep(Duration::from_millis(500));
    let held = behind(replica_url);
    assert!(
        held > 0,
        "replay on node{replica} did not fall behind ({held} bytes)"
    );
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        behind(replica_url),
        held,
        "replay on node{replica} moved while held"
    );
    let t = Instant::now();
    c.release_replay(replica);
    eventually("the replica replays again", || behind(replica_url) <= 0);
    println!(
        "held replay: node{replica} {held} bytes behind while held, caught up {:.1?} after release",
        t.elapsed()
    );
    assert_eq!(sql(replica_url, "SELECT count(*) FROM smoke"), "5002");

    let dir = c.dir().to_path_buf();
    let took = c.stop();
    println!("teardown: {took:.1?}");
    assert!(!dir.exists(), "{} left behind", dir.display());
}

fn count(members: &[cluster::Member], role: Role) -> usize {
    members.iter().filter(|m| m.role == role).count()
}

fn sql(url: &str, sql: &str) -> String {
    psql(url, sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// Commits through the multi-host URL in a loop, one psql per commit, to
/// measure how long the cluster does not take writes.
struct Writer {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<Duration>,
}

impl Writer {
    fn start(url: &str) -> Writer {
        let url = url.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        sql(&url, "CREATE TABLE IF NOT EXISTS ticks (at timestamptz)");
        let handle = thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut last = Instant::now();
            let mut longest = Duration::ZERO;
            loop {
                let ok = psql(&url, "INSERT INTO ticks VALUES (now())").is_ok();
                if ok {
                    longest = longest.max(last.elapsed());
                    last = Instant::now();
                }
                // Stop only after a commit, so that an outage is measured whole.
                if (ok && flag.load(Ordering::Relaxed)) || Instant::now() > deadline {
                    return longest;
                }
                if !ok {
                    thread::sleep(Duration::from_millis(50));
                }
            }
        });
        Writer { stop, handle }
    }

    /// Longest time between two acknowledged commits.
    fn stop(self) -> Duration {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("writer thread")
    }
}
