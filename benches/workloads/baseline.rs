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
pub struct Registered {
    name: String,
}

#[derive(Serialize, Deserialize)]
pub struct TrickAdded {
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

/// The dog's events, as a bare driver's user would decode them: by type
/// name, from the JSON payload.
pub enum BareEvent {
    Registered(Registered),
    TrickAdded(TrickAdded),
}

/// Decodes one payload by its event type.
pub fn decode_event(event_type: &str, payload: &[u8]) -> BareEvent {
    match event_type {
        "Registered" => BareEvent::Registered(serde_json::from_slice(payload).expect("decode")),
        "TrickAdded" => BareEvent::TrickAdded(serde_json::from_slice(payload).expect("decode")),
        other => panic!("unknown event type {other}"),
    }
}

/// The dog as a plain struct that events are applied to.
#[derive(Default)]
pub struct BareDog {
    version: u64,
    name: String,
    tricks: Vec<String>,
}

impl BareDog {
    pub fn apply(&mut self, version: u64, event: BareEvent) {
        assert_eq!(version, self.version + 1, "versions in order");
        self.version = version;
        match event {
            BareEvent::Registered(registered) => self.name = registered.name,
            BareEvent::TrickAdded(added) => self.tricks.push(added.trick),
        }
    }

    /// Checks the load: every event applied.
    pub fn check(self, events: usize) {
        assert_eq!(self.version as usize, events);
        assert_eq!(self.tricks.len(), events - 1);
        black_box(self);
    }
}

/// An event read from the log, as a bare driver's user would keep it (kept
/// whole, like the library's envelopes, though the benchmark reads only the
/// position).
#[allow(dead_code)]
pub struct BareEnvelope {
    pub position: i64,
    pub stream_id: Uuid,
    pub version: i64,
    pub event_id: Uuid,
    pub recorded_at: i64,
    pub event: BareEvent,
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
        let mut dog = BareDog::default();
        for row in self.log.lock().expect("lock").iter() {
            if row.0 == id {
                dog.apply(row.1, decode_event(row.2, &row.3));
            }
        }
        dog.check(events);
    }

    fn read_log(&mut self, page: usize) -> usize {
        let mut read = 0;
        loop {
            let envelopes: Vec<BareEnvelope> = {
                let log = self.log.lock().expect("lock");
                log[read.min(log.len())..(read + page).min(log.len())]
                    .iter()
                    .enumerate()
                    .map(|(index, row)| BareEnvelope {
                        position: (read + index + 1) as i64,
                        stream_id: row.0,
                        version: row.1 as i64,
                        event_id: row.0,
                        recorded_at: 0,
                        event: decode_event(row.2, &row.3),
                    })
                    .collect()
            };
            if envelopes.is_empty() {
                return read;
            }
            read += envelopes.len();
            black_box(envelopes);
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

impl Sqlite {
    pub fn new(path: PathBuf) -> Self {
        let connection = sqlite_connection(&path);
        connection.execute_batch(SQLITE_SCHEMA).expect("schema");
        Self { path, connection }
    }
}

impl Baseline for Sqlite {
    /// A new database file, as the library's store gets for every run: a
    /// file whose write-ahead log has already grown to full size takes
    /// commits several times faster than a new one.
    fn fresh(&mut self) {
        let closed = rusqlite::Connection::open_in_memory().expect("placeholder");
        drop(std::mem::replace(&mut self.connection, closed));
        for suffix in ["", "-wal", "-shm"] {
            let mut file = self.path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
        self.connection = sqlite_connection(&self.path);
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
            .prepare_cached(
                "SELECT version, event_type, payload FROM events WHERE stream_id = ?1 ORDER BY version",
            )
            .expect("prepare");
        let mut rows = select.query([id.as_bytes().as_slice()]).expect("query");
        let mut dog = BareDog::default();
        while let Some(row) = rows.next().expect("row") {
            let version: i64 = row.get(0).expect("version");
            let event_type = row.get_ref(1).expect("type").as_str().expect("text");
            let payload = row.get_ref(2).expect("payload").as_bytes().expect("bytes");
            dog.apply(version as u64, decode_event(event_type, payload));
        }
        dog.check(events);
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
            let mut rows = select
                .query(rusqlite::params![after, page as i64])
                .expect("query");
            let mut envelopes = Vec::with_capacity(page);
            while let Some(row) = rows.next().expect("row") {
                let uuid = |column| {
                    Uuid::from_slice(row.get_ref(column).expect("id").as_blob().expect("blob"))
                        .expect("uuid")
                };
                envelopes.push(BareEnvelope {
                    position: row.get(0).expect("position"),
                    stream_id: uuid(1),
                    version: row.get(2).expect("version"),
                    event_id: uuid(3),
                    recorded_at: row.get(6).expect("time"),
                    event: decode_event(
                        row.get_ref(4).expect("type").as_str().expect("text"),
                        row.get_ref(8).expect("payload").as_bytes().expect("bytes"),
                    ),
                });
            }
            let Some(last) = envelopes.last() else {
                return read;
            };
            after = last.position;
            read += envelopes.len();
            black_box(envelopes);
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
    use chronicle_es::store::tokio_postgres::{self, Client, NoTls};
    use chronicle_es::Uuid;

    use super::{decode_event, dog_payloads, BareDog, BareEnvelope};
    use crate::Shape;

    /// How W2 writes one dog's 100 events.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Batch {
        /// One autocommit `INSERT ... SELECT FROM unnest(...)` per dog.
        Unnest,
        /// `BEGIN`, one prepared INSERT per event, `COMMIT`, all pipelined.
        Pipelined,
    }

    /// A `json` column's text, borrowed from the row.
    struct Json<'a>(&'a [u8]);

    impl<'a> FromSql<'a> for Json<'a> {
        fn from_sql(
            _: &Type,
            raw: &'a [u8],
        ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            Ok(Json(raw))
        }

        fn accepts(ty: &Type) -> bool {
            *ty == Type::JSON
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
                "SELECT version, event_type, payload FROM {}.events WHERE stream_id = $1 ORDER BY version",
                self.schema
            );
            let dog = self.rt.block_on(async {
                let select = self.client.prepare(&sql).await.expect("prepare");
                let rows = self.client.query(&select, &[&id]).await.expect("select");
                let mut dog = BareDog::default();
                for row in &rows {
                    let version: i64 = row.get(0);
                    let event_type: &str = row.get(1);
                    let Json(payload) = row.get(2);
                    dog.apply(version as u64, decode_event(event_type, payload));
                }
                dog
            });
            dog.check(events);
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
                    let envelopes: Vec<BareEnvelope> = client
                        .query(&select, &[&after, &(page as i64)])
                        .await
                        .expect("select")
                        .iter()
                        .map(|row| {
                            let Json(payload) = row.get(8);
                            let recorded_at: SystemTime = row.get(6);
                            BareEnvelope {
                                position: row.get(0),
                                stream_id: row.get(1),
                                version: row.get(2),
                                event_id: row.get(3),
                                recorded_at: recorded_at
                                    .duration_since(SystemTime::UNIX_EPOCH)
                                    .map_or(0, |d| d.as_micros() as i64),
                                event: decode_event(row.get(4), payload),
                            }
                        })
                        .collect();
                    let Some(last) = envelopes.last() else {
                        return read;
                    };
                    after = last.position;
                    read += envelopes.len();
                    black_box(envelopes);
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
