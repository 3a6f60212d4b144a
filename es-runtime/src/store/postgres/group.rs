//! Group commit: appends that arrive while another is committing share the
//! next transaction, and so its one WAL flush.
//!
//! An append's fast-path attempt (one `chronicle_append` call) that finds
//! the leader lock free and nobody waiting commits at once, alone, as a
//! single autocommit statement (a single writer pays nothing for the
//! queue). Any other attempt joins a queue. Whoever holds the leader lock
//! takes the queue and commits it: a lone attempt as that single
//! statement; several as one autocommit statement that checks and writes
//! every attempt's streams and events together and notifies once (a
//! `chronicle_append_together` call when an attempt carries a tracking
//! record, which it writes too). The others wait for their answer or for
//! the lock, whichever comes first, so attempts that arrive during a commit
//! are committed by the next leader, together.
//!
//! Each attempt keeps its own outcome. When anything in the shared
//! statement is refused (a stream not at its expected version, two attempts
//! racing for one stream, a tracking record behind, a payload that is not
//! JSON, the floor lock busy), it writes nothing (it raises, or the
//! untracked statement's gate answers NULL), and the group is committed
//! again the careful way: one transaction, `BEGIN`, one
//! `chronicle_append_in_group` call per attempt and `COMMIT` sent together
//! in one pipeline. That function runs
//! its `chronicle_append` in a subtransaction (a PL/pgSQL exception block)
//! and returns its error instead of raising it, so a request that conflicts
//! rolls back alone and its neighbours commit. An error the function could
//! not catch aborts the whole transaction: the attempt it belongs to gets
//! it, and every other attempt of the group is answered "not fresh", which
//! sends it to decide again on what is stored (as after a lost race), then
//! to a new attempt. An attempt whose outcome is unknown (the connection
//! failed during the commit, or the leader was dropped) is answered the same
//! way: deciding on what is stored settles it by its event ids, written once
//! or found written, never duplicated.
//!
//! Positions stay in commit order as for single appends: each call announces
//! its floor before it allocates (see `PostgresStore`), and the group's
//! shared call (or its first call) holds the lowest floor until the group
//! commits. Notifications of a group are queued by PostgreSQL at its one
//! commit.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use deadpool_postgres::Object;
use futures_util::future::{join3, join_all};
use tokio::sync::{oneshot, Mutex as AsyncMutex};
use tokio_postgres::{Row, Statement};

use super::append::{attempt_after, AppendParams, Attempt, TogetherParams};
use super::connection::{is_transient, Failure, Hot};
use super::rows::JsonColumn;
use super::{PostgresStore, BACKEND};
use crate::store::encoding::backend;
use crate::store::error::StoreError;
use crate::store::request::{AppendRequest, Tracking};

/// The most attempts one transaction commits; the rest wait for the next.
const MAX_GROUP: usize = 64;

/// The appends waiting to be committed, and who commits them.
#[derive(Default)]
pub(super) struct GroupCommit {
    queue: Mutex<Vec<Job>>,
    leader: AsyncMutex<()>,
}

/// One fast-path attempt, waiting in the queue.
pub(super) struct Job {
    pub(super) request: Arc<AppendRequest>,
    pub(super) tracking: Option<Tracking>,
    /// Which payloads may go into the `json` column, if the database
    /// can hold JSON text: none after the server refused one as JSON.
    pub(super) payloads: JsonColumn,
    reply: oneshot::Sender<Result<Attempt, StoreError>>,
}

impl Job {
    fn answer(self, attempt: Result<Attempt, StoreError>) {
        // The appender may have been dropped; then nobody needs the answer.
        let _ = self.reply.send(attempt);
    }

    /// Which payloads go into the `json` column.
    fn column(&self, json_payloads: bool) -> JsonColumn {
        self.payloads.if_json_held(json_payloads)
    }

    /// The parameters of its `chronicle_append` call.
    fn params(&self, json_payloads: bool) -> Result<AppendParams<'_>, StoreError> {
        AppendParams::new(
            &self.request,
            self.tracking.as_ref(),
            self.column(json_payloads),
        )
    }
}

