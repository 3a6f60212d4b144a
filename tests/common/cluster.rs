//! A throwaway replicated PostgreSQL cluster for tests: three PostgreSQL 15
//! instances managed by Patroni (strict synchronous mode) over a three-member
//! etcd, on loopback, started and controlled by `scripts/pg-cluster`.
//!
//! Include it from a test target with
//!
//! ```ignore
//! #[path = "common/cluster.rs"]
//! mod cluster;
//! ```
//!
//! and start a cluster with [`Cluster::start_if_enabled`]: it returns `None`
//! (and prints a note) unless `CHRONICLE_TEST_CLUSTER=1`; when that is set,
//! every failure panics with the script's output. Dropping the [`Cluster`]
//! tears everything down, also when the test panics; if the test process dies
//! without unwinding, the script's watchdog does it. Set
//! `CHRONICLE_CLUSTER_KEEP=1` to keep the directory (logs, data) for a look.
//!
//! Nodes are numbered 1..=3, as Patroni's members are named (`node1`..).
//! Clusters in one test binary start one after another (the machine has two
//! cores; failover timings are meaningless when three clusters share them).
//!
//! Only `std`: this file is compiled into several test targets.

#![allow(dead_code)]

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Number of PostgreSQL nodes (and etcd members).
pub const NODES: usize = 3;
/// Set to `1` to run the cluster tests.
pub const ENABLE_VAR: &str = "CHRONICLE_TEST_CLUSTER";
/// Set to `1` to keep a cluster's directory after the test.
pub const KEEP_VAR: &str = "CHRONICLE_CLUSTER_KEEP";
/// Directory to create clusters in (default `/dev/shm`, see [`clusters_root`]).
pub const TMPDIR_VAR: &str = "CHRONICLE_CLUSTER_TMPDIR";

/// Port ranges the script lays out from a base: PostgreSQL +0..2, REST
/// +10..12, etcd client +20..22, etcd peer +30..32. `+49` is unused by the
/// cluster: the test process holds a listener there while the cluster
/// lives, so that concurrent test processes never pick the same range.
const FIRST_BASE: u16 = 25440;
const RANGE: u16 = 50;
const RESERVATION_OFFSET: u16 = 49;
/// Stay below Linux's ephemeral ports (32768..).
const LAST_BASE: u16 = 32768 - RANGE;
const PORT_OFFSETS: [u16; 4] = [0, 10, 20, 30];

/// Exit status of `pg-cluster start` when its ports are taken.
const EXIT_PORTS_TAKEN: i32 = 3;

static SERIAL: Mutex<()> = Mutex::new(());
static COUNTER: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread holds a cluster: a second `start` would wait for
    /// the first one's turn forever.
    static HOLDS_CLUSTER: Cell<bool> = const { Cell::new(false) };
}

/// Whether the cluster tests are enabled (`CHRONICLE_TEST_CLUSTER=1`).
pub fn enabled() -> bool {
    std::env::var(ENABLE_VAR).is_ok_and(|v| v == "1")
}

/// A member's role as Patroni reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Leader,
    SyncStandby,
    Replica,
    Other(String),
}

/// One line of `pg-cluster members`: Patroni's view of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub node: usize,
    pub name: String,
    pub role: Role,
    /// `running`, `starting`, `stopped`, `creating replica`, ...
    pub state: String,
    pub timeline: Option<u32>,
    /// Bytes the member's received WAL is behind the leader (Patroni's
    /// `lag`: receive, not replay); `None` for the leader or when unknown.
    pub lag: Option<u64>,
}

impl Member {
    fn parse(line: &str) -> Option<Member> {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 6 {
            return None;
        }
        Some(Member {
            node: f[0].parse().ok()?,
            name: f[1].to_string(),
            role: match f[2] {
                "leader" => Role::Leader,
                "sync_standby" => Role::SyncStandby,
                "replica" => Role::Replica,
                other => Role::Other(other.to_string()),
            },
            state: f[3].to_string(),
            timeline: f[4].parse().ok(),
            lag: f[5].parse().ok(),
        })
    }

