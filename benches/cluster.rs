//! The PostgreSQL store through a replicated cluster (Patroni, strict
//! synchronous mode, three nodes on this machine; `tests/common/cluster.rs`
//! starts it), each figure next to a baseline measured in the same run:
//!
//! - W1 (500 dogs x 10 events, one event per save) and W3 (load one dog of
//!   10,000 events) through the multi-host URL, against the bare driver
//!   (tokio-postgres, same rows, prepared statements) on the same primary;
//! - read scaling: 4 tasks loading dogs of 100 events, with the loads on
//!   the primary (the baseline), then spread over one and two replicas.
//!
//! `CHRONICLE_TEST_CLUSTER=1 cargo bench --bench cluster --all-features`
//! (needs root and `scripts/pg-cluster install`, as the cluster tests do).
//! All three nodes share this machine's cores with the benchmark, so the
//! read figures do not predict scaling across machines.

#[allow(dead_code)]
#[path = "workloads/baseline.rs"]
mod baseline;
#[path = "../tests/common/cluster.rs"]
mod cluster;

use std::hint::black_box;
use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::store::PostgresStore;

use baseline::Baseline;
use cluster::Cluster;

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

/// The shape of a workload (as `benches/workloads` has it).
#[derive(Clone, Copy)]
pub struct Shape {
    pub dogs: usize,
    pub events_per_dog: usize,
}

const W1: Shape = Shape {
    dogs: 500,
    events_per_dog: 10,
};
const W3_EVENTS: usize = 10_000;
const READERS: usize = 4;
const READ_DOGS: usize = 40;
const LOADS_PER_READER: usize = 250;

pub fn trick(n: usize) -> String {
    format!("trick {n}")
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn time(work: impl FnOnce()) -> Duration {
    let start = Instant::now();
    work();
    start.elapsed()
}

fn report(what: &str, count: usize, unit: &str, measured: Duration, baseline: Duration, of: &str) {
    let rate = count as f64 / measured.as_secs_f64();
    let base = count as f64 / baseline.as_secs_f64();
    println!(
        "{what:<28} {rate:>10.0} {unit}/s   {of} {base:>10.0} {unit}/s   ratio {:.2}",
        rate / base
    );
}

fn main() {
    let Some(cluster) = Cluster::start_if_enabled("the cluster benchmark") else {
        return;
    };
    let primary = cluster.primary_url();
    let replicas: Vec<String> = cluster
        .replicas()
        .into_iter()
        .map(|node| cluster.node_url(node).to_owned())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let suffix = Uuid::new_v4().simple().to_string();
    let open = |schema: &str, replicas: &[String]| {
        let mut builder = PostgresStore::builder(primary).schema(schema);
        for url in replicas {
            builder = builder.replica(url);
        }
        Application::new(rt.block_on(builder.connect()).expect("connect"))
    };

    // W1 and W3: the library through the cluster against the bare driver.
    let app = open(&format!("bench_lib_{suffix}"), &[]);
    let library = time(|| {
        rt.block_on(async {
            for d in 0..W1.dogs {
                let mut dog = Dog::register(format!("dog {d}"));
                app.save(&mut dog).await.expect("save");
                for t in 1..W1.events_per_dog {
                    dog.add_trick(trick(t));
                    app.save(&mut dog).await.expect("save");
                }
            }
        })
    });
    let mut bare = baseline::postgres::Postgres::new(primary, format!("bench_base_{suffix}"));
    let baseline = time(|| bare.one_event_per_transaction(W1));
    let events = W1.dogs * W1.events_per_dog;
    report(
        "W1 cluster",
        events,
        "events",
        library,
        baseline,
        "bare driver",
    );

    let long = rt.block_on(async {
        let mut dog = Dog::register("Fido".into());
        for t in 1..W3_EVENTS {
            dog.add_trick(trick(t));
        }
        app.save(&mut dog).await.expect("save");
        dog.id()
    });
    let library = time(|| {
        let dog: Dog = rt.block_on(app.get(long)).expect("load");
        black_box(dog);
    });
    bare.fresh();
    let bare_id = bare.long_stream(W3_EVENTS);
    let baseline = time(|| bare.load_stream(bare_id, W3_EVENTS));
    report(
        "W3 cluster",
        W3_EVENTS,
        "events",
        library,
        baseline,
        "bare driver",
    );

    // Read scaling: the same loads on the primary, then on replicas.
    let ids: Vec<Uuid> = rt.block_on(async {
        let mut ids = Vec::new();
        for d in 0..READ_DOGS {
            let mut dog = Dog::register(format!("reader dog {d}"));
            for t in 1..100 {
                dog.add_trick(trick(t));
            }
            app.save(&mut dog).await.expect("save");
            ids.push(dog.id());
        }
        ids
    });
    let schema = format!("bench_lib_{suffix}");
    let loads = |app: &Application<PostgresStore>| {
        time(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..READERS)
                    .map(|reader| {
                        let (app, ids) = (app.clone(), ids.clone());
                        tokio::spawn(async move {
                            for n in 0..LOADS_PER_READER {
                                let id = ids[(reader + n) % ids.len()];
                                let dog: Dog = app.get(id).await.expect("load");
                                black_box(dog);
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("reader");
                }
            })
        })
    };
    let total = READERS * LOADS_PER_READER;
    let on_primary = loads(&open(&schema, &[]));
    report(
        "W3 reads, primary",
        total,
        "loads",
        on_primary,
        on_primary,
        "primary",
    );
    for count in 1..=replicas.len().min(2) {
        let measured = loads(&open(&schema, &replicas[..count]));
        let what = format!("W3 reads, {count} replica(s)");
        report(&what, total, "loads", measured, on_primary, "primary");
    }
    bare.drop_schemas(&[schema]);
}
