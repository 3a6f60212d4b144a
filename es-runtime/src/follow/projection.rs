//! Projections and their runner.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{
    BatchHandler, ErrorPolicy, HandlerError, PositionWaiter, Progress, RunnerCore, RunnerError,
    SubscriptionOptions, SubscriptionStopper,
};
use crate::application::Application;
use crate::codec::Codec;
use crate::event::{DomainEvent, Envelope};
use crate::store::model::ModelWrites;
use crate::store::{
    check_tracking, AppendRequest, LogStore, ReadModelStore, StoreError, StoredEvent, Tracking,
    TrackingStore,
};

/// Handles the events of one aggregate type to build a read model.
///
/// Match on the events you need and ignore the rest with `_ => {}`:
///
/// ```ignore
/// impl Projection for TrickCounts {
///     type Event = DogEvent;
///     type Writes = ModelWrites; // SQL in the store's database; `()` for a model in memory
///
///     fn name(&self) -> &str { "trick_counts" }
///
///     fn handle(&mut self, event: &Envelope<DogEvent>, writes: &mut ModelWrites) -> Result<(), HandlerError> {
///         if let DogEvent::TrickAdded { .. } = &event.event {
///             writes.execute(
///                 "INSERT INTO trick_counts (dog, tricks) VALUES ($1, 1)
///                  ON CONFLICT (dog) DO UPDATE SET tricks = trick_counts.tricks + 1",
///                 [event.stream_id],
///             );
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Projection: Send + Sync + 'static {
    /// The events it follows (an aggregate's generated event enum).
    type Event: DomainEvent;

    /// What the handler writes besides the projection's own memory, committed
    /// with its tracking record: [`ModelWrites`] (SQL, on a store with the
    /// [`ReadModelStore`] capability) or `()` (nothing: the model lives in
    /// the projection, and any store that keeps tracking records will do).
    type Writes: ProjectionWrites;

    /// The name its position is tracked under; unique per application.
    fn name(&self) -> &str;

    /// Handles one event: updates an in-process model, and/or adds
    /// statements to `writes` for a read model in the store's database.
    fn handle(
        &mut self,
        event: &Envelope<Self::Event>,
        writes: &mut Self::Writes,
    ) -> Result<(), HandlerError>;

    /// Empties the model before a rebuild: clear in-process state, and add
    /// statements that empty the read model in the database.
    fn reset(&mut self, writes: &mut Self::Writes) {
        let _ = writes;
    }
}

use writes::Writes as _;

/// What a projection's handler writes: [`ModelWrites`] or `()`. Sealed.
pub trait ProjectionWrites: writes::Writes {}

impl<W: writes::Writes> ProjectionWrites for W {}

/// The sealed part of [`ProjectionWrites`]: how the runner splits a batch's
/// writes by event.
mod writes {
    use crate::store::model::ModelWrites;

    pub trait Writes: Default + Clone + Send + Sync + 'static {
        /// No statements, with room for `capacity` (a batch's events).
        fn with_capacity(capacity: usize) -> Self;
        /// How many statements (0 for `()`).
        fn len(&self) -> usize;
        /// Moves `other`'s statements after these.
        fn append(&mut self, other: &mut Self);
        /// Keeps the first `len` statements.
        fn truncate(&mut self, len: usize);
    }

    impl Writes for () {
        fn with_capacity(_: usize) -> Self {}
        fn len(&self) -> usize {
            0
        }
        fn append(&mut self, _: &mut Self) {}
        fn truncate(&mut self, _: usize) {}
    }

    impl Writes for ModelWrites {
        fn with_capacity(capacity: usize) -> Self {
            ModelWrites::with_capacity(capacity)
        }
        fn len(&self) -> usize {
            self.statements().len()
        }
        fn append(&mut self, other: &mut Self) {
            ModelWrites::append(self, other);
        }
        fn truncate(&mut self, len: usize) {
            ModelWrites::truncate(self, len);
        }
    }
}

