//! Process applications and their runner.

use std::future::Future;

use uuid::Uuid;

use super::{
    BatchHandler, ErrorPolicy, HandlerError, PositionWaiter, Progress, RunnerCore, RunnerError,
    SubscriptionOptions, SubscriptionStopper,
};
use crate::aggregate::Aggregate;
use crate::application::{encode_staged, Application};
use crate::codec::Codec;
use crate::error::Error;
use crate::event::{DomainEvent, Envelope};
use crate::metadata::Metadata;
use crate::store::{
    LogStore, SnapshotStore, StoreError, StoredEvent, StreamAppend, Tracking, TrackingStore,
};

/// What a process application's downstream store must do: load aggregates
/// (streams and snapshots) and commit their new events with the tracking
/// record (tracking). Implemented for every such store; name it in a
/// [`Policy`]'s `react`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a process application's downstream store",
    label = "a process application loads aggregates and commits their events with its tracking record",
    note = "the downstream store needs the `TrackingStore` and `SnapshotStore` capabilities (every store of this crate has them)"
)]
pub trait ProcessStore: TrackingStore + SnapshotStore {}

impl<S: TrackingStore + SnapshotStore> ProcessStore for S {}

/// What a process application does for each event of one upstream
/// aggregate type.
pub trait Policy: Send + Sync + 'static {
    /// The upstream events it reacts to.
    type Event: DomainEvent;

    /// The name its position is tracked under.
    fn name(&self) -> &str;

    /// Reacts to one event: loads aggregates through `process`, runs their
    /// commands, and saves them with [`ProcessContext::save`]. Nothing is
    /// written unless this returns `Ok`.
    fn react<S: ProcessStore, C: Codec>(
        &self,
        event: &Envelope<Self::Event>,
        process: &mut ProcessContext<'_, S, C>,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// The downstream application as a policy sees it while reacting to one
/// event: loads aggregates, and stages what to save.
pub struct ProcessContext<'a, S, C> {
    app: &'a Application<S, C>,
    metadata: Metadata,
    staged: Vec<StreamAppend>,
}