/// An append's request: owned while its attempts commit alone, shared once
/// one waits in the queue (a leader may commit it after its appender is
/// gone).
pub(super) enum Request {
    Owned(AppendRequest),
    Shared(Arc<AppendRequest>),
}

impl Request {
    pub(super) fn get(&self) -> &AppendRequest {
        match self {
            Request::Owned(request) => request,
            Request::Shared(request) => request,
        }
    }

    /// The request, shared from now on.
    fn share(&mut self) -> Arc<AppendRequest> {
        let shared = match self {
            Request::Shared(shared) => return Arc::clone(shared),
            Request::Owned(owned) => Arc::new(std::mem::take(owned)),
        };
        *self = Request::Shared(Arc::clone(&shared));
        shared
    }
}

impl PostgresStore {
    /// Makes one fast-path attempt at `request`, committed with whatever
    /// other attempts are waiting.
    pub(super) async fn attempt_in_group(
        &self,
        request: &mut Request,
        tracking: Option<&Tracking>,
        payloads: JsonColumn,
    ) -> Result<Attempt, StoreError> {
        let group = &self.inner.group;
        // Nobody committing: lead at once. With nobody waiting either, the
        // attempt commits alone, as it would as the only job of a group,
        // without a job, a reply channel or a batch.
        let leading = group.leader.try_lock().ok();
        if leading.is_some() && lock(&group.queue).is_empty() {
            let column = payloads.if_json_held(self.inner.json_payloads);
            // An in-doubt attempt that is not settled by its retries ends
            // as "not fresh" or `InDoubt`: the appender decides.
            return self
                .try_append(request.get(), tracking, column, &mut false)
                .await;
        }
        let (reply, mut answer) = oneshot::channel();
        lock(&group.queue).push(Job {
            request: request.share(),
            tracking: tracking.cloned(),
            payloads,
            reply,
        });
        if let Some(_leading) = leading {
            // Others waiting for the lock it took first: this attempt
            // leads them, before its answer is ever polled (a receiver
            // polled first registers the task's waker, and answering its
            // own job would then wake the task that is running: one more
            // pass of the scheduler and of this whole future).
            self.commit_group(take_batch(&group.queue)).await;
        }
        loop {
            tokio::select! {
                biased;
                answer = &mut answer => {
                    // No answer: the leader was dropped mid-commit; the
                    // outcome is unknown until decided on what is stored.
                    return answer.unwrap_or(Ok(Attempt::NotFresh));
                }
                _leading = group.leader.lock() => {
                    self.commit_group(take_batch(&group.queue)).await;
                }
            }
        }
    }

    /// Commits `batch` and answers each of its jobs.
    async fn commit_group(&self, batch: Vec<Job>) {
        let json_payloads = self.inner.json_payloads;
        if batch.len() > 1 {
            let answers = match self.commit_in_one_statement(&batch).await {
                Some(answers) => answers,
                // Refused: one call at a time, each failing alone.
                None => self.commit_together(&batch).await,
            };
            for (job, answer) in batch.into_iter().zip(answers) {
                job.answer(answer);
            }
            return;
        }
        for job in batch {
            // An in-doubt attempt that is not settled by its retries ends
            // as "not fresh" or `InDoubt`: the appender decides.
            let attempt = self
                .try_append(
                    &job.request,
                    job.tracking.as_ref(),
                    job.column(json_payloads),
                    &mut false,
                )
                .await;
            job.answer(attempt);
        }
    }

    /// Awaits `commit` (a group's statement or pipeline), bounded by the
    /// commit timeout as single appends are (see `failover`); `Err` when
    /// whether it committed is unknown.
    async fn outcome_known<T, E>(
        &self,
        commit: impl Future<Output = Result<T, E>>,
    ) -> Result<Result<T, E>, Unknown> {
        let warnings = self.inner.commit_warnings.seen();
        let Some(answer) = self.within_commit_timeout(commit).await else {
            return Err(Unknown::TimedOut);
        };
        if self.inner.commit_warnings.seen() != warnings {
            // Also when it failed: a session terminated during the wait
            // warns, then fails, after committing locally.
            return Err(Unknown::Warned);
        }
        Ok(answer)
    }