/// How a projection's writes commit to a store `S` with its tracking
/// record: `()` to any [`TrackingStore`], [`ModelWrites`] to a
/// [`ReadModelStore`]. Implemented for those two only.
#[diagnostic::on_unimplemented(
    message = "a projection's `{Self}` cannot be committed to `{S}`",
    label = "the projection's `type Writes` decides what the store must do",
    note = "`type Writes = ModelWrites` needs the `ReadModelStore` capability (SqliteStore, PostgresStore, AnySqlStore); `type Writes = ()` needs `TrackingStore`"
)]
pub trait CommitWrites<S>: ProjectionWrites {
    /// Applies these writes and moves `tracking.consumer` from exactly
    /// `after` to `tracking.position`, atomically where the store can.
    fn commit(
        self,
        store: &S,
        tracking: Tracking,
        after: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Applies these writes and forgets `consumer`'s position: a rebuild's
    /// start.
    fn reset(
        self,
        store: &S,
        consumer: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<S: TrackingStore> CommitWrites<S> for () {
    /// Checks where the consumer stands, then records the position: a model
    /// kept in process has no effects in the store to commit with it.
    async fn commit(self, store: &S, tracking: Tracking, after: u64) -> Result<(), StoreError> {
        let current = store.tracked_position(&tracking.consumer).await?;
        check_tracking(&tracking, current, Some(after))?;
        store
            .append_tracked(AppendRequest::default(), tracking)
            .await
            .map(drop)
    }

    async fn reset(self, store: &S, consumer: &str) -> Result<(), StoreError> {
        store.reset_tracking(consumer).await
    }
}

impl<S: ReadModelStore> CommitWrites<S> for ModelWrites {
    async fn commit(mut self, store: &S, tracking: Tracking, after: u64) -> Result<(), StoreError> {
        store.commit_model(self.take(), tracking, after).await
    }

    async fn reset(mut self, store: &S, consumer: &str) -> Result<(), StoreError> {
        store.reset_model(self.take(), consumer).await
    }
}

/// Runs a [`Projection`] over an application's log: catches up from the
/// tracked position, then follows live.
///
/// Projections: user code that turns events into a read model, with its
/// position tracked so that it resumes where it stopped.
///
/// A [`Projection`] handles the events of one aggregate type. Its handler may
/// update a model kept in the projection itself (`type Writes = ()`), and may
/// add SQL statements to [`ModelWrites`] for a read model kept in the event
/// store's own database (`type Writes = ModelWrites`, on a store with the
/// [`ReadModelStore`] capability: SQLite or PostgreSQL). A
/// [`ProjectionRunner`] commits those statements and the projection's
/// tracking record in one transaction, batch by batch, so each event takes
/// effect exactly once even across crashes and restarts: a crash before the
/// commit leaves neither the writes nor the new position, and the events are
/// handled again. For effects outside the database (e-mail, another service)
/// delivery is at least once: handlers get the event id to deduplicate with.
///
/// A handler error stops the runner with the event that caused it (position,
/// stream, version, type), or is retried first under
/// [`ErrorPolicy::Retry`]; an event is never skipped silently.
///
/// Several workers can share one projection by partitioning on the stream id
/// ([`ProjectionRunner::partition`], like Message DB's consumer groups): each
/// handles the streams whose id falls in its partition and tracks its own
/// position, so no event is handled twice.
pub struct ProjectionRunner<P, S, C> {
    app: Application<S, C>,
    projection: P,
    core: RunnerCore,
    /// The tracked position this runner continues from: read when a run
    /// starts, then the position of each commit.
    committed: AtomicU64,
}

impl<P, S, C> ProjectionRunner<P, S, C>
where
    P: Projection,
    C: Codec,
{
    /// A runner for `projection` over `app`'s log (its read model and
    /// tracking record live in `app`'s store), stopping on the first handler
    /// error.
    pub fn new(app: Application<S, C>, projection: P) -> Self
    where
        S: LogStore + TrackingStore,
        P::Writes: CommitWrites<S>,
    {
        let core = RunnerCore::new::<P::Event>(projection.name().to_owned());
        Self {
            app,
            projection,
            core,
            committed: AtomicU64::new(0),
        }
    }
}

impl<P, S, C> ProjectionRunner<P, S, C>
where
    P: Projection,
    P::Writes: CommitWrites<S>,
    S: LogStore + TrackingStore,
    C: Codec,
{
    /// Makes this runner one of `count` workers sharing the projection,
    /// handling partition `index`; its position is tracked as
    /// `name[index/count]`.
    pub fn partition(mut self, index: u32, count: u32) -> Self {
        self.core.partition(self.projection.name(), index, count);
        self
    }

    /// What to do when the handler fails (default [`ErrorPolicy::Stop`]).
    pub fn on_error(mut self, policy: ErrorPolicy) -> Self {
        self.core.policy = policy;
        self
    }

    /// How the log is read (page size, polling interval); the event types
    /// are always the projection's.
    pub fn options(mut self, options: SubscriptionOptions) -> Self {
        self.core.set_options(options);
        self
    }

    /// The name the position is tracked under.
    pub fn consumer(&self) -> &str {
        &self.core.consumer
    }

    /// The projection (its in-process model).
    pub fn projection(&self) -> &P {
        &self.projection
    }

    /// Stops [`run`](Self::run) from another task.
    pub fn stopper(&self) -> SubscriptionStopper {
        self.core.stopper.clone()
    }

    /// Waits for the runner to reach a position.
    pub fn waiter(&self) -> PositionWaiter {
        self.core.waiter()
    }

    /// The last position processed.
    pub fn position(&self) -> u64 {
        self.core.position()
    }

    /// Catches up from the tracked position, then follows the log live until
    /// stopped (`Ok`) or until a handler fails beyond the error policy.
    pub async fn run(&mut self) -> Result<(), RunnerError> {
        super::run(self).await
    }

    /// Handles everything already in the log after the tracked position;
    /// returns how many events it handled. `progress` is called after each
    /// batch.
    pub async fn catch_up(
        &mut self,
        progress: impl FnMut(Progress) + Send,
    ) -> Result<u64, RunnerError> {
        super::catch_up(self, progress).await
    }

    /// Rebuilds the projection from scratch: empties its model
    /// ([`Projection::reset`]) and forgets its position in one transaction,
    /// then catches up, reporting progress.
    pub async fn rebuild(
        &mut self,
        progress: impl FnMut(Progress) + Send,
    ) -> Result<u64, RunnerError> {
        let mut writes = P::Writes::default();
        self.projection.reset(&mut writes);
        writes
            .reset(self.app.store(), &self.core.consumer)
            .await
            .map_err(|error| self.core.fail(error.into()))?;
        self.core.reset_position();
        self.catch_up(progress).await
    }

    /// Handles one event into `scratch` (empty, its capacity reused from
    /// event to event), then moves its statements after `writes`.
    async fn handle_with_policy(
        &mut self,
        envelope: &Envelope<P::Event>,
        writes: &mut P::Writes,
        scratch: &mut P::Writes,
    ) -> Result<(), HandlerError> {
        let mut attempt = 0;
        loop {
            match self.projection.handle(envelope, scratch) {
                Ok(()) => {
                    writes.append(scratch);
                    return Ok(());
                }
                Err(error) => {
                    // Statements of a failed attempt are dropped, not half-applied.
                    scratch.truncate(0);
                    if !self.core.policy.retry(attempt).await {
                        return Err(error);
                    }
                    attempt += 1;
                }
            }
        }
    }

    /// Commits `writes` with the tracking record at `position`, provided
    /// the tracked position is still the one this runner continues from
    /// (else nothing is written: a [`StoreError::TrackingConflict`]). A
    /// tracking record already at `position` means this commit is stored
    /// (its answer was lost and the store retried it).
    async fn commit_raw(&self, writes: P::Writes, position: u64) -> Result<(), StoreError> {
        let tracking = Tracking::new(self.core.consumer.clone(), position);
        let after = self.committed.load(Ordering::SeqCst);
        match writes.commit(self.app.store(), tracking, after).await {
            Ok(()) => {}
            Err(StoreError::TrackingConflict { current, .. }) if current == position => {}
            Err(error) => return Err(error),
        }
        self.committed.store(position, Ordering::SeqCst);
        self.core.mark_seen(position);
        Ok(())
    }

    /// Commits a batch's writes; when a statement fails, commits the events
    /// before the one whose statement it was, and names that event.
    async fn commit_batch(
        &self,
        writes: &mut P::Writes,
        done: Option<u64>,
        starts: &[EventWrites<'_>],
    ) -> Result<(), RunnerError> {
        let Some(position) = done else {
            return Ok(());
        };
        let writes = std::mem::take(writes);
        // Keep a copy to split the batch only when there is something to split.
        let copy = (starts.len() > 1).then(|| writes.clone());
        match self.commit_raw(writes, position).await {
            Ok(()) => Ok(()),
            Err(StoreError::ModelStatement { index, sql, source }) => {
                let error = StoreError::ModelStatement { index, sql, source };
                let Some(failing) = starts.iter().rposition(|start| start.first <= index) else {
                    return Err(self.core.fail(error.into()));
                };
                let event = &starts[failing];
                if let (Some(mut copy), Some(before)) = (copy, event.done_before) {
                    copy.truncate(event.first);
                    self.commit_raw(copy, before)
                        .await
                        .map_err(|error| self.core.fail(error.into()))?;
                }
                Err(RunnerError::handler(
                    &self.core.consumer,
                    event.record,
                    Box::new(error),
                ))
            }
            Err(error) => Err(self.core.fail(error.into())),
        }
    }
}

/// Where one event's statements start in a batch's writes.
struct EventWrites<'a> {
    /// The index of its first statement.
    first: usize,
    record: &'a StoredEvent,
    /// The position committed with the statements before it.
    done_before: Option<u64>,
}

impl<P, S, C> BatchHandler for ProjectionRunner<P, S, C>
where
    P: Projection,
    P::Writes: CommitWrites<S>,
    S: LogStore + TrackingStore,
    C: Codec,
{
    type Store = S;
    type Codec = C;

    /// A projection writes its read model and tracking record, never events.
    const READS_AHEAD: bool = true;

    fn core(&self) -> &RunnerCore {
        &self.core
    }

    fn upstream(&self) -> &Application<S, C> {
        &self.app
    }

    async fn tracked_position(&self) -> Result<u64, RunnerError> {
        let tracked = self
            .app
            .store()
            .tracked_position(&self.core.consumer)
            .await
            .map_err(|error| self.core.fail(error.into()))?;
        self.committed.store(tracked, Ordering::SeqCst);
        Ok(tracked)
    }

    /// Handles the batch and commits its writes with the position of the last
    /// event, in one transaction; on an error, commits what came before it.
    async fn process(&mut self, batch: &[StoredEvent]) -> Result<u64, RunnerError> {
        let mut writes = P::Writes::with_capacity(batch.len());
        let mut scratch = P::Writes::default();
        let mut handled = 0;
        let mut done = None;
        let mut starts = Vec::new();
        for record in batch {
            if self.core.skips(record) {
                done = Some(record.position);
                continue;
            }
            let envelope: Envelope<P::Event> = match self.app.decode(record).await {
                Ok(envelope) => envelope,
                Err(error) => {
                    self.commit_batch(&mut writes, done, &starts).await?;
                    return Err(self.core.fail(error));
                }
            };
            let first = writes.len();
            if let Err(source) = self
                .handle_with_policy(&envelope, &mut writes, &mut scratch)
                .await
            {
                self.commit_batch(&mut writes, done, &starts).await?;
                return Err(RunnerError::handler(&self.core.consumer, record, source));
            }
            if writes.len() > first {
                starts.push(EventWrites {
                    first,
                    record,
                    done_before: done,
                });
            }
            handled += 1;
            done = Some(record.position);
        }
        self.commit_batch(&mut writes, done, &starts).await?;
        Ok(handled)
    }
}
