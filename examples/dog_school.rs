//! The DogSchool from Python eventsourcing's README, in Rust.
//!
//! Registers dogs, teaches them tricks, reads them back, shows a rejected
//! command, a concurrency conflict between two copies of one dog, a temporal
//! query, a snapshot, a versioned event and the application's event log.
//!
//! Run with `cargo run --example dog_school`. The events go to a SQLite file,
//! `dog_school.db` in the working directory, unless `CHRONICLE_STORE_URL`
//! names another store (`memory:`, `sqlite://path`, `postgres://...`).

use chronicle_es::prelude::*;
use chronicle_es::store::AnyStore;
use chronicle_es::upcast::{json, Value};
use serde::{Deserialize, Serialize};

/// A dog at the school. Snapshots every 10 events keep loading fast.
#[aggregate(snapshot_every = 10)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dog {
    name: String,
    tricks: Vec<String>,
    /// The sum of the difficulties of the tricks learnt.
    skill: u32,
}

#[aggregate]
impl Dog {
    /// Registers a new dog.
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            tricks: Vec::new(),
            skill: 0,
        }
    }

    /// Records that the dog learnt a trick. Infallible: validation happens in
    /// [`Dog::teach`], before the event exists. Version 2 of the event added
    /// the trick's difficulty.
    #[event("TrickAdded", version = 2)]
    fn add_trick(&mut self, trick: String, difficulty: u8) {
        self.tricks.push(trick);
        self.skill += u32::from(difficulty);
    }

    /// Tricks recorded before difficulties existed were all easy ones.
    #[upcast("TrickAdded", from = 1)]
    fn trick_added_v1(mut payload: Value) -> Value {
        payload["difficulty"] = json!(1);
        payload
    }

    /// The command: rejects a trick the dog already knows, recording nothing.
    pub fn teach(&mut self, trick: &str, difficulty: u8) -> Result<(), SchoolError> {
        if trick.trim().is_empty() {
            return Err(SchoolError::EmptyTrick);
        }
        if self.tricks.iter().any(|known| known == trick) {
            return Err(SchoolError::AlreadyKnown {
                dog: self.name.clone(),
                trick: trick.to_owned(),
            });
        }
        self.add_trick(trick.to_owned(), difficulty);
        Ok(())
    }

    /// The dog's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tricks it knows, in the order it learnt them.
    pub fn tricks(&self) -> &[String] {
        &self.tricks
    }

    /// The sum of the difficulties of its tricks.
    pub fn skill(&self) -> u32 {
        self.skill
    }
}

/// Why the school refused a command.
#[derive(Debug)]
pub enum SchoolError {
    /// The trick has no name.
    EmptyTrick,
    /// The dog knows it already.
    AlreadyKnown {
        /// The dog's name.
        dog: String,
        /// The trick.
        trick: String,
    },
}

impl std::fmt::Display for SchoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchoolError::EmptyTrick => write!(f, "a trick needs a name"),
            SchoolError::AlreadyKnown { dog, trick } => write!(f, "{dog} already knows {trick:?}"),
        }
    }
}

