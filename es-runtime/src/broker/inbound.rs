//! The consuming side: messages from a broker fed to a process application
//! or a projection of another service, each taking effect once.

use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use super::cloudevents::{self, header};
use super::link::{backoff, Inlet, Received};
use super::{BrokerError, Source};
use crate::application::Application;
use crate::codec::Codec;
use crate::error::Error;
use crate::event::Envelope;
use crate::follow::{
    react, CommitWrites, ErrorPolicy, Follower, Policy, PositionWaiter, ProcessStore, Projection,
    RunnerCore, RunnerError, SubscriptionStopper,
};
use crate::store::{StoreError, StoredEvent, Tracking, TrackingStore};
use crate::BoxFuture;

/// A message the consumer could not read, moved to the dead-letter
/// destination: what [`Inbound::on_dead_letter`] is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The consumer's name.
    pub consumer: String,
    /// The message's `ce-id`, when it has one.
    pub event_id: Option<String>,
    /// Why it could not be read (also in its `chronicle-dead-reason` header).
    pub reason: String,
}

type DeadLetterReport = Arc<dyn Fn(&DeadLetter) + Send + Sync>;

/// Takes events from a broker (a JetStream consumer, a RabbitMQ queue) and
/// feeds them to a process application or a projection, each taking effect
/// once however often the broker delivers it.
///
/// For each message the consumer reads the CloudEvent (see the
/// [`broker`](super) module), skips it when its dedupe record says it was
/// handled, else runs the handler and commits the handler's effects (a
/// process application's new events, a projection's SQL) together with the
/// dedupe record, atomically, in the consumer's own store; it acknowledges
/// the message only after that commit. A redelivery (a lost ack, a publisher
/// that resent) then has no effect.
///
/// The dedupe record is a tracking record named `{consumer}@{stream id}`
/// holding the last version handled of that stream: event ids identify
/// (stream, version) pairs one to one in the publishing log, and a stream's
/// events arrive in order, so "version at or below the record" is "this
/// event id was handled".
///
/// A message that is not a readable event (a missing or malformed `ce-`
/// header, a payload the handler's event type cannot decode) goes to the
/// dead-letter destination with the reason, is acknowledged, and is
/// reported to [`on_dead_letter`](Self::on_dead_letter): it is neither lost
/// nor retried for ever. A handler that fails is retried as
/// [`on_error`](Self::on_error) says, then the consumer stops with the
/// error and leaves the message unacknowledged, to be delivered again when
/// it starts again. Broker failures (the broker down or restarted) are
/// retried with backoff (100 ms doubling up to 5 s) until the consumer is
/// stopped.
pub struct Inbound {
    inlet: Box<dyn Inlet>,
    sink: Box<dyn Sink>,
    core: RunnerCore,
    batch: usize,
    settled: u64,
    on_dead_letter: Option<DeadLetterReport>,
}

impl Inbound {
    /// Feeds `policy` from `source`, saving into `downstream` (the
    /// process application's own application), dedupe records tracked as
    /// `{name}@{stream id}` in its store.
    pub fn process<P, S, C>(
        name: impl Into<String>,
        source: impl Source,
        downstream: Application<S, C>,
        policy: P,
    ) -> Self
    where
        P: Policy,
        S: ProcessStore,
        C: Codec,
    {
        Self::new(name.into(), source, ProcessSink { downstream, policy })
    }

    /// Feeds `projection` from `source`; its writes commit with the dedupe
    /// records in `app`'s store (SQL read models on SQLite or PostgreSQL,
    /// `type Writes = ()` on any store).
    pub fn projection<P, S, C>(
        name: impl Into<String>,
        source: impl Source,
        app: Application<S, C>,
        projection: P,
    ) -> Self
    where
        P: Projection,
        P::Writes: CommitWrites<S>,
        S: TrackingStore,
        C: Codec,
    {
        Self::new(name.into(), source, ProjectionSink { app, projection })
    }

    fn new(name: String, source: impl Source, sink: impl Sink + 'static) -> Self {
        Self {
            inlet: source.inlet(),
            sink: Box::new(sink),
            core: RunnerCore::untyped(name),
            batch: 100,
            settled: 0,
            on_dead_letter: None,
        }
    }

    /// What to do when the handler fails (default [`ErrorPolicy::Stop`]).
    pub fn on_error(mut self, policy: ErrorPolicy) -> Self {
        self.core.policy = policy;
        self
    }

