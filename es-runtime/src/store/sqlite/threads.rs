//! The SQLite store's connections and the threads that own them: one writer
//! thread with the only read-write connection (appends are group-committed
//! there), and a pool of reader threads with read-only connections
//! (`readers`). SQLite
//! calls block, so none runs on the caller's executor; answers come back on
//! `tokio::sync::oneshot` channels, which work on any executor.

use std::sync::{mpsc, Arc};
use std::thread;

use rusqlite::Connection;
use tokio::sync::{oneshot, watch};

use super::append::{append_in_transaction, Payloads};
use super::layout;
use super::readers::Readers;
use super::statements::Sql;
use super::{stopped, Db, Location, SqliteStoreBuilder, BACKEND};
use crate::store::encoding::backend;
use crate::store::error::StoreError;
use crate::store::request::{AppendOutcome, AppendRequest, Tracking};

/// At most this many queued appends share one transaction.
const MAX_GROUP: usize = 64;

/// Work for a connection thread.
type Job = Box<dyn FnOnce(&Connection, &Sql) + Send>;

/// An append waiting for the writer: the request, the tracking record to
/// commit with it and what is known of its payloads.
type Pending = (AppendRequest, Option<Tracking>, Payloads);

/// Where an append's answer goes.
type Reply = oneshot::Sender<Result<AppendOutcome, StoreError>>;

enum WriterMessage {
    Append(Pending, Reply),
    Run(Job),
}

/// The handles of a store's threads. Dropping them ends the threads (their
/// queues close) and so closes the connections.
pub(super) struct Threads {
    writer: mpsc::Sender<WriterMessage>,
    /// `None` when reads go to the writer (an in-memory database, or no
    /// read connections asked for).
    readers: Option<Readers>,
    /// The last position written by this process, announced by the writer
    /// thread after each commit that wrote events.
    appended: watch::Sender<u64>,
}

impl Threads {
    /// Opens the writer connection (creating the tables), then the readers.
    pub(super) async fn start(
        options: &SqliteStoreBuilder,
        sql: Arc<Sql>,
    ) -> Result<Self, StoreError> {
        let (writer, writer_queue) = mpsc::channel();
        let (ready, writer_ready) = oneshot::channel();
        let appended = watch::Sender::new(0);
        {
            let sql = Arc::clone(&sql);
            let options = options.clone();
            let appended = appended.clone();
            thread::Builder::new()
                .name("chronicle-sqlite-writer".into())
                .spawn(move || match open_writer(&options) {
                    Ok(connection) => {
                        let _ = ready.send(Ok(()));
                        writer_loop(connection, &writer_queue, &sql, &appended);
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                    }
                })
                .map_err(|error| backend(BACKEND, error))?;
        }
        writer_ready.await.map_err(|_| stopped())??;

        let readers = match (&options.location, options.read_connections) {
            (Location::File(path), count) if count > 0 => {
                Some(Readers::start(path, count, options.busy_timeout, &sql).await?)
            }
            _ => None,
        };
        Ok(Self {
            writer,
            readers,
            appended,
        })
    }

    /// True when there are read-only connections (else reads run on the writer).
    pub(super) fn has_readers(&self) -> bool {
        self.readers.is_some()
    }

    /// Runs `work` on a reader connection (the writer when there are none);
    /// an error only when the threads have stopped.
    pub(super) async fn on_reader<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection, &Sql) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        if let Some(readers) = &self.readers {
            return readers.run(work).await;
        }
        self.on_writer(work).await
    }

    /// Starts `work` on a reader connection and returns where its answer
    /// will come, without waiting; `None` when there are no readers (or
    /// none is left).
    pub(super) fn start_on_reader<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection, &Sql) -> T + Send + 'static,
    ) -> Option<oneshot::Receiver<T>> {
        self.readers.as_ref()?.send(work).ok()
    }

    /// Runs `work` on the writer connection, between append groups; an
    /// error only when the threads have stopped.
    pub(super) async fn on_writer<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection, &Sql) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        self.on_writer_then_drop(move |connection, sql| (work(connection, sql), ()))
            .await
    }

    /// Runs `work` on the writer like [`on_writer`](Self::on_writer), and
    /// drops the second thing it returns after answering: freeing a large
    /// input (a page of read-model writes) then overlaps the caller's next
    /// work instead of delaying the answer.
    pub(super) async fn on_writer_then_drop<T: Send + 'static, L>(
        &self,
        work: impl FnOnce(&Connection, &Sql) -> (T, L) + Send + 'static,
    ) -> Result<T, StoreError> {
        let (job, answer) = job(work);
        self.writer
            .send(WriterMessage::Run(job))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())
    }

    /// Queues an append for the writer, which may commit it together with
    /// others (group commit).
    pub(super) async fn append(
        &self,
        request: AppendRequest,
        tracking: Option<Tracking>,
        payloads: Payloads,
    ) -> Result<AppendOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(WriterMessage::Append((request, tracking, payloads), reply))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Wakes when the writer announces a position above the one seen.
    pub(super) fn appended(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }
}

/// A job for a connection thread, and where its answer arrives: `work`'s
/// first result, sent before its second is dropped.
fn job<T: Send + 'static, L>(
    work: impl FnOnce(&Connection, &Sql) -> (T, L) + Send + 'static,
) -> (Job, oneshot::Receiver<T>) {
    let (reply, answer) = oneshot::channel();
    let job: Job = Box::new(move |connection, sql| {
        let (result, leftovers) = work(connection, sql);
        let _ = reply.send(result);
        drop(leftovers);
    });
    (job, answer)
}