impl std::error::Error for SchoolError {}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The library's spans and events, filtered by RUST_LOG
    // (`RUST_LOG=chronicle=debug`); nothing is printed without it.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let store = AnyStore::from_env_or("sqlite://dog_school.db").await?;
    println!("store: {}", store.kind());
    let app = Application::new(store);
    let log_start = app.last_position().await?;

    // Register two dogs and teach them tricks; one save stores both atomically.
    let mut fido = Dog::register("Fido".into());
    let mut buster = Dog::register("Buster".into());
    fido.teach("roll over", 2)?;
    fido.teach("play dead", 3)?;
    buster.teach("fetch", 1)?;
    println!(
        "registered {} (version {}, {} pending events) and {} (version {})",
        fido.name(),
        fido.version(),
        fido.pending_events().len(),
        buster.name(),
        buster.version()
    );
    app.save((&mut fido, &mut buster)).await?;

    // Read them back.
    let copy: Dog = app.repository().get(fido.id()).await?;
    println!(
        "{} knows {:?} at version {}",
        copy.name(),
        copy.tricks(),
        copy.version()
    );
    assert_eq!(copy, fido);

    // A rejected command records nothing and changes nothing.
    let before = fido.clone();
    match fido.teach("roll over", 2) {
        Err(error) => println!("rejected: {error}"),
        Ok(()) => return Err("teaching a known trick should be rejected".into()),
    }
    assert_eq!(fido, before);
    assert!(fido.pending_events().is_empty());

    // Two copies of one dog: the second save loses and writes nothing.
    let mut first: Dog = app.get(buster.id()).await?;
    let mut second: Dog = app.get(buster.id()).await?;
    first.teach("sit", 1)?;
    second.teach("beg", 2)?;
    app.save(&mut first).await?;
    match app.save(&mut second).await {
        Err(error @ Error::Conflict { .. }) => println!("conflict: {error}"),
        other => return Err(format!("expected a conflict, got {other:?}").into()),
    }
    let buster: Dog = app.get(buster.id()).await?;
    println!("{} knows {:?}", buster.name(), buster.tricks());

    // A temporal query: Fido as he was at version 2.
    let earlier: Dog = app.repository().get_at(fido.id(), 2).await?;
    println!(
        "at version 2, {} knew {:?} (modified {})",
        earlier.name(),
        earlier.tricks(),
        earlier.modified_on()
    );

    // A snapshot on demand (they are also taken every 10 events): loading
    // starts from it and replays only later events.
    let version = app.take_snapshot::<Dog>(fido.id()).await?;
    fido.teach("shake hands", 2)?;
    app.save(&mut fido).await?;
    let fido: Dog = app.get(fido.id()).await?;
    println!(
        "snapshot of {} at version {version}; loaded at version {} with skill {}",
        fido.name(),
        fido.version(),
        fido.skill()
    );

    // The application's event log, in order: this run's part of it. Each
    // record keeps its schema version; version 1 records (from older runs)
    // are upcast when they load.
    println!("event log:");
    for record in app.read_log(LogQuery::after(log_start, 100)).await? {
        println!(
            "  #{} {} v{} {} (schema {}) {}",
            record.position,
            record.stream_id,
            record.version,
            record.event_type,
            record.schema_version,
            String::from_utf8_lossy(&record.payload)
        );
    }
    Ok(())
}

/// The school's rules, tested by events: given what happened, when a command
/// runs, then exactly these events are recorded, or the command is refused
/// and records nothing. No store is involved.
#[cfg(test)]
mod tests {
    use super::*;
    use chronicle_es::testing::{given, given_created, given_no_events};

    fn registered(name: &str) -> DogEvent {
        DogEvent::Registered { name: name.into() }
    }

    fn trick_added(trick: &str, difficulty: u8) -> DogEvent {
        DogEvent::TrickAdded {
            trick: trick.into(),
            difficulty,
        }
    }

    #[test]
    fn registering_a_dog_records_its_name() {
        let fido = given_no_events::<Dog>()
            .when_created(|| Dog::register("Fido".into()))
            .then([registered("Fido")]);
        assert_eq!((fido.name(), fido.skill()), ("Fido", 0));
    }

    #[test]
    fn a_new_trick_is_recorded_with_its_difficulty() {
        let fido = given::<Dog>([registered("Fido"), trick_added("sit", 1)])
            .when(|dog| dog.teach("roll over", 2))
            .then([trick_added("roll over", 2)]);
        assert_eq!(fido.tricks(), ["sit", "roll over"]);
        assert_eq!(fido.skill(), 3);
    }

    #[test]
    fn a_known_trick_is_refused() {
        given_created(|| Dog::register("Fido".into()))
            .and([trick_added("sit", 1)])
            .when(|dog| dog.teach("sit", 1))
            .then_error_message("Fido already knows \"sit\"");
    }

    #[test]
    fn a_trick_needs_a_name() {
        given::<Dog>([registered("Fido")])
            .when(|dog| dog.teach("  ", 1))
            .then_error_matching(|error| matches!(error, SchoolError::EmptyTrick));
    }
}
