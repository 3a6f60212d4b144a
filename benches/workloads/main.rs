//! Throughput of the DogSchool workloads on every store, each next to a
//! baseline measured in the same run.
//!
//! `cargo bench --bench workloads --all-features` prints events per second
//! for each workload and store, the baseline's figure and their ratio.
//! `CHRONICLE_BENCH_ONLY=sqlite,W1` restricts a run to some stores and
//! workloads; `CHRONICLE_BENCH_RUNS=N` takes medians of N runs (library and
//! baseline runs in turns, so that both meet the same spells of a noisy disk).
//! PostgreSQL runs when `CHRONICLE_BENCH_POSTGRES_URL` (or
//! `CHRONICLE_TEST_POSTGRES_URL`) names a server; each run uses a fresh schema.
//!
//! - W1: 2,000 dogs x 10 events, one event per save (20,000 saves);
//! - W2: 200 dogs x 100 events, one save per dog;
//! - W3: load one dog of 10,000 events (decoding and applying included),
//!   timed over 10 loads;
//! - W4: read the whole log of W1 in pages of 1,000 (decoding included),
//!   timed over 5 reads;
//! - W5: W1 spread over 4 concurrent writers; W7: over 16.
//!
//! Baselines do the same work by hand: in memory, encode each payload with
//! serde_json and push it into a locked `Vec` (or decode it back); on the
//! databases, the bare driver with the same row shape and prepared statements
//! (one transaction per event for W1/W5, one per dog for W2, plain selects for
//! W3/W4).

mod baseline;
#[cfg(feature = "postgres")]
#[allow(dead_code)] // the schema helper: this benchmark keeps its own schemas
#[path = "../common/postgres.rs"]
mod postgres_server;

use std::hint::black_box;
use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::store::MemoryStore;

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
    tricks: Vec<String>,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            tricks: Vec::new(),
        }
    }

    #[event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }
}

/// The shape of a workload.
#[derive(Clone, Copy)]
pub struct Shape {
    pub dogs: usize,
    pub events_per_dog: usize,
}

impl Shape {
    pub fn events(self) -> usize {
        self.dogs * self.events_per_dog
    }
}

pub const W1: Shape = Shape {
    dogs: 2_000,
    events_per_dog: 10,
};
pub const W2: Shape = Shape {
    dogs: 200,
    events_per_dog: 100,
};
pub const W3_EVENTS: usize = 10_000;
pub const W4_PAGE: usize = 1_000;
/// Loads per W3 timing and reads of the log per W4 timing: one load takes
/// about 10 ms, short enough for a scheduling hiccup to move its rate by
/// half; repeated, each timing lasts long enough to be stable.
pub const W3_LOADS: usize = 10;
pub const W4_READS: usize = 5;
pub const WRITERS: usize = 4;
/// Writers of W7, the many-writer variant of W5.
pub const MANY_WRITERS: usize = 16;

/// How long `work` takes.
pub fn time(work: impl FnOnce()) -> Duration {
    let start = Instant::now();
    work();
    start.elapsed()
}

/// The median of `runs` timings, each taken by `run`.
pub fn median(runs: usize, mut run: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| run()).collect();
    times.sort();
    times[runs / 2]
}

/// The medians of `runs` timings of the library and of its baseline, taken
/// in turns (library, baseline, library, ...): on a machine whose disk
/// flushes slow down and speed up for seconds at a time, both sides then
/// meet the same spells, where all library runs followed by all baseline
/// runs could catch one side in a slow spell alone.
pub fn medians(
    runs: usize,
    mut library: impl FnMut() -> Duration,
    mut baseline: impl FnMut() -> Duration,
) -> (Duration, Duration) {
    let (mut ours, mut theirs): (Vec<Duration>, Vec<Duration>) =
        (0..runs).map(|_| (library(), baseline())).unzip();
    ours.sort();
    theirs.sort();
    (ours[runs / 2], theirs[runs / 2])
}

fn rate(events: usize, time: Duration) -> f64 {
    events as f64 / time.as_secs_f64()
}

pub fn report(workload: &str, store: &str, events: usize, library: Duration, baseline: Duration) {
    let library = rate(events, library);
    let baseline = rate(events, baseline);
    println!(
        "{workload:<4} {store:<9} {:>12.0} events/s   baseline {:>12.0} events/s   ratio {:.2}",
        library,
        baseline,
        library / baseline
    );
}

pub fn trick(n: usize) -> String {
    format!("trick {n}")
}