impl<S: ProcessStore, C: Codec> ProcessContext<'_, S, C> {
    /// Loads an aggregate from the downstream application.
    pub async fn get<A: Aggregate>(&self, id: Uuid) -> Result<A, Error> {
        self.app.get(id).await
    }

    /// Loads an aggregate, or `None` when it does not exist yet.
    pub async fn find<A: Aggregate>(&self, id: Uuid) -> Result<Option<A>, Error> {
        match self.app.get(id).await {
            Ok(aggregate) => Ok(Some(aggregate)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Stages the aggregate's pending events, with this event's correlation
    /// and causation, for the atomic append that ends the reaction.
    pub fn save<A: Aggregate>(&mut self, aggregate: &mut A) -> Result<(), Error> {
        encode_staged(
            self.app.mapper(),
            &*aggregate,
            &self.metadata,
            &mut self.staged,
        )?;
        aggregate.meta_mut().mark_saved();
        Ok(())
    }

    /// The metadata every staged event gets: correlation and causation.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
}

/// Runs a [`Policy`] over an upstream application's log, saving into a
/// downstream application.
///
/// Process applications: follow an upstream application's log, run a policy
/// for each event, and save the aggregates it changes together with the
/// tracking record, atomically, in the downstream application's store.
///
/// Each upstream event is handled in one atomic append: the policy's new
/// events and the tracking record `(consumer, position)` commit together or
/// not at all. A crash before the commit leaves nothing, and the event is
/// handled again; after the commit the tracking record says it was handled.
/// A concurrency conflict (another writer changed an aggregate the policy
/// loaded) makes the runner handle the event again from fresh loads.
///
/// Correlation and causation ids flow automatically: every event saved while
/// handling an upstream event has that event as its cause
/// (`causation_id` = its event id) and carries its correlation id (or its
/// event id, when it started the conversation).
pub struct ProcessRunner<P, US, UC, S, C> {
    upstream: Application<US, UC>,
    downstream: Application<S, C>,
    policy: P,
    core: RunnerCore,
}

impl<P, US, UC, S, C> ProcessRunner<P, US, UC, S, C>
where
    P: Policy,
    UC: Codec,
    C: Codec,
{
    /// A runner following `upstream` and saving into `downstream` (which may
    /// be the same application), tracked under the policy's name.
    pub fn new(upstream: Application<US, UC>, downstream: Application<S, C>, policy: P) -> Self
    where
        US: LogStore,
        S: TrackingStore + SnapshotStore,
    {
        let core = RunnerCore::new::<P::Event>(policy.name().to_owned());
        Self {
            upstream,
            downstream,
            policy,
            core,
        }
    }
}

impl<P, US, UC, S, C> ProcessRunner<P, US, UC, S, C>
where
    P: Policy,
    US: LogStore,
    UC: Codec,
    S: ProcessStore,
    C: Codec,
{
    /// Tracks the position under `name` instead of the policy's name: one
    /// name per upstream when a policy follows several applications.
    pub fn tracked_as(mut self, name: impl Into<String>) -> Self {
        self.core.consumer = name.into();
        self
    }

    /// Makes this runner one of `count` workers, handling partition `index`
    /// of the upstream streams; tracked as `name[index/count]`.
    pub fn partition(mut self, index: u32, count: u32) -> Self {
        let base = self.core.consumer.clone();
        self.core.partition(&base, index, count);
        self
    }

    /// What to do when the policy fails (default [`ErrorPolicy::Stop`]).
    pub fn on_error(mut self, policy: ErrorPolicy) -> Self {
        self.core.policy = policy;
        self
    }

    /// How the upstream log is read; the event types are the policy's.
    pub fn options(mut self, options: SubscriptionOptions) -> Self {
        self.core.set_options(options);
        self
    }

    /// The name the position is tracked under.
    pub fn consumer(&self) -> &str {
        &self.core.consumer
    }

    /// Stops [`run`](Self::run) from another task.
    pub fn stopper(&self) -> SubscriptionStopper {
        self.core.stopper.clone()
    }

    /// Waits for the runner to reach an upstream position.
    pub fn waiter(&self) -> PositionWaiter {
        self.core.waiter()
    }

    /// Catches up, then follows the upstream log live until stopped.
    pub async fn run(&mut self) -> Result<(), RunnerError> {
        super::run(self).await
    }

    /// Handles what is already in the upstream log; returns how many events.
    pub async fn catch_up(
        &mut self,
        progress: impl FnMut(Progress) + Send,
    ) -> Result<u64, RunnerError> {
        super::catch_up(self, progress).await
    }

    /// Handles one event: the policy's reaction and the tracking record in
    /// one append, again from fresh loads after a concurrency conflict.
    async fn handle(&self, record: &StoredEvent) -> Result<bool, RunnerError> {
        let envelope: Envelope<P::Event> = self
            .upstream
            .decode(record)
            .await
            .map_err(|error| self.core.fail(error))?;
        let tracking = Tracking::new(self.core.consumer.clone(), record.position);
        react(
            &self.downstream,
            &self.policy,
            self.core.policy,
            record,
            &envelope,
            tracking,
        )
        .await
    }
}

/// Runs `policy` on one decoded event and appends its staged events with
/// `tracking`, atomically: again after a failure as `on_error` allows, and
/// again from fresh loads after a concurrency conflict. False when the
/// tracking record shows the event was already handled (by another worker,
/// or a run whose answer was lost): then nothing is written.
pub(crate) async fn react<P: Policy, S: ProcessStore, C: Codec>(
    downstream: &Application<S, C>,
    policy: &P,
    on_error: ErrorPolicy,
    record: &StoredEvent,
    envelope: &Envelope<P::Event>,
    tracking: Tracking,
) -> Result<bool, RunnerError> {
    let consumer = tracking.consumer.clone();
    let metadata = Metadata {
        correlation_id: Some(
            envelope
                .metadata
                .correlation_id
                .unwrap_or(envelope.event_id),
        ),
        causation_id: Some(envelope.event_id),
        extra: envelope.metadata.extra.clone(),
    };
    let mut attempt = 0;
    let mut conflicts = 0;
    loop {
        let mut context = ProcessContext {
            app: downstream,
            metadata: metadata.clone(),
            staged: Vec::new(),
        };
        if let Err(source) = policy.react(envelope, &mut context).await {
            if on_error.retry(attempt).await {
                attempt += 1;
                continue;
            }
            return Err(RunnerError::handler(&consumer, record, source));
        }
        match downstream
            .append_tracked(context.staged, tracking.clone())
            .await
        {
            Ok(_) => return Ok(true),
            Err(Error::Conflict { .. }) if conflicts < MAX_CONFLICT_RETRIES => conflicts += 1,
            Err(Error::Store(StoreError::TrackingConflict { current, .. }))
                if current >= tracking.position =>
            {
                return Ok(false)
            }
            Err(source) => return Err(RunnerError::Application { consumer, source }),
        }
    }
}

/// How many times an event is handled again after concurrency conflicts
/// before the conflict is reported.
const MAX_CONFLICT_RETRIES: u32 = 16;

impl<P, US, UC, S, C> BatchHandler for ProcessRunner<P, US, UC, S, C>
where
    P: Policy,
    US: LogStore,
    UC: Codec,
    S: ProcessStore,
    C: Codec,
{
    type Store = US;
    type Codec = UC;

    fn core(&self) -> &RunnerCore {
        &self.core
    }

    fn upstream(&self) -> &Application<US, UC> {
        &self.upstream
    }

    async fn tracked_position(&self) -> Result<u64, RunnerError> {
        self.downstream
            .store()
            .tracked_position(&self.core.consumer)
            .await
            .map_err(|error| self.core.fail(error.into()))
    }

    async fn process(&mut self, batch: &[StoredEvent]) -> Result<u64, RunnerError> {
        let mut handled = 0;
        for record in batch {
            if self.core.skips(record) {
                continue;
            }
            if self.handle(record).await? {
                handled += 1;
            }
            self.core.mark_seen(record.position);
        }
        Ok(handled)
    }
}
