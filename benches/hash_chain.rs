//! The cost of hash chains: W1 (2,000 dogs x 10 events, one event per save)
//! and W3 (loading one dog of 10,000 events) with
//! `ApplicationBuilder::hash_chain(true)`, against the same workloads with
//! the option off measured in the same run, in memory and on SQLite.
//!
//! `cargo bench --bench hash_chain`; `CHRONICLE_BENCH_RUNS=N` takes medians
//! of N runs (default 3).
//!
//! With the option on, a save to an existing stream reads the stream's
//! last event (its hash) before appending, and a load reads records
//! instead of folding rows as they come, checking each hash: both costs
//! are in these figures.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::store::AnyStore;

/// The dog school's `Dog`, as the tests define it.
#[allow(dead_code)] // the tests' badge and policy are not used here
#[path = "../tests/common/dogs.rs"]
mod dogs;

use dogs::Dog;

const W1_DOGS: usize = 2_000;
const W1_EVENTS_PER_DOG: usize = 10;
const W3_EVENTS: usize = 10_000;

fn median(runs: usize, mut run: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| run()).collect();
    times.sort();
    times[runs / 2]
}

fn time(work: impl FnOnce()) -> Duration {
    let start = Instant::now();
    work();
    start.elapsed()
}

async fn w1(app: &Application<AnyStore>) {
    for d in 0..W1_DOGS {
        let mut dog = Dog::register(format!("dog {d}"));
        app.save(&mut dog).await.expect("save");
        for t in 1..W1_EVENTS_PER_DOG {
            dog.add_trick(format!("trick {t}"));
            app.save(&mut dog).await.expect("save");
        }
    }
}

async fn long_dog(app: &Application<AnyStore>) -> Uuid {
    let mut dog = Dog::register("Fido".into());
    for t in 1..W3_EVENTS {
        dog.add_trick(format!("trick {t}"));
    }
    app.save(&mut dog).await.expect("save");
    dog.id()
}

async fn w3(app: &Application<AnyStore>, id: Uuid) {
    let dog: Dog = app.get(id).await.expect("load");
    assert_eq!(dog.version(), W3_EVENTS as u64);
    black_box(dog);
}

fn report(workload: &str, store: &str, events: usize, chained: Duration, plain: Duration) {
    let rate = |time: Duration| events as f64 / time.as_secs_f64();
    println!(
        "{workload:<3} {store:<7} chained {:>10.0} events/s   off (baseline) {:>10.0} events/s   ratio {:.2}",
        rate(chained),
        rate(plain),
        rate(chained) / rate(plain)
    );
}

fn main() {
    let runs: usize = std::env::var("CHRONICLE_BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let directory = std::env::temp_dir().join(format!("chronicle-bench-chain-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&directory).expect("temporary directory");
    let mut files = 0;
    let mut open = |kind: &str| -> AnyStore {
        let url = match kind {
            "memory" => "memory:".to_owned(),
            _ => {
                files += 1;
                format!(
                    "sqlite://{}",
                    directory.join(format!("{files}.db")).display()
                )
            }
        };
        rt.block_on(AnyStore::from_url(&url)).expect("store")
    };
    for kind in ["memory", "sqlite"] {
        let mut app = |chained: bool| Application::builder(open(kind)).hash_chain(chained).build();
        let mut w1_time = |chained: bool| {
            median(runs, || {
                let app = app(chained);
                time(|| rt.block_on(w1(&app)))
            })
        };
        let (plain, chained) = (w1_time(false), w1_time(true));
        report("W1", kind, W1_DOGS * W1_EVENTS_PER_DOG, chained, plain);

        let mut w3_time = |chained: bool| {
            let app = app(chained);
            let id = rt.block_on(long_dog(&app));
            median(runs, || time(|| rt.block_on(w3(&app, id))))
        };
        let (plain, chained) = (w3_time(false), w3_time(true));
        report("W3", kind, W3_EVENTS, chained, plain);
    }
    let _ = std::fs::remove_dir_all(&directory);
}
