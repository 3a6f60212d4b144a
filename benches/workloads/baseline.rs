//! The same work as the library's workloads, done by hand with the bare
//! storage (a locked `Vec`, rusqlite, tokio-postgres), as fast as it goes.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Mutex;

use chronicle::Uuid;
use serde::{Deserialize, Serialize};

use crate::{trick, Shape};

/// One baseline per store.
pub trait Baseline {
    /// Starts again from an empty store.
    fn fresh(&mut self);
    /// W1: one event per transaction.
    fn one_event_per_transaction(&mut self, shape: Shape);
    /// W2: one transaction per dog.
    fn one_transaction_per_dog(&mut self, shape: Shape);
    /// W3 setup: one stream of `events` events; returns its id.
    fn long_stream(&mut self, events: usize) -> Uuid;
    /// W3: read the stream and decode every payload.
    fn load_stream(&mut self, id: Uuid, events: usize);
    /// W4: read the whole log in pages; returns how many rows were read.
    fn read_log(&mut self, page: usize) -> usize;
    /// W5: W1 split over `writers` concurrent writers.
    fn concurrent_writers(&mut self, shape: Shape, writers: usize);
}

#[derive(Serialize, Deserialize)]
struct Registered {
    name: String,
}

#[derive(Serialize, Deserialize)]
struct TrickAdded {
    trick: String,
}

/// The payloads of one dog's events, as JSON.
fn dog_payloads(dog: usize, events: usize) -> impl Iterator<Item = (u64, &'static str, Vec<u8>)> {
    (0..events).map(move |n| {
        let payload = if n == 0 {
            serde_json::to_vec(&Registered {
                name: format!("dog {dog}"),
            })
        } else {
            serde_json::to_vec(&TrickAdded { trick: trick(n) })
        };
        let event_type = if n == 0 { "Registered" } else { "TrickAdded" };
        (n as u64 + 1, event_type, payload.expect("encode"))
    })
}

fn decode_tricks<'a>(payloads: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
    payloads
        .skip(1)
        .map(|payload| {
            serde_json::from_slice::<TrickAdded>(payload)
                .expect("decode")
                .trick
        })
        .collect()
}

/// A stored row: stream, version, type, payload.
type MemoryRow = (Uuid, u64, &'static str, Vec<u8>);

/// A `Mutex<Vec<_>>` of encoded rows.
#[derive(Default)]
pub struct Memory {
    log: Mutex<Vec<MemoryRow>>,
}

impl Memory {
    fn write_dogs(&self, shape: Shape, first_dog: usize, per_event: bool) {
        for dog in first_dog..first_dog + shape.dogs {
            let id = Uuid::new_v4();
            let rows: Vec<MemoryRow> = dog_payloads(dog, shape.events_per_dog)
                .map(|(version, event_type, payload)| (id, version, event_type, payload))
                .collect();
            if per_event {
                for row in rows {
                    self.log.lock().expect("lock").push(row);
                }
            } else {
                self.log.lock().expect("lock").extend(rows);
            }
        }
    }
}

impl Baseline for Memory {
    fn fresh(&mut self) {
        self.log = Mutex::default();
    }

    fn one_event_per_transaction(&mut self, shape: Shape) {
        self.write_dogs(shape, 0, true);
    }

    fn one_transaction_per_dog(&mut self, shape: Shape) {
        self.write_dogs(shape, 0, false);
    }

    fn long_stream(&mut self, events: usize) -> Uuid {
        self.write_dogs(
            Shape {
                dogs: 1,
                events_per_dog: events,
            },
            0,
            false,
        );
        self.log.lock().expect("lock")[0].0
    }

    fn load_stream(&mut self, id: Uuid, events: usize) {
        let rows: Vec<MemoryRow> = self
            .log
            .lock()
            .expect("lock")
            .iter()
            .filter(|row| row.0 == id)
            .cloned()
            .collect();
        let tricks = decode_tricks(rows.iter().map(|row| row.3.as_slice()));
        assert_eq!(tricks.len(), events - 1);
        black_box(tricks);
    }

    fn read_log(&mut self, page: usize) -> usize {
        let mut read = 0;
        loop {
            let rows: Vec<MemoryRow> = {
                let log = self.log.lock().expect("lock");
                log[read.min(log.len())..(read + page).min(log.len())].to_vec()
            };
            if rows.is_empty() {
                return read;
            }
            read += rows.len();
            black_box(rows);
        }
    }

    fn concurrent_writers(&mut self, shape: Shape, writers: usize) {
        let per_writer = Shape {
            dogs: shape.dogs / writers,
            ..shape
        };
        let this = &*self;
        std::thread::scope(|scope| {
            for w in 0..writers {
                scope.spawn(move || this.write_dogs(per_writer, w * per_writer.dogs, true));
            }
        });
    }
}

/// Bare rusqlite on a WAL database file with the store's row shape and
/// durability (`synchronous = FULL`).
pub struct Sqlite {
    path: PathBuf,
    connection: rusqlite::Connection,
}

const SQLITE_SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL;
    DROP TABLE IF EXISTS events;
    CREATE TABLE events (
        position       INTEGER PRIMARY KEY AUTOINCREMENT,
        stream_id      BLOB NOT NULL,
        version        INTEGER NOT NULL,
        event_id       BLOB NOT NULL,
        event_type     TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        recorded_at    INTEGER NOT NULL,
        metadata       TEXT,
        payload        NOT NULL,
        UNIQUE (stream_id, version));";

const SQLITE_INSERT: &str = "INSERT INTO events (stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload) VALUES (?1, ?2, ?3, ?4, 1, ?5, NULL, ?6)";

const SQLITE_COLUMNS: &str = "position, stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload";

fn now_micros() -> i64 {
    chronicle::Timestamp::now().unix_micros()
}

fn sqlite_connection(path: &PathBuf) -> rusqlite::Connection {
    let connection = rusqlite::Connection::open(path).expect("open");
    connection
        .busy_timeout(std::time::Duration::from_secs(30))
        .expect("busy timeout");
    connection
        .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
        .expect("pragmas");
    connection
}

/// Inserts one dog's events, one transaction per event or one for all.
fn sqlite_write_dogs(
    connection: &rusqlite::Connection,
    shape: Shape,
    first_dog: usize,
    per_event: bool,
) {
    let mut insert = connection.prepare_cached(SQLITE_INSERT).expect("prepare");
    for dog in first_dog..first_dog + shape.dogs {
        let id = Uuid::new_v4();
        if !per_event {
            connection.execute_batch("BEGIN IMMEDIATE").expect("begin");
        }
        for (version, event_type, payload) in dog_payloads(dog, shape.events_per_dog) {
            if per_event {
                connection.execute_batch("BEGIN IMMEDIATE").expect("begin");
            }
            let text = std::str::from_utf8(&payload).expect("json is utf-8");
            insert
                .execute(rusqlite::params![
                    id.as_bytes().as_slice(),
                    version as i64,
                    Uuid::new_v4().as_bytes().as_slice(),
                    event_type,
                    now_micros(),
                    text
                ])
                .expect("insert");
            if per_event {
                connection.execute_batch("COMMIT").expect("commit");
            }
        }
        if !per_event {
            connection.execute_batch("COMMIT").expect("commit");
        }
    }
}

/// A row as the store reads it.
type SqliteRow = (
    i64,
    Vec<u8>,
    i64,
    Vec<u8>,
    String,
    i64,
    i64,
    Option<String>,
    Vec<u8>,
);

fn sqlite_row(row: &rusqlite::Row) -> rusqlite::Result<SqliteRow> {
    let payload = match row.get_ref(8)? {
        rusqlite::types::ValueRef::Text(bytes) | rusqlite::types::ValueRef::Blob(bytes) => {
            bytes.to_vec()
        }
        _ => Vec::new(),
    };
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        payload,
    ))
}

