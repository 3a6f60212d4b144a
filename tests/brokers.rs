//! Publishing the log to NATS JetStream and RabbitMQ, and consuming it in
//! another application: 10,000 events end to end on each broker (each takes
//! effect once, in stream order, with CloudEvents headers), and the faults:
//! a broker down when the publisher starts, a broker killed (own
//! `nats-server`) or its connections closed (RabbitMQ, in a virtual host of
//! the test's own) mid-stream, a publisher that dies after publishing and
//! before recording its position, and messages the consumer cannot read.
//!
//! The servers come from `CHRONICLE_TEST_NATS_URL` and
//! `CHRONICLE_TEST_AMQP_URL` (see `tests/common/brokers.rs`): unset, these
//! tests skip, except in CI, where they fail.
#![cfg(any(feature = "nats", feature = "rabbitmq"))]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chronicle_es::broker::{Broker, DeadLetter, Inbound, Publisher, Routing, Source};
use chronicle_es::prelude::*;
use chronicle_es::store::{MemoryStore, StoredEvent};
use chronicle_es::{Follower, HandlerError, Projection, RunnerError, System};
use common::dogs::{Badge, BadgePolicy, Dog, DogEvent};

/// Every event the consumer's projection handled, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Envelope<DogEvent>>>>);

impl Seen {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn all(&self) -> Vec<Envelope<DogEvent>> {
        self.0.lock().unwrap().clone()
    }
}

/// The "notifications" service's projection: records what it handles.
struct Recorder(Seen);

impl Projection for Recorder {
    type Event = DogEvent;
    type Writes = ();

    fn name(&self) -> &str {
        "recorder"
    }

    fn handle(&mut self, event: &Envelope<DogEvent>, (): &mut ()) -> Result<(), HandlerError> {
        self.0 .0.lock().unwrap().push(event.clone());
        Ok(())
    }
}

/// A consumer application (in memory: its dedupe records live there too)
/// and its inbound consumer feeding a [`Recorder`].
fn consumer(source: impl Source) -> (Inbound, Seen, Arc<Mutex<Vec<DeadLetter>>>) {
    let seen = Seen::default();
    let dead = Arc::new(Mutex::new(Vec::new()));
    let reported = dead.clone();
    let inbound = Inbound::projection(
        "notifications",
        source,
        Application::new(MemoryStore::new()),
        Recorder(seen.clone()),
    )
    .on_dead_letter(move |letter| reported.lock().unwrap().push(letter.clone()));
    (inbound, seen, dead)
}

/// Saves `dogs` dogs with `per_dog` events each, one event per save, the
/// dogs interleaved (so that every page of the log holds many streams).
async fn save_dogs(app: &Application<MemoryStore>, dogs: usize, per_dog: usize) {
    let mut all: Vec<Dog> = Vec::with_capacity(dogs);
    for n in 0..dogs {
        let mut dog = Dog::register(format!("dog {n}"));
        app.save_with(&mut dog, &Metadata::new().with("tenant", "north"))
            .await
            .unwrap();
        all.push(dog);
    }
    for trick in 1..per_dog {
        for dog in &mut all {
            dog.add_trick(format!("trick {trick}"));
            app.save(&mut *dog).await.unwrap();
        }
    }
}

async fn whole_log(app: &Application<MemoryStore>) -> Vec<StoredEvent> {
    app.read_log(LogQuery::after(0, usize::MAX)).await.unwrap()
}

