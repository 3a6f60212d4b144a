//! Subscriptions, projections, process applications and systems, on the
//! in-memory store (the SQL read-model tests live in `tests/read_models.rs`),
//! with the shared `Dog`, `Badge` and `BadgePolicy` of `tests/common/dogs.rs`.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chronicle_es::prelude::*;
use chronicle_es::store::{
    AppendOutcome, AppendRequest, MemoryStore, Snapshot, StoreError, StoredEvent, Tracking,
};
use chronicle_es::{
    ErrorPolicy, HandlerError, ProcessRunner, Projection, ProjectionRunner, RunnerError,
    Subscription, SubscriptionOptions, System,
};
use common::dogs::{saved_dog, Badge, BadgePolicy, DogEvent, BADGES};

/// Counts tricks per dog, in process.
#[derive(Default)]
struct TrickCounts {
    counts: HashMap<Uuid, u32>,
    handled: Vec<Uuid>,
}

impl Projection for TrickCounts {
    type Event = DogEvent;
    type Writes = ();

    fn name(&self) -> &str {
        "trick_counts"
    }

    fn handle(&mut self, event: &Envelope<DogEvent>, (): &mut ()) -> Result<(), HandlerError> {
        self.handled.push(event.event_id);
        if let DogEvent::TrickAdded { .. } = event.event {
            *self.counts.entry(event.stream_id).or_default() += 1;
        }
        Ok(())
    }

