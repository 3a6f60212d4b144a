//! Schema evolution against stored data: fixture databases written by the
//! first shape of the DogSchool (`v1`) load into today's shape (`v2`), where
//! the aggregate was renamed, an event was renamed, an event gained a field
//! and the state changed shape (upcast in snapshots).
//!
//! The fixtures in `tests/fixtures/` were written by `write_fixtures` below
//! (`cargo test --all-features --test evolution -- --ignored write_fixtures`
//! with PostgreSQL running), and are committed so that the loading tests read
//! data the old code really wrote.
//!
//! The dogs here are this file's own, not the shared `Dog` of
//! `tests/common/dogs.rs`: the tests are about the two historic shapes.

mod common;

use std::path::{Path, PathBuf};

use chronicle_es::prelude::*;
use chronicle_es::store::SqliteStore;
use chronicle_es::upcast::{json, Value};
use common::stores::TempDir;

/// Ids derive from names, so the tests know them.
const DOGS: Uuid = Uuid::from_u128(0x0d06_5c40_0000_4000_8000_0000_0000_0001);

fn dog_id(name: &str) -> Uuid {
    Uuid::new_v5(&DOGS, name.as_bytes())
}

/// The first shape, as it was when the fixtures were written.
mod v1 {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[aggregate(snapshots)]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Dog {
        pub name: String,
        pub tricks: Vec<String>,
    }

    #[aggregate]
    impl Dog {
        #[event("Registered", id = dog_id(&name))]
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
}

/// Today's shape: `Dog` became `Hound` (stored snapshots still say "Dog"),
/// `Registered` became `Enrolled`, `TrickAdded` gained a `level` (version 2)
/// and the state keeps tricks with their levels (state version 2).
mod v2 {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Trick {
        pub name: String,
        pub level: u8,
    }

    #[aggregate(snapshots, version = 2, aliases = ["Dog"])]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Hound {
        pub name: String,
        pub tricks: Vec<Trick>,
    }

    #[aggregate]
    impl Hound {
        // Never called: this shape only reads what v1 stored.
        #[allow(dead_code)]
        #[event("Enrolled", aliases = ["Registered"], id = dog_id(&name))]
        pub fn enrol(name: String) -> Self {
            Self {
                name,
                tricks: Vec::new(),
            }
        }

        #[event("TrickAdded", version = 2)]
        pub fn add_trick(&mut self, trick: String, level: u8) {
            self.tricks.push(Trick { name: trick, level });
        }

        /// Version 1 of `TrickAdded` had no level: those tricks were basic.
        #[upcast("TrickAdded", from = 1)]
        fn trick_added_v1(mut payload: Value) -> Value {
            payload["level"] = json!(1);
            payload
        }

