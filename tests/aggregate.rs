//! The DSL end to end on the in-memory application.

use chronicle_es::prelude::*;
use chronicle_es::store::{MemoryStore, StoreError};
use chronicle_es::ApplyError;

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

    #[event]
    fn rename(&mut self, new_name: String) {
        self.name = new_name;
    }

    /// A command: validates, then records an event only when valid.
    pub fn teach(&mut self, trick: &str) -> Result<(), String> {
        if self.tricks.iter().any(|known| known == trick) {
            return Err(format!("{} already knows {trick}", self.name));
        }
        self.add_trick(trick.to_owned());
        Ok(())
    }

    pub fn change_name(&mut self, name: String) {
        self.rename(name)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tricks(&self) -> &[String] {
        &self.tricks
    }
}

#[tokio::test]
async fn synopsis() -> Result<(), Error> {
    let app = Application::in_memory();
    let mut dog = Dog::register("Fido".into());
    assert_eq!(dog.version(), 1);
    assert_eq!(dog.pending_events().len(), 1);
    dog.add_trick("roll over".into());
    assert_eq!(dog.version(), 2);
    assert_eq!(dog.pending_events().len(), 2);
    app.save(&mut dog).await?;
    assert!(dog.pending_events().is_empty());
    let copy: Dog = app.repository().get(dog.id()).await?;
    assert_eq!(copy.tricks(), ["roll over"]);
    assert_eq!(copy, dog);
    Ok(())
}

#[test]
fn events_record_arguments_by_name_and_run_bodies() {
    let mut dog = Dog::register("Fido".into());
    dog.add_trick("sit".into());
    dog.change_name("Rex".into());
    assert_eq!(dog.name(), "Rex");
    let events = dog.collect_events();
    assert!(dog.pending_events().is_empty());
    let kinds: Vec<_> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(kinds, ["Registered", "TrickAdded", "Rename"]);
    assert_eq!(
        events[1].event,
        DogEvent::TrickAdded {
            trick: "sit".into()
        }
    );
    assert_eq!(
        events[2].event,
        DogEvent::Rename {
            new_name: "Rex".into()
        }
    );
    let versions: Vec<_> = events.iter().map(|e| e.version).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert!(events.iter().all(|e| e.stream_id == dog.id()));
    assert_eq!(dog.created_on(), events[0].timestamp);
    assert_eq!(dog.modified_on(), events[2].timestamp);
    assert!(dog.modified_on() >= dog.created_on());
    assert_eq!(
        <DogEvent as DomainEvent>::EVENT_TYPES,
        ["Registered", "TrickAdded", "Rename"]
    );
}

#[test]
fn a_rejected_command_records_nothing_and_changes_nothing() {
    let mut dog = Dog::register("Fido".into());
    dog.teach("sit").unwrap();
    let before = dog.clone();
    let error = dog.teach("sit").unwrap_err();
    assert_eq!(error, "Fido already knows sit");
    assert_eq!(dog, before);
    assert_eq!(dog.pending_events().len(), 2);
    assert_eq!(dog.version(), 2);
}

#[tokio::test]
async fn replay_equals_the_original() -> Result<(), Error> {
    let app = Application::in_memory();
    let mut dog = Dog::register("Fido".into());
    for trick in ["sit", "stay", "roll over"] {
        dog.add_trick(trick.into());
    }
    dog.change_name("Rex".into());
    app.save(&mut dog).await?;
    let copy: Dog = app.get(dog.id()).await?;
    assert_eq!(copy, dog);
    assert_eq!(copy.version(), 5);
    assert_eq!(copy.created_on(), dog.created_on());
    assert_eq!(copy.modified_on(), dog.modified_on());
    Ok(())
}

