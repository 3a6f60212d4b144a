//! Flat cost as the store grows: appends (W1), loads (W3) and log reads
//! from a recent position (W4) on a store that already holds many events,
//! against the same work on an empty store, in the same run.
//!
//! `cargo bench --bench flat_cost --all-features` fills each store with
//! 1,000,000 events in 100,000 streams; `-- --large` with 10,000,000 events
//! in 1,000,000 streams (what the performance issue asks; filling takes
//! minutes, printed). Each store prints, per workload, the rate on the
//! empty store, on the full one, and their ratio. PostgreSQL runs when
//! `CHRONICLE_BENCH_POSTGRES_URL` (or `CHRONICLE_TEST_POSTGRES_URL`) names a
//! server, in a schema of its own, dropped at the end.
//!
//! - W1: 400 dogs x 5 events, one event per save (new streams);
//! - W3: load a dog of 10,000 events, saved just before;
//! - W4: read the newest 20,000 events of the log (all of them on the
//!   empty store, which holds fewer) in pages of 1,000 and decode them.

#[cfg(feature = "postgres")]
#[path = "common/postgres.rs"]
mod postgres;

use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::store::SqliteStore;

/// The dog school's `Dog`, as the tests define it.
#[allow(dead_code)] // the tests' badge and policy are not used here
#[path = "../tests/common/dogs.rs"]
mod dogs;

use dogs::{Dog, DogEvent};

const W1_DOGS: usize = 400;
const W1_EVENTS_PER_DOG: usize = 5;
const W3_EVENTS: usize = 10_000;
const W4_EVENTS: u64 = 20_000;
const PAGE: usize = 1_000;
/// Dogs per save while filling.
const FILL_BATCH: usize = 1_000;

/// Events and streams to fill the store with.
fn size() -> (usize, usize) {
    if std::env::args().any(|arg| arg == "--large") {
        (10_000_000, 1_000_000)
    } else {
        (1_000_000, 100_000)
    }
}

/// Events per second of `work`, which handles `events` events.
async fn rate(events: usize, work: impl std::future::Future<Output = ()>) -> f64 {
    let started = Instant::now();
    work.await;
    events as f64 / started.elapsed().as_secs_f64()
}

async fn w1<S: EventStore>(app: &Application<S>) {
    for d in 0..W1_DOGS {
        let mut dog = Dog::register(format!("w1 dog {d}"));
        app.save(&mut dog).await.expect("save");
        for t in 1..W1_EVENTS_PER_DOG {
            dog.add_trick(format!("trick {t}"));
            app.save(&mut dog).await.expect("save");
        }
    }
}

async fn long_dog<S: EventStore>(app: &Application<S>) -> Uuid {
    let mut dog = Dog::register("Fido".into());
    for t in 1..W3_EVENTS {
        dog.add_trick(format!("trick {t}"));
    }
    app.save(&mut dog).await.expect("save");
    dog.id()
}

async fn w3<S: EventStore>(app: &Application<S>, id: Uuid) {
    let dog: Dog = app.get(id).await.expect("load");
    assert_eq!(dog.version(), W3_EVENTS as u64);
}

/// Reads the newest `W4_EVENTS` events (all, when fewer); returns how many.
async fn w4<S: EventStore>(app: &Application<S>) -> usize {
    let end = app.last_position().await.expect("last position");
    let mut after = end.saturating_sub(W4_EVENTS);
    let mut read = 0;
    loop {
        let page = app
            .read_log(LogQuery::after(after, PAGE))
            .await
            .expect("read");
        let Some(last) = page.last() else {
            return read;
        };
        after = last.position;
        read += page.len();
        for record in &page {
            std::hint::black_box(app.decode::<DogEvent>(record).await.expect("decode"));
        }
    }
}

/// The three rates on `app`'s store as it is.
async fn rates<S: EventStore>(app: &Application<S>) -> [f64; 3] {
    let w1 = rate(W1_DOGS * W1_EVENTS_PER_DOG, w1(app)).await;
    let id = long_dog(app).await;
    let w3 = rate(W3_EVENTS, w3(app, id)).await;
    let started = Instant::now();
    let read = w4(app).await;
    let w4 = read as f64 / started.elapsed().as_secs_f64();
    [w1, w3, w4]
}

/// Fills the store with `events` events in `streams` dogs.
async fn fill<S: EventStore>(app: &Application<S>, events: usize, streams: usize) -> Duration {
    let started = Instant::now();
    let per_dog = events / streams;
    for batch in 0..streams / FILL_BATCH {
        let mut dogs: Vec<Dog> = (0..FILL_BATCH)
            .map(|d| {
                let mut dog = Dog::register(format!("dog {}", batch * FILL_BATCH + d));
                for t in 1..per_dog {
                    dog.add_trick(format!("trick {t}"));
                }
                dog
            })
            .collect();
        app.save(&mut dogs).await.expect("fill");
    }
    started.elapsed()
}

async fn measure<S: EventStore>(name: &str, app: Application<S>) {
    let (events, streams) = size();
    let empty = rates(&app).await;
    let took = fill(&app, events, streams).await;
    println!(
        "{name:<9} filled with {events} events in {streams} streams in {:.0} s",
        took.as_secs_f64()
    );
    let full = rates(&app).await;
    for ((workload, empty), full) in ["W1", "W3", "W4"].into_iter().zip(empty).zip(full) {
        println!(
            "{workload}  {name:<9} empty {empty:>10.0} events/s   full {full:>10.0} events/s   ratio {:.2}",
            full / empty
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = std::env::temp_dir().join(format!("chronicle-flat-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sqlite = rt
        .block_on(SqliteStore::open(dir.join("dogs.db")))
        .expect("open sqlite");
    rt.block_on(measure("sqlite", Application::new(sqlite)));
    let _ = std::fs::remove_dir_all(&dir);

    #[cfg(feature = "postgres")]
    postgres::in_own_schema(
        &rt,
        &format!("chronicle_flat_cost_{}", std::process::id()),
        |store| measure("postgres", Application::new(store)),
    );
}