        /// Version 1 of the state kept trick names only.
        #[upcast(state, from = 1)]
        fn state_v1(mut state: Value) -> Value {
            let tricks: Vec<Value> = state["tricks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|name| json!({ "name": name, "level": 1 }))
                .collect();
            state["tricks"] = Value::Array(tricks);
            state
        }
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

const SQLITE_FIXTURE: &str = "dog_school_v1.sqlite";
#[cfg(feature = "postgres")]
const POSTGRES_FIXTURE: &str = "dog_school_v1.postgres.sql";
#[cfg(feature = "postgres")]
const FIXTURE_SCHEMA: &str = "chronicle_fixture_v1";

/// What v1 wrote: Fido with two tricks (no snapshot); Buster with a
/// snapshot at version 2 and one more trick after it.
async fn write_v1<S: EventStore>(app: &Application<S>) {
    let mut fido = v1::Dog::register("Fido".into());
    fido.add_trick("roll over".into());
    fido.add_trick("play dead".into());
    app.save(&mut fido).await.unwrap();

    let mut buster = v1::Dog::register("Buster".into());
    buster.add_trick("fetch".into());
    app.save(&mut buster).await.unwrap();
    assert_eq!(app.take_snapshot::<v1::Dog>(buster.id()).await.unwrap(), 2);
    buster.add_trick("sit".into());
    app.save(&mut buster).await.unwrap();
}

/// Loads the v1 data with the v2 code, then records a v2 event beside it.
async fn check_v2<S: EventStore>(app: &Application<S>) {
    let trick = |name: &str, level| v2::Trick {
        name: name.into(),
        level,
    };
    let fido: v2::Hound = app.get(dog_id("Fido")).await.unwrap();
    assert_eq!(fido.name, "Fido");
    assert_eq!(fido.tricks, [trick("roll over", 1), trick("play dead", 1)]);
    assert_eq!(fido.version(), 3);

    // Buster loads from the v1 snapshot (state upcast, stored as "Dog") plus
    // one v1 event after it.
    let snapshot = app
        .store()
        .latest_snapshot(dog_id("Buster"), None)
        .await
        .unwrap()
        .expect("the fixture has a snapshot");
    assert_eq!(
        (
            snapshot.version,
            snapshot.schema_version,
            snapshot.snapshot_type.as_str()
        ),
        (2, 1, "Dog")
    );
    let mut buster: v2::Hound = app.get(dog_id("Buster")).await.unwrap();
    assert_eq!(buster.tricks, [trick("fetch", 1), trick("sit", 1)]);
    assert_eq!(buster.version(), 3);

    // The renamed creation event decodes through its alias.
    let log = app.read_log(LogQuery::after(0, 100)).await.unwrap();
    let first = app.decode::<v2::HoundEvent>(&log[0]).await.unwrap();
    assert_eq!(log[0].event_type, "Registered");
    assert_eq!(
        first.event,
        v2::HoundEvent::Enrolled {
            name: "Fido".into()
        }
    );

    // New events are written in the new shape, next to the old ones.
    buster.add_trick("beg".into(), 3);
    app.save(&mut buster).await.unwrap();
    let reloaded: v2::Hound = app.get(dog_id("Buster")).await.unwrap();
    assert_eq!(
        reloaded.tricks,
        [trick("fetch", 1), trick("sit", 1), trick("beg", 3)]
    );
    let stored = app
        .store()
        .read_stream(dog_id("Buster"), StreamQuery::all().from_version(4))
        .await
        .unwrap();
    assert_eq!(stored[0].schema_version, 2);
    assert_eq!(
        std::str::from_utf8(&stored[0].payload).unwrap(),
        r#"{"trick":"beg","level":3}"#
    );
    // A state snapshot taken now is version 2 and reads back.
    app.take_snapshot::<v2::Hound>(buster.id()).await.unwrap();
    let from_snapshot: v2::Hound = app.get(buster.id()).await.unwrap();
    assert_eq!(from_snapshot, reloaded);
}

#[tokio::test]
async fn the_sqlite_fixture_written_by_v1_loads_into_v2() {
    // Work on a copy: the committed fixture stays as v1 wrote it.
    let directory = TempDir::create();
    let copy = directory.join(SQLITE_FIXTURE);
    std::fs::copy(fixtures().join(SQLITE_FIXTURE), &copy).unwrap();
    let app = Application::new(SqliteStore::open(&copy).await.unwrap());
    check_v2(&app).await;
    drop(app);
    drop(directory);
}

#[tokio::test]
async fn the_same_code_path_on_fresh_v1_data_in_memory() {
    let app = Application::in_memory();
    write_v1(&app).await;
    check_v2(&app).await;
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use chronicle_es::store::PostgresStore;
    use common::postgres::{dump_schema, raw_client, restore_dump, url, Schema};

    #[tokio::test]
    async fn the_postgres_fixture_written_by_v1_loads_into_v2() {
        let Some(url) = url() else { return };
        let schema = Schema::fresh(&url);
        restore_dump(
            &url,
            &fixtures().join(POSTGRES_FIXTURE),
            FIXTURE_SCHEMA,
            &schema,
        )
        .await;
        let app = Application::new(PostgresStore::connect(&url, schema.name()).await.unwrap());
        check_v2(&app).await;
        drop(app);
        schema.drop_now().await;
    }

    /// Writes the fixtures with the v1 code. Run by hand, once, with
    /// PostgreSQL running and `pg_dump` installed.
    #[tokio::test]
    #[ignore = "writes the committed fixtures; run by hand"]
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
