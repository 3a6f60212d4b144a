//! Stores written by the library for the CLI tests to read: a SQLite file
//! in a directory of its own, and a PostgreSQL schema of its own when
//! `CHRONICLE_TEST_POSTGRES_URL` names a server.

#![allow(dead_code)] // each test file uses part of this

use std::path::PathBuf;

use assert_cmd::Command;
use chronicle_es::prelude::*;
use chronicle_es::store::{tokio_postgres, AnyStore, AppendRequest, Tracking};

/// The environment variable that names the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "CHRONICLE_TEST_POSTGRES_URL";

/// The dog school's `Dog`, shared with the library's own tests.
#[path = "../../../tests/common/dogs.rs"]
mod dogs;

pub use dogs::Dog;

/// Where a test store lives, and how to reach its tables with SQL.
pub enum Place {
    Sqlite { directory: PathBuf, file: PathBuf },
    Postgres { server: String, schema: String },
}

/// A store written by the library: three dogs with hash chains (Fido with
/// 4 events, Rex with 3, Bella with 2: 9 events, positions 1 to 9), and
/// the tracking record `dog-names` at position 5.
pub struct Fixture {
    pub place: Place,
    pub url: String,
    pub dogs: Vec<Uuid>,
}

impl Fixture {
    /// The stores this environment offers, each written afresh.
    pub async fn all() -> Vec<Fixture> {
        let mut fixtures = vec![Fixture::write(Fixture::sqlite_place()).await];
        if let Some(place) = Fixture::postgres_place() {
            fixtures.push(Fixture::write(place).await);
        }
        fixtures
    }

    /// A new, empty SQLite place.
    pub fn sqlite_place() -> Place {
        let directory = std::env::temp_dir().join(format!("chronicle-cli-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&directory).unwrap();
        let file = directory.join("events.db");
        Place::Sqlite { directory, file }
    }

    /// A new PostgreSQL schema name, when a server is configured.
    pub fn postgres_place() -> Option<Place> {
        let server = std::env::var(POSTGRES_ENV)
            .ok()
            .filter(|url| !url.is_empty())?;
        let schema = format!("cli_{}", Uuid::new_v4().simple());
        Some(Place::Postgres { server, schema })
    }

    pub fn url_of(place: &Place) -> String {
        match place {
            Place::Sqlite { file, .. } => format!("sqlite://{}", file.display()),
            Place::Postgres { server, schema } => {
                let separator = if server.contains('?') { '&' } else { '?' };
                format!("{server}{separator}schema={schema}")
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.place {
            Place::Sqlite { .. } => "sqlite",
            Place::Postgres { .. } => "postgres",
        }
    }

    async fn write(place: Place) -> Fixture {
        let url = Fixture::url_of(&place);
        let store = AnyStore::from_url(&url).await.unwrap();
        let app = Application::builder(store.clone()).hash_chain(true).build();
        let mut dogs = Vec::new();
        for (name, tricks) in [("Fido", 3), ("Rex", 2), ("Bella", 1)] {
            let mut dog = Dog::register(name.into());
            app.save(&mut dog).await.unwrap();
            for trick in 0..tricks {
                dog.add_trick(format!("trick {trick}"));
            }
            app.save(&mut dog).await.unwrap();
            dogs.push(dog.id());
        }
        store
            .append_tracked(AppendRequest::default(), Tracking::new("dog-names", 5))
            .await
            .unwrap();
        Fixture { place, url, dogs }
    }

    /// The `chronicle` command on this store.
    pub fn cli(&self) -> Command {
        let mut command = Command::cargo_bin("chronicle").unwrap();
        command
            .env_remove("CHRONICLE_STORE_URL")
            .args(["--store", &self.url]);
        command
    }

    /// Runs one SQL statement on the store's events table, named `{events}`.
    pub async fn sql(&self, statement: &str) {
        match &self.place {
            Place::Sqlite { file, .. } => {
                let connection = chronicle_es::store::rusqlite::Connection::open(file).unwrap();
                connection
                    .execute_batch(&statement.replace("{events}", "events"))
                    .unwrap();
            }
            Place::Postgres { server, schema } => {
                let client = client(server).await;
                client
                    .batch_execute(&statement.replace("{events}", &format!("{schema}.events")))
                    .await
                    .unwrap();
            }
        }
    }

    /// A uuid as the store's SQL writes it.
    pub fn id_literal(&self, id: Uuid) -> String {
        match self.place {
            Place::Sqlite { .. } => format!("x'{}'", id.simple()),
            Place::Postgres { .. } => format!("'{id}'"),
        }
    }

    /// Removes the store.
    pub async fn remove(self) {
        remove(&self.place).await;
    }
}

pub async fn remove(place: &Place) {
    match place {
        Place::Sqlite { directory, .. } => {
            let _ = std::fs::remove_dir_all(directory);
        }
        Place::Postgres { server, schema } => {
            client(server)
                .await
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .await
                .unwrap();
        }
    }
}

async fn client(server: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// The command's stdout as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The command's stderr as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Each line of stdout as JSON.
pub fn json_lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