    /// Called for each message moved to the dead-letter destination.
    pub fn on_dead_letter(mut self, report: impl Fn(&DeadLetter) + Send + Sync + 'static) -> Self {
        self.on_dead_letter = Some(Arc::new(report));
        self
    }

    /// Messages taken from the broker at a time (default 100).
    pub fn batch_size(mut self, messages: usize) -> Self {
        self.batch = messages.max(1);
        self
    }

    /// Waits for a count of messages settled (handled, found duplicate or
    /// dead-lettered) since this consumer was built: its
    /// [`PositionWaiter`] counts messages, not log positions.
    pub fn waiter(&self) -> PositionWaiter {
        self.core.waiter()
    }

    /// Stops [`Follower::follow`] from another task.
    pub fn stopper(&self) -> SubscriptionStopper {
        self.core.stopper.clone()
    }

    fn broker_error(&self, source: BrokerError) -> RunnerError {
        RunnerError::Broker {
            consumer: self.core.consumer.clone(),
            source,
        }
    }

    /// Handles and settles one message.
    async fn settle(&mut self, message: Received) -> Result<(), RunnerError> {
        let read = cloudevents::incoming(|name| message.header(name), message.body.clone());
        let outcome = match read {
            Err(error) => Err(error.to_string()),
            Ok(event) => {
                let mut attempt = 0;
                loop {
                    match self.sink.deliver(&self.core.consumer, &event).await {
                        Ok(()) => break Ok(()),
                        Err(Failure::Undecodable(reason)) => break Err(reason),
                        Err(Failure::Failed(error)) => {
                            if self.core.policy.retry(attempt).await {
                                attempt += 1;
                                continue;
                            }
                            return Err(error);
                        }
                    }
                }
            }
        };
        let settled = match outcome {
            Ok(()) => message.settle.ack().await,
            Err(reason) => {
                let report = DeadLetter {
                    consumer: self.core.consumer.clone(),
                    event_id: message.header(header::ID).map(str::to_owned),
                    reason: reason.clone(),
                };
                let buried = self.inlet.dead_letter(message, reason).await;
                if let (Ok(()), Some(on_dead_letter)) = (&buried, &self.on_dead_letter) {
                    on_dead_letter(&report);
                }
                buried
            }
        };
        settled.map_err(|error| self.broker_error(error))?;
        self.settled += 1;
        self.core.mark_seen(self.settled);
        Ok(())
    }

    /// Takes and settles one batch; how many messages it held.
    async fn take_batch(&mut self, wait: std::time::Duration) -> Result<u64, RunnerError> {
        let messages = self
            .inlet
            .receive(self.batch, wait)
            .await
            .map_err(|error| self.broker_error(error))?;
        let count = messages.len() as u64;
        for message in messages {
            self.settle(message).await?;
        }
        Ok(count)
    }
}

impl fmt::Debug for Inbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbound")
            .field("name", &self.core.consumer)
            .field("settled", &self.settled)
            .finish_non_exhaustive()
    }
}

/// How long a deterministic catch-up waits for the broker to hand over
/// what it holds before deciding there is nothing.
const CATCH_UP_WAIT: std::time::Duration = std::time::Duration::from_millis(200);
/// How long one live receive waits before checking for a stop.
const FOLLOW_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl Follower for Inbound {
    fn name(&self) -> &str {
        &self.core.consumer
    }

    /// Settles what the broker holds now; a broker error is returned at once.
    fn catch_up_now(&mut self) -> BoxFuture<'_, Result<u64, RunnerError>> {
        Box::pin(async move {
            let mut total = 0;
            loop {
                match self.take_batch(CATCH_UP_WAIT).await? {
                    0 => return Ok(total),
                    count => total += count,
                }
            }
        })
    }

    /// Settles messages as they come until stopped, riding out broker
    /// failures.
    fn follow(&mut self) -> BoxFuture<'_, Result<(), RunnerError>> {
        Box::pin(async move {
            let mut stopped = self.core.stopper.receiver();
            let mut failures = 0;
            loop {
                if self.core.stopper.is_stopped() {
                    return Ok(());
                }
                let result = tokio::select! {
                    _ = stopped.wait_for(|&stop| stop) => return Ok(()),
                    result = self.take_batch(FOLLOW_WAIT) => result,
                };
                match result {
                    Ok(_) => failures = 0,
                    Err(RunnerError::Broker { .. }) => {
                        tokio::select! {
                            _ = stopped.wait_for(|&stop| stop) => return Ok(()),
                            _ = tokio::time::sleep(backoff(failures)) => {}
                        }
                        failures += 1;
                    }
                    Err(error) => return Err(error),
                }
            }
        })
    }

    fn stopper(&self) -> SubscriptionStopper {
        self.core.stopper.clone()
    }

    fn waiter(&self) -> PositionWaiter {
        self.core.waiter()
    }
}