    /// A connection and `hot` prepared on it, before anything is sent.
    async fn prepared(&self, hot: Hot) -> Result<(Object, Statement), Failure> {
        let client = self.checkout().await.map_err(Failure::from)?;
        let statement = self
            .prepare_hot(&client, hot)
            .await
            .map_err(Failure::from)?;
        Ok((client, statement))
    }

    /// Commits several jobs with one autocommit statement (the untracked
    /// statement, or a `chronicle_append_together` call when an append is
    /// tracked); one answer per job, or `None` when it was refused (a
    /// conflict, a tracking record behind, a payload that is not JSON, the
    /// floor lock busy...) and nothing was written.
    async fn commit_in_one_statement(
        &self,
        jobs: &[Job],
    ) -> Option<Vec<Result<Attempt, StoreError>>> {
        let json_payloads = self.inner.json_payloads;
        let params = TogetherParams::new(jobs.iter().map(|job| {
            (
                &*job.request,
                job.tracking.as_ref(),
                job.column(json_payloads),
            )
        }))
        // A job whose parameters fail gets its error from the other way.
        .ok()?;
        let count = jobs.len();
        let hot = if params.tracked() {
            Hot::AppendTogether
        } else {
            Hot::AppendUntracked
        };
        let (client, statement) = match self.prepared(hot).await {
            Ok(prepared) => prepared,
            Err(failure) => return Some(nothing_sent(count, failure)),
        };
        let arguments = params.as_params();
        let call = client.query_one(&statement, &arguments);
        let answer = match self.outcome_known(call).await {
            Ok(answer) => answer,
            Err(lost) => {
                lost.release(client);
                return Some(unknown(count));
            }
        };
        let row = match answer {
            Ok(row) => row,
            // A lost connection: whether the call committed is unknown.
            Err(error) if is_transient(&error) => return Some(unknown(count)),
            // Raised by the call: its transaction rolled back.
            Err(error) if error.code().is_some() => return None,
            Err(error) => return Some(everyone(count, &error)),
        };
        let positions = match row.try_get::<_, Option<Vec<i64>>>(0) {
            // The untracked statement's gate refused: nothing was written
            // (every append has events: requests with an empty stream are
            // refused before, so NULL is never an empty group's answer).
            Ok(None) => return None,
            Ok(Some(written)) => params.last_positions(&written),
            Err(_) => None,
        };
        let Some(positions) = positions else {
            // Committed, but the answer cannot be read: each appender finds
            // its events by their ids, as after a lost answer.
            return Some(unknown(count));
        };
        Some(
            positions
                .into_iter()
                .map(|position| Ok(Attempt::Written(position)))
                .collect(),
        )
    }

    /// Commits several jobs in one transaction, each call in a
    /// subtransaction of its own; one answer per job.
    async fn commit_together(&self, jobs: &[Job]) -> Vec<Result<Attempt, StoreError>> {
        let json_payloads = self.inner.json_payloads;
        let params: Vec<_> = jobs.iter().map(|job| job.params(json_payloads)).collect();
        let count = jobs.len();
        let (client, statement) = match self.prepared(Hot::AppendInGroup).await {
            Ok(prepared) => prepared,
            Err(failure) => return nothing_sent(count, failure),
        };
        let arguments: Vec<_> = params
            .iter()
            .flatten()
            .map(AppendParams::as_params)
            .collect();
        // Sent together in the first poll: the transaction is complete on
        // the wire even if this future is dropped while it runs.
        let pipeline = join3(
            client.batch_execute("BEGIN"),
            join_all(
                arguments
                    .iter()
                    .map(|arguments| client.query_one(&statement, arguments)),
            ),
            client.batch_execute("COMMIT"),
        );
        let answers = async {
            let (begun, calls, committed) = pipeline.await;
            begun.and(committed).map(|()| calls)
        };
        let calls = match self.outcome_known(answers).await {
            Ok(Ok(calls)) => calls,
            Ok(Err(error)) if !is_transient(&error) => return everyone(count, &error),
            // A lost connection: the outcome of every call is unknown.
            Ok(Err(_)) => return unknown(count),
            Err(lost) => {
                lost.release(client);
                return unknown(count);
            }
        };
        // A call that raised aborted the transaction: nothing committed.
        let aborted = calls.iter().any(Result::is_err);
        let mut calls = calls.into_iter();
        params
            .into_iter()
            .map(|params| {
                params?;
                match calls.next() {
                    Some(Ok(_)) if aborted => Ok(Attempt::NotFresh),
                    Some(Ok(row)) => attempt_from_row(&row),
                    Some(Err(error)) => attempt_after_raised(error),
                    None => Err(backend(BACKEND, "a grouped append got no answer")),
                }
            })
            .collect()
    }
}

