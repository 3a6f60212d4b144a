//! Projections with SQL read models and process applications on the durable
//! stores: a SQLite file always, PostgreSQL when `CHRONICLE_TEST_POSTGRES_URL`
//! is set (with `--features postgres`; each test in its own schema, dropped
//! at the end). With `CI` set and no URL, the PostgreSQL tests fail.
//!
//! Every scenario runs on both stores through `AnySqlStore` (opened by URL,
//! from `tests/common/stores.rs`); the read model is a table of trick counts
//! per dog (the shared `Dog` of `tests/common/dogs.rs`), written with
//! `ModelWrites` and committed with the projection's tracking record.

mod common;

use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::store::{AnySqlStore, StoreError, Tracking};
use chronicle_es::{
    HandlerError, ModelWrites, Policy, ProcessContext, ProcessRunner, Projection, ProjectionRunner,
    RunnerError, SqlValue, SubscriptionOptions, System,
};
use common::dogs::{saved_dog, BadgeEvent, BadgePolicy, Dog, DogEvent};
use common::stores::{self, Cleanup, Harness};

const WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// One store per test.

struct Db {
    app: Application<AnySqlStore>,
    /// The read-model table, qualified by the schema on PostgreSQL.
    table: String,
    /// The SQLite file's directory or the PostgreSQL schema.
    cleanup: Cleanup,
}

impl Db {
    async fn sqlite() -> Db {
        Db::with(stores::sqlite_by_url().await, "trick_counts".into()).await
    }

    /// The harness's store, with the read-model table created.
    async fn with(harness: Harness<AnySqlStore>, table: String) -> Db {
        harness
            .store
            .query_model(
                &format!(
                    "CREATE TABLE IF NOT EXISTS {table} (dog TEXT PRIMARY KEY, name TEXT NOT NULL, tricks BIGINT NOT NULL)"
                ),
                Vec::new(),
            )
            .await
            .unwrap();
        Db {
            app: Application::new(harness.store),
            table,
            cleanup: harness.cleanup,
        }
    }

    async fn finish(self) {
        drop(self.app);
        self.cleanup.finish().await;
    }

    fn projection(&self) -> TrickTable {
        TrickTable {
            table: self.table.clone(),
            fail_on: None,
        }
    }

    /// (rows, total tricks) in the read model.
    async fn counts(&self) -> (i64, i64) {
        let rows = self
            .app
            .store()
            .query_model(
                &format!(
                    "SELECT COUNT(*), COALESCE(SUM(tricks), 0) FROM {}",
                    self.table
                ),
                Vec::new(),
            )
            .await
            .unwrap();
        match rows.as_slice() {
            [row] => match row.as_slice() {
                [SqlValue::Integer(dogs), SqlValue::Integer(tricks)] => (*dogs, *tricks),
                other => panic!("unexpected row {other:?}"),
            },
            other => panic!("unexpected rows {other:?}"),
        }
    }

    async fn tricks_of(&self, dog: Uuid) -> i64 {
        let rows = self
            .app
            .store()
            .query_model(
                &format!("SELECT tricks FROM {} WHERE dog = $1", self.table),
                vec![dog.into()],
            )
            .await
            .unwrap();
        rows.first()
            .and_then(|row| row.first())
            .and_then(SqlValue::as_i64)
            .unwrap_or(0)
    }

    /// (dogs, tricks) in the log.
    async fn log_counts(&self) -> (i64, i64) {
        let mut after = 0;
        let (mut dogs, mut tricks) = (0, 0);
        loop {
            let page = self
                .app
                .read_log(LogQuery::after(after, 1000))
                .await
                .unwrap();
            let Some(last) = page.last() else {
                return (dogs, tricks);
            };
            after = last.position;
            for event in &page {
                match event.event_type.as_str() {
                    "Registered" => dogs += 1,
                    "TrickAdded" => tricks += 1,
                    _ => {}
                }
            }
        }
    }
}

/// Tricks per dog in a table; fails (in the database) on the trick named
/// `fail_on`, by writing to a table that does not exist.
struct TrickTable {
    table: String,
    fail_on: Option<String>,
}

