//! W6: a projection with a SQL read model, on SQLite and PostgreSQL.
//!
//! `cargo bench --bench projection --features postgres` prints:
//! - catch-up throughput: a `ProjectionRunner` counting tricks per dog into
//!   a table (an `INSERT` per `Registered`, an `UPDATE` per `TrickAdded`,
//!   through `ModelWrites`) over 100,000 events, in pages of 1,000 committed
//!   with the tracking record; events per second including reading and
//!   decoding the log, the read-model writes and the tracking;
//! - the same-run baseline: the bare driver doing the same `INSERT` /
//!   `UPDATE` per event with prepared statements and one tracking upsert
//!   per 1,000 events, one transaction per 1,000 events (no log reading);
//! - end-to-end latency from `save` to the projection's commit
//!   being visible to `PositionWaiter::wait_for`, over 1,000 sequential
//!   saves of one event, with a 1 s polling interval: PostgreSQL wakes on
//!   LISTEN/NOTIFY, SQLite on its writer's in-process signal.
//!
//! PostgreSQL runs when `CHRONICLE_BENCH_POSTGRES_URL` (or
//! `CHRONICLE_TEST_POSTGRES_URL`) names a server; each run uses a fresh
//! schema, dropped at the end.

use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::store::AnySqlStore;
use chronicle_es::{HandlerError, ModelWrites, Projection, ProjectionRunner, SubscriptionOptions};

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

const DOGS: usize = 10_000;
const EVENTS_PER_DOG: usize = 10;
const BATCH: usize = 1_000;
const SAVES: usize = 1_000;

struct TrickCounts {
    table: String,
}

impl Projection for TrickCounts {
    type Event = DogEvent;
    type Writes = ModelWrites;

    fn name(&self) -> &str {
        "trick_counts"
    }

    fn handle(
        &mut self,
        event: &Envelope<DogEvent>,
        writes: &mut ModelWrites,
    ) -> Result<(), HandlerError> {
        match &event.event {
            DogEvent::Registered { name } => writes.execute_values(
                format!(
                    "INSERT INTO {} (dog, name, tricks) VALUES ($1, $2, 0)",
                    self.table
                ),
                vec![event.stream_id.into(), name.as_str().into()],
            ),
            DogEvent::TrickAdded { .. } => writes.execute(
                format!(
                    "UPDATE {} SET tricks = tricks + 1 WHERE dog = $1",
                    self.table
                ),
                [event.stream_id],
            ),
        };
        Ok(())
    }
}

/// The dogs, in save order: (id, events).
fn dogs() -> Vec<Dog> {
    (0..DOGS)
        .map(|d| {
            let mut dog = Dog::register(format!("dog {d}"));
            for t in 1..EVENTS_PER_DOG {
                dog.add_trick(format!("trick {t}"));
            }
            dog
        })
        .collect()
}

/// Fills the log with the dogs, 100 per save.
async fn fill(app: &Application<AnySqlStore>) -> Vec<Uuid> {
    let mut dogs = dogs();
    let ids = dogs.iter().map(|dog| dog.id()).collect();
    for chunk in dogs.chunks_mut(100) {
        let mut chunk = chunk.to_vec();
        app.save(&mut chunk).await.unwrap();
    }
    ids
}

async fn create_table(store: &AnySqlStore, table: &str) {
    store
        .query_model(
            &format!(
                "CREATE TABLE IF NOT EXISTS {table} (dog TEXT PRIMARY KEY, name TEXT NOT NULL, tricks BIGINT NOT NULL)"
            ),
            Vec::new(),
        )
        .await
        .unwrap();
}

/// Catches a fresh runner up over the whole log; returns events per second.
async fn catch_up(app: &Application<AnySqlStore>, table: &str) -> f64 {
    let mut runner = ProjectionRunner::new(
        app.clone(),
        TrickCounts {
            table: table.to_owned(),
        },
    )
    .options(SubscriptionOptions {
        page_size: BATCH,
        ..SubscriptionOptions::default()
    });
    let started = Instant::now();
    let handled = runner.catch_up(|_| {}).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(handled as usize, DOGS * EVENTS_PER_DOG);
    let rows = app
        .store()
        .query_model(&format!("SELECT SUM(tricks) FROM {table}"), Vec::new())
        .await
        .unwrap();
    assert_eq!(
        rows[0][0].as_i64(),
        Some((DOGS * (EVENTS_PER_DOG - 1)) as i64)
    );
    handled as f64 / elapsed.as_secs_f64()
}