/// The read-write connection: WAL mode (for a file), the durability asked
/// for, and the tables.
fn open_writer(options: &SqliteStoreBuilder) -> Result<Connection, StoreError> {
    let connection = match &options.location {
        Location::File(path) => Connection::open(path),
        Location::Memory => Connection::open_in_memory(),
    }
    .db()?;
    connection.busy_timeout(options.busy_timeout).db()?;
    if let Location::File(path) = &options.location {
        let mode: String = connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .db()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Config(format!(
                "SQLite database {} cannot use WAL mode (journal mode is {mode})",
                path.display()
            )));
        }
    }
    connection
        .execute_batch(&format!(
            "PRAGMA synchronous = {};",
            options.synchronous.pragma()
        ))
        .db()?;
    connection.set_prepared_statement_cache_capacity(32);
    let location = match &options.location {
        Location::File(path) => path.display().to_string(),
        Location::Memory => ":memory:".to_owned(),
    };
    // The write lock first: a process opening the same file at the same
    // time waits here, then finds the layout already migrated.
    let transaction =
        rusqlite::Transaction::new_unchecked(&connection, rusqlite::TransactionBehavior::Immediate)
            .db()?;
    layout::prepare(
        &transaction,
        &options.table_prefix,
        options.migrate,
        &location,
    )?;
    transaction.commit().db()?;
    Ok(connection)
}

/// The writer thread: runs jobs in order, and gathers appends that queued
/// up meanwhile into one group (up to [`MAX_GROUP`]), stopping at the first
/// job so that jobs and appends keep their order.
fn writer_loop(
    mut connection: Connection,
    queue: &mpsc::Receiver<WriterMessage>,
    sql: &Sql,
    appended: &watch::Sender<u64>,
) {
    let mut held = None;
    loop {
        let message = match held.take() {
            Some(message) => message,
            None => match queue.recv() {
                Ok(message) => message,
                Err(_) => return,
            },
        };
        match message {
            WriterMessage::Run(job) => job(&connection, sql),
            WriterMessage::Append(pending, reply) => {
                let mut group = vec![(pending, reply)];
                while group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(WriterMessage::Append(pending, reply)) => group.push((pending, reply)),
                        Ok(other) => {
                            held = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                append_group(&mut connection, sql, group, appended);
            }
        }
    }
}

/// Runs a group of appends in one transaction, each under its own savepoint
/// (a lone append needs none), commits once and answers every caller.
/// Announces the highest position the group wrote on `appended` once it
/// has committed.
fn append_group(
    connection: &mut Connection,
    sql: &Sql,
    group: Vec<(Pending, Reply)>,
    appended: &watch::Sender<u64>,
) {
    if let Err(error) = control(connection, "BEGIN IMMEDIATE") {
        for (_, reply) in group {
            let _ = reply.send(Err(backend(BACKEND, error.to_string())));
        }
        return;
    }
    let lone = group.len() == 1;
    let mut results = Vec::with_capacity(group.len());
    let mut broken = None;
    for ((request, tracking, payloads), _) in &group {
        if lone {
            results.push(append_in_transaction(
                connection,
                sql,
                request,
                tracking.as_ref(),
                *payloads,
            ));
            break;
        }
        let step = control(connection, "SAVEPOINT chronicle_append").and_then(|()| {
            let result =
                append_in_transaction(connection, sql, request, tracking.as_ref(), *payloads);
            let undo = !matches!(result, Ok(AppendOutcome { written: true, .. }));
            if undo {
                control(connection, "ROLLBACK TO chronicle_append")?;
            }
            control(connection, "RELEASE chronicle_append")?;
            Ok(result)
        });
        match step {
            Ok(result) => results.push(result),
            Err(error) => {
                broken = Some(error);
                break;
            }
        }
    }
    let wrote = results
        .iter()
        .any(|result| matches!(result, Ok(AppendOutcome { written: true, .. })));
    let end: Result<(), String> = match &broken {
        Some(error) => Err(error.to_string()),
        None if wrote => control(connection, "COMMIT").map_err(|error| error.to_string()),
        // Nothing written (every append failed or was a retry): also undoes a
        // lone append's partial writes.
        None => control(connection, "ROLLBACK").map_err(|error| error.to_string()),
    };
    if let (Ok(()), true) = (&end, wrote) {
        let last = results
            .iter()
            .filter_map(|result| match result {
                Ok(AppendOutcome {
                    written: true,
                    last_position,
                }) => *last_position,
                _ => None,
            })
            .max();
        if let Some(last) = last {
            announce(appended, last);
        }
    }
    if end.is_err() && !connection.is_autocommit() {
        let _ = control(connection, "ROLLBACK");
    }
    // When the transaction did not commit, no success stands: a retry may
    // have been judged "already stored" on an earlier append of the group.
    let mut results = results.into_iter();
    for (_, reply) in group {
        let result = match (results.next(), &end) {
            (Some(Ok(_)), Err(message)) => Err(backend(
                BACKEND,
                format!("the append transaction did not commit: {message}"),
            )),
            (Some(result), _) => result,
            (None, Err(message)) => Err(backend(BACKEND, message.clone())),
            (None, Ok(())) => Err(stopped()),
        };
        let _ = reply.send(result);
    }
}

/// Runs a transaction statement (`BEGIN IMMEDIATE`, `COMMIT`, a savepoint)
/// from the connection's statement cache: `execute_batch` would parse and
/// compile it again for every group, which costs more than binding a
/// one-event append.
fn control(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.execute([]).map(drop)
}

/// Raises `appended` to `position` (never lowers it), waking waiters.
fn announce(appended: &watch::Sender<u64>, position: u64) {
    appended.send_if_modified(|last| {
        let newer = position > *last;
        if newer {
            *last = position;
        }
        newer
    });
}