impl Projection for TrickTable {
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
        let table = &self.table;
        match &event.event {
            DogEvent::Registered { name } => writes.execute_values(
                format!(
                    "INSERT INTO {table} (dog, name, tricks) VALUES ($1, $2, 0) ON CONFLICT (dog) DO NOTHING"
                ),
                vec![event.stream_id.into(), name.as_str().into()],
            ),
            DogEvent::TrickAdded { trick } if self.fail_on.as_ref() == Some(trick) => writes
                .execute(
                    "UPDATE no_such_table SET tricks = tricks + 1 WHERE dog = $1",
                    [event.stream_id],
                ),
            DogEvent::TrickAdded { .. } => writes.execute(
                format!("UPDATE {table} SET tricks = tricks + 1 WHERE dog = $1"),
                [event.stream_id],
            ),
        };
        Ok(())
    }

    fn reset(&mut self, writes: &mut ModelWrites) {
        writes.execute(
            format!("DELETE FROM {}", self.table),
            Vec::<SqlValue>::new(),
        );
    }
}

/// A cheap random number below `bound`.
fn random_below(bound: u64) -> u64 {
    (Uuid::new_v4().as_u128() % u128::from(bound.max(1))) as u64
}

/// One `#[tokio::test]` per store for an `async fn scenario(db: &Db)`.
macro_rules! on_every_store {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let db = super::Db::sqlite().await;
                    super::$scenario(&db).await;
                    db.finish().await;
                }
            )*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let Some(db) = super::pg::db().await else { return };
                    super::$scenario(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

on_every_store!(
    sql_values_round_trip_and_failing_statements_are_named,
    a_projection_catches_up_then_follows_live,
    a_restarted_projection_handles_only_new_events,
    a_failing_statement_mid_batch_commits_the_events_before_it_and_nothing_of_its_event,
    a_retried_handler_keeps_no_statement_of_its_failed_attempts_across_small_pages,
    aborting_catch_up_at_random_points_while_writers_append_keeps_effects_exactly_once,
    concurrent_writers_while_the_projection_follows_give_one_effect_per_event,
    partitioned_workers_share_one_table_without_double_counting,
    a_rebuild_empties_the_table_and_catches_up_with_progress,
    live_wake_ups_arrive_well_under_the_polling_interval_and_stop_is_prompt,
);

// ---------------------------------------------------------------------------
// Scenarios.

async fn sql_values_round_trip_and_failing_statements_are_named(db: &Db) {
    let store = db.app.store();
    let table = format!("{}_values", db.table);
    store
        .query_model(
            &format!(
                "CREATE TABLE {table} (i BIGINT, r DOUBLE PRECISION, t TEXT, b BYTEA, n TEXT)"
            )
            .replace(
                "BYTEA",
                if store.kind() == "sqlite" {
                    "BLOB"
                } else {
                    "BYTEA"
                },
            ),
            Vec::new(),
        )
        .await
        .unwrap();
    let values = vec![
        SqlValue::Integer(-7),
        SqlValue::Real(2.5),
        SqlValue::Text("it's $1".into()),
        SqlValue::Blob(vec![0, 159, 146, 150]),
        SqlValue::Null,
    ];
    let write = chronicle_es::ModelWrite {
        sql: format!("INSERT INTO {table} (i, r, t, b, n) VALUES ($1, $2, $3, $4, $5)"),
        params: values.clone(),
    };
    store
        .commit_model(vec![write], Tracking::new("values", 1), 0)
        .await
        .unwrap();
    let rows = store
        .query_model(&format!("SELECT i, r, t, b, n FROM {table}"), Vec::new())
        .await
        .unwrap();
    assert_eq!(rows, vec![values]);
    assert_eq!(store.tracked_position("values").await.unwrap(), 1);

    // The same position again: a tracking conflict, and nothing applied.
    let again = chronicle_es::ModelWrite {
        sql: format!("DELETE FROM {table}"),
        params: Vec::new(),
    };
    match store
        .commit_model(vec![again.clone()], Tracking::new("values", 1), 1)
        .await
    {
        Err(StoreError::TrackingConflict {
            current: 1,
            attempted: 1,
            ..
        }) => {}
        other => panic!("expected a tracking conflict, got {other:?}"),
    }
    let count = format!("SELECT COUNT(*) FROM {table}");
    assert_eq!(
        store.query_model(&count, Vec::new()).await.unwrap(),
        [[SqlValue::Integer(1)]]
    );

    // A failing statement names itself, and the statements before it in the
    // same commit are rolled back with the tracking record.
    let broken = chronicle_es::ModelWrite {
        sql: "UPDATE no_such_table SET x = 1".into(),
        params: Vec::new(),
    };
    match store
        .commit_model(vec![again, broken], Tracking::new("values", 2), 1)
        .await
    {
        Err(StoreError::ModelStatement { index: 1, sql, .. }) => {
            assert_eq!(sql, "UPDATE no_such_table SET x = 1")
        }
        other => panic!("expected a failing statement, got {other:?}"),
    }
    assert_eq!(
        store.query_model(&count, Vec::new()).await.unwrap(),
        [[SqlValue::Integer(1)]]
    );
    assert_eq!(store.tracked_position("values").await.unwrap(), 1);

    // Transaction control would break the commit's atomicity: refused.
    let commit = chronicle_es::ModelWrite {
        sql: " /* sneaky */ COMMIT".into(),
        params: Vec::new(),
    };
    assert!(matches!(
        store
            .commit_model(vec![commit], Tracking::new("values", 3), 1,)
            .await,
        Err(StoreError::ModelStatement { index: 0, .. })
    ));
    match store.query_model("SELEC 1", Vec::new()).await {
        Err(error @ StoreError::ModelStatement { .. }) => {
            assert!(error.to_string().contains("SELEC 1"), "{error}")
        }
        other => panic!("expected a failing statement, got {other:?}"),
    }

    // Rebuilding forgets the position with the statements.
    store
        .reset_model(
            vec![chronicle_es::ModelWrite {
                sql: format!("DELETE FROM {table}"),
                params: Vec::new(),
            }],
            "values",
        )
        .await
        .unwrap();
    assert_eq!(store.tracked_position("values").await.unwrap(), 0);
    assert_eq!(
        store.query_model(&count, Vec::new()).await.unwrap(),
        [[SqlValue::Integer(0)]]
    );
}

async fn a_projection_catches_up_then_follows_live(db: &Db) {
    let fido = saved_dog(&db.app, "Fido", 2).await;
    let mut runner = ProjectionRunner::new(db.app.clone(), db.projection());
    let mut waiter = runner.waiter();
    let stopper = runner.stopper();
    let task = tokio::spawn(async move { runner.run().await });
    assert!(waiter.wait_for(3, WAIT).await, "caught up");
    assert_eq!(db.tricks_of(fido.id()).await, 2);

    let rex = saved_dog(&db.app, "Rex", 3).await;
    let end = db.app.last_position().await.unwrap();
    assert!(waiter.wait_for(end, WAIT).await, "followed live");
    stopper.stop();
    task.await.unwrap().unwrap();
    assert_eq!(db.tricks_of(rex.id()).await, 3);
    assert_eq!(db.counts().await, (2, 5));
    assert_eq!(
        db.app
            .store()
            .tracked_position("trick_counts")
            .await
            .unwrap(),
        end
    );
}

async fn a_restarted_projection_handles_only_new_events(db: &Db) {
    saved_dog(&db.app, "Fido", 2).await;
    let mut first = ProjectionRunner::new(db.app.clone(), db.projection());
    assert_eq!(first.catch_up(|_| {}).await.unwrap(), 3);
    drop(first);

    saved_dog(&db.app, "Rex", 3).await;
    let mut second = ProjectionRunner::new(db.app.clone(), db.projection());
    assert_eq!(second.catch_up(|_| {}).await.unwrap(), 4);
    assert_eq!(db.counts().await, (2, 5));
    assert_eq!(second.catch_up(|_| {}).await.unwrap(), 0);
    assert_eq!(db.counts().await, (2, 5));
}

async fn a_failing_statement_mid_batch_commits_the_events_before_it_and_nothing_of_its_event(
    db: &Db,
) {
    let dog = saved_dog(&db.app, "Fido", 5).await;
    let mut broken = db.projection();
    broken.fail_on = Some("trick 2".into());
    let mut runner = ProjectionRunner::new(db.app.clone(), broken);
    // Registered at 1, trick 0 at 2, trick 1 at 3, trick 2 at 4.
    match runner.catch_up(|_| {}).await {
        Err(RunnerError::Handler {
            position: 4,
            version: 4,
            stream_id,
            source,
            ..
        }) => {
            assert_eq!(stream_id, dog.id());
            assert!(source.to_string().contains("no_such_table"), "{source}");
        }
        other => panic!("expected the failing event named, got {other:?}"),
    }
    assert_eq!(
        db.app
            .store()
            .tracked_position("trick_counts")
            .await
            .unwrap(),
        3
    );
    assert_eq!(db.tricks_of(dog.id()).await, 2, "tricks 0 and 1 only");

    let mut fixed = ProjectionRunner::new(db.app.clone(), db.projection());
    assert_eq!(fixed.catch_up(|_| {}).await.unwrap(), 3);
    assert_eq!(db.tricks_of(dog.id()).await, 5, "each trick exactly once");
}

/// Adds its statements for every event, then fails the first two attempts
/// at each trick named `flaky`.
struct Stumbling {
    inner: TrickTable,
    flaky: String,
    /// Failed attempts in a row at the current event.
    streak: u32,
    failed: u32,
}

impl Projection for Stumbling {
    type Event = DogEvent;
    type Writes = ModelWrites;

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn handle(
        &mut self,
        event: &Envelope<DogEvent>,
        writes: &mut ModelWrites,
    ) -> Result<(), HandlerError> {
        self.inner.handle(event, writes)?;
        match &event.event {
            DogEvent::TrickAdded { trick } if *trick == self.flaky && self.streak < 2 => {
                self.streak += 1;
                self.failed += 1;
                Err("stumbled after writing".into())
            }
            _ => {
                self.streak = 0;
                Ok(())
            }
        }
    }
}

async fn a_retried_handler_keeps_no_statement_of_its_failed_attempts_across_small_pages(db: &Db) {
    let mut dogs = Vec::new();
    for d in 0..4 {
        dogs.push(saved_dog(&db.app, &format!("dog {d}"), 3).await.id());
    }
    let mut runner = ProjectionRunner::new(
        db.app.clone(),
        Stumbling {
            inner: db.projection(),
            flaky: "trick 1".into(),
            streak: 0,
            failed: 0,
        },
    )
    .on_error(chronicle_es::ErrorPolicy::Retry {
        attempts: 2,
        backoff: Duration::from_millis(1),
    })
    .options(SubscriptionOptions {
        page_size: 3,
        ..SubscriptionOptions::default()
    });
    assert_eq!(runner.catch_up(|_| {}).await.unwrap(), 16);
    assert_eq!(runner.projection().failed, 8);
    for dog in dogs {
        assert_eq!(db.tricks_of(dog).await, 3, "each trick exactly once");
    }
    assert_eq!(db.counts().await, (4, 12));
}

async fn aborting_catch_up_at_random_points_while_writers_append_keeps_effects_exactly_once(
    db: &Db,
) {
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let app = db.app.clone();
            tokio::spawn(async move {
                for d in 0..40 {
                    saved_dog(&app, &format!("dog {w}-{d}"), 1 + d % 4).await;
                }
            })
        })
        .collect();
    let mut conflicts = 0;
    for _ in 0..25 {
        let app = db.app.clone();
        let projection = db.projection();
        let task = tokio::spawn(async move {
            let mut runner = ProjectionRunner::new(app, projection).options(SubscriptionOptions {
                page_size: 1 + random_below(20) as usize,
                ..SubscriptionOptions::default()
            });
            runner.catch_up(|_| {}).await
        });
        tokio::time::sleep(Duration::from_micros(random_below(15_000))).await;
        task.abort();
        match task.await {
            Ok(Ok(_)) => {}
            // The aborted runner's last commit may land after this runner
            // read its position (like a crashed process's in-flight commit):
            // the overlap is refused, nothing is applied twice.
            Ok(Err(RunnerError::Application {
                source: chronicle_es::Error::Store(StoreError::TrackingConflict { .. }),
                ..
            })) => conflicts += 1,
            Ok(Err(error)) => panic!("{error}"),
            Err(error) => assert!(error.is_cancelled(), "{error}"),
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }
    // The last aborted runner's commit may still land after the final
    // runner read its position (a crashed process's in-flight commit, as
    // above): that runner stops on the refused overlap, and a new one
    // resumes from the position the late commit recorded.
    let mut late_commits = 0;
    loop {
        let mut runner = ProjectionRunner::new(db.app.clone(), db.projection());
        match runner.catch_up(|_| {}).await {
            Ok(_) => break,
            Err(RunnerError::Application {
                source: chronicle_es::Error::Store(StoreError::TrackingConflict { .. }),
                ..
            }) if late_commits < 3 => late_commits += 1,
            Err(error) => panic!("{error}"),
        }
    }
    let (dogs, tricks) = db.log_counts().await;
    assert_eq!(dogs, 80);
    assert_eq!(
        db.counts().await,
        (dogs, tricks),
        "{conflicts} overlaps refused"
    );
}

