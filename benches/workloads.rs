//! Throughput of the DogSchool workloads, with a same-run baseline.
//!
//! `cargo bench --bench workloads` prints events per second for each workload
//! and store, next to a baseline that does the same work by hand, and their
//! ratio.
//!
//! - W1: 2,000 dogs x 10 events, one event per save (20,000 saves);
//! - W2: 200 dogs x 100 events, one save per dog;
//! - W3: load one dog of 10,000 events (decode and apply included).
//!
//! In memory, the baseline is the bare minimum the library must do: encode
//! each event with serde_json and push the bytes into a locked `Vec` (W1/W2),
//! or decode each stored payload and push the trick (W3).

use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chronicle::prelude::*;
use chronicle::MemoryStore;
use serde::{Deserialize, Serialize};

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

const RUNS: usize = 5;

/// Median wall time of `RUNS` runs of `work`, each on fresh state from `setup`.
fn median<S>(mut setup: impl FnMut() -> S, mut work: impl FnMut(S)) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let state = setup();
            let start = Instant::now();
            work(state);
            start.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn rate(events: usize, time: Duration) -> f64 {
    events as f64 / time.as_secs_f64()
}

fn report(workload: &str, store: &str, events: usize, library: Duration, baseline: Duration) {
    let library = rate(events, library);
    let baseline = rate(events, baseline);
    println!(
        "{workload:<4} {store:<8} {:>12.0} events/s   baseline {:>12.0} events/s   ratio {:.2}",
        library,
        baseline,
        library / baseline
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn w1(app: &Application<MemoryStore>, dogs: usize, events_per_dog: usize) {
    for d in 0..dogs {
        let mut dog = Dog::register(format!("dog {d}"));
        app.save(&mut dog).await.expect("save");
        for t in 1..events_per_dog {
            dog.add_trick(format!("trick {t}"));
            app.save(&mut dog).await.expect("save");
        }
    }
}

async fn w2(app: &Application<MemoryStore>, dogs: usize, events_per_dog: usize) {
    for d in 0..dogs {
        let mut dog = Dog::register(format!("dog {d}"));
        for t in 1..events_per_dog {
            dog.add_trick(format!("trick {t}"));
        }
        app.save(&mut dog).await.expect("save");
    }
}

#[derive(Serialize, Deserialize)]
struct TrickAdded {
    trick: String,
}

/// Encodes `per_save` events per lock acquisition into a locked Vec.
fn baseline_write(total: usize, per_save: usize) {
    let log: Mutex<Vec<(u64, Vec<u8>)>> = Mutex::new(Vec::with_capacity(total));
    for chunk in 0..total / per_save {
        let encoded: Vec<Vec<u8>> = (0..per_save)
            .map(|i| {
                serde_json::to_vec(&TrickAdded {
                    trick: format!("trick {}", chunk * per_save + i),
                })
                .expect("encode")
            })
            .collect();
        let mut log = log.lock().expect("lock");
        for payload in encoded {
            let position = log.len() as u64 + 1;
            log.push((position, payload));
        }
    }
    black_box(log);
}

fn main() {
    let rt = runtime();
    println!("in-memory store, {RUNS} runs each, median");

    let events = 2_000 * 10;
    let library = median(Application::in_memory, |app| rt.block_on(w1(&app, 2_000, 10)));
    let baseline = median(|| (), |()| baseline_write(events, 1));
    report("W1", "memory", events, library, baseline);

    let events = 200 * 100;
    let library = median(Application::in_memory, |app| rt.block_on(w2(&app, 200, 100)));
    let baseline = median(|| (), |()| baseline_write(events, 100));
    report("W2", "memory", events, library, baseline);

    let events = 10_000;
    let app = Application::in_memory();
    let mut dog = Dog::register("Fido".into());
    for t in 1..events {
        dog.add_trick(format!("trick {t}"));
    }
    rt.block_on(app.save(&mut dog)).expect("save");
    let id = dog.id();
    let library = median(
        || (),
        |()| {
            let loaded: Dog = rt.block_on(app.get(id)).expect("load");
            assert_eq!(loaded.version(), events as u64);
            black_box(loaded);
        },
    );
    let stored: Mutex<Vec<Vec<u8>>> = Mutex::new(
        rt.block_on(app.store().read_stream(id, StreamQuery::all()))
            .expect("read")
            .into_iter()
            .map(|record| record.payload)
            .collect(),
    );
    let baseline = median(
        || (),
        |()| {
            let payloads: Vec<Vec<u8>> = stored.lock().expect("lock").clone();
            let mut tricks = Vec::with_capacity(payloads.len());
            for payload in payloads.iter().skip(1) {
                let event: TrickAdded = serde_json::from_slice(payload).expect("decode");
                tricks.push(event.trick);
            }
            black_box(tricks);
        },
    );
    report("W3", "memory", events, library, baseline);
}