/// W1 (and each W5 writer): one event per save.
async fn one_event_per_save<S: EventStore>(app: &Application<S>, first_dog: usize, shape: Shape) {
    for d in first_dog..first_dog + shape.dogs {
        let mut dog = Dog::register(format!("dog {d}"));
        app.save(&mut dog).await.expect("save");
        for t in 1..shape.events_per_dog {
            dog.add_trick(trick(t));
            app.save(&mut dog).await.expect("save");
        }
    }
}

/// W2: one save per dog.
async fn one_save_per_dog<S: EventStore>(app: &Application<S>, shape: Shape) {
    for d in 0..shape.dogs {
        let mut dog = Dog::register(format!("dog {d}"));
        for t in 1..shape.events_per_dog {
            dog.add_trick(trick(t));
        }
        app.save(&mut dog).await.expect("save");
    }
}

/// W5 (and W7): W1 split over `writers` concurrent writers.
async fn concurrent_writers<S: EventStore>(app: &Application<S>, writers: usize) {
    let per_writer = Shape {
        dogs: W1.dogs / writers,
        ..W1
    };
    let writers = (0..writers).map(|w| one_event_per_save(app, w * per_writer.dogs, per_writer));
    join_all(writers).await;
}

/// Polls futures concurrently on the current task (no spawning, so the
/// application need not be `'static`).
async fn join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut futures: Vec<_> = futures.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        futures.retain_mut(|future| future.as_mut().poll(cx).is_pending());
        if futures.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

/// W3: one aggregate of `W3_EVENTS` events, saved once; returns its id.
async fn long_dog<S: EventStore>(app: &Application<S>) -> Uuid {
    let mut dog = Dog::register("Fido".into());
    for t in 1..W3_EVENTS {
        dog.add_trick(trick(t));
    }
    app.save(&mut dog).await.expect("save");
    dog.id()
}

async fn load<S: EventStore>(app: &Application<S>, id: Uuid) {
    let dog: Dog = app.get(id).await.expect("load");
    assert_eq!(dog.version(), W3_EVENTS as u64);
    black_box(dog);
}

