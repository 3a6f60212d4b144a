//! Memory of a load: the peak heap of loading a 1,000,000-event aggregate,
//! against the size of the state it builds, on every store.
//!
//! `cargo bench --bench load_memory --all-features` saves one dog with
//! 1,000,000 `TrickAdded` events (in saves of 10,000), then loads it with
//! `Application::get` while a counting allocator follows the heap. It
//! prints the peak the load added, the final state's size (the dog's
//! `Vec<String>` and its strings, as allocated) and their ratio. A load
//! that folds rows as the store reads them stays under twice the state plus
//! a fixed page buffer; one that collected every record first would need
//! the records on top (about 5x the state here).
//!
//! PostgreSQL runs when `CHRONICLE_BENCH_POSTGRES_URL` (or
//! `CHRONICLE_TEST_POSTGRES_URL`) names a server, in a schema of its own,
//! dropped at the end. `CHRONICLE_BENCH_EVENTS` sets the event count.

#[cfg(feature = "postgres")]
#[path = "common/postgres.rs"]
mod postgres;

use chronicle_es::prelude::*;
use chronicle_es::store::{MemoryStore, SqliteStore};
use peak_alloc::PeakAlloc;

/// The system allocator, counting the bytes in use and their peak (a
/// reallocation counts the old and the new block while both live).
#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

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

impl Dog {
    /// The heap the state holds, as allocated.
    fn state_bytes(&self) -> usize {
        self.name.capacity()
            + self.tricks.capacity() * std::mem::size_of::<String>()
            + self.tricks.iter().map(String::capacity).sum::<usize>()
    }
}

const SAVE_EVERY: usize = 10_000;

fn events() -> usize {
    std::env::var("CHRONICLE_BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

/// Saves the long dog, then reports the peak heap of loading it.
async fn measure<S: EventStore>(store_name: &str, app: Application<S>) {
    let events = events();
    let started = std::time::Instant::now();
    let mut dog = Dog::register("Fido".into());
    for n in 1..events {
        dog.add_trick(format!("trick {n}"));
        if n % SAVE_EVERY == 0 {
            app.save(&mut dog).await.expect("save");
        }
    }
    app.save(&mut dog).await.expect("save");
    let filled = started.elapsed();
    let id = dog.id();
    drop(dog);

    let before = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let started = std::time::Instant::now();
    let loaded: Dog = app.get(id).await.expect("load");
    let took = started.elapsed();
    let peak = HEAP.peak_usage() - before;
    assert_eq!(loaded.version(), events as u64);
    let state = loaded.state_bytes();
    println!(
        "{store_name:<9} load of {events} events: peak {:>6.1} MB for a state of {:>6.1} MB, \
         ratio {:.2} (load {:.2} s; fill {:.1} s)",
        peak as f64 / 1e6,
        state as f64 / 1e6,
        peak as f64 / state as f64,
        took.as_secs_f64(),
        filled.as_secs_f64(),
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!("peak heap added by Application::get, against the state it builds");
    rt.block_on(measure("memory", Application::new(MemoryStore::new())));

    let dir = std::env::temp_dir().join(format!("chronicle-load-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sqlite = rt
        .block_on(SqliteStore::open(dir.join("dogs.db")))
        .expect("open sqlite");
    rt.block_on(measure("sqlite", Application::new(sqlite)));
    let _ = std::fs::remove_dir_all(&dir);

    #[cfg(feature = "postgres")]
    postgres::in_own_schema(
        &rt,
        &format!("chronicle_load_memory_{}", std::process::id()),
        |store| measure("postgres", Application::new(store)),
    );
}