/// Why a delivery did not take effect.
enum Failure {
    /// The payload does not decode as the handler's events: dead-letter it.
    Undecodable(String),
    /// The handler or the store failed: retry, then stop.
    Failed(RunnerError),
}

/// The dedupe record's name for `stream` under `consumer`.
fn dedupe_key(consumer: &str, stream: Uuid) -> String {
    format!("{consumer}@{stream}")
}

fn store_failure(consumer: &str, source: Error) -> Failure {
    Failure::Failed(RunnerError::Application {
        consumer: consumer.to_owned(),
        source,
    })
}

/// What the consumer feeds: handles one event and commits its effects with
/// the dedupe record; `Ok` also when the record shows it was handled.
trait Sink: Send {
    fn deliver<'a>(
        &'a mut self,
        consumer: &'a str,
        event: &'a StoredEvent,
    ) -> BoxFuture<'a, Result<(), Failure>>;
}

/// The last version of `event`'s stream handled, from the dedupe record.
async fn handled_up_to<S: TrackingStore>(
    store: &S,
    consumer: &str,
    event: &StoredEvent,
) -> Result<u64, Failure> {
    store
        .tracked_position(&dedupe_key(consumer, event.stream_id))
        .await
        .map_err(|error| store_failure(consumer, error.into()))
}

fn decode<E: crate::event::DomainEvent, S, C: Codec>(
    app: &Application<S, C>,
    event: &StoredEvent,
) -> Result<Envelope<E>, Failure> {
    app.mapper()
        .decode_plain(event)
        .map_err(|error| Failure::Undecodable(error.to_string()))
}

struct ProcessSink<P, S, C> {
    downstream: Application<S, C>,
    policy: P,
}

impl<P: Policy, S: ProcessStore, C: Codec> Sink for ProcessSink<P, S, C> {
    fn deliver<'a>(
        &'a mut self,
        consumer: &'a str,
        event: &'a StoredEvent,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            if handled_up_to(self.downstream.store(), consumer, event).await? >= event.version {
                return Ok(());
            }
            let envelope = decode::<P::Event, S, C>(&self.downstream, event)?;
            let tracking = Tracking::new(dedupe_key(consumer, event.stream_id), event.version);
            // Retries are the consumer's: react once per delivery attempt.
            react(
                &self.downstream,
                &self.policy,
                ErrorPolicy::Stop,
                event,
                &envelope,
                tracking,
            )
            .await
            .map(drop)
            .map_err(Failure::Failed)
        })
    }
}

struct ProjectionSink<P, S, C> {
    app: Application<S, C>,
    projection: P,
}

impl<P, S, C> Sink for ProjectionSink<P, S, C>
where
    P: Projection,
    P::Writes: CommitWrites<S>,
    S: TrackingStore,
    C: Codec,
{
    fn deliver<'a>(
        &'a mut self,
        consumer: &'a str,
        event: &'a StoredEvent,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let after = handled_up_to(self.app.store(), consumer, event).await?;
            if after >= event.version {
                return Ok(());
            }
            let envelope = decode::<P::Event, S, C>(&self.app, event)?;
            let mut writes = P::Writes::default();
            self.projection
                .handle(&envelope, &mut writes)
                .map_err(|source| Failure::Failed(RunnerError::handler(consumer, event, source)))?;
            let tracking = Tracking::new(dedupe_key(consumer, event.stream_id), event.version);
            match writes.commit(self.app.store(), tracking, after).await {
                Ok(()) => Ok(()),
                // Another consumer of the same name committed it meanwhile.
                Err(StoreError::TrackingConflict { current, .. }) if current >= event.version => {
                    Ok(())
                }
                Err(error) => Err(store_failure(consumer, error.into())),
            }
        })
    }
}
