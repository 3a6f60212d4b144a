//! Stored layouts and their migrations: databases written by an older
//! layout open, migrate in place, load and follow with today's code.
//!
//! The fixtures `tests/fixtures/layout_v1.*` were written by `write_fixtures`
//! below with the first layout (before the aggregate-type column):
//! `cargo test --all-features --test layout_migration -- --ignored write_fixtures`
//! with PostgreSQL running. They are committed so that the migration tests
//! read data the old code really wrote.

use std::path::PathBuf;

use chronicle_es::prelude::*;
use chronicle_es::store::SqliteStore;

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

use pets::{Cat, Dog};

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

#[cfg(feature = "postgres")]
mod pg {
    use super::*;
    use chronicle_es::store::tokio_postgres::{self, NoTls};
    use chronicle_es::store::PostgresStore;

    fn url() -> Option<String> {
        std::env::var("CHRONICLE_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
    }

    async fn client(url: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
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

        let client = client(&url).await;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {FIXTURE_SCHEMA} CASCADE"))
            .await
            .unwrap();
        let store = PostgresStore::connect(&url, FIXTURE_SCHEMA).await.unwrap();
        write_v1(&Application::new(store)).await;
        let output = std::process::Command::new("pg_dump")
            .args([
                "--no-owner",
                "--no-privileges",
                "--inserts",
                "--schema",
                FIXTURE_SCHEMA,
                "--dbname",
                &url,
            ])
            .output()
            .expect("pg_dump");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::write(fixtures().join(POSTGRES_FIXTURE), output.stdout).unwrap();
        client
            .batch_execute(&format!("DROP SCHEMA {FIXTURE_SCHEMA} CASCADE"))
            .await
            .unwrap();
    }
}