async fn concurrent_writers_while_the_projection_follows_give_one_effect_per_event(db: &Db) {
    let runner = ProjectionRunner::new(db.app.clone(), db.projection());
    let system = System::new().with(runner);
    let mut waiter = system.waiter("trick_counts").unwrap();
    let running = system.start();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let app = db.app.clone();
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
    let end = db.app.last_position().await.unwrap();
    assert!(waiter.wait_for(end, WAIT).await);
    let errors = running.stop().await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(db.counts().await, (100, 300));
}

async fn partitioned_workers_share_one_table_without_double_counting(db: &Db) {
    for d in 0..30 {
        saved_dog(&db.app, &format!("dog {d}"), d % 5).await;
    }
    let mut system = System::new();
    for index in 0..3 {
        system =
            system.with(ProjectionRunner::new(db.app.clone(), db.projection()).partition(index, 3));
    }
    let mut waiters: Vec<_> = (0..3)
        .map(|index| system.waiter(&format!("trick_counts[{index}/3]")).unwrap())
        .collect();
    let running = system.start();
    // More events while the workers follow.
    for d in 30..45 {
        saved_dog(&db.app, &format!("dog {d}"), d % 5).await;
    }
    let end = db.app.last_position().await.unwrap();
    for waiter in &mut waiters {
        assert!(waiter.wait_for(end, WAIT).await);
    }
    let errors = running.stop().await;
    assert!(errors.is_empty(), "{errors:?}");
    let expected_tricks: i64 = (0..45).map(|d| d % 5).sum();
    assert_eq!(db.counts().await, (45, expected_tricks));
    for index in 0..3 {
        let tracked = db
            .app
            .store()
            .tracked_position(&format!("trick_counts[{index}/3]"))
            .await
            .unwrap();
        assert!(tracked > 0, "worker {index} tracked its own position");
    }
}

