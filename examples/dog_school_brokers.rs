//! Two services connected by a broker: the DogSchool publishes its events to
//! NATS JetStream, and a separate "notifications" service, with a store of
//! its own, consumes them and keeps its own read model (a SQL table of
//! dogs and their tricks), each event taking effect once.
//!
//! Run with `cargo run --example dog_school_brokers --features nats`
//! against a NATS server with JetStream at `CHRONICLE_TEST_NATS_URL`
//! (default `nats://127.0.0.1:4222`). Each run uses a JetStream stream of
//! its own and deletes it at the end.

use std::time::{Duration, Instant};

use chronicle_es::broker::{Inbound, JetStream, Publisher, Routing};
use chronicle_es::prelude::*;
use chronicle_es::store::SqliteStore;
use chronicle_es::{HandlerError, ModelWrites, Projection, SqlValue, System};

/// The DogSchool's aggregate. The notifications service shares its event
/// type (in a real system, a crate of event types both depend on).
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

/// The notifications service's read model: one row per dog, its latest
/// trick. Its statements commit with the consumer's dedupe record.
struct LatestTricks;

impl Projection for LatestTricks {
    type Event = DogEvent;
    type Writes = ModelWrites;

    fn name(&self) -> &str {
        "latest_tricks"
    }

    fn handle(
        &mut self,
        event: &Envelope<DogEvent>,
        writes: &mut ModelWrites,
    ) -> Result<(), HandlerError> {
        match &event.event {
            DogEvent::Registered { name } => writes.execute_values(
                "INSERT INTO latest_tricks (dog, name, trick) VALUES ($1, $2, NULL)",
                vec![event.stream_id.into(), name.as_str().into()],
            ),
            DogEvent::TrickAdded { trick } => writes.execute_values(
                "UPDATE latest_tricks SET trick = $2 WHERE dog = $1",
                vec![event.stream_id.into(), trick.as_str().into()],
            ),
        };
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CHRONICLE_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let run = Uuid::new_v4().simple().to_string();
    let (stream, prefix) = (format!("DOGS_{run}"), format!("dogs{run}"));
    let broker = JetStream::new(&url, &stream, [format!("{prefix}.>")]);

    // The DogSchool service: its application, and its publisher.
    let dog_school = Application::in_memory();
    let publisher = Publisher::new("dog-events", dog_school.clone(), broker.clone())
        .routing(Routing::by_type(&prefix))
        .source("urn:dog-school");

    // The notifications service: its own store and read model, fed from
    // the broker.
    let store = SqliteStore::in_memory().await?;
    store
        .query_model(
            "CREATE TABLE latest_tricks (dog TEXT PRIMARY KEY, name TEXT NOT NULL, trick TEXT)",
            Vec::new(),
        )
        .await?;
    let notifications = Application::new(store.clone());
    let consumer = Inbound::projection(
        "notifications",
        broker.consumer("notifications"),
        notifications,
        LatestTricks,
    )
    .on_dead_letter(|letter| eprintln!("dead letter: {}", letter.reason));

    let system = System::new().with(publisher).with(consumer).start();
    for (name, tricks) in [
        ("Fido", ["roll over", "play dead"]),
        ("Rex", ["sit", "fetch"]),
    ] {
        let mut dog = Dog::register(name.to_owned());
        dog_school.save(&mut dog).await?;
        for trick in tricks {
            dog.add_trick(trick.to_owned());
            dog_school.save(&mut dog).await?;
        }
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    let rows = loop {
        let rows = store
            .query_model(
                "SELECT name, trick FROM latest_tricks WHERE trick IS NOT NULL AND trick IN ('play dead', 'fetch') ORDER BY name",
                Vec::new(),
            )
            .await?;
        if rows.len() == 2 || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for error in system.stop().await {
        eprintln!("stopped with: {error}");
    }
    println!("notifications read model (fed through NATS JetStream):");
    for row in &rows {
        if let [SqlValue::Text(name), SqlValue::Text(trick)] = row.as_slice() {
            println!("  {name}: latest trick {trick}");
        }
    }
    delete_stream(&url, &stream).await;
    if rows.len() != 2 {
        return Err("the notifications service did not receive every event in time".into());
    }
    Ok(())
}

/// Removes this run's streams (the events' and the dead letters').
async fn delete_stream(url: &str, stream: &str) {
    if let Ok(client) = async_nats::connect(url).await {
        let context = async_nats::jetstream::new(client);
        for name in [stream.to_owned(), format!("{stream}_notifications_DEAD")] {
            let _ = context.delete_stream(&name).await;
        }
    }
}
