//! The SQLite store's reader threads, each with a read-only connection.
//!
//! A job goes to the reader that went idle last (a stack, not a queue).
//! Each connection has its own page cache and statement cache, and a read
//! on a connection that has not read lately pays for both again (the table
//! pages read back with a system call each, the statement parsed and
//! planned). Handing jobs round the readers in turn, as a shared queue
//! does, made every read of a caller that reads one thing at a time land
//! on the connection that had waited longest: a 10,000-event stream loaded
//! that way took 313 page reads each time, against none on a warm
//! connection. Taking the last reader to go idle keeps a lone caller on one
//! warm connection, and still spreads concurrent reads over every reader.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use super::statements::Sql;
use super::{stopped, Db, BACKEND};
use crate::store::encoding::backend;
use crate::store::error::StoreError;

/// A read for a reader thread: it reads, and returns what hands the
/// answer over, which the reader calls once it is back among the idle
/// readers. A caller that reads again as soon as it has its answer then
/// finds this reader, warm, on top of the idle ones.
type Job = Box<dyn FnOnce(&Connection, &Sql) -> Answer + Send>;

/// Hands a read's answer to its caller.
type Answer = Box<dyn FnOnce() + Send>;

/// The handle of the reader threads. Dropping it ends them once they have
/// finished the jobs they hold (their inboxes close).
pub(super) struct Readers {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
}

struct State {
    /// Each reader's inbox, by reader; emptied when the store closes, which
    /// ends the idle readers.
    inboxes: Vec<mpsc::Sender<Job>>,
    /// The readers waiting for a job, the last to go idle on top.
    idle: Vec<usize>,
    /// Jobs that came while every reader was busy, oldest first.
    backlog: VecDeque<Job>,
    /// Readers still running (a job that panics ends its reader).
    alive: usize,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // No job runs under the lock, so a panic cannot leave it halfway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Readers {
    /// Starts `count` reader threads, each with a read-only connection;
    /// returns once every connection is open.
    pub(super) async fn start(
        path: &Path,
        count: usize,
        busy_timeout: Duration,
        sql: &Arc<Sql>,
    ) -> Result<Self, StoreError> {
        let mut inboxes = Vec::with_capacity(count);
        let mut receivers = Vec::with_capacity(count);
        for _ in 0..count {
            let (inbox, receiver) = mpsc::channel::<Job>();
            inboxes.push(inbox);
            receivers.push(receiver);
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                inboxes,
                idle: Vec::with_capacity(count),
                backlog: VecDeque::new(),
                alive: count,
            }),
        });
        let mut ready = Vec::with_capacity(count);
        for (index, receiver) in receivers.into_iter().enumerate() {
            let (reply, answer) = oneshot::channel();
            ready.push(answer);
            let path = path.to_path_buf();
            let reader_shared = Arc::clone(&shared);
            let sql = Arc::clone(sql);
            let spawned = thread::Builder::new()
                .name(format!("chronicle-sqlite-reader-{index}"))
                .spawn(move || {
                    let alive = Alive(&reader_shared);
                    let connection = match open_reader(&path, busy_timeout) {
                        Ok(connection) => connection,
                        Err(error) => {
                            let _ = reply.send(Err(error));
                            return;
                        }
                    };
                    // Ready is said as an answer is handed over: once this
                    // reader is among the idle ones. Said on opening, a
                    // reader still on its way there could go on top of the
                    // one that served the first read, and take the next.
                    let ready: Answer = Box::new(move || {
                        let _ = reply.send(Ok(()));
                    });
                    reader_loop(&connection, &sql, alive.0, index, &receiver, ready);
                });
            if let Err(error) = spawned {
                // The threads started so far end when `shared` closes.
                close(&shared);
                return Err(backend(BACKEND, error));
            }
        }
        let readers = Self { shared };
        for answer in ready {
            answer.await.map_err(|_| stopped())??;
        }
        Ok(readers)
    }

    /// Runs `work` on the reader that went idle last (once one is free,
    /// when every reader is busy); an error only when no reader is left.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection, &Sql) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        self.send(work)?.await.map_err(|_| stopped())
    }

    /// Hands `work` over as [`run`](Self::run) does, without waiting: its
    /// answer comes on the channel returned (closed if no reader is left).
    pub(super) fn send<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection, &Sql) -> T + Send + 'static,
    ) -> Result<oneshot::Receiver<T>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |connection, sql| {
            let result = work(connection, sql);
            Box::new(move || {
                // Nobody may be waiting any more (a page read ahead that
                // was not asked for): then the answer is dropped here.
                let _ = reply.send(result);
            })
        });
        self.hand_over(job)?;
        Ok(answer)
    }

    /// Gives `job` to the reader that went idle last, or queues it when
    /// every reader is busy.
    fn hand_over(&self, job: Job) -> Result<(), StoreError> {
        let mut state = self.shared.state();
        if state.alive == 0 {
            return Err(stopped());
        }
        let mut job = job;
        while let Some(index) = state.idle.pop() {
            let Some(inbox) = state.inboxes.get(index) else {
                continue;
            };
            match inbox.send(job) {
                Ok(()) => return Ok(()),
                // That reader has gone (an idle reader waits on its inbox,
                // so it should not): the next one takes the job.
                Err(mpsc::SendError(returned)) => job = returned,
            }
        }
        state.backlog.push_back(job);
        Ok(())
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        close(&self.shared);
    }
}