    fn reset(&mut self, (): &mut ()) {
        self.counts.clear();
        self.handled.clear();
    }
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_subscription_catches_up_then_receives_live_events_then_stops() {
    let app = Application::in_memory();
    saved_dog(&app, "Fido", 2).await;
    let mut subscription = Subscription::new(app.clone(), 0, SubscriptionOptions::default());
    let caught_up = subscription.next_batch().await.unwrap().unwrap();
    assert_eq!(caught_up.len(), 3);
    assert_eq!(subscription.position(), 3);

    let writer = app.clone();
    let live = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        saved_dog(&writer, "Rex", 1).await;
    });
    let batch = tokio::time::timeout(WAIT, subscription.next_batch())
        .await
        .expect("live events arrive")
        .unwrap()
        .unwrap();
    live.await.unwrap();
    let positions: Vec<u64> = batch.iter().map(|e| e.position).collect();
    assert_eq!(positions, [4, 5]);

    let stopper = subscription.stopper();
    let waiting = tokio::spawn(async move { subscription.next_batch().await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    stopper.stop();
    assert!(waiting.await.unwrap().unwrap().is_none());
}

#[tokio::test]
async fn a_projection_catches_up_follows_live_and_lets_callers_wait_for_their_writes() {
    let app = Application::in_memory();
    let fido = saved_dog(&app, "Fido", 2).await;
    let mut runner = ProjectionRunner::new(app.clone(), TrickCounts::default());
    let mut waiter = runner.waiter();
    let stopper = runner.stopper();
    let task = tokio::spawn(async move { runner.run().await.map(|()| runner) });
    assert!(waiter.wait_for(3, WAIT).await);

    let mut rex = saved_dog(&app, "Rex", 1).await;
    rex.add_trick("beg".into());
    let outcome = app.save(&mut rex).await.unwrap();
    assert!(waiter.wait_for(outcome.last_position.unwrap(), WAIT).await);
    stopper.stop();
    let runner = task.await.unwrap().unwrap();
    assert_eq!(runner.projection().counts[&fido.id()], 2);
    assert_eq!(runner.projection().counts[&rex.id()], 2);
    assert_eq!(
        app.store().tracked_position("trick_counts").await.unwrap(),
        6
    );
}

#[tokio::test]
async fn a_restarted_projection_resumes_from_its_tracked_position_and_rebuilds_in_one_call() {
    let app = Application::in_memory();
    saved_dog(&app, "Fido", 2).await;
    let mut first = ProjectionRunner::new(app.clone(), TrickCounts::default());
    assert_eq!(first.catch_up(|_| {}).await.unwrap(), 3);

    saved_dog(&app, "Rex", 3).await;
    // A new runner (a restarted process) handles only what came after.
    let mut second = ProjectionRunner::new(app.clone(), TrickCounts::default());
    assert_eq!(second.catch_up(|_| {}).await.unwrap(), 4);
    assert_eq!(second.projection().handled.len(), 4);

    let mut reports = Vec::new();
    let handled = second
        .rebuild(|progress| reports.push(progress))
        .await
        .unwrap();
    assert_eq!(handled, 7);
    assert_eq!(second.projection().handled.len(), 7);
    let last = reports.last().unwrap();
    assert_eq!((last.position, last.target, last.handled), (7, 7, 7));
}

/// Fails on a chosen trick, a number of times.
struct Flaky {
    failures_left: Arc<AtomicU32>,
    seen: Vec<String>,
}

impl Projection for Flaky {
    type Event = DogEvent;
    type Writes = ();

    fn name(&self) -> &str {
        "flaky"
    }

    fn handle(&mut self, event: &Envelope<DogEvent>, (): &mut ()) -> Result<(), HandlerError> {
        if let DogEvent::TrickAdded { trick } = &event.event {
            if trick == "trick 1" && self.failures_left.load(Ordering::SeqCst) > 0 {
                self.failures_left.fetch_sub(1, Ordering::SeqCst);
                return Err("the read model is unavailable".into());
            }
            self.seen.push(trick.clone());
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_handler_error_stops_the_runner_with_the_event_named_and_nothing_is_skipped() {
    let app = Application::in_memory();
    let dog = saved_dog(&app, "Fido", 3).await;
    let failures = Arc::new(AtomicU32::new(1));
    let mut runner = ProjectionRunner::new(
        app.clone(),
        Flaky {
            failures_left: failures.clone(),
            seen: Vec::new(),
        },
    );
    match runner.catch_up(|_| {}).await {
        Err(RunnerError::Handler {
            consumer,
            position: 3,
            stream_id,
            version: 3,
            event_type,
            source,
        }) => {
            assert_eq!(consumer, "flaky");
            assert_eq!(stream_id, dog.id());
            assert_eq!(event_type, "TrickAdded");
            assert_eq!(source.to_string(), "the read model is unavailable");
        }
        other => panic!("expected a handler error, got {other:?}"),
    }
    // The events before the failing one were committed; the failing one was not.
    assert_eq!(app.store().tracked_position("flaky").await.unwrap(), 2);
    // Run again: it resumes at the failing event.
    runner.catch_up(|_| {}).await.unwrap();
    assert_eq!(runner.projection().seen, ["trick 0", "trick 1", "trick 2"]);

    // With a retry policy, a transient failure is retried in place.
    let app = Application::in_memory();
    saved_dog(&app, "Fido", 3).await;
    failures.store(2, Ordering::SeqCst);
    let mut runner = ProjectionRunner::new(
        app.clone(),
        Flaky {
            failures_left: failures.clone(),
            seen: Vec::new(),
        },
    )
    .on_error(ErrorPolicy::Retry {
        attempts: 3,
        backoff: Duration::from_millis(1),
    });
    runner.catch_up(|_| {}).await.unwrap();
    assert_eq!(runner.projection().seen, ["trick 0", "trick 1", "trick 2"]);
}

#[tokio::test]
async fn partitioned_workers_share_a_projection_without_handling_an_event_twice() {
    let app = Application::in_memory();
    let mut all = Vec::new();
    for d in 0..30 {
        all.push(saved_dog(&app, &format!("dog {d}"), d % 4).await.id());
    }
    let mut handled: Vec<Uuid> = Vec::new();
    let mut streams_per_worker = Vec::new();
    for index in 0..3 {
        let mut worker =
            ProjectionRunner::new(app.clone(), TrickCounts::default()).partition(index, 3);
        assert_eq!(worker.consumer(), format!("trick_counts[{index}/3]"));
        worker.catch_up(|_| {}).await.unwrap();
        handled.extend(&worker.projection().handled);
        streams_per_worker.push(worker.projection().counts.len());
    }
    let log = app.read_log(LogQuery::after(0, 1000)).await.unwrap();
    let mut expected: Vec<Uuid> = log.iter().map(|e| e.event_id).collect();
    expected.sort();
    handled.sort();
    assert_eq!(
        handled, expected,
        "every event exactly once across the workers"
    );
    assert!(
        streams_per_worker.iter().all(|&n| n > 0),
        "{streams_per_worker:?}"
    );
}

#[tokio::test]
async fn a_process_application_saves_its_effects_with_correlation_and_causation() {
    let dogs = Application::in_memory();
    let badges = Application::in_memory();
    let mut dog = saved_dog(&dogs, "Fido", 2).await;
    let correlation = Uuid::new_v4();
    dog.add_trick("sit".into());
    dogs.save_with(&mut dog, &Metadata::new().with_correlation_id(correlation))
        .await
        .unwrap();

    let mut runner = ProcessRunner::new(dogs.clone(), badges.clone(), BadgePolicy);
    assert_eq!(runner.catch_up(|_| {}).await.unwrap(), 4);
    let badge: Badge = badges
        .get(Uuid::new_v5(&BADGES, dog.id().as_bytes()))
        .await
        .unwrap();
    assert_eq!(badge.dog, dog.id());

    let cause = dogs
        .read_log(LogQuery::after(3, 1))
        .await
        .unwrap()
        .remove(0);
    let effect = badges
        .read_log(LogQuery::after(0, 10))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(effect.metadata.causation_id, Some(cause.event_id));
    assert_eq!(effect.metadata.correlation_id, Some(correlation));
    assert_eq!(badges.store().tracked_position("badges").await.unwrap(), 4);

    // Restarted, it does nothing again.
    let mut restarted = ProcessRunner::new(dogs.clone(), badges.clone(), BadgePolicy);
    assert_eq!(restarted.catch_up(|_| {}).await.unwrap(), 0);
    assert_eq!(badges.last_position().await.unwrap(), 1);
}

/// A memory store whose appends carrying a tracking record fail once, after
/// the policy ran: a crash between handling and committing. It is only a
/// process application's downstream, so it implements the capabilities that
/// needs (streams, tracking, snapshots) and no log.
struct CrashOnce {
    inner: MemoryStore,
    armed: std::sync::atomic::AtomicBool,
}

impl StreamStore for CrashOnce {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        self.inner.append(request).await
    }
    async fn read_stream(
        &self,
        id: Uuid,
        query: StreamQuery,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_stream(id, query).await
    }
}

impl TrackingStore for CrashOnce {
    async fn tracked_position(&self, consumer: &str) -> Result<u64, StoreError> {
        self.inner.tracked_position(consumer).await
    }
    async fn append_tracked(
        &self,
        request: AppendRequest,
        tracking: Tracking,
    ) -> Result<AppendOutcome, StoreError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Backend {
                backend: "test",
                source: "connection lost before commit".into(),
            });
        }
        self.inner.append_tracked(request, tracking).await
    }
    async fn reset_tracking(&self, consumer: &str) -> Result<(), StoreError> {
        self.inner.reset_tracking(consumer).await
    }
    async fn consumers(&self) -> Result<Vec<Tracking>, StoreError> {
        self.inner.consumers().await
    }
}

