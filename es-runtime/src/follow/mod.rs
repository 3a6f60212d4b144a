//! Following the log: subscriptions, projections, process applications and
//! systems of them. This module holds what the runners share: following a
//! log from a tracked position, error policies, partitions, progress and
//! waiting for a position.

mod process;
mod projection;
mod subscription;
mod system;

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

#[cfg(any(feature = "nats", feature = "rabbitmq"))]
pub(crate) use process::react;
pub use process::{Policy, ProcessContext, ProcessRunner, ProcessStore};
pub use projection::{CommitWrites, Projection, ProjectionRunner, ProjectionWrites};
pub use subscription::{Subscription, SubscriptionOptions, SubscriptionStopper};
pub use system::{Follower, RunningSystem, System};

use crate::application::Application;
use crate::codec::Codec;
use crate::error::Error;
use crate::event::DomainEvent;
use crate::store::{LogStore, StoredEvent};

/// What a handler returns when it fails.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a runner does when a handler fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPolicy {
    /// Stop at once with the error and the event that caused it.
    Stop,
    /// Handle the event again up to `attempts` more times, `backoff` apart,
    /// then stop as with [`ErrorPolicy::Stop`].
    Retry {
        /// Further attempts.
        attempts: u32,
        /// The wait between attempts.
        backoff: Duration,
    },
}

impl ErrorPolicy {
    /// Whether attempt number `attempt` (from 0) may be followed by another,
    /// after waiting.
    pub(crate) async fn retry(&self, attempt: u32) -> bool {
        match *self {
            ErrorPolicy::Retry { attempts, backoff } if attempt < attempts => {
                tokio::time::sleep(backoff).await;
                true
            }
            _ => false,
        }
    }
}

/// Why a follower (projection or process application) stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A handler failed on an event.
    #[error("{consumer} failed on event {event_type} at position {position} (stream {stream_id}, version {version}): {source}")]
    Handler {
        /// The follower's tracking name.
        consumer: String,
        /// The event's log position.
        position: u64,
        /// Its stream.
        stream_id: Uuid,
        /// Its version in the stream.
        version: u64,
        /// Its stored type.
        event_type: String,
        /// What the handler returned.
        source: HandlerError,
    },
    /// Reading, decoding or committing failed.
    #[error("{consumer}: {source}")]
    Application {
        /// The follower's tracking name.
        consumer: String,
        /// The error.
        source: Error,
    },
    /// A broker publisher or consumer gave up on its broker, or was stopped
    /// while events were still unconfirmed (they are published again when
    /// it starts again).
    #[error("{consumer}: {source}")]
    Broker {
        /// The publisher's or consumer's tracking name.
        consumer: String,
        /// What the broker or its client said.
        source: crate::broker::BrokerError,
    },
    /// The follower's task panicked or was cancelled.
    #[error("{consumer} stopped abnormally: {reason}")]
    Aborted {
        /// The follower's tracking name.
        consumer: String,
        /// The panic message, or why the task ended.
        reason: String,
    },
}

impl RunnerError {
    pub(crate) fn handler(consumer: &str, record: &StoredEvent, source: HandlerError) -> Self {
        RunnerError::Handler {
            consumer: consumer.to_owned(),
            position: record.position,
            stream_id: record.stream_id,
            version: record.version,
            event_type: record.event_type.clone(),
            source,
        }
    }
}

/// Which share of the streams a worker handles: streams whose id hashes to
/// `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// This worker's share, from 0.
    pub index: u32,
    /// How many workers share the follower.
    pub count: u32,
}

impl Partition {
    /// True when `stream_id` belongs to this partition. The hash is fixed
    /// (not randomly seeded) so every worker and every restart agrees.
    pub fn contains(&self, stream_id: Uuid) -> bool {
        let (high, low) = stream_id.as_u64_pair();
        let mixed = (high ^ low.rotate_left(17)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> 32) % u64::from(self.count.max(1)) == u64::from(self.index)
    }
}

/// Progress of a catch-up or rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The last log position examined.
    pub position: u64,
    /// The log's last position when the run started.
    pub target: u64,
    /// Events handled so far in this run.
    pub handled: u64,
}