/// Waits until `seen` holds `count` events, or panics naming what it holds.
async fn wait_for_seen(seen: &Seen, count: usize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while seen.len() < count {
        assert!(
            Instant::now() < deadline,
            "the consumer handled {} of {count} events in {timeout:?}",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The consumer handled each logged event exactly once, each stream in
/// version order, with the envelope the log holds.
async fn assert_exactly_once_in_order(app: &Application<MemoryStore>, seen: &Seen) {
    let log = whole_log(app).await;
    let seen = seen.all();
    assert_eq!(seen.len(), log.len(), "each event handled exactly once");
    let logged: HashMap<Uuid, &StoredEvent> = log.iter().map(|e| (e.event_id, e)).collect();
    let mut versions: HashMap<Uuid, u64> = HashMap::new();
    for envelope in &seen {
        let stored = logged
            .get(&envelope.event_id)
            .unwrap_or_else(|| panic!("handled an event not in the log: {envelope:?}"));
        assert_eq!(
            (envelope.stream_id, envelope.version, envelope.timestamp),
            (stored.stream_id, stored.version, stored.timestamp)
        );
        assert_eq!(envelope.metadata, stored.metadata);
        let last = versions.entry(envelope.stream_id).or_default();
        assert_eq!(
            envelope.version,
            *last + 1,
            "stream {} out of order",
            envelope.stream_id
        );
        *last = envelope.version;
    }
}

const LONG: Duration = Duration::from_secs(180);

/// 10,000 events published by a running system and consumed by another:
/// each takes effect once, in order, and both stop cleanly.
async fn end_to_end<B: Broker>(broker: B, routing: Routing, source: impl Source) {
    let app = Application::in_memory();
    let (mut inbound, seen, dead) = consumer(source);
    // Declares the consumer's queue or JetStream consumer before anything
    // is published.
    assert_eq!(inbound.catch_up_now().await.unwrap(), 0);
    save_dogs(&app, 500, 20).await;
    let end = app.last_position().await.unwrap();
    assert_eq!(end, 10_000);
    let publisher = Publisher::new("dog-events", app.clone(), broker)
        .routing(routing)
        .source("urn:dog-school");
    let mut published = publisher.waiter();
    let system = System::new().with(publisher).with(inbound).start();
    assert!(published.wait_for(end, LONG).await, "not all published");
    wait_for_seen(&seen, 10_000, LONG).await;
    let errors = system.stop().await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_exactly_once_in_order(&app, &seen).await;
    assert!(dead.lock().unwrap().is_empty());
    assert_eq!(
        app.store().tracked_position("dog-events").await.unwrap(),
        end,
        "the position is recorded once confirmed"
    );
}

/// The state a publisher leaves when it dies after the broker confirmed a
/// page and before it recorded the position: everything published, the
/// position not moved. A publisher started again resends all of it, and
/// the consumer still handles each event once.
async fn resent_after_a_lost_position<B: Broker + Clone>(
    broker: B,
    routing: Routing,
    source: impl Source,
) -> Application<MemoryStore> {
    let app = Application::in_memory();
    let (mut inbound, seen, _) = consumer(source);
    inbound.catch_up_now().await.unwrap();
    save_dogs(&app, 50, 10).await;
    let mut first =
        Publisher::new("dog-events", app.clone(), broker.clone()).routing(routing.clone());
    assert_eq!(first.catch_up().await.unwrap(), 500);
    app.store().reset_tracking("dog-events").await.unwrap();
    let mut again = Publisher::new("dog-events", app.clone(), broker).routing(routing);
    assert_eq!(again.catch_up().await.unwrap(), 500, "everything is resent");
    let mut system = System::new().with(inbound);
    let deadline = Instant::now() + LONG;
    while seen.len() < 500 && Instant::now() < deadline {
        system.run_until_idle().await.unwrap();
    }
    // Anything still on its way is a duplicate: drain it.
    system.run_until_idle().await.unwrap();
    assert_exactly_once_in_order(&app, &seen).await;
    app
}

/// A process application in the consuming service, fed from the broker
/// after the publisher resent everything (JetStream drops the resends,
/// RabbitMQ delivers every event twice): it reacts once per event, saving a
/// badge per dog that learns three tricks, caused by that dog's fourth
/// event.
async fn a_process_application_reacts_once<B: Broker + Clone>(
    broker: B,
    routing: Routing,
    source: impl Source,
) {
    let app = Application::in_memory();
    let badges = Application::in_memory();
    let mut inbound = Inbound::process("badges", source, badges.clone(), BadgePolicy);
    inbound.catch_up_now().await.unwrap();
    save_dogs(&app, 10, 5).await;
    let mut first =
        Publisher::new("dog-events", app.clone(), broker.clone()).routing(routing.clone());
    first.catch_up().await.unwrap();
    app.store().reset_tracking("dog-events").await.unwrap();
    let mut again = Publisher::new("dog-events", app.clone(), broker).routing(routing);
    again.catch_up().await.unwrap();
    let mut system = System::new().with(inbound);
    let deadline = Instant::now() + LONG;
    while badges.last_position().await.unwrap() < 10 && Instant::now() < deadline {
        system.run_until_idle().await.unwrap();
    }
    system.run_until_idle().await.unwrap();
    let awarded = whole_log(&badges).await;
    assert_eq!(awarded.len(), 10, "one badge per dog");
    let fourth: HashMap<Uuid, Uuid> = whole_log(&app)
        .await
        .iter()
        .filter(|event| event.version == 4)
        .map(|event| (event.event_id, event.stream_id))
        .collect();
    for badge in &awarded {
        let cause = badge.metadata.causation_id.unwrap();
        let dog = fourth.get(&cause).expect("caused by a dog's fourth event");
        let badge: Badge = badges.get(badge.stream_id).await.unwrap();
        assert_eq!(badge.dog, *dog);
    }
}

/// A broker that is not there when the publisher and the consumer start:
/// they wait, retrying, and skip nothing once it is up.
async fn broker_down_at_start<B: Broker, F: std::future::Future<Output = ()>>(
    broker: B,
    routing: Routing,
    source: impl Source,
    bring_up: F,
) {
    let app = Application::in_memory();
    let (inbound, seen, _) = consumer(source);
    save_dogs(&app, 20, 10).await;
    let publisher = Publisher::new("dog-events", app.clone(), broker).routing(routing);
    let mut published = publisher.waiter();
    let system = System::new().with(inbound).with(publisher).start();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(published.position(), 0, "nothing can be published yet");
    bring_up.await;
    assert!(published.wait_for(200, LONG).await, "not published once up");
    wait_for_seen(&seen, 200, LONG).await;
    let errors = system.stop().await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_exactly_once_in_order(&app, &seen).await;
}

/// Events published while `fault` strikes the broker twice: the publisher
/// and the consumer ride it out, and each event takes effect once, in order.
async fn broker_fails_mid_stream<B: Broker>(
    broker: B,
    routing: Routing,
    source: impl Source,
    mut fault: impl FnMut() + Send,
) {
    let app = Application::in_memory();
    let (mut inbound, seen, _) = consumer(source);
    inbound.catch_up_now().await.unwrap();
    let publisher = Publisher::new("dog-events", app.clone(), broker).routing(routing);
    let mut published = publisher.waiter();
    let system = System::new().with(publisher).with(inbound).start();
    let saving = {
        let app = app.clone();
        tokio::spawn(async move { save_dogs(&app, 500, 20).await })
    };
    for threshold in [2_000, 6_000] {
        assert!(published.wait_for(threshold, LONG).await);
        fault();
    }
    saving.await.unwrap();
    assert!(published.wait_for(10_000, LONG).await, "not all published");
    wait_for_seen(&seen, 10_000, LONG).await;
    let errors = system.stop().await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_exactly_once_in_order(&app, &seen).await;
}

/// The broker-specific raw side of a test: inject and inspect messages with
/// a bare client.
trait Raw {
    /// Publishes a message as another program might, to `subject`.
    async fn inject(&self, subject: &str, headers: &[(&str, &str)], body: &[u8]);
    /// The headers of the messages at the dead-letter destination.
    async fn dead_letters(&self) -> Vec<HashMap<String, String>>;
}

/// Two messages the consumer cannot read (no CloudEvents headers; a body
/// that is not a `DogEvent`) go to the dead-letter destination, reported,
/// and the good events around them take effect.
async fn unreadable_messages_are_dead_lettered<B: Broker>(
    broker: B,
    routing: Routing,
    subject: &str,
    source: impl Source,
    raw: impl Raw,
) {
    let app = Application::in_memory();
    let (mut inbound, seen, dead) = consumer(source);
    inbound.catch_up_now().await.unwrap();
    let mut publisher = Publisher::new("dog-events", app.clone(), broker).routing(routing);
    save_dogs(&app, 1, 1).await;
    publisher.catch_up().await.unwrap();
    raw.inject(subject, &[("x-note", "not a cloud event")], b"{}")
        .await;
    let id = Uuid::new_v4().to_string();
    let stream = Uuid::new_v4().to_string();
    raw.inject(
        subject,
        &[
            ("ce-specversion", "1.0"),
            ("ce-id", &id),
            ("ce-source", "elsewhere"),
            ("ce-type", "TrickAdded"),
            ("ce-time", "2026-12-02T08:00:00Z"),
            ("ce-subject", &stream),
            ("ce-streamversion", "2"),
        ],
        b"this is not json",
    )
    .await;
    save_dogs(&app, 1, 1).await;
    publisher.catch_up().await.unwrap();
    let mut system = System::new().with(inbound);
    let deadline = Instant::now() + LONG;
    while (seen.len() < 2 || dead.lock().unwrap().len() < 2) && Instant::now() < deadline {
        system.run_until_idle().await.unwrap();
    }
    assert_exactly_once_in_order(&app, &seen).await;
    let reports = dead.lock().unwrap().clone();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[0].event_id, None);
    assert!(reports[0].reason.contains("ce-specversion"), "{reports:?}");
    assert_eq!(reports[1].event_id.as_deref(), Some(id.as_str()));
    assert!(reports[1].reason.contains("TrickAdded"), "{reports:?}");
    let buried = raw.dead_letters().await;
    assert_eq!(buried.len(), 2);
    assert_eq!(
        buried[0].get("x-note").map(String::as_str),
        Some("not a cloud event")
    );
    assert_eq!(buried[1].get("ce-id"), Some(&id));
    for (letter, report) in buried.iter().zip(&reports) {
        assert_eq!(letter.get("chronicle-dead-reason"), Some(&report.reason));
    }
    // Dead-lettered means settled: nothing comes back.
    assert_eq!(system.run_until_idle().await.unwrap(), 0);
}

/// The CloudEvents headers of one published event, as a bare client reads
/// them, against the stored event.
fn assert_cloudevent_headers(headers: &HashMap<String, String>, event: &StoredEvent) {
    let get = |name: &str| headers.get(name).map(String::as_str);
    let expected = [
        ("ce-specversion", "1.0".to_owned()),
        ("ce-id", event.event_id.to_string()),
        ("ce-source", "urn:dog-school".to_owned()),
        ("ce-type", event.event_type.clone()),
        ("ce-time", event.timestamp.to_string()),
        ("ce-subject", event.stream_id.to_string()),
        ("ce-streamversion", event.version.to_string()),
        ("ce-schemaversion", "1".to_owned()),
        ("ce-aggregatetype", "Dog".to_owned()),
        (
            "ce-correlationid",
            event.metadata.correlation_id.unwrap().to_string(),
        ),
        (
            "ce-causationid",
            event.metadata.causation_id.unwrap().to_string(),
        ),
        ("ce-metadata", r#"{"tenant":"north"}"#.to_owned()),
        ("content-type", "application/json".to_owned()),
    ];
    for (name, value) in expected {
        assert_eq!(get(name), Some(value.as_str()), "{name} in {headers:?}");
    }
}

/// One event with every attribute set, published to `broker`.
async fn publish_one<B: Broker>(broker: B, routing: Routing) -> StoredEvent {
    let app = Application::in_memory();
    let mut dog = Dog::register("Fido".into());
    let metadata = Metadata::new()
        .with_correlation_id(Uuid::new_v4())
        .with_causation_id(Uuid::new_v4())
        .with("tenant", "north");
    app.save_with(&mut dog, &metadata).await.unwrap();
    let mut publisher = Publisher::new("dog-events", app.clone(), broker)
        .routing(routing)
        .source("urn:dog-school");
    assert_eq!(publisher.catch_up().await.unwrap(), 1);
    whole_log(&app).await.remove(0)
}

/// A publisher that cannot reach its broker and was told to give up stops
/// with a broker error naming it, and records nothing.
async fn gives_up_when_told<B: Broker>(broker: B) {
    let app = Application::in_memory();
    save_dogs(&app, 1, 1).await;
    let mut publisher = Publisher::new("dog-events", app.clone(), broker).give_up_after(2);
    let error = publisher.catch_up().await.unwrap_err();
    assert!(
        matches!(&error, RunnerError::Broker { consumer, .. } if consumer == "dog-events"),
        "{error:?}"
    );
    assert_eq!(app.store().tracked_position("dog-events").await.unwrap(), 0);
}

#[cfg(feature = "nats")]
#[path = "brokers/nats.rs"]
mod nats;
#[cfg(feature = "rabbitmq")]
#[path = "brokers/rabbitmq.rs"]
mod rabbitmq;