impl SnapshotStore for CrashOnce {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        self.inner.save_snapshot(snapshot).await
    }
    async fn latest_snapshot(
        &self,
        id: Uuid,
        max: Option<u64>,
    ) -> Result<Option<Snapshot>, StoreError> {
        self.inner.latest_snapshot(id, max).await
    }
}

#[tokio::test]
async fn a_crash_between_handling_and_committing_has_no_double_effect() {
    let dogs = Application::in_memory();
    let badges = Application::new(CrashOnce {
        inner: MemoryStore::new(),
        armed: true.into(),
    });
    saved_dog(&dogs, "Fido", 3).await;
    let mut runner = ProcessRunner::new(dogs.clone(), badges.clone(), BadgePolicy);
    // The commit of the first event fails: the runner stops, nothing stored.
    assert!(runner.catch_up(|_| {}).await.is_err());
    assert_eq!(badges.store().inner.last_position().await.unwrap(), 0);
    assert_eq!(badges.store().tracked_position("badges").await.unwrap(), 0);
    // Restarted, it handles everything once: one badge.
    let mut restarted = ProcessRunner::new(dogs.clone(), badges.clone(), BadgePolicy);
    assert_eq!(restarted.catch_up(|_| {}).await.unwrap(), 4);
    assert_eq!(badges.store().inner.last_position().await.unwrap(), 1);
    assert_eq!(badges.store().tracked_position("badges").await.unwrap(), 4);
}

