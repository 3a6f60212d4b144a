//! What the aggregate cache buys: loading one dog of 1,000 events 1,000
//! times, replayed in full every time versus read through an
//! `AggregateCache` (a hit clones the cached dog and reads the events stored
//! after it: none here), on the in-memory store and, with the default
//! `sqlite` feature, on SQLite.
//!
//! `cargo bench --bench cache` prints loads per second for both, their ratio,
//! and the rate of cached loads that each catch up one event saved behind
//! the cache's back (timed without the saves), for each store.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::AggregateCache;

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

const EVENTS: usize = 1_000;
const LOADS: usize = 1_000;

fn rate(loads: usize, elapsed: Duration) -> f64 {
    loads as f64 / elapsed.as_secs_f64()
}

async fn measure<S: EventStore>(label: &str, app: Application<S>) -> Result<(), Error> {
    let mut dog = Dog::register("Fido".into());
    for n in 1..EVENTS {
        dog.add_trick(format!("trick {n}"));
    }
    app.save(&mut dog).await?;
    let id = dog.id();

    // Warm up both paths once.
    black_box(app.get::<Dog>(id).await?);
    let cache: AggregateCache<Dog, S> = AggregateCache::new(app.clone(), 16);
    black_box(cache.get(id).await?);

    let start = Instant::now();
    for _ in 0..LOADS {
        black_box(app.get::<Dog>(id).await?);
    }
    let uncached = start.elapsed();

    let start = Instant::now();
    for _ in 0..LOADS {
        black_box(cache.get(id).await?);
    }
    let cached = start.elapsed();

    let mut other: Dog = app.get(id).await?;
    let mut catching_up = Duration::ZERO;
    for n in 0..LOADS {
        other.add_trick(format!("late trick {n}"));
        app.save(&mut other).await?;
        let start = Instant::now();
        black_box(cache.get(id).await?);
        catching_up += start.elapsed();
    }

    let stats = cache.stats();
    println!("{label}: load one dog of {EVENTS} events, {LOADS} times");
    println!(
        "  full replay:            {:>10.0} loads/s",
        rate(LOADS, uncached)
    );
    println!(
        "  cached (hit):           {:>10.0} loads/s",
        rate(LOADS, cached)
    );
    println!(
        "  ratio cached/replay:    {:>10.1}x",
        uncached.as_secs_f64() / cached.as_secs_f64()
    );
    println!(
        "  cached, +1 event each:  {:>10.0} loads/s",
        rate(LOADS, catching_up)
    );
    println!(
        "  cache stats: {} hits, {} misses, {} caught up",
        stats.hits, stats.misses, stats.caught_up
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(measure("memory", Application::in_memory()))?;

    #[cfg(feature = "sqlite")]
    {
        let dir =
            std::env::temp_dir().join(format!("chronicle-cache-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let result = runtime.block_on(async {
            let store = chronicle_es::store::SqliteStore::open(dir.join("cache.db")).await?;
            measure("sqlite", Application::new(store)).await
        });
        let _ = std::fs::remove_dir_all(&dir);
        result?;
    }
    Ok(())
}