/// Waits until a follower has processed the log up to a position (to read
/// your own writes).
#[derive(Debug, Clone)]
pub struct PositionWaiter {
    processed: watch::Receiver<u64>,
}

impl PositionWaiter {
    /// True once everything up to `position` has been processed; false when
    /// `timeout` passes first.
    pub async fn wait_for(&mut self, position: u64, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.processed.wait_for(|&p| p >= position))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// The last position processed.
    pub fn position(&self) -> u64 {
        *self.processed.borrow()
    }
}

/// The state every runner keeps: its name, how it reads, its stop switch and
/// the position it has processed.
pub(crate) struct RunnerCore {
    pub(crate) consumer: String,
    pub(crate) partition: Option<Partition>,
    pub(crate) policy: ErrorPolicy,
    pub(crate) options: SubscriptionOptions,
    pub(crate) stopper: SubscriptionStopper,
    processed: watch::Sender<u64>,
}

impl RunnerCore {
    /// The core of a runner reading the events of `E`'s aggregate.
    pub(crate) fn new<E: DomainEvent>(consumer: String) -> Self {
        Self {
            consumer,
            partition: None,
            policy: ErrorPolicy::Stop,
            options: SubscriptionOptions {
                event_types: Some(E::stored_types()),
                aggregate_types: Some(E::aggregate_types()),
                ..SubscriptionOptions::default()
            },
            stopper: SubscriptionStopper::new(),
            processed: watch::Sender::new(0),
        }
    }

    /// The core of a runner that reads every event (filters are its own).
    #[cfg(any(feature = "nats", feature = "rabbitmq"))]
    pub(crate) fn untyped(consumer: String) -> Self {
        Self {
            consumer,
            partition: None,
            policy: ErrorPolicy::Stop,
            options: SubscriptionOptions::default(),
            stopper: SubscriptionStopper::new(),
            processed: watch::Sender::new(0),
        }
    }

    /// Makes the runner worker `index` of `count`, tracked as
    /// `base[index/count]`.
    pub(crate) fn partition(&mut self, base: &str, index: u32, count: u32) {
        self.partition = Some(Partition { index, count });
        self.consumer = format!("{base}[{index}/{count}]");
    }

    /// Takes the reading options, keeping the runner's own event types.
    pub(crate) fn set_options(&mut self, options: SubscriptionOptions) {
        self.options = SubscriptionOptions {
            event_types: self.options.event_types.take(),
            aggregate_types: self.options.aggregate_types.take(),
            ..options
        };
    }

    pub(crate) fn fail(&self, source: Error) -> RunnerError {
        RunnerError::Application {
            consumer: self.consumer.clone(),
            source,
        }
    }

    /// True when `record` is someone else's in a partitioned follower.
    pub(crate) fn skips(&self, record: &StoredEvent) -> bool {
        self.partition
            .is_some_and(|partition| !partition.contains(record.stream_id))
    }

    pub(crate) fn waiter(&self) -> PositionWaiter {
        PositionWaiter {
            processed: self.processed.subscribe(),
        }
    }

    pub(crate) fn position(&self) -> u64 {
        *self.processed.borrow()
    }

    pub(crate) fn reset_position(&self) {
        self.processed.send_replace(0);
    }

    pub(crate) fn mark_seen(&self, position: u64) {
        self.processed.send_if_modified(|processed| {
            let advanced = position > *processed;
            *processed = (*processed).max(position);
            advanced
        });
    }
}

/// A runner as the shared loops see it: where it reads, where it tracks,
/// and how it handles a batch.
pub(crate) trait BatchHandler: Send + Sync {
    /// The store of the application whose log it follows.
    type Store: LogStore;
    /// That application's codec.
    type Codec: Codec;

    /// Whether catching up may read the next page while a batch is
    /// handled. Only for a follower that never appends to the log it reads
    /// (a projection): a process application's next read must see what its
    /// batch appended, as a read after the batch does, so that
    /// `System::run_until_idle` stays deterministic.
    const READS_AHEAD: bool = false;

    fn core(&self) -> &RunnerCore;

    fn upstream(&self) -> &Application<Self::Store, Self::Codec>;

    /// The tracked position, from the store the runner commits to.
    fn tracked_position(&self) -> impl Future<Output = Result<u64, RunnerError>> + Send;

