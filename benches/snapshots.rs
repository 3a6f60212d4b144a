//! W3s: loading the 10,000-event dog of W3 with snapshots every 100 events,
//! against loading a 100-event dog without snapshots (the target: about the
//! same cost), on the in-memory store, SQLite and (with
//! `CHRONICLE_BENCH_POSTGRES_URL`) PostgreSQL.
//!
//! `cargo bench --bench snapshots --all-features`
//!
//! The dog's state holds its tricks, so a snapshot of a 10,000-event dog
//! holds 10,000 tricks: decoding it is part of the cost. A counter, whose
//! state stays small, shows the cost of the mechanism itself.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::store::AnyStore;
use serde::{Deserialize, Serialize};

#[aggregate(snapshot_every = 100)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[aggregate(snapshot_every = 100)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    count: u64,
}

#[aggregate]
impl Counter {
    #[event("Started")]
    pub fn start() -> Self {
        Self { count: 0 }
    }

    #[event("Incremented")]
    pub fn increment(&mut self, by: u64) {
        self.count += by;
    }
}

/// Saves a dog of `events` events, 100 per save (so snapshots are taken
/// along the way, as in a real application).
async fn dog(app: &Application<AnyStore>, events: usize) -> Uuid {
    let mut dog = Dog::register("Fido".into());
    for t in 1..events {
        dog.add_trick(format!("trick {t}"));
        if t % 100 == 0 {
            app.save(&mut dog).await.expect("save");
        }
    }
    app.save(&mut dog).await.expect("save");
    dog.id()
}

async fn counter(app: &Application<AnyStore>, events: usize) -> Uuid {
    let mut counter = Counter::start();
    for t in 1..events {
        counter.increment(1);
        if t % 100 == 0 {
            app.save(&mut counter).await.expect("save");
        }
    }
    app.save(&mut counter).await.expect("save");
    counter.id()
}

fn median_load<A: Aggregate>(
    rt: &tokio::runtime::Runtime,
    app: &Application<AnyStore>,
    id: Uuid,
) -> Duration {
    let mut times: Vec<Duration> = (0..51)
        .map(|_| {
            let start = Instant::now();
            let loaded: A = rt.block_on(app.get(id)).expect("load");
            black_box(loaded);
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn run(rt: &tokio::runtime::Runtime, name: &str, store: AnyStore, plain: AnyStore) {
    let snapshotting = Application::new(store);
    // The same aggregates, never snapshotted: the 100-event baseline.
    let without = Application::builder(plain)
        .snapshot_every::<Dog>(0)
        .snapshot_every::<Counter>(0)
        .build();
    let big_dog = rt.block_on(dog(&snapshotting, 10_000));
    let small_dog = rt.block_on(dog(&without, 100));
    let big_counter = rt.block_on(counter(&snapshotting, 10_000));
    let small_counter = rt.block_on(counter(&without, 100));
    let report = |what: &str, with: Duration, baseline: Duration| {
        println!(
            "W3s  {name:<9} {what:<8} 10,000 events with snapshots {:>9.1} µs   100 events without {:>9.1} µs   ratio {:.2}",
            with.as_secs_f64() * 1e6,
            baseline.as_secs_f64() * 1e6,
            with.as_secs_f64() / baseline.as_secs_f64()
        );
    };
    report(
        "dog",
        median_load::<Dog>(rt, &snapshotting, big_dog),
        median_load::<Dog>(rt, &without, small_dog),
    );
    report(
        "counter",
        median_load::<Counter>(rt, &snapshotting, big_counter),
        median_load::<Counter>(rt, &without, small_counter),
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("median load time of 51 loads; ratio = with snapshots / baseline");
    run(
        &rt,
        "memory",
        chronicle_es::store::MemoryStore::new().into(),
        chronicle_es::store::MemoryStore::new().into(),
    );

    let dir =
        std::env::temp_dir().join(format!("chronicle-bench-snapshots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let open = |file: &str| {
        let url = format!("sqlite://{}", dir.join(file).display());
        rt.block_on(AnyStore::from_url(&url)).expect("sqlite")
    };
    run(&rt, "sqlite", open("with.db"), open("without.db"));
    let _ = std::fs::remove_dir_all(&dir);

    let url = std::env::var("CHRONICLE_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("CHRONICLE_TEST_POSTGRES_URL"));
    match url {
        Ok(url) if cfg!(feature = "postgres") => {
            let suffix = Uuid::new_v4().simple().to_string();
            let schema = |which: &str| format!("chronicle_bench_{which}_{suffix}");
            let store = |which: &str| {
                let url = format!("{url}?schema={}", schema(which));
                rt.block_on(AnyStore::from_url(&url)).expect("postgres")
            };
            run(&rt, "postgres", store("with"), store("without"));
            drop_schemas(&rt, &url, &[schema("with"), schema("without")]);
        }
        _ => println!(
            "W3s  postgres: skipped (set CHRONICLE_BENCH_POSTGRES_URL and enable feature postgres)"
        ),
    }
}

#[cfg(feature = "postgres")]
fn drop_schemas(rt: &tokio::runtime::Runtime, url: &str, schemas: &[String]) {
    use chronicle_es::store::tokio_postgres::{self, NoTls};
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
        tokio::spawn(connection);
        for schema in schemas {
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .await
                .expect("drop schema");
        }
    });
}

#[cfg(not(feature = "postgres"))]
fn drop_schemas(_: &tokio::runtime::Runtime, _: &str, _: &[String]) {}
