//! Stored layouts and their migrations: databases written by an older
//! layout open, migrate in place, load and follow with today's code.
//!
//! The fixtures `tests/fixtures/layout_v1.*` were written by `write_fixtures`
//! below with the first layout (before the aggregate-type column):
//! `cargo test --all-features --test layout_migration -- --ignored write_fixtures`
//! with PostgreSQL running. They are committed so that the migration tests
//! read data the old code really wrote.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::store::{AnyStore, SqliteStore, StoreError, StoredEvent};
use chronicle_es::{HandlerError, Projection, ProjectionRunner};
use common::stores::TempDir;

/// Ids derive from names, so the tests know them.
const NAMESPACE: Uuid = Uuid::from_u128(0x1a70_0700_0000_4000_8000_0000_0000_0001);

fn id_of(name: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

/// Dogs and cats share the name of their creation event, `Registered`.
mod pets {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[aggregate(snapshot_every = 3)]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Dog {
        pub name: String,
        pub tricks: Vec<String>,
    }

    #[aggregate]
    impl Dog {
        #[event("Registered", id = id_of(&name))]
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

    #[aggregate]
    #[derive(Debug, Clone, PartialEq)]
    pub struct Cat {
        pub name: String,
        pub purrs: u32,
    }

    #[aggregate]
    impl Cat {
        #[event("Registered", id = id_of(&name))]
        pub fn register(name: String) -> Self {
            Self { name, purrs: 0 }
        }

        #[event("Purred")]
        pub fn purr(&mut self) {
            self.purrs += 1;
        }
    }
}

use pets::{Cat, CatEvent, Dog, DogEvent};

const SQLITE_FIXTURE: &str = "layout_v1.sqlite";
const POSTGRES_FIXTURE: &str = "layout_v1.postgres.sql";
const FIXTURE_SCHEMA: &str = "chronicle_fixture_layout_v1";
/// The tracking record the fixtures hold: a follower that has handled the
/// first four events of the log.
const LEGACY_CONSUMER: &str = "legacy_follower";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The log the fixtures hold, in order (positions 1 to 10): dogs and cats
/// interleaved, a snapshot of Fido at version 3, and the legacy follower's
/// tracking record at position 4.
async fn write_v1<S: EventStore>(app: &Application<S>) {
    let mut fido = Dog::register("Fido".into()); // 1
    let mut tom = Cat::register("Tom".into()); // 2
    app.save((&mut fido, &mut tom)).await.unwrap();
    fido.add_trick("sit".into()); // 3
    app.save(&mut fido).await.unwrap();
    tom.purr(); // 4
    app.save_with(
        &mut tom,
        &Metadata::new()
            .with_correlation_id(id_of("a conversation"))
            .with("user", "ada"),
    )
    .await
    .unwrap();
    fido.add_trick("roll over".into()); // 5: a snapshot at version 3
    app.save(&mut fido).await.unwrap();
    let mut rex = Dog::register("Rex".into()); // 6
    let mut felix = Cat::register("Felix".into()); // 7
    app.save((&mut rex, &mut felix)).await.unwrap();
    fido.add_trick("play dead".into()); // 8
    rex.add_trick("fetch".into()); // 9
    app.save((&mut fido, &mut rex)).await.unwrap();
    tom.purr(); // 10
    app.save(&mut tom).await.unwrap();
    app.store()
        .append_tracked(
            chronicle_es::store::AppendRequest::default(),
            chronicle_es::store::Tracking::new(LEGACY_CONSUMER, 4),
        )
        .await
        .unwrap();
}

/// The streams of the fixtures.
fn fido() -> Uuid {
    id_of("Fido")
}

fn tom() -> Uuid {
    id_of("Tom")
}

fn rex() -> Uuid {
    id_of("Rex")
}

fn felix() -> Uuid {
    id_of("Felix")
}

/// Every event a follower of `E` handles, as (stream, event type).
struct Seen<E> {
    name: &'static str,
    seen: Arc<Mutex<Vec<(Uuid, String)>>>,
    event: std::marker::PhantomData<E>,
}

impl<E: DomainEvent> Projection for Seen<E> {
    type Event = E;
    type Writes = ();

    fn name(&self) -> &str {
        self.name
    }

    fn handle(&mut self, event: &Envelope<E>, (): &mut ()) -> Result<(), HandlerError> {
        self.seen
            .lock()
            .unwrap()
            .push((event.stream_id, event.event_type().to_owned()));
        Ok(())
    }
}

/// The (stream, event type) pairs a follower of `E` named `name` handles
/// when it catches up from where it is tracked.
async fn follow<E: DomainEvent, S: EventStore>(
    app: &Application<S>,
    name: &'static str,
) -> Vec<(Uuid, String)> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let projection = Seen::<E> {
        name,
        seen: Arc::clone(&seen),
        event: std::marker::PhantomData,
    };
    ProjectionRunner::new(app.clone(), projection)
        .catch_up(|_| {})
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    seen
}

fn pairs(expected: &[(Uuid, &str)]) -> Vec<(Uuid, String)> {
    expected
        .iter()
        .map(|(stream, event_type)| (*stream, (*event_type).to_owned()))
        .collect()
}

/// What every migrated fixture must show, whatever the store. `type_streams`
/// gives untyped streams their aggregate type by hand, as the README says to.
async fn check_migrated<S: EventStore + Clone>(
    app: &Application<S>,
    type_streams: impl AsyncFnOnce(),
) {
    // Everything loads: the dog from its snapshot (the state as of version
    // 3) and the event after it.
    let fido_dog: Dog = app.get(fido()).await.unwrap();
    assert_eq!(fido_dog.tricks, ["sit", "roll over", "play dead"]);
    assert_eq!(fido_dog.version(), 4);
    let rex_dog: Dog = app.get(rex()).await.unwrap();
    assert_eq!(rex_dog.tricks, ["fetch"]);
    let tom_cat: Cat = app.get(tom()).await.unwrap();
    assert_eq!((tom_cat.purrs, tom_cat.version()), (2, 3));
    let felix_cat: Cat = app.get(felix()).await.unwrap();
    assert_eq!(felix_cat.name, "Felix");

    // The log is whole and in order; the migration typed the stream that
    // has a snapshot, and left the others untyped.
    let log = app.read_log(LogQuery::after(0, 100)).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    let typed = |event: &StoredEvent| (event.stream_id, event.aggregate_type.clone());
    for event in &log {
        let expected = (event.stream_id == fido()).then(|| "Dog".to_owned());
        assert_eq!(typed(event), (event.stream_id, expected));
    }
    assert_eq!(
        log[3].metadata,
        Metadata::new()
            .with_correlation_id(id_of("a conversation"))
            .with("user", "ada")
    );

    // The legacy follower continues from its tracked position 4. Untyped
    // events are matched by event type, as they were when they were
    // written: Felix's `Registered` looks like a dog's.
    assert_eq!(
        follow::<DogEvent, S>(app, LEGACY_CONSUMER).await,
        pairs(&[
            (fido(), "TrickAdded"),
            (rex(), "Registered"),
            (felix(), "Registered"),
            (fido(), "TrickAdded"),
            (rex(), "TrickAdded"),
        ])
    );

    // Typed by hand (the cats' streams), the old events are scoped too.
    type_streams().await;
    assert_eq!(
        follow::<DogEvent, S>(app, "dogs_after_typing").await,
        pairs(&[
            (fido(), "Registered"),
            (fido(), "TrickAdded"),
            (fido(), "TrickAdded"),
            (rex(), "Registered"),
            (fido(), "TrickAdded"),
            (rex(), "TrickAdded"),
        ])
    );
    assert_eq!(
        follow::<CatEvent, S>(app, "cats_after_typing").await,
        pairs(&[
            (tom(), "Registered"),
            (tom(), "Purred"),
            (felix(), "Registered"),
            (tom(), "Purred"),
        ])
    );

    // New events carry their type from the start.
    let mut luna = Cat::register("Luna".into());
    luna.purr();
    app.save(&mut luna).await.unwrap();
    let new = app.read_log(LogQuery::after(10, 10)).await.unwrap();
    assert!(new
        .iter()
        .all(|e| e.aggregate_type.as_deref() == Some("Cat")));
    assert_eq!(
        follow::<CatEvent, S>(app, "cats_after_typing").await,
        pairs(&[(luna.id(), "Registered"), (luna.id(), "Purred")])
    );

    // Layout 3: old events carry no hash-chain link; an application with
    // hash chains links new events after them, and the stream verifies.
    assert!(log.iter().all(|event| event.chain_hash.is_none()));
    let chained = Application::builder(app.store().clone())
        .hash_chain(true)
        .build();
    let mut rex_dog: Dog = chained.get(rex()).await.unwrap();
    rex_dog.add_trick("beg".into());
    chained.save(&mut rex_dog).await.unwrap();
    let head = chained.verify_stream(rex(), None).await.unwrap().unwrap();
    assert_eq!(head.version, rex_dog.version());
    assert!(head.hash.is_some());
}

/// A copy of the SQLite fixture in a directory of its own.
fn sqlite_copy() -> (TempDir, PathBuf) {
    let directory = TempDir::create();
    let path = directory.join("layout_v1.sqlite");
    std::fs::copy(fixtures().join(SQLITE_FIXTURE), &path).unwrap();
    (directory, path)
}

fn layout_rows(path: &Path) -> Vec<(i64, String)> {
    let connection = chronicle_es::store::rusqlite::Connection::open(path).unwrap();
    let mut statement = connection
        .prepare("SELECT version, description FROM layout ORDER BY version")
        .unwrap();
    let rows = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn has_layout_table(path: &Path) -> bool {
    let connection = chronicle_es::store::rusqlite::Connection::open(path).unwrap();
    connection
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'layout'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .unwrap()
        == 1
}

#[tokio::test]
async fn the_sqlite_fixture_migrates_loads_and_follows() {
    let (_directory, path) = sqlite_copy();

    // Refusing to migrate: a typed error that says how, and nothing changed.
    match SqliteStore::builder(&path).migrate(false).open().await {
        Err(StoreError::Layout {
            found: 1,
            expected: 3,
            remedy,
            ..
        }) => assert!(remedy.contains("migrate"), "{remedy}"),
        other => panic!("expected a layout error, got {other:?}"),
    }
    match AnyStore::from_url(&format!("sqlite://{}?migrate=false", path.display())).await {
        Err(error @ StoreError::Layout { .. }) => {
            assert!(error.to_string().contains("layout version 1"), "{error}")
        }
        other => panic!("expected a layout error, got {other:?}"),
    }
    assert!(!has_layout_table(&path));

    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        layout_rows(&path),
        [
            (2, "events record their aggregate type".to_owned()),
            (3, "events carry their hash-chain link".to_owned()),
        ]
    );
    let app = Application::new(store);
    check_migrated(&app, async || {
        let connection = chronicle_es::store::rusqlite::Connection::open(&path).unwrap();
        connection
            .execute(
                "UPDATE events SET aggregate_type = 'Cat' WHERE aggregate_type IS NULL AND stream_id IN (?1, ?2)",
                [tom().as_bytes().as_slice(), felix().as_bytes().as_slice()],
            )
            .unwrap();
        connection
            .execute(
                "UPDATE events SET aggregate_type = 'Dog' WHERE aggregate_type IS NULL",
                [],
            )
            .unwrap();
    })
    .await;
    drop(app);
    // Opened again: already at the latest layout, nothing more recorded.
    drop(SqliteStore::open(&path).await.unwrap());
    assert_eq!(layout_rows(&path).len(), 2);
}

/// The environment variable that makes `migration_child` open a store.
const CHILD_STORE: &str = "CHRONICLE_LAYOUT_CHILD_STORE";
/// A file whose appearance starts every child at once.
const CHILD_GO: &str = "CHRONICLE_LAYOUT_CHILD_GO";

/// Not a test of its own: run by `several_processes_migrate_once` as a
/// separate process, it waits for the go file, then opens the store its
/// parent names by URL.
#[tokio::test]
#[ignore = "a child process of several_processes_migrate_once"]
async fn migration_child() {
    let Ok(url) = std::env::var(CHILD_STORE) else {
        return;
    };
    let go = PathBuf::from(std::env::var(CHILD_GO).unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !go.exists() {
        assert!(Instant::now() < deadline, "no go file");
        std::thread::sleep(Duration::from_millis(1));
    }
    AnyStore::from_url(&url).await.unwrap();
}

/// Runs `count` child processes that open the store at `url` at once;
/// each must succeed.
fn open_in_processes(url: &str, count: usize) {
    let directory = TempDir::create();
    let go = directory.join("go");
    let children: Vec<_> = (0..count)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--ignored", "--exact", "migration_child", "--nocapture"])
                .env(CHILD_STORE, url)
                .env(CHILD_GO, &go)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // Give every child time to start and wait on the go file.
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&go, b"go").unwrap();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a child failed to open");
    }
}

