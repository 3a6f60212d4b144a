//! The same work as the library's workloads, done by hand with the bare
//! storage (a locked `Vec`, rusqlite, tokio-postgres), as fast as it goes.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Mutex;

use chronicle_es::Uuid;
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
    chronicle_es::Timestamp::now().unix_micros()
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

/// Bare tokio-postgres with the store's row shape (the events table of
/// `chronicle_es::store::postgres`, positions from a sequence), prepared
/// statements and autocommit, on its own single-threaded runtime.
#[cfg(feature = "postgres")]
pub mod postgres {
    use std::hint::black_box;
    use std::time::SystemTime;

    use chronicle_es::store::tokio_postgres::types::{FromSql, ToSql, Type};
    use chronicle_es::store::tokio_postgres::{self, Client, NoTls, Row};
    use chronicle_es::Uuid;

    use super::{decode_tricks, dog_payloads};
    use crate::Shape;

    /// How W2 writes one dog's 100 events.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Batch {
        /// One autocommit `INSERT ... SELECT FROM unnest(...)` per dog.
        Unnest,
        /// `BEGIN`, one prepared INSERT per event, `COMMIT`, all pipelined.
        Pipelined,
    }

    /// A column's raw bytes, whatever its type (json, jsonb, bytea).
    struct Raw(Vec<u8>);

    impl<'a> FromSql<'a> for Raw {
        fn from_sql(
            _: &Type,
            raw: &'a [u8],
        ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            Ok(Raw(raw.to_vec()))
        }

        fn accepts(_: &Type) -> bool {
            true
        }
    }

    /// A row as the store reads it: every column, decoded.
    type PgRow = (
        i64,
        Uuid,
        i64,
        Uuid,
        String,
        i64,
        SystemTime,
        Option<Raw>,
        Option<Raw>,
        Option<Raw>,
    );

    fn pg_row(row: &Row) -> PgRow {
        (
            row.get(0),
            row.get(1),
            row.get(2),
            row.get(3),
            row.get(4),
            row.get(5),
            row.get(6),
            row.get(7),
            row.get(8),
            row.get(9),
        )
    }

    fn payload(row: &PgRow) -> &[u8] {
        match (&row.8, &row.9) {
            (Some(json), _) | (None, Some(json)) => &json.0,
            (None, None) => &[],
        }
    }

    const COLUMNS: &str = "position, stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, payload_bytes";

    pub struct Postgres {
        rt: tokio::runtime::Runtime,
        url: String,
        schema: String,
        client: Client,
        /// The technique W2 uses (the faster one, once measured).
        pub batch: Batch,
    }

    async fn connect(url: &str) -> Client {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .expect("connect to PostgreSQL");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    fn insert_one(schema: &str) -> String {
        format!(
            "INSERT INTO {schema}.events (position, stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, payload_bytes)
             VALUES (nextval('{schema}.events_position_seq'), $1, $2, $3, $4, 1, $5, NULL, $6::text::json, NULL)"
        )
    }

    fn insert_unnest(schema: &str) -> String {
        format!(
            "INSERT INTO {schema}.events (position, stream_id, version, event_id, event_type, schema_version, recorded_at, metadata, payload, payload_bytes)
             SELECT nextval('{schema}.events_position_seq'), $1, u.version, u.event_id, u.event_type, 1, $2, NULL, u.payload::json, NULL
               FROM unnest($3::bigint[], $4::uuid[], $5::text[], $6::text[]) WITH ORDINALITY AS u(version, event_id, event_type, payload, ord)
              ORDER BY u.ord"
        )
    }

    /// W1 for dogs `first_dog..first_dog + shape.dogs`: one autocommit INSERT per event.
    async fn one_event_per_statement(
        client: &Client,
        schema: &str,
        shape: Shape,
        first_dog: usize,
    ) {
        let insert = client.prepare(&insert_one(schema)).await.expect("prepare");
        for dog in first_dog..first_dog + shape.dogs {
            let id = Uuid::new_v4();
            for (version, event_type, payload) in dog_payloads(dog, shape.events_per_dog) {
                let text = std::str::from_utf8(&payload).expect("json is utf-8");
                client
                    .execute(
                        &insert,
                        &[
                            &id,
                            &(version as i64),
                            &Uuid::new_v4(),
                            &event_type,
                            &SystemTime::now(),
                            &text,
                        ],
                    )
                    .await
                    .expect("insert");
            }
        }
    }

    /// One dog's events, in one transaction, by `batch`.
    async fn write_dog(
        client: &Client,
        statement: &tokio_postgres::Statement,
        batch: Batch,
        dog: usize,
        events: usize,
    ) {
        let id = Uuid::new_v4();
        let rows: Vec<(i64, &str, String)> = dog_payloads(dog, events)
            .map(|(version, event_type, payload)| {
                let text = String::from_utf8(payload).expect("json is utf-8");
                (version as i64, event_type, text)
            })
            .collect();
        match batch {
            Batch::Unnest => {
                let versions: Vec<i64> = rows.iter().map(|row| row.0).collect();
                let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::new_v4()).collect();
                let types: Vec<&str> = rows.iter().map(|row| row.1).collect();
                let payloads: Vec<&str> = rows.iter().map(|row| row.2.as_str()).collect();
                client
                    .execute(
                        statement,
                        &[&id, &SystemTime::now(), &versions, &ids, &types, &payloads],
                    )
                    .await
                    .expect("insert");
            }
            Batch::Pipelined => {
                let now = SystemTime::now();
                let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::new_v4()).collect();
                let inserts =
                    rows.iter()
                        .zip(&ids)
                        .map(|((version, event_type, text), event_id)| {
                            let params: [&(dyn ToSql + Sync); 6] =
                                [&id, version, event_id, event_type, &now, text];
                            client.execute_raw(statement, params)
                        });
                // Sent in order when first polled: BEGIN, the inserts, COMMIT.
                let begin = client.batch_execute("BEGIN");
                let inserts = futures_join_all(inserts);
                let commit = client.batch_execute("COMMIT");
                let (begun, inserted, committed) = tokio::join!(begin, inserts, commit);
                begun.expect("begin");
                inserted.into_iter().for_each(|result| {
                    result.expect("insert");
                });
                committed.expect("commit");
            }
        }
    }

    /// Polls every future concurrently (first polls in order), collecting outputs in order.
    async fn futures_join_all<F: std::future::Future>(
        futures: impl Iterator<Item = F>,
    ) -> Vec<F::Output> {
        let mut futures: Vec<_> = futures.map(|future| Some(Box::pin(future))).collect();
        let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (slot, output) in futures.iter_mut().zip(outputs.iter_mut()) {
                if let Some(future) = slot {
                    match future.as_mut().poll(cx) {
                        std::task::Poll::Ready(value) => {
                            *output = Some(value);
                            *slot = None;
                        }
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        outputs
            .into_iter()
            .map(|output| output.expect("polled to completion"))
            .collect()
    }

    impl Postgres {
        pub fn new(url: &str, schema: String) -> Self {
            let rt = crate::runtime();
            let client = rt.block_on(connect(url));
            let mut this = Self {
                rt,
                url: url.to_owned(),
                schema,
                client,
                batch: Batch::Unnest,
            };
            crate::baseline::Baseline::fresh(&mut this);
            this
        }

        /// W2 by one technique.
        pub fn one_transaction_per_dog_by(&mut self, shape: Shape, batch: Batch) {
            let Self {
                rt, client, schema, ..
            } = self;
            rt.block_on(async {
                let sql = match batch {
                    Batch::Unnest => insert_unnest(schema),
                    Batch::Pipelined => insert_one(schema),
                };
                let statement = client.prepare(&sql).await.expect("prepare");
                for dog in 0..shape.dogs {
                    write_dog(client, &statement, batch, dog, shape.events_per_dog).await;
                }
            });
        }

        /// Drops schemas (the baseline's and the library's runs').
        pub fn drop_schemas(&mut self, schemas: &[String]) {
            let Self { rt, client, .. } = self;
            rt.block_on(async {
                for schema in schemas {
                    client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await
                        .expect("drop schema");
                }
            });
        }
    }

    impl Drop for Postgres {
        fn drop(&mut self) {
            let schema = self.schema.clone();
            self.drop_schemas(&[schema]);
        }
    }

    impl super::Baseline for Postgres {
        fn fresh(&mut self) {
            let Self {
                rt, client, schema, ..
            } = self;
            rt.block_on(client.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE;
                 CREATE SCHEMA {schema};
                 CREATE SEQUENCE {schema}.events_position_seq AS bigint;
                 CREATE TABLE {schema}.events (
                     position bigint PRIMARY KEY,
                     stream_id uuid NOT NULL,
                     version bigint NOT NULL,
                     event_id uuid NOT NULL,
                     event_type text NOT NULL,
                     schema_version bigint NOT NULL,
                     recorded_at timestamptz NOT NULL,
                     metadata jsonb,
                     payload json,
                     payload_bytes bytea,
                     CONSTRAINT events_stream_version UNIQUE (stream_id, version));"
            )))
            .expect("baseline schema");
        }

        fn one_event_per_transaction(&mut self, shape: Shape) {
            let Self {
                rt, client, schema, ..
            } = self;
            rt.block_on(one_event_per_statement(client, schema, shape, 0));
        }

        fn one_transaction_per_dog(&mut self, shape: Shape) {
            self.one_transaction_per_dog_by(shape, self.batch);
        }

        fn long_stream(&mut self, events: usize) -> Uuid {
            self.one_transaction_per_dog_by(
                Shape {
                    dogs: 1,
                    events_per_dog: events,
                },
                Batch::Unnest,
            );
            let Self {
                rt, client, schema, ..
            } = self;
            rt.block_on(client.query_one(
                &format!("SELECT stream_id FROM {schema}.events LIMIT 1"),
                &[],
            ))
            .expect("id")
            .get(0)
        }

        fn load_stream(&mut self, id: Uuid, events: usize) {
            let sql = format!(
                "SELECT {COLUMNS} FROM {}.events WHERE stream_id = $1 ORDER BY version",
                self.schema
            );
            let rows: Vec<PgRow> = self.rt.block_on(async {
                let select = self.client.prepare(&sql).await.expect("prepare");
                let rows = self.client.query(&select, &[&id]).await.expect("select");
                rows.iter().map(pg_row).collect()
            });
            let tricks = decode_tricks(rows.iter().map(payload));
            assert_eq!(tricks.len(), events - 1);
            black_box(tricks);
        }

        fn read_log(&mut self, page: usize) -> usize {
            let sql = format!(
                "SELECT {COLUMNS} FROM {}.events WHERE position > $1 ORDER BY position LIMIT $2",
                self.schema
            );
            let client = &self.client;
            self.rt.block_on(async {
                let select = client.prepare(&sql).await.expect("prepare");
                let mut after = 0i64;
                let mut read = 0;
                loop {
                    let rows: Vec<PgRow> = client
                        .query(&select, &[&after, &(page as i64)])
                        .await
                        .expect("select")
                        .iter()
                        .map(pg_row)
                        .collect();
                    let Some(last) = rows.last() else {
                        return read;
                    };
                    after = last.0;
                    read += rows.len();
                    black_box(rows);
                }
            })
        }

        fn concurrent_writers(&mut self, shape: Shape, writers: usize) {
            let per_writer = Shape {
                dogs: shape.dogs / writers,
                ..shape
            };
            let Self {
                rt, url, schema, ..
            } = self;
            rt.block_on(async {
                let mut clients = Vec::with_capacity(writers);
                for _ in 0..writers {
                    clients.push(connect(url).await);
                }
                let work = clients.iter().enumerate().map(|(w, client)| {
                    one_event_per_statement(client, schema, per_writer, w * per_writer.dogs)
                });
                futures_join_all(work).await;
            });
        }
    }
}