/// Why a group's commit has an unknown outcome.
enum Unknown {
    /// No answer within the commit timeout: the store forgot its
    /// connections (see `forget_connections`).
    TimedOut,
    /// The server cut the commit's wait for the synchronous standby short
    /// (committed locally only; a store-wide count, so possibly another
    /// connection's commit).
    Warned,
}

impl Unknown {
    /// Gives `client` back: closed after a timeout (its answer may still
    /// come), to the pool otherwise.
    fn release(self, client: Object) {
        if let Unknown::TimedOut = self {
            drop(Object::take(client));
        }
    }
}

/// The same error for each of `count` jobs.
fn everyone(count: usize, error: &dyn std::fmt::Display) -> Vec<Result<Attempt, StoreError>> {
    let message = error.to_string();
    (0..count)
        .map(|_| Err(backend(BACKEND, message.clone())))
        .collect()
}

/// An outcome lost for each of `count` jobs: deciding on what is stored
/// settles each, by its event ids.
fn unknown(count: usize) -> Vec<Result<Attempt, StoreError>> {
    (0..count).map(|_| Ok(Attempt::NotFresh)).collect()
}

/// The answers when checking out a connection or preparing failed, before
/// anything was sent: a transient failure (a server restarting, a
/// switchover) sends every attempt back to decide again, through the
/// store's retrying reads, as a lone append's retry loop would retry it.
fn nothing_sent(count: usize, failure: Failure) -> Vec<Result<Attempt, StoreError>> {
    match failure {
        Failure::Retry(_) => unknown(count),
        Failure::Fail(error) => everyone(count, &error),
    }
}

/// What a call that raised (outside `chronicle_append`'s own exception
/// block) means for its attempt.
fn attempt_after_raised(error: tokio_postgres::Error) -> Result<Attempt, StoreError> {
    match error.code().map(|code| code.code()) {
        // Refused because an earlier call aborted the transaction.
        Some("25P02") => Ok(Attempt::NotFresh),
        Some(code) => attempt_after(code).ok_or_else(|| backend(BACKEND, error)),
        None if is_transient(&error) => Ok(Attempt::NotFresh),
        None => Err(backend(BACKEND, error)),
    }
}

/// What one `chronicle_append_in_group` call answered: the last position
/// written, or the error `chronicle_append` raised, read as
/// `PostgresStore::try_append` reads it.
fn attempt_from_row(row: &Row) -> Result<Attempt, StoreError> {
    let get_error = |error| backend(BACKEND, error);
    let position: Option<i64> = row.try_get(0).map_err(get_error)?;
    let code: Option<&str> = row.try_get(1).map_err(get_error)?;
    let Some(code) = code else {
        return Ok(Attempt::Written(position));
    };
    attempt_after(code).ok_or_else(|| {
        let message: Option<&str> = row.try_get(2).ok().flatten();
        backend(
            BACKEND,
            format!("{} (SQLSTATE {code})", message.unwrap_or("append failed")),
        )
    })
}

/// The next group: up to `MAX_GROUP` jobs from the front of the queue.
fn take_batch(queue: &Mutex<Vec<Job>>) -> Vec<Job> {
    let mut queue = lock(queue);
    let take = queue.len().min(MAX_GROUP);
    queue.drain(..take).collect()
}

fn lock(queue: &Mutex<Vec<Job>>) -> std::sync::MutexGuard<'_, Vec<Job>> {
    // The queue holds no invariant a panic could break.
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}