async fn a_rebuild_empties_the_table_and_catches_up_with_progress(db: &Db) {
    for d in 0..12 {
        saved_dog(&db.app, &format!("dog {d}"), d % 3).await;
    }
    let mut runner =
        ProjectionRunner::new(db.app.clone(), db.projection()).options(SubscriptionOptions {
            page_size: 5,
            ..SubscriptionOptions::default()
        });
    runner.catch_up(|_| {}).await.unwrap();
    let before = db.counts().await;
    assert_eq!(before, (12, 12));
    let mut reports = Vec::new();
    let handled = runner
        .rebuild(|progress| reports.push(progress))
        .await
        .unwrap();
    let end = db.app.last_position().await.unwrap();
    assert_eq!(handled, end);
    assert_eq!(db.counts().await, before, "rebuilt exactly, not doubled");
    assert!(reports.len() >= 4, "progress per page: {reports:?}");
    let last = reports.last().unwrap();
    assert_eq!((last.position, last.target, last.handled), (end, end, end));
    assert!(reports.windows(2).all(|w| w[0].position < w[1].position));
}

async fn live_wake_ups_arrive_well_under_the_polling_interval_and_stop_is_prompt(db: &Db) {
    saved_dog(&db.app, "Fido", 1).await;
    let mut runner =
        ProjectionRunner::new(db.app.clone(), db.projection()).options(SubscriptionOptions {
            poll_interval: Duration::from_secs(5),
            ..SubscriptionOptions::default()
        });
    let mut waiter = runner.waiter();
    let stopper = runner.stopper();
    let task = tokio::spawn(async move { runner.run().await });
    assert!(waiter.wait_for(2, WAIT).await);
    // Let the follower settle into its wait (and PostgreSQL's listener start).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut slowest = Duration::ZERO;
    for round in 0..5 {
        let started = Instant::now();
        let dog = saved_dog(&db.app, &format!("dog {round}"), 0).await;
        let position = db.app.last_position().await.unwrap();
        assert!(waiter.wait_for(position, WAIT).await);
        slowest = slowest.max(started.elapsed());
        assert_eq!(db.tricks_of(dog.id()).await, 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        slowest < Duration::from_secs(1),
        "a wake-up took {slowest:?}; the polling interval is 5 s"
    );
    let stopping = Instant::now();
    stopper.stop();
    task.await.unwrap().unwrap();
    assert!(
        stopping.elapsed() < Duration::from_secs(1),
        "stopped promptly"
    );
    assert_eq!(db.counts().await, (6, 1));
}

// ---------------------------------------------------------------------------
// Process applications (SQLite).

/// The namespace of certificate ids (badges: `common::dogs::BADGES`).
const CERTIFICATES: Uuid = Uuid::from_u128(0xce27_0000_0000_4000_8000_0000_0000_00aa);

/// Issued for every badge: the second hop.
#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    badge: Uuid,
}