/// W4: the whole log in pages, each event decoded.
async fn read_log<S: EventStore>(app: &Application<S>) -> usize {
    let mut after = 0;
    let mut count = 0;
    loop {
        let page = app
            .read_log(LogQuery::after(after, W4_PAGE))
            .await
            .expect("read");
        let Some(last) = page.last() else { break };
        after = last.position;
        for record in &page {
            black_box(app.decode::<DogEvent>(record).await.expect("decode"));
        }
        count += page.len();
    }
    count
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs every workload against stores made by `open`, with the baselines
/// `base` provides.
fn run_store<S: EventStore>(
    rt: &tokio::runtime::Runtime,
    name: &str,
    runs: usize,
    mut open: impl FnMut() -> S,
    base: &mut dyn baseline::Baseline,
) {
    let mut app = || Application::new(open());

    if selected(name, "W1") {
        let (library, baseline) = medians(
            runs,
            || {
                let app = app();
                time(|| rt.block_on(one_event_per_save(&app, 0, W1)))
            },
            || {
                base.fresh();
                time(|| base.one_event_per_transaction(W1))
            },
        );
        report("W1", name, W1.events(), library, baseline);
    }

    if selected(name, "W2") {
        let (library, baseline) = medians(
            runs,
            || {
                let app = app();
                time(|| rt.block_on(one_save_per_dog(&app, W2)))
            },
            || {
                base.fresh();
                time(|| base.one_transaction_per_dog(W2))
            },
        );
        report("W2", name, W2.events(), library, baseline);
    }

    if selected(name, "W3") {
        let loaded = app();
        let id = rt.block_on(long_dog(&loaded));
        base.fresh();
        let base_id = base.long_stream(W3_EVENTS);
        let (library, baseline) = medians(
            runs,
            || time(|| (0..W3_LOADS).for_each(|_| rt.block_on(load(&loaded, id)))),
            || time(|| (0..W3_LOADS).for_each(|_| base.load_stream(base_id, W3_EVENTS))),
        );
        report("W3", name, W3_LOADS * W3_EVENTS, library, baseline);
    }

    if selected(name, "W4") {
        let logged = app();
        rt.block_on(one_event_per_save(&logged, 0, W1));
        base.fresh();
        base.one_event_per_transaction(W1);
        let (library, baseline) = medians(
            runs,
            || {
                time(|| {
                    for _ in 0..W4_READS {
                        assert_eq!(rt.block_on(read_log(&logged)), W1.events());
                    }
                })
            },
            || {
                time(|| {
                    for _ in 0..W4_READS {
                        assert_eq!(base.read_log(W4_PAGE), W1.events());
                    }
                })
            },
        );
        report("W4", name, W4_READS * W1.events(), library, baseline);
    }

    for (workload, writers) in [("W5", WRITERS), ("W7", MANY_WRITERS)] {
        if !selected(name, workload) {
            continue;
        }
        let (library, baseline) = medians(
            runs,
            || {
                let app = app();
                time(|| rt.block_on(concurrent_writers(&app, writers)))
            },
            || {
                base.fresh();
                time(|| base.concurrent_writers(W1, writers))
            },
        );
        report(workload, name, W1.events(), library, baseline);
    }
}

/// How many runs each figure is the median of: `CHRONICLE_BENCH_RUNS`, else `default`.
fn runs(default: usize) -> usize {
    std::env::var("CHRONICLE_BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .filter(|&runs| runs > 0)
        .unwrap_or(default)
}

/// `CHRONICLE_BENCH_ONLY` (e.g. `sqlite,W1,W2`) restricts the run to the
/// stores and workloads it names; a list without store names runs every
/// store, one without workload names every workload.
fn selected(store: &str, workload: &str) -> bool {
    let Ok(only) = std::env::var("CHRONICLE_BENCH_ONLY") else {
        return true;
    };
    let names: Vec<&str> = only
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let is_workload = |name: &&str| name.len() == 2 && name.starts_with('W');
    let stores_ok = names.contains(&store) || names.iter().all(is_workload);
    let workloads_ok = names.contains(&workload) || !names.iter().any(is_workload);
    stores_ok && workloads_ok
}

fn main() {
    let rt = runtime();
    println!("events/s, median of the runs; ratio = library / baseline");

    run_store(
        &rt,
        "memory",
        runs(5),
        MemoryStore::new,
        &mut baseline::Memory::default(),
    );

    let dir = std::env::temp_dir().join(format!("chronicle-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut n = 0;
    let mut sqlite_base = baseline::Sqlite::new(dir.join("baseline.db"));
    run_store(
        &rt,
        "sqlite",
        runs(3),
        || {
            n += 1;
            let path = dir.join(format!("store-{n}.db"));
            rt.block_on(chronicle_es::store::SqliteStore::open(&path))
                .expect("open sqlite")
        },
        &mut sqlite_base,
    );
    drop(sqlite_base);
    let _ = std::fs::remove_dir_all(&dir);

    #[cfg(feature = "postgres")]
    postgres(&rt);
    #[cfg(not(feature = "postgres"))]
    println!("postgres: skipped (build with --features postgres)");
}

#[cfg(feature = "postgres")]
fn postgres(rt: &tokio::runtime::Runtime) {
    use baseline::postgres::{Batch, Postgres};
    use chronicle_es::store::PostgresStore;

    let Some(url) = postgres_server::url() else {
        println!(
            "postgres: skipped (set CHRONICLE_BENCH_POSTGRES_URL or CHRONICLE_TEST_POSTGRES_URL)"
        );
        return;
    };
    let prefix = format!("chronicle_bench_{}", std::process::id());
    let mut base = Postgres::new(&url, format!("{prefix}_base"));

    // W2's baseline is the faster of the driver's batch techniques.
    let mut fastest = (Duration::MAX, Batch::Unnest);
    let techniques = if selected("postgres", "W2") {
        &[Batch::Unnest, Batch::Pipelined][..]
    } else {
        &[]
    };
    for &batch in techniques {
        let took = median(runs(3), || {
            baseline::Baseline::fresh(&mut base);
            time(|| base.one_transaction_per_dog_by(W2, batch))
        });
        println!(
            "     postgres  W2 baseline by {batch:?}: {:.0} events/s",
            rate(W2.events(), took)
        );
        fastest = fastest.min((took, batch));
    }
    base.batch = fastest.1;

    let mut schemas = Vec::new();
    run_store(
        rt,
        "postgres",
        runs(3),
        || {
            let schema = format!("{prefix}_{}", schemas.len());
            let store = rt
                .block_on(PostgresStore::builder(&url).schema(&schema).connect())
                .expect("connect to PostgreSQL");
            schemas.push(schema);
            store
        },
        &mut base,
    );
    base.drop_schemas(&schemas);
}