#[tokio::test]
async fn several_processes_migrate_an_sqlite_file_once() {
    let (_directory, path) = sqlite_copy();
    open_in_processes(&format!("sqlite://{}", path.display()), 4);
    assert_eq!(
        layout_rows(&path),
        [
            (2, "events record their aggregate type".to_owned()),
            (3, "events carry their hash-chain link".to_owned()),
        ]
    );
    let app = Application::new(SqliteStore::open(&path).await.unwrap());
    let fido_dog: Dog = app.get(fido()).await.unwrap();
    assert_eq!(fido_dog.version(), 4);
}

#[cfg(feature = "postgres")]
mod pg {
    use super::*;
    use chronicle_es::store::PostgresStore;
    use common::postgres::{dump_schema, raw_client, restore_dump, url, Schema};

    async fn restored(url: &str) -> Schema {
        let schema = Schema::fresh(url);
        restore_dump(
            url,
            &fixtures().join(POSTGRES_FIXTURE),
            FIXTURE_SCHEMA,
            &schema,
        )
        .await;
        schema
    }

    async fn layout_rows(url: &str, schema: &Schema) -> Vec<(i32, String)> {
        raw_client(url)
            .await
            .query(
                &format!(
                    "SELECT version, description FROM {}.layout ORDER BY version",
                    schema.name()
                ),
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_postgres_fixture_migrates_loads_and_follows() {
        let Some(url) = url() else { return };
        let schema = restored(&url).await;
        match PostgresStore::builder(&url)
            .schema(schema.name())
            .migrate(false)
            .connect()
            .await
        {
            Err(StoreError::Layout {
                found: 1,
                expected: 3,
                location,
                ..
            }) => assert!(location.contains(schema.name()), "{location}"),
            other => panic!("expected a layout error, got {other:?}"),
        }
        let store = PostgresStore::connect(&url, schema.name()).await.unwrap();
        assert_eq!(
            layout_rows(&url, &schema).await,
            [
                (2, "events record their aggregate type".to_owned()),
                (3, "events carry their hash-chain link".to_owned()),
            ]
        );
        let app = Application::new(store);
        let client = raw_client(&url).await;
        let name = schema.name().to_owned();
        check_migrated(&app, async || {
            client
                .execute(
                    &format!(
                        "UPDATE {name}.events SET aggregate_type = 'Cat' WHERE aggregate_type IS NULL AND stream_id = ANY($1)"
                    ),
                    &[&vec![tom(), felix()]],
                )
                .await
                .unwrap();
            client
                .execute(
                    &format!(
                        "UPDATE {name}.events SET aggregate_type = 'Dog' WHERE aggregate_type IS NULL"
                    ),
                    &[],
                )
                .await
                .unwrap();
        })
        .await;
        drop(app);
        drop(PostgresStore::connect(&url, schema.name()).await.unwrap());
        assert_eq!(layout_rows(&url, &schema).await.len(), 2);
        schema.drop_now().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn several_processes_migrate_a_postgres_schema_once() {
        let Some(url) = url() else { return };
        let schema = restored(&url).await;
        let url_of_schema = schema.store_url();
        tokio::task::spawn_blocking(move || open_in_processes(&url_of_schema, 4))
            .await
            .unwrap();
        assert_eq!(
            layout_rows(&url, &schema).await,
            [
                (2, "events record their aggregate type".to_owned()),
                (3, "events carry their hash-chain link".to_owned()),
            ]
        );
        schema.drop_now().await;
    }

    /// Writes the committed fixtures with the layout of the code that runs
    /// it. Run by hand, only to make new fixtures for a new layout.
    #[tokio::test]
    #[ignore = "writes the committed fixtures"]
    async fn write_fixtures() {
        let url = url().expect("CHRONICLE_TEST_POSTGRES_URL");
        let sqlite = fixtures().join(SQLITE_FIXTURE);
        let _ = std::fs::remove_file(&sqlite);
        let store = SqliteStore::builder(&sqlite)
            .read_connections(0)
            .open()
            .await
            .unwrap();
        write_v1(&Application::new(store)).await;

        let client = raw_client(&url).await;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {FIXTURE_SCHEMA} CASCADE"))
            .await
            .unwrap();
        let store = PostgresStore::connect(&url, FIXTURE_SCHEMA).await.unwrap();
        write_v1(&Application::new(store)).await;
        std::fs::write(
            fixtures().join(POSTGRES_FIXTURE),
            dump_schema(&url, FIXTURE_SCHEMA),
        )
        .unwrap();
        client
            .batch_execute(&format!("DROP SCHEMA {FIXTURE_SCHEMA} CASCADE"))
            .await
            .unwrap();
    }
}