    pub fn is_running(&self) -> bool {
        self.state == "running" || self.state == "streaming"
    }
}

/// A running cluster; dropping it tears the cluster down.
pub struct Cluster {
    dir: PathBuf,
    env: HashMap<String, String>,
    started_in: Duration,
    stopped: bool,
    keep: bool,
    // Dropped after `Drop::drop` has stopped the cluster: the port range and
    // the turn stay taken until the processes are gone.
    _reservation: TcpListener,
    _serial: MutexGuard<'static, ()>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("dir", &self.dir)
            .field("primary_url", &self.primary_url())
            .finish()
    }
}

impl Cluster {
    /// Start a cluster if `CHRONICLE_TEST_CLUSTER=1`; otherwise print a note
    /// naming `test` and return `None`.
    pub fn start_if_enabled(test: &str) -> Option<Cluster> {
        if enabled() {
            Some(Cluster::start())
        } else {
            eprintln!(
                "note: {test} skipped: set {ENABLE_VAR}=1 to run the replicated-cluster tests \
                 (Patroni, etcd and PostgreSQL 15 on loopback; scripts/pg-cluster install)"
            );
            None
        }
    }

    /// Start a cluster in a new temporary directory on a free port range and
    /// wait until it is healthy. Panics, with the script's output, on failure.
    pub fn start() -> Cluster {
        assert!(
            !HOLDS_CLUSTER.get(),
            "this thread already holds a test cluster: one at a time (drop it first)"
        );
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let keep = std::env::var(KEEP_VAR).is_ok_and(|v| v == "1");
        let dir = new_temp_dir();
        let t0 = Instant::now();
        let mut base = FIRST_BASE;
        loop {
            let (b, reservation) = reserve_range(base);
            let out = script(&[
                "start",
                path_str(&dir),
                &b.to_string(),
                "--owner",
                &std::process::id().to_string(),
            ]);
            match out {
                Ok(_) => {
                    let env = parse_env(&dir.join("cluster.env"));
                    HOLDS_CLUSTER.set(true);
                    return Cluster {
                        dir,
                        env,
                        started_in: t0.elapsed(),
                        stopped: false,
                        keep,
                        _reservation: reservation,
                        _serial: serial,
                    };
                }
                // Taken between our check and the script's: try the next range.
                Err(e) if e.code == Some(EXIT_PORTS_TAKEN) => base = b + RANGE,
                // The script has torn down what it started and printed its logs.
                Err(e) => {
                    if !keep {
                        let _ = std::fs::remove_dir_all(&dir);
                    }
                    panic!("could not start the test cluster in {}: {e}", dir.display());
                }
            }
        }
    }