#[tokio::test]
async fn temporal_query_and_version_errors() -> Result<(), Error> {
    let app = Application::in_memory();
    let mut dog = Dog::register("Fido".into());
    dog.add_trick("sit".into());
    dog.add_trick("stay".into());
    app.save(&mut dog).await?;
    let repo = app.repository();
    let v2: Dog = repo.get_at(dog.id(), 2).await?;
    assert_eq!(v2.tricks(), ["sit"]);
    assert_eq!(v2.version(), 2);
    match repo.get_at::<Dog>(dog.id(), 9).await {
        Err(Error::VersionNotFound {
            requested: 9,
            latest: 3,
            ..
        }) => {}
        other => panic!("expected VersionNotFound, got {other:?}"),
    }
    let unknown = Uuid::new_v4();
    match repo.get::<Dog>(unknown).await {
        Err(Error::NotFound {
            aggregate: "Dog",
            id,
        }) if id == unknown => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn concurrent_copies_conflict_and_nothing_is_written() -> Result<(), Error> {
    let app = Application::in_memory();
    let mut dog = Dog::register("Fido".into());
    app.save(&mut dog).await?;
    let mut first: Dog = app.get(dog.id()).await?;
    let mut second: Dog = app.get(dog.id()).await?;
    first.add_trick("sit".into());
    second.add_trick("stay".into());
    app.save(&mut first).await?;
    let error = app.save(&mut second).await.unwrap_err();
    match &error {
        Error::Conflict {
            stream_id,
            expected: 1,
            actual: 2,
        } if *stream_id == dog.id() => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(error.is_conflict());
    assert_eq!(
        second.pending_events().len(),
        1,
        "a failed save keeps pending events"
    );
    let stored: Dog = app.get(dog.id()).await?;
    assert_eq!(stored.tricks(), ["sit"]);
    Ok(())
}

#[tokio::test]
async fn several_aggregates_save_atomically() -> Result<(), Error> {
    let app = Application::in_memory();
    let mut fido = Dog::register("Fido".into());
    let mut rex = Dog::register("Rex".into());
    app.save((&mut fido, &mut rex)).await?;
    assert_eq!(app.last_position().await?, 2);

    // A stale copy of Rex makes the whole save fail: Fido's new event is not written.
    let mut stale_rex: Dog = app.get(rex.id()).await?;
    rex.add_trick("sit".into());
    app.save(&mut rex).await?;
    fido.add_trick("stay".into());
    stale_rex.add_trick("beg".into());
    let error = app.save((&mut fido, &mut stale_rex)).await.unwrap_err();
    assert!(error.is_conflict());
    let stored_fido: Dog = app.get(fido.id()).await?;
    assert!(stored_fido.tricks().is_empty());
    assert_eq!(app.last_position().await?, 3);

    let mut dogs = vec![Dog::register("A".into()), Dog::register("B".into())];
    app.save(&mut dogs).await?;
    assert!(dogs.iter().all(|d| d.pending_events().is_empty()));
    assert_eq!(app.last_position().await?, 5);
    Ok(())
}

#[tokio::test]
async fn the_log_reads_in_order_with_filters() -> Result<(), Error> {
    let app = Application::in_memory();
    let mut dog = Dog::register("Fido".into());
    dog.add_trick("sit".into());
    dog.add_trick("stay".into());
    app.save(&mut dog).await?;
    let all = app.read_log(LogQuery::after(0, 10)).await?;
    let positions: Vec<_> = all.iter().map(|e| e.position).collect();
    assert_eq!(positions, [1, 2, 3]);
    let tricks = app
        .read_log(LogQuery::after(1, 10).event_types(["TrickAdded"]))
        .await?;
    assert_eq!(tricks.len(), 2);
    let decoded = app.decode::<DogEvent>(&tricks[0]).await?;
    assert_eq!(
        decoded.event,
        DogEvent::TrickAdded {
            trick: "sit".into()
        }
    );
    assert_eq!(
        std::str::from_utf8(&tricks[1].payload).unwrap(),
        r#"{"trick":"stay"}"#
    );
    Ok(())
}

#[tokio::test]
async fn undecodable_records_name_stream_version_and_type() -> Result<(), Error> {
    use chronicle_es::store::{AppendRequest, NewEvent, StreamAppend};
    let store = MemoryStore::new();
    let id = Uuid::new_v4();
    let event = |event_type: &str, payload: &[u8]| NewEvent {
        event_id: Uuid::new_v4(),
        aggregate_type: "Dog".into(),
        event_type: event_type.into(),
        schema_version: 1,
        timestamp: Timestamp::now(),
        metadata: Metadata::default(),
        payload: payload.to_vec(),
        chain_hash: None,
    };
    store
        .append(AppendRequest {
            streams: vec![StreamAppend {
                stream_id: id,
                expected_version: 0,
                events: vec![
                    event("Registered", br#"{"name":"Fido"}"#),
                    event("TrickAdded", b"{not json"),
                ],
            }],
        })
        .await?;
    let app = Application::new(store);
    match app.get::<Dog>(id).await {
        Err(Error::Decode {
            stream_id,
            version: 2,
            event_type,
            ..
        }) if stream_id == id && event_type == "TrickAdded" => {}
        other => panic!("expected a decode error, got {other:?}"),
    }

    let other = Uuid::new_v4();
    app.store()
        .append(AppendRequest {
            streams: vec![StreamAppend {
                stream_id: other,
                expected_version: 0,
                events: vec![event("Vanished", b"{}")],
            }],
        })
        .await?;
    let error = app.get::<Dog>(other).await.unwrap_err();
    assert!(
        error.to_string().contains("unknown event type `Vanished`"),
        "{error}"
    );

    let third = Uuid::new_v4();
    app.store()
        .append(AppendRequest {
            streams: vec![StreamAppend {
                stream_id: third,
                expected_version: 0,
                events: vec![event("TrickAdded", br#"{"trick":"sit"}"#)],
            }],
        })
        .await?;
    match app.get::<Dog>(third).await {
        Err(Error::Replay {
            version: 1,
            source:
                ApplyError::NotACreationEvent {
                    event_type: "TrickAdded",
                },
            ..
        }) => {}
        other => panic!("expected a replay error, got {other:?}"),
    }
    let _ = StoreError::InvalidRequest(String::new());
    Ok(())
}

/// A school whose id derives from its name, like Python's `create_id`.
#[aggregate]
#[derive(Debug)]
pub struct School {
    name: String,
    pupils: u32,
}

const SCHOOLS: Uuid = Uuid::from_u128(0x5c40_01c0_ffee_4000_8000_0000_0000_0001);

#[aggregate]
impl School {
    #[event("Opened", id = Uuid::new_v5(&SCHOOLS, name.as_bytes()))]
    pub fn open(name: String) -> Self {
        Self { name, pupils: 0 }
    }

    #[event]
    fn enrol(&mut self) {
        self.pupils += 1;
    }

    pub fn enrol_pupil(&mut self) {
        self.enrol();
    }
}

#[tokio::test]
async fn ids_can_derive_from_creation_arguments() -> Result<(), Error> {
    let school = School::open("Canine Academy".into());
    let again = School::open("Canine Academy".into());
    let other = School::open("Puppy Prep".into());
    assert_eq!(school.id(), again.id());
    assert_ne!(school.id(), other.id());
    assert_eq!(school.id(), Uuid::new_v5(&SCHOOLS, b"Canine Academy"));
    assert_eq!(school.name, "Canine Academy");
    Ok(())
}

#[tokio::test]
async fn aggregates_of_different_types_save_together_with_metadata() -> Result<(), Error> {
    let app = Application::in_memory();
    let mut school = School::open("Canine Academy".into());
    school.enrol_pupil();
    let mut dog = Dog::register("Fido".into());
    let correlation = Uuid::new_v4();
    let metadata = Metadata::new()
        .with_correlation_id(correlation)
        .with("user", "alice");
    app.save_with((&mut school, &mut dog), &metadata).await?;
    let log = app.read_log(LogQuery::after(0, 10)).await?;
    assert_eq!(log.len(), 3);
    assert!(log
        .iter()
        .all(|e| e.metadata.correlation_id == Some(correlation)
            && e.metadata.extra.get("user").map(String::as_str) == Some("alice")));
    let loaded: School = app.get(school.id()).await?;
    assert_eq!(loaded.pupils, 1);
    assert_eq!(loaded.version(), 2);
    // Saving again is a no-op: nothing pending.
    let outcome = app.save(&mut school).await?;
    assert!(!outcome.written);
    assert_eq!(app.last_position().await?, 3);
    Ok(())
}