impl Sqlite {
    pub fn new(path: PathBuf) -> Self {
        let connection = sqlite_connection(&path);
        connection.execute_batch(SQLITE_SCHEMA).expect("schema");
        Self { path, connection }
    }
}

impl Baseline for Sqlite {
    fn fresh(&mut self) {
        self.connection
            .execute_batch(SQLITE_SCHEMA)
            .expect("schema");
    }

    fn one_event_per_transaction(&mut self, shape: Shape) {
        sqlite_write_dogs(&self.connection, shape, 0, true);
    }

    fn one_transaction_per_dog(&mut self, shape: Shape) {
        sqlite_write_dogs(&self.connection, shape, 0, false);
    }

    fn long_stream(&mut self, events: usize) -> Uuid {
        sqlite_write_dogs(
            &self.connection,
            Shape {
                dogs: 1,
                events_per_dog: events,
            },
            0,
            false,
        );
        let id: Vec<u8> = self
            .connection
            .query_row("SELECT stream_id FROM events LIMIT 1", [], |row| row.get(0))
            .expect("id");
        Uuid::from_slice(&id).expect("uuid")
    }

    fn load_stream(&mut self, id: Uuid, events: usize) {
        let mut select = self
            .connection
            .prepare_cached(&format!(
                "SELECT {SQLITE_COLUMNS} FROM events WHERE stream_id = ?1 ORDER BY version"
            ))
            .expect("prepare");
        let rows: Vec<SqliteRow> = select
            .query_map([id.as_bytes().as_slice()], sqlite_row)
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        let tricks = decode_tricks(rows.iter().map(|row| row.8.as_slice()));
        assert_eq!(tricks.len(), events - 1);
        black_box(tricks);
    }

    fn read_log(&mut self, page: usize) -> usize {
        let mut select = self
            .connection
            .prepare_cached(&format!(
                "SELECT {SQLITE_COLUMNS} FROM events WHERE position > ?1 ORDER BY position LIMIT ?2"
            ))
            .expect("prepare");
        let mut after = 0i64;
        let mut read = 0;
        loop {
            let rows: Vec<SqliteRow> = select
                .query_map(rusqlite::params![after, page as i64], sqlite_row)
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            let Some(last) = rows.last() else {
                return read;
            };
            after = last.0;
            read += rows.len();
            black_box(rows);
        }
    }

    fn concurrent_writers(&mut self, shape: Shape, writers: usize) {
        let per_writer = Shape {
            dogs: shape.dogs / writers,
            ..shape
        };
        let path = &self.path;
        std::thread::scope(|scope| {
            for w in 0..writers {
                scope.spawn(move || {
                    let connection = sqlite_connection(path);
                    sqlite_write_dogs(&connection, per_writer, w * per_writer.dogs, true);
                });
            }
        });
    }
}