    /// How long `start` took (directory, ports, etcd, Patroni, healthy).
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The cluster's directory (data, logs, `cluster.env`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A value from `cluster.env` (`PGC_...`); panics if absent.
    pub fn env(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("{key} not in {}/cluster.env", self.dir.display()))
    }

    /// Multi-host URL that reaches whichever node is the primary:
    /// `postgres://postgres@127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/postgres?target_session_attrs=read-write`
    /// (the form tokio-postgres 0.7 and libpq both parse: comma-separated
    /// host:port pairs, tried in order).
    pub fn primary_url(&self) -> &str {
        self.env("PGC_PRIMARY_URL")
    }

    /// Multi-host URL with `target_session_attrs=read-only` (a standby).
    pub fn read_only_url(&self) -> &str {
        self.env("PGC_READ_ONLY_URL")
    }

    /// Multi-host URL without session requirements (the first node that answers).
    pub fn any_url(&self) -> &str {
        self.env("PGC_ANY_URL")
    }

    /// The primary as key=value settings (`host=a,b,c port=x,y,z ...`), for
    /// `tokio_postgres::Config`; `AnyStore::from_url` takes only the URL form.
    pub fn primary_dsn(&self) -> &str {
        self.env("PGC_PRIMARY_DSN")
    }

    /// URL of node `i` alone.
    pub fn node_url(&self, i: usize) -> &str {
        self.env(&format!("PGC_NODE{}_URL", check_node(i)))
    }

    /// PostgreSQL port of node `i`.
    pub fn node_port(&self, i: usize) -> u16 {
        let key = format!("PGC_NODE{}_PG_PORT", check_node(i));
        self.env(&key).parse().expect("a port number")
    }

    /// Patroni REST API of node `i` (`http://127.0.0.1:port`).
    pub fn rest_url(&self, i: usize) -> &str {
        self.env(&format!("PGC_NODE{}_REST_URL", check_node(i)))
    }

    /// Node number whose PostgreSQL listens on `port`, if any.
    pub fn node_of_port(&self, port: u16) -> Option<usize> {
        (1..=NODES).find(|&i| self.node_port(i) == port)
    }

    /// Patroni's view of the members (registered in etcd, so a killed node
    /// stays listed until its key expires).
    pub fn members(&self) -> Vec<Member> {
        self.run(&["members"])
            .lines()
            .map(|l| Member::parse(l).unwrap_or_else(|| panic!("bad members line: {l:?}")))
            .collect()
    }

    /// Patroni's `/cluster` as JSON (for messages and logs).
    pub fn status_json(&self) -> String {
        self.run(&["status"])
    }

    /// The leader's node, if there is one.
    pub fn try_leader(&self) -> Option<usize> {
        self.members()
            .into_iter()
            .find(|m| m.role == Role::Leader)
            .map(|m| m.node)
    }

    /// The leader's node; panics if there is none.
    pub fn leader(&self) -> usize {
        self.try_leader()
            .unwrap_or_else(|| panic!("no leader:\n{}", self.status_json()))
    }

    /// The synchronous standby's node, if there is one.
    pub fn sync_standby(&self) -> Option<usize> {
        self.members()
            .into_iter()
            .find(|m| m.role == Role::SyncStandby)
            .map(|m| m.node)
    }

    /// Every registered member that is not the leader (sync standby included).
    pub fn replicas(&self) -> Vec<usize> {
        self.members()
            .into_iter()
            .filter(|m| m.role != Role::Leader)
            .map(|m| m.node)
            .collect()
    }

    /// The asynchronous replicas (neither leader nor sync standby).
    pub fn async_replicas(&self) -> Vec<usize> {
        self.members()
            .into_iter()
            .filter(|m| m.role == Role::Replica)
            .map(|m| m.node)
            .collect()
    }

    /// Node death: SIGKILL node `i`'s Patroni and all its PostgreSQL processes.
    pub fn kill_node(&self, i: usize) {
        self.run(&["kill-node", &check_node(i).to_string()]);
    }

    /// SIGKILL only node `i`'s Patroni; its PostgreSQL keeps running.
    pub fn kill_patroni(&self, i: usize) {
        self.run(&["kill-patroni", &check_node(i).to_string()]);
    }

    /// SIGKILL only node `i`'s PostgreSQL processes; Patroni starts it again
    /// in place (on a leader: crash recovery, then a new timeline, same node).
    pub fn kill_postgres(&self, i: usize) {
        self.run(&["kill-postgres", &check_node(i).to_string()]);
    }

    /// Start node `i`'s Patroni again; it rejoins (pg_rewind if needed).
    /// Returns at once: follow with [`Cluster::wait_healthy`].
    pub fn restart_node(&self, i: usize) {
        self.run(&["restart-node", &check_node(i).to_string()]);
    }

    /// Planned switchover (`patronictl switchover`) to the sync standby, or to
    /// node `to`, which must be the sync standby (Patroni refuses others in
    /// synchronous mode). Returns the new leader once it takes writes.
    pub fn switchover(&self, to: Option<usize>) -> usize {
        let to = to.map(|i| check_node(i).to_string());
        let mut args = vec!["switchover"];
        if let Some(to) = &to {
            args.extend(["--to", to.as_str()]);
        }
        parse_node(&self.run(&args))
    }

    /// Stop replica `i` from replaying WAL (SIGSTOP of its startup process);
    /// it keeps receiving and flushing WAL.
    pub fn hold_replay(&self, i: usize) {
        self.run(&["hold-replay", &check_node(i).to_string()]);
    }

    /// Let replica `i` replay again.
    pub fn release_replay(&self, i: usize) {
        self.run(&["release-replay", &check_node(i).to_string()]);
    }

    /// Stop replica `i` from receiving WAL (SIGSTOP of its walreceiver): as
    /// the sync standby, it then acknowledges no commit, and the primary's
    /// commits wait.
    pub fn hold_receive(&self, i: usize) {
        self.run(&["hold-receive", &check_node(i).to_string()]);
    }

    /// Let replica `i` receive WAL again.
    pub fn release_receive(&self, i: usize) {
        self.run(&["release-receive", &check_node(i).to_string()]);
    }

    /// Wait until the cluster has settled: a running leader, a sync standby,
    /// all members running and streaming on the leader's timeline.
    pub fn wait_healthy(&self, timeout: Duration) {
        self.run(&["wait-healthy", &timeout.as_secs().max(1).to_string()]);
    }

    /// Wait until the cluster takes writes (a running leader, other than node
    /// `not` if given, out of recovery, with a synchronous standby streaming
    /// from it); returns the leader's node. Patroni's own record of the sync
    /// standby ([`Cluster::sync_standby`]) may follow a few seconds later.
    pub fn wait_leader(&self, timeout: Duration, not: Option<usize>) -> usize {
        let timeout = timeout.as_secs().max(1).to_string();
        let not = not.map(|i| check_node(i).to_string());
        let mut args = vec!["wait-leader", timeout.as_str()];
        if let Some(not) = &not {
            args.extend(["--not", not.as_str()]);
        }
        parse_node(&self.run(&args))
    }

    /// The last `lines` lines of every log of the cluster.
    pub fn logs(&self, lines: usize) -> String {
        self.run(&["logs", &lines.to_string()])
    }

    /// Tear down now (as `Drop` would) and report how long it took.
    pub fn stop(mut self) -> Duration {
        let t = Instant::now();
        self.teardown();
        t.elapsed()
    }

    /// Run `pg-cluster CMD DIR ARGS...`; panics with its output on failure.
    fn run(&self, args: &[&str]) -> String {
        let (cmd, rest) = args.split_first().expect("a subcommand");
        let mut full = vec![*cmd, path_str(&self.dir)];
        full.extend_from_slice(rest);
        script(&full).unwrap_or_else(|e| panic!("{e}"))
    }

    fn teardown(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        HOLDS_CLUSTER.set(false);
        if thread::panicking() {
            // The test failed: show what the cluster was doing.
            if let Ok(logs) = script(&["logs", path_str(&self.dir), "30"]) {
                eprintln!(
                    "---- test cluster logs ({}) ----\n{logs}",
                    self.dir.display()
                );
            }
        }
        let dir = path_str(&self.dir);
        let args: &[&str] = if self.keep {
            &["stop", dir]
        } else {
            &["stop", dir, "--rm"]
        };
        match script(args) {
            Ok(_) if self.keep => eprintln!("test cluster kept in {}", self.dir.display()),
            Ok(_) => {}
            // Not a panic: this may run while unwinding from one.
            Err(e) => eprintln!("could not stop the test cluster: {e}"),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Run one SQL string with `psql` (as `postgres`, unaligned, tuples only,
/// stopping at the first error) and return its trimmed output. Gives up after
/// 30 s: a commit can wait for a synchronous standby for as long as a
/// failover takes.
pub fn psql(url: &str, sql: &str) -> Result<String, String> {
    psql_timeout(url, sql, Duration::from_secs(30))
}

/// [`psql`] with its own time limit.
pub fn psql_timeout(url: &str, sql: &str, timeout: Duration) -> Result<String, String> {
    let mut cmd = Command::new("psql");
    cmd.args([
        "-X",
        "-A",
        "-t",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        url,
        "-c",
        sql,
    ]);
    for var in [
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGSERVICE",
        "PGOPTIONS",
        "PGTARGETSESSIONATTRS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("PGCONNECT_TIMEOUT", "3");
    let out = output_with_timeout(cmd, timeout)?;
    if out.success {
        Ok(out.stdout.trim().to_string())
    } else {
        Err(format!("psql: {}", out.stderr.trim()))
    }
}

/// A failed `pg-cluster` run.
#[derive(Debug)]
struct ScriptError {
    args: String,
    code: Option<i32>,
    stderr: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(c) => write!(
                f,
                "`pg-cluster {}` failed (exit {c}):\n{}",
                self.args, self.stderr
            ),
            None => write!(f, "`pg-cluster {}` failed:\n{}", self.args, self.stderr),
        }
    }
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-cluster")
}

fn script(args: &[&str]) -> Result<String, ScriptError> {
    let mut cmd = Command::new(script_path());
    cmd.args(args);
    let fail = |code, stderr| ScriptError {
        args: args.join(" "),
        code,
        stderr,
    };
    // Generous: `start` and the waits bound themselves (60 s by default).
    let out = output_with_timeout(cmd, Duration::from_secs(300)).map_err(|e| fail(None, e))?;
    if out.success {
        Ok(out.stdout.trim().to_string())
    } else {
        Err(fail(out.code, out.stderr))
    }
}

struct Finished {
    success: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run `cmd` with piped output; kill it after `timeout`.
fn output_with_timeout(mut cmd: Command, timeout: Duration) -> Result<Finished, String> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    // Read both pipes on threads so that a chatty child never blocks.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what} timed out after {timeout:?}"));
            }
            Err(e) => return Err(format!("waiting for {what}: {e}")),
        }
    };
    Ok(Finished {
        success: status.success(),
        code: status.code(),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// Where clusters live: `CHRONICLE_CLUSTER_TMPDIR`, else `/dev/shm` (tmpfs),
/// else the system's temp dir. On tmpfs a cluster starts about twice as fast
/// and is removed in a second instead of ~6 s: etcd preallocates 2 x 64 MB of
/// WAL per member, and the disk here frees blocks slowly (`discard`). It
/// takes ~600 MB of memory while it lives; a killed process loses nothing in
/// either place.
fn clusters_root() -> PathBuf {
    if let Some(dir) = std::env::var_os(TMPDIR_VAR) {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// A fresh, empty, short directory under [`clusters_root`] (the script puts
/// unix sockets in it, whose paths are limited to ~100 bytes).
fn new_temp_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = clusters_root().join(format!(
        "chronicle-cluster-{}-{n}-{nanos:x}",
        std::process::id()
    ));
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// The first range from `from` up whose reservation port we can hold and
/// whose cluster ports are all free.
fn reserve_range(from: u16) -> (u16, TcpListener) {
    let mut base = from;
    while base <= LAST_BASE {
        if let Ok(reservation) = TcpListener::bind(("127.0.0.1", base + RESERVATION_OFFSET)) {
            let free = PORT_OFFSETS.iter().all(|off| {
                (0..NODES as u16).all(|n| TcpListener::bind(("127.0.0.1", base + off + n)).is_ok())
            });
            if free {
                return (base, reservation);
            }
        }
        base += RANGE;
    }
    panic!("no free port range for a test cluster between {FIRST_BASE} and 32767");
}

/// `KEY='value'` lines, as `pg-cluster` writes them.
fn parse_env(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

fn check_node(i: usize) -> usize {
    assert!(
        (1..=NODES).contains(&i),
        "no node {i}: nodes are 1..={NODES}"
    );
    i
}

fn parse_node(s: &str) -> usize {
    s.lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("expected a node number from pg-cluster, got {s:?}"))
}