#[aggregate]
impl Certificate {
    #[event("CertificateIssued", id = Uuid::new_v5(&CERTIFICATES, badge.as_bytes()))]
    pub fn issue(badge: Uuid) -> Self {
        Self { badge }
    }
}

struct CertificatePolicy;

impl Policy for CertificatePolicy {
    type Event = BadgeEvent;

    fn name(&self) -> &str {
        "certificates"
    }

    async fn react<S: chronicle_es::ProcessStore, C: chronicle_es::Codec>(
        &self,
        event: &Envelope<BadgeEvent>,
        process: &mut ProcessContext<'_, S, C>,
    ) -> Result<(), HandlerError> {
        process.save(&mut Certificate::issue(event.stream_id))?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_application_on_sqlite_saves_badges_with_tracking_and_chains_correlation() {
    let db = Db::sqlite().await;
    let app = &db.app;
    let correlation = Uuid::new_v4();
    let mut fido = Dog::register("Fido".into());
    for t in 0..3 {
        fido.add_trick(format!("trick {t}"));
    }
    app.save_with(&mut fido, &Metadata::new().with_correlation_id(correlation))
        .await
        .unwrap();
    saved_dog(app, "Buster", 1).await;
    let dogs_end = app.last_position().await.unwrap();

    let mut system = System::new()
        .with(ProcessRunner::new(app.clone(), app.clone(), BadgePolicy))
        .with(ProcessRunner::new(
            app.clone(),
            app.clone(),
            CertificatePolicy,
        ));
    system.run_until_idle().await.unwrap();

    let log = app.read_log(LogQuery::after(0, 100)).await.unwrap();
    let trick = log
        .iter()
        .find(|e| e.stream_id == fido.id() && e.version == 4)
        .unwrap();
    let badge = log.iter().find(|e| e.event_type == "BadgeAwarded").unwrap();
    let certificate = log
        .iter()
        .find(|e| e.event_type == "CertificateIssued")
        .unwrap();
    assert_eq!(log.len() as u64, dogs_end + 2, "one badge, one certificate");
    assert_eq!(badge.metadata.causation_id, Some(trick.event_id));
    assert_eq!(badge.metadata.correlation_id, Some(correlation));
    assert_eq!(certificate.metadata.causation_id, Some(badge.event_id));
    assert_eq!(certificate.metadata.correlation_id, Some(correlation));

    // The badge and the tracking record were committed together: the
    // tracked position covers the event that caused the badge, and a
    // restarted runner finds nothing to do.
    let tracked = app.store().tracked_position("badges").await.unwrap();
    assert!(tracked >= trick.position, "{tracked} < {}", trick.position);
    assert_eq!(
        app.store().tracked_position("certificates").await.unwrap(),
        badge.position
    );
    let mut restarted = ProcessRunner::new(app.clone(), app.clone(), BadgePolicy);
    assert_eq!(restarted.catch_up(|_| {}).await.unwrap(), 0);
    let mut restarted = ProcessRunner::new(app.clone(), app.clone(), CertificatePolicy);
    assert_eq!(restarted.catch_up(|_| {}).await.unwrap(), 0);
    assert_eq!(app.last_position().await.unwrap(), dogs_end + 2);

    // Live, with more dogs: every dog with three tricks gets one badge and
    // one certificate.
    let system = System::new()
        .with(ProcessRunner::new(app.clone(), app.clone(), BadgePolicy))
        .with(ProcessRunner::new(
            app.clone(),
            app.clone(),
            CertificatePolicy,
        ));
    let mut certificates = system.waiter("certificates").unwrap();
    let running = system.start();
    for d in 0..6 {
        saved_dog(app, &format!("dog {d}"), d).await;
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let issued = app
            .read_log(LogQuery::after(0, 1000).event_types(["CertificateIssued"]))
            .await
            .unwrap()
            .len();
        if issued == 1 + 3 {
            break;
        }
        assert!(Instant::now() < deadline, "only {issued} certificates");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let end = app.last_position().await.unwrap();
    assert!(certificates.wait_for(end, WAIT).await);
    let errors = running.stop().await;
    assert!(errors.is_empty(), "{errors:?}");
    db.finish().await;
}

// ---------------------------------------------------------------------------
// PostgreSQL only.

#[cfg(feature = "postgres")]
mod pg {
    use super::*;
    use chronicle_es::store::tokio_postgres;
    use common::postgres::{self, raw_client};

    /// The store in a schema of its own; its connections (pool and
    /// listener) report the schema as their application name, so a test can
    /// kill them.
    pub async fn db() -> Option<Db> {
        let harness = postgres::by_url::<AnySqlStore>().await?;
        let table = format!("{}.trick_counts", harness.schema().name());
        Some(Db::with(harness, table).await)
    }

    /// Terminates every backend of the store (pool and listener); returns
    /// how many.
    async fn kill_backends(killer: &tokio_postgres::Client, schema: &str) -> i64 {
        let row = killer
            .query_one(
                "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity
                  WHERE application_name = $1 AND pid <> pg_catalog.pg_backend_pid()",
                &[&schema],
            )
            .await
            .unwrap();
        row.get(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_follower_survives_terminated_backends_and_misses_nothing() {
        let Some(db) = db().await else { return };
        let schema = db.cleanup.schema().name();
        let killer = raw_client(db.cleanup.schema().url()).await;
        for d in 0..10 {
            saved_dog(&db.app, &format!("dog {d}"), 2).await;
        }
        let mut runner =
            ProjectionRunner::new(db.app.clone(), db.projection()).options(SubscriptionOptions {
                page_size: 7,
                poll_interval: Duration::from_secs(5),
                ..SubscriptionOptions::default()
            });
        let mut waiter = runner.waiter();
        let stopper = runner.stopper();
        let task = tokio::spawn(async move { runner.run().await });
        assert!(waiter.wait_for(30, WAIT).await);
        tokio::time::sleep(Duration::from_millis(300)).await;

        // Kill everything mid-follow, several times, while a writer appends.
        let writer = {
            let app = db.app.clone();
            tokio::spawn(async move {
                for d in 10..60 {
                    saved_dog(&app, &format!("dog {d}"), 2).await;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        let mut killed = 0;
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(60)).await;
            killed += kill_backends(&killer, schema).await;
        }
        writer.await.unwrap();
        assert!(killed >= 4, "killed {killed} backends");
        let end = db.app.last_position().await.unwrap();
        assert!(waiter.wait_for(end, WAIT).await, "resumed after the kills");
        assert_eq!(
            db.counts().await,
            (60, 120),
            "nothing missed, nothing twice"
        );

        // The listener is back: a new event wakes the follower well before
        // the 5 s polling interval.
        let listener_back = Instant::now() + WAIT;
        loop {
            let listening: i64 = killer
                .query_one(
                    "SELECT count(*) FROM pg_catalog.pg_stat_activity
                      WHERE application_name = $1 AND query LIKE '%chronicle_listen()%'",
                    &[&schema],
                )
                .await
                .unwrap()
                .get(0);
            if listening > 0 {
                break;
            }
            assert!(Instant::now() < listener_back, "the listener reconnects");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let started = Instant::now();
        saved_dog(&db.app, "late", 1).await;
        let end = db.app.last_position().await.unwrap();
        assert!(waiter.wait_for(end, WAIT).await);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "woken by NOTIFY after reconnecting, in {:?}",
            started.elapsed()
        );
        stopper.stop();
        task.await.unwrap().unwrap();
        assert_eq!(db.counts().await, (61, 121));
        db.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parameters_bind_as_the_inferred_types_and_results_read_back() {
        let Some(db) = db().await else { return };
        let store = db.app.store();
        let schema = db.cleanup.schema().name();
        store
            .query_model(
                &format!(
                    "CREATE TABLE {schema}.typed (i4 integer, i2 smallint, b boolean, u uuid, j jsonb, f real, n numeric, t timestamptz)"
                ),
                Vec::new(),
            )
            .await
            .unwrap();
        let id = Uuid::new_v4();
        store
            .query_model(
                &format!(
                    "INSERT INTO {schema}.typed (i4, i2, b, u, j, f, n) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                ),
                vec![
                    SqlValue::Integer(7),
                    SqlValue::Integer(-3),
                    SqlValue::Integer(1),
                    id.into(),
                    SqlValue::Text(r#"{"a": 1}"#.into()),
                    SqlValue::Real(0.5),
                    SqlValue::Null,
                ],
            )
            .await
            .unwrap();
        let rows = store
            .query_model(
                &format!(
                    "SELECT i4, i2, b, u, j, f, n, 12345678901234::numeric, 2.25::numeric, SUM(i4) OVER () FROM {schema}.typed"
                ),
                Vec::new(),
            )
            .await
            .unwrap();
        assert_eq!(
            rows,
            [[
                SqlValue::Integer(7),
                SqlValue::Integer(-3),
                SqlValue::Integer(1),
                SqlValue::Text(id.to_string()),
                SqlValue::Text(r#"{"a": 1}"#.into()),
                SqlValue::Real(0.5),
                SqlValue::Null,
                SqlValue::Integer(12_345_678_901_234),
                SqlValue::Real(2.25),
                SqlValue::Integer(7),
            ]]
        );
        // A value that does not fit the inferred type, and a column type
        // that has no SqlValue: errors naming the statement.
        let too_big = store
            .query_model(
                &format!("UPDATE {schema}.typed SET i2 = $1"),
                vec![SqlValue::Integer(100_000)],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&too_big, StoreError::ModelStatement { sql, .. } if sql.contains("SET i2")),
            "{too_big}"
        );
        let unreadable = store
            .query_model(&format!("SELECT now() FROM {schema}.typed"), Vec::new())
            .await
            .unwrap_err();
        assert!(
            unreadable.to_string().contains("timestamptz"),
            "{unreadable}"
        );
        db.finish().await;
    }
}