/// Save-to-projection latency over `SAVES` sequential one-event saves.
async fn latency(app: &Application<AnySqlStore>, table: &str) -> (Duration, Duration) {
    let mut runner = ProjectionRunner::new(
        app.clone(),
        TrickCounts {
            table: table.to_owned(),
        },
    )
    .options(SubscriptionOptions {
        poll_interval: Duration::from_secs(1),
        ..SubscriptionOptions::default()
    });
    let mut waiter = runner.waiter();
    let stopper = runner.stopper();
    let task = tokio::spawn(async move { runner.run().await });
    let mut dog = Dog::register("latency".into());
    let outcome = app.save(&mut dog).await.unwrap();
    assert!(
        waiter
            .wait_for(outcome.last_position.unwrap(), Duration::from_secs(60))
            .await
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut samples = Vec::with_capacity(SAVES);
    for s in 0..SAVES {
        dog.add_trick(format!("trick {s}"));
        let started = Instant::now();
        let outcome = app.save(&mut dog).await.unwrap();
        assert!(
            waiter
                .wait_for(outcome.last_position.unwrap(), Duration::from_secs(10))
                .await
        );
        samples.push(started.elapsed());
    }
    stopper.stop();
    task.await.unwrap().unwrap();
    samples.sort();
    (samples[SAVES / 2], samples[SAVES * 99 / 100])
}

fn report(store: &str, library: f64, baseline: f64, latency: (Duration, Duration)) {
    println!(
        "W6 {store:<8} catch-up {library:>9.0} events/s   baseline {baseline:>9.0} events/s   ratio {:.2}",
        library / baseline
    );
    println!(
        "W6 {store:<8} save -> projection latency: median {:.2} ms, p99 {:.2} ms ({SAVES} saves)",
        latency.0.as_secs_f64() * 1e3,
        latency.1.as_secs_f64() * 1e3
    );
}

/// The bare driver: the same writes per event, one transaction and one
/// tracking upsert per 1,000 events.
fn sqlite_baseline(path: &std::path::Path, ids: &[Uuid]) -> f64 {
    let mut connection = rusqlite::Connection::open(path).unwrap();
    let _: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .unwrap();
    connection
        .execute_batch(
            "PRAGMA synchronous = FULL;
             CREATE TABLE counts (dog TEXT PRIMARY KEY, name TEXT NOT NULL, tricks BIGINT NOT NULL);
             CREATE TABLE tracking (consumer TEXT PRIMARY KEY, position INTEGER NOT NULL);",
        )
        .unwrap();
    let events = events(ids);
    let started = Instant::now();
    for (batch, chunk) in events.chunks(BATCH).enumerate() {
        let transaction = connection.transaction().unwrap();
        {
            let mut insert = transaction
                .prepare_cached("INSERT INTO counts (dog, name, tricks) VALUES (?1, ?2, 0)")
                .unwrap();
            let mut update = transaction
                .prepare_cached("UPDATE counts SET tricks = tricks + 1 WHERE dog = ?1")
                .unwrap();
            for (dog, name) in chunk {
                match name {
                    Some(name) => insert.execute((dog, name)).unwrap(),
                    None => update.execute([dog]).unwrap(),
                };
            }
            transaction
                .execute(
                    "INSERT INTO tracking (consumer, position) VALUES ('w6', ?1)
                     ON CONFLICT (consumer) DO UPDATE SET position = excluded.position",
                    [((batch + 1) * BATCH) as i64],
                )
                .unwrap();
        }
        transaction.commit().unwrap();
    }
    events.len() as f64 / started.elapsed().as_secs_f64()
}

/// Per event: the dog's id as text, and its name for a registration.
fn events(ids: &[Uuid]) -> Vec<(String, Option<String>)> {
    let mut events = Vec::with_capacity(ids.len() * EVENTS_PER_DOG);
    for (d, id) in ids.iter().enumerate() {
        events.push((id.to_string(), Some(format!("dog {d}"))));
        for _ in 1..EVENTS_PER_DOG {
            events.push((id.to_string(), None));
        }
    }
    events
}

async fn sqlite() {
    let directory = std::env::temp_dir().join(format!("chronicle-bench-w6-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&directory).unwrap();
    let store: AnySqlStore = chronicle_es::store::SqliteStore::open(directory.join("events.db"))
        .await
        .unwrap()
        .into();
    create_table(&store, "trick_counts").await;
    let app = Application::new(store);
    let ids = fill(&app).await;
    let library = catch_up(&app, "trick_counts").await;
    let baseline =
        tokio::task::block_in_place(|| sqlite_baseline(&directory.join("baseline.db"), &ids));
    let latency = latency(&app, "trick_counts").await;
    report("sqlite", library, baseline, latency);
    drop(app);
    let _ = std::fs::remove_dir_all(directory);
}

#[cfg(feature = "postgres")]
async fn postgres() {
    use chronicle_es::store::tokio_postgres::{self, NoTls};

    let Some(url) = [
        "CHRONICLE_BENCH_POSTGRES_URL",
        "CHRONICLE_TEST_POSTGRES_URL",
    ]
    .into_iter()
    .find_map(|name| std::env::var(name).ok().filter(|url| !url.is_empty())) else {
        println!("W6 postgres: skipped (set CHRONICLE_BENCH_POSTGRES_URL or CHRONICLE_TEST_POSTGRES_URL)");
        return;
    };
    let schema = format!("chronicle_bench_w6_{}", Uuid::new_v4().simple());
    let store: AnySqlStore = chronicle_es::store::PostgresStore::connect(&url, &schema)
        .await
        .unwrap()
        .into();
    let table = format!("{schema}.trick_counts");
    create_table(&store, &table).await;
    let app = Application::new(store);
    let ids = fill(&app).await;
    let library = catch_up(&app, &table).await;

    let (mut client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
        .batch_execute(&format!(
            "CREATE TABLE {schema}.counts (dog TEXT PRIMARY KEY, name TEXT NOT NULL, tricks BIGINT NOT NULL);
             CREATE TABLE {schema}.w6_tracking (consumer TEXT PRIMARY KEY, position BIGINT NOT NULL);"
        ))
        .await
        .unwrap();
    let insert = client
        .prepare(&format!(
            "INSERT INTO {schema}.counts (dog, name, tricks) VALUES ($1, $2, 0)"
        ))
        .await
        .unwrap();
    let update = client
        .prepare(&format!(
            "UPDATE {schema}.counts SET tricks = tricks + 1 WHERE dog = $1"
        ))
        .await
        .unwrap();
    let track = client
        .prepare(&format!(
            "INSERT INTO {schema}.w6_tracking (consumer, position) VALUES ('w6', $1)
             ON CONFLICT (consumer) DO UPDATE SET position = excluded.position"
        ))
        .await
        .unwrap();
    let events = events(&ids);
    let started = Instant::now();
    for (batch, chunk) in events.chunks(BATCH).enumerate() {
        let transaction = client.transaction().await.unwrap();
        for (dog, name) in chunk {
            match name {
                Some(name) => transaction.execute(&insert, &[dog, name]).await.unwrap(),
                None => transaction.execute(&update, &[dog]).await.unwrap(),
            };
        }
        transaction
            .execute(&track, &[&(((batch + 1) * BATCH) as i64)])
            .await
            .unwrap();
        transaction.commit().await.unwrap();
    }
    let baseline = events.len() as f64 / started.elapsed().as_secs_f64();
    let latency = latency(&app, &table).await;
    report("postgres", library, baseline, latency);
    drop(app);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "W6: projection catch-up over {} events (pages of {BATCH}), and save -> projection latency",
        DOGS * EVENTS_PER_DOG
    );
    runtime.block_on(sqlite());
    #[cfg(feature = "postgres")]
    runtime.block_on(postgres());
}
