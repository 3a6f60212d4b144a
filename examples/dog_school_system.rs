//! The DogSchool as a system: the dogs application, a projection that counts
//! tricks per dog into a table of the same database, and a process
//! application that awards a badge to every dog that learns three tricks.
//!
//! Run with `cargo run --example dog_school_system`. It uses a SQLite file,
//! `dog_school_system.db`, unless `CHRONICLE_STORE_URL` names another store
//! (`postgres://...` for PostgreSQL). Run it twice: the second run resumes
//! from the tracked positions and handles only the new events.

use chronicle_es::prelude::*;
use chronicle_es::store::AnySqlStore;
use chronicle_es::{
    Codec, HandlerError, ModelWrites, Policy, ProcessContext, ProcessRunner, ProcessStore,
    Projection, ProjectionRunner, SqlValue, System,
};

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

/// A badge for a dog that knows three tricks; one per dog (its id derives
/// from the dog's).
#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Badge {
    dog: Uuid,
}

const BADGES: Uuid = Uuid::from_u128(0xbad6_e5c4_0000_4000_8000_0000_0000_0001);

#[aggregate]
impl Badge {
    #[event("BadgeAwarded", id = Uuid::new_v5(&BADGES, dog.as_bytes()))]
    pub fn award(dog: Uuid) -> Self {
        Self { dog }
    }
}

/// Tricks per dog, in the `trick_counts` table. Each statement commits with
/// the projection's tracking record, so each event counts exactly once.
struct TrickCounts;

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
                "INSERT INTO trick_counts (dog, name, tricks) VALUES ($1, $2, 0)
                 ON CONFLICT (dog) DO NOTHING",
                vec![event.stream_id.into(), name.as_str().into()],
            ),
            DogEvent::TrickAdded { .. } => writes.execute(
                "UPDATE trick_counts SET tricks = tricks + 1 WHERE dog = $1",
                [event.stream_id],
            ),
        };
        Ok(())
    }

    fn reset(&mut self, writes: &mut ModelWrites) {
        writes.execute("DELETE FROM trick_counts", Vec::<SqlValue>::new());
    }
}

/// Awards a badge when a dog's fourth event (its third trick) is recorded.
struct BadgePolicy;

impl Policy for BadgePolicy {
    type Event = DogEvent;

    fn name(&self) -> &str {
        "badges"
    }

    async fn react<S: ProcessStore, C: Codec>(
        &self,
        event: &Envelope<DogEvent>,
        process: &mut ProcessContext<'_, S, C>,
    ) -> Result<(), HandlerError> {
        if matches!(event.event, DogEvent::TrickAdded { .. }) && event.version == 4 {
            let mut badge = Badge::award(event.stream_id);
            process.save(&mut badge)?;
            println!("  badge awarded to {}", event.stream_id);
        }
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The library's spans and events, filtered by RUST_LOG
    // (`RUST_LOG=chronicle=debug`); nothing is printed without it.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let store = AnySqlStore::from_env_or("sqlite://dog_school_system.db").await?;
    println!("store: {}", store.kind());
    store
        .query_model(
            "CREATE TABLE IF NOT EXISTS trick_counts (dog TEXT PRIMARY KEY, name TEXT NOT NULL, tricks BIGINT NOT NULL)",
            Vec::new(),
        )
        .await?;
    let app = Application::new(store);

    // Declared once: the badges process and the counts projection follow the
    // dogs application (badges are saved in the same store).
    let system = System::new()
        .with(ProcessRunner::new(app.clone(), app.clone(), BadgePolicy))
        .with(ProjectionRunner::new(app.clone(), TrickCounts));
    let mut counts = system.waiter("trick_counts").ok_or("no projection")?;
    let mut badges = system.waiter("badges").ok_or("no process")?;
    let running = system.start();

    let run = app.last_position().await?;
    for (name, tricks) in [("Fido", 3), ("Buster", 1), ("Rex", 4)] {
        let mut dog = Dog::register(format!("{name} ({run})"));
        for t in 0..tricks {
            dog.add_trick(format!("trick {t}"));
        }
        app.save(&mut dog).await?;
    }
    let end = app.last_position().await?;
    let timeout = std::time::Duration::from_secs(10);
    if !counts.wait_for(end, timeout).await || !badges.wait_for(end, timeout).await {
        return Err("the system did not catch up in time".into());
    }
    if let Some(error) = running.stop().await.into_iter().next() {
        return Err(error.into());
    }

    println!("tricks per dog:");
    let rows = app
        .store()
        .query_model(
            "SELECT name, tricks FROM trick_counts ORDER BY name",
            Vec::new(),
        )
        .await?;
    for row in rows {
        if let [SqlValue::Text(name), SqlValue::Integer(tricks)] = row.as_slice() {
            println!("  {name}: {tricks}");
        }
    }
    let awarded = app
        .read_log(LogQuery::after(0, 10_000).event_types(["BadgeAwarded"]))
        .await?;
    println!("badges awarded so far: {}", awarded.len());
    Ok(())
}