/// Counts every effect, shared with the test.
struct Counting {
    count: Arc<Mutex<u64>>,
}

impl Projection for Counting {
    type Event = DogEvent;
    type Writes = ();

    fn name(&self) -> &str {
        "counting"
    }

    fn handle(&mut self, _: &Envelope<DogEvent>, (): &mut ()) -> Result<(), HandlerError> {
        *self.count.lock().unwrap() += 1;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_while_a_projection_follows_give_one_effect_per_event() {
    let app = Application::in_memory();
    let count = Arc::new(Mutex::new(0));
    let system = System::new().with(ProjectionRunner::new(
        app.clone(),
        Counting {
            count: count.clone(),
        },
    ));
    let mut waiter = system.waiter("counting").unwrap();
    let running = system.start();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let app = app.clone();
            tokio::spawn(async move {
                for d in 0..25 {
                    saved_dog(&app, &format!("dog {w}-{d}"), 3).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let end = app.last_position().await.unwrap();
    assert_eq!(end, 4 * 25 * 4);
    assert!(waiter.wait_for(end, WAIT).await);
    assert!(running.stop().await.is_empty());
    assert_eq!(*count.lock().unwrap(), end);
}

#[tokio::test]
async fn a_system_runs_deterministically_or_concurrently_with_the_same_effects() {
    // Deterministic: run until nothing is left to do.
    let dogs = Application::in_memory();
    let badges = Application::in_memory();
    for d in 0..5 {
        saved_dog(&dogs, &format!("dog {d}"), d).await;
    }
    let mut system = System::new()
        .with(ProcessRunner::new(
            dogs.clone(),
            badges.clone(),
            BadgePolicy,
        ))
        .with(ProjectionRunner::new(dogs.clone(), TrickCounts::default()));
    assert_eq!(system.run_until_idle().await.unwrap(), 2 * (5 + 10));
    assert_eq!(
        badges.last_position().await.unwrap(),
        2,
        "dogs 3 and 4 earned badges"
    );

    // Concurrent: the same declaration, live.
    let dogs2 = Application::in_memory();
    let badges2 = Application::in_memory();
    let system = System::new()
        .with(ProcessRunner::new(
            dogs2.clone(),
            badges2.clone(),
            BadgePolicy,
        ))
        .with(ProjectionRunner::new(dogs2.clone(), TrickCounts::default()));
    let mut badge_waiter = system.waiter("badges").unwrap();
    let running = system.start();
    for d in 0..5 {
        saved_dog(&dogs2, &format!("dog {d}"), d).await;
    }
    let end = dogs2.last_position().await.unwrap();
    assert!(badge_waiter.wait_for(end, WAIT).await);
    assert!(running.stop().await.is_empty());
    assert_eq!(badges2.last_position().await.unwrap(), 2);
}