/// Closes the inboxes: idle readers end now, busy ones after their job.
fn close(shared: &Shared) {
    let mut state = shared.state();
    state.inboxes.clear();
    state.idle.clear();
}

/// Counts a reader out when its thread ends, however it ends (a job that
/// panics unwinds through here); the last one out drops the queued jobs,
/// so that their callers hear that the store stopped instead of waiting.
struct Alive<'a>(&'a Shared);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        let backlog = {
            let mut state = self.0.state();
            state.alive -= 1;
            if state.alive > 0 {
                return;
            }
            std::mem::take(&mut state.backlog)
        };
        drop(backlog);
    }
}

/// A read-only connection to the database file.
fn open_reader(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .and_then(|connection| {
        connection.busy_timeout(busy_timeout)?;
        connection.set_prepared_statement_cache_capacity(16);
        Ok(connection)
    })
    .db()
}

/// One reader: runs queued jobs while there are any, else waits on its
/// inbox as the newest idle reader. Each answer (the first is `ready`) is
/// handed over once the reader is back among the idle ones (or has its
/// next job). Ends when the store closes.
fn reader_loop(
    connection: &Connection,
    sql: &Sql,
    shared: &Shared,
    index: usize,
    inbox: &mpsc::Receiver<Job>,
    ready: Answer,
) {
    let mut answer = Some(ready);
    loop {
        let queued = {
            let mut state = shared.state();
            let queued = state.backlog.pop_front();
            if queued.is_none() && !state.inboxes.is_empty() {
                state.idle.push(index);
            }
            queued
        };
        if let Some(answer) = answer.take() {
            answer();
        }
        let job = match queued {
            Some(job) => job,
            None => match inbox.recv() {
                Ok(job) => job,
                // The store has closed.
                Err(_) => return,
            },
        };
        answer = Some(job(connection, sql));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::super::{test_file_store, SqliteStore};
    use super::*;

    /// A store on a fresh file with `readers` reader threads.
    async fn store(name: &str, readers: usize) -> (SqliteStore, std::path::PathBuf) {
        test_file_store(&format!("readers-{name}"), readers).await
    }

    /// The reader thread a read runs on.
    async fn reader_name(store: &SqliteStore) -> String {
        store
            .on_reader(|_| thread::current().name().unwrap_or_default().to_owned())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn one_caller_after_another_stays_on_one_warm_reader() {
        let (store, dir) = store("lifo", 4).await;
        let first = reader_name(&store).await;
        for _ in 0..20 {
            assert_eq!(reader_name(&store).await, first);
        }
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn concurrent_reads_spread_over_the_readers_and_all_answer() {
        let (store, dir) = store("spread", 2).await;
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let reads: Vec<_> = (0..8)
            .map(|_| {
                let (running, most) = (Arc::clone(&running), Arc::clone(&most));
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .on_reader(move |_| {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            thread::sleep(Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        for read in reads {
            read.await.unwrap().unwrap();
        }
        // Queued behind busy readers, every read ran; two at a time.
        assert_eq!(most.load(Ordering::SeqCst), 2);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_read_that_panics_ends_its_reader_and_later_reads_fail_instead_of_waiting() {
        let (store, dir) = store("panic", 1).await;
        let panicked = store.on_reader(|_| -> () { panic!("a fold's own code panicked") });
        assert!(matches!(panicked.await, Err(StoreError::Backend { .. })));
        let after = tokio::time::timeout(Duration::from_secs(10), store.on_reader(|_| ()))
            .await
            .expect("a read after every reader ended answers");
        assert!(matches!(after, Err(StoreError::Backend { .. })));
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