    /// Handles a batch of events in log order, committing as it goes;
    /// returns how many it handled.
    fn process(
        &mut self,
        batch: &[StoredEvent],
    ) -> impl Future<Output = Result<u64, RunnerError>> + Send;
}

async fn subscription<H: BatchHandler>(
    handler: &H,
) -> Result<Subscription<H::Store, H::Codec>, RunnerError> {
    let core = handler.core();
    let tracked = handler.tracked_position().await?;
    core.mark_seen(tracked);
    Ok(Subscription::with_stopper(
        handler.upstream().clone(),
        tracked,
        core.options.clone(),
        core.stopper.clone(),
    ))
}

async fn log_end<H: BatchHandler>(handler: &H) -> Result<u64, RunnerError> {
    handler
        .upstream()
        .last_position()
        .await
        .map_err(|error| handler.core().fail(error))
}

/// Catches up from the tracked position, then follows live until stopped.
pub(crate) async fn run<H: BatchHandler>(handler: &mut H) -> Result<(), RunnerError> {
    let mut subscription = subscription(handler).await?;
    loop {
        // Read the log's end first: when the read after it finds nothing of
        // our types, everything up to that end has been examined.
        let end = log_end(handler).await?;
        let batch = subscription
            .catch_up_batch()
            .await
            .map_err(|error| handler.core().fail(error))?;
        let batch = if batch.is_empty() {
            handler.core().mark_seen(end);
            match subscription.next_batch().await {
                Ok(Some(batch)) => batch,
                Ok(None) => return Ok(()),
                Err(error) => return Err(handler.core().fail(error)),
            }
        } else {
            batch
        };
        process(handler, &batch, end).await?;
        handler.core().mark_seen(subscription.position());
    }
}

/// Handles one batch inside a span naming the consumer, the positions it
/// covers and how far the log's end (read before the batch) was ahead.
async fn process<H: BatchHandler>(
    handler: &mut H,
    batch: &[StoredEvent],
    end: u64,
) -> Result<u64, RunnerError> {
    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
        return Ok(0);
    };
    let span = tracing::debug_span!(
        "chronicle.follow",
        consumer = handler.core().consumer.as_str(),
        from_position = first.position,
        to_position = last.position,
        events = batch.len(),
        lag = end.saturating_sub(last.position),
    );
    let handled = handler.process(batch).instrument(span.clone()).await;
    if let Err(error) = &handled {
        span.in_scope(|| tracing::warn!(%error, "batch failed"));
    }
    handled
}

/// Handles what is already in the log after the tracked position.
pub(crate) async fn catch_up<H: BatchHandler>(
    handler: &mut H,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<u64, RunnerError> {
    let mut subscription = subscription(handler).await?;
    let target = log_end(handler).await?;
    let mut handled = 0;
    let mut page = next_page(&mut subscription).await;
    loop {
        let (end, batch) = page.map_err(|error| handler.core().fail(error))?;
        if batch.is_empty() {
            handler.core().mark_seen(end);
            return Ok(handled);
        }
        let position = subscription.position();
        // Read the next page while this one is handled and committed, when
        // the handler never appends to the log (see `READS_AHEAD`): the
        // store reads on its own thread or connection, alongside the
        // handler and the writer.
        let ahead = async {
            if H::READS_AHEAD {
                Some(next_page(&mut subscription).await)
            } else {
                None
            }
        };
        let (done, ahead) = tokio::join!(process(handler, &batch, end), ahead);
        handled += done?;
        handler.core().mark_seen(position);
        progress(Progress {
            position,
            target,
            handled,
        });
        page = match ahead {
            Some(next) => next,
            None => next_page(&mut subscription).await,
        };
    }
}

/// The log's end, then the next page after the subscription's position
/// (empty when caught up): read in that order, an empty page means
/// everything up to that end has been examined.
async fn next_page<S: LogStore, C: Codec>(
    subscription: &mut Subscription<S, C>,
) -> Result<(u64, Vec<StoredEvent>), Error> {
    let end = subscription.log_end().await?;
    let batch = subscription.catch_up_batch().await?;
    Ok((end, batch))
}
