//! Subscriptions: following an application's log.

use std::time::Duration;

use tokio::sync::watch;

use crate::application::Application;
use crate::codec::Codec;
use crate::error::Error;
use crate::store::{LogQuery, LogStore, StoreError, StoredEvent};

/// How a subscription reads and waits.
#[derive(Debug, Clone)]
pub struct SubscriptionOptions {
    /// Events per read (default 1,000).
    pub page_size: usize,
    /// The longest wait between two reads when no signal comes (default 100 ms).
    pub poll_interval: Duration,
    /// Only these event types, if set.
    pub event_types: Option<Vec<String>>,
    /// Only events of these aggregate types, if set (see
    /// [`LogQuery::aggregate_types`]).
    pub aggregate_types: Option<Vec<String>>,
    /// How many times in a row a failing read is retried before the error is
    /// returned (default 10); the waits double from 50 ms up to 5 s.
    pub max_retries: u32,
}

impl Default for SubscriptionOptions {
    fn default() -> Self {
        Self {
            page_size: 1_000,
            poll_interval: Duration::from_millis(100),
            event_types: None,
            aggregate_types: None,
            max_retries: 10,
        }
    }
}

/// Stops a [`Subscription`] (and whatever runs on it) from anywhere.
#[derive(Debug, Clone)]
pub struct SubscriptionStopper {
    stop: watch::Sender<bool>,
}

impl SubscriptionStopper {
    /// A stopper with nothing subscribed to it yet.
    pub fn new() -> Self {
        Self {
            stop: watch::Sender::new(false),
        }
    }

    /// Asks every subscription of this stopper to stop; each returns `None`
    /// from its next call instead of waiting for more events.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// True once [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        *self.stop.borrow()
    }

    pub(crate) fn receiver(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }
}

impl Default for SubscriptionStopper {
    fn default() -> Self {
        Self::new()
    }
}

/// A reader that follows an application's log from a position.
///
/// Following an application's event log: catch up from a position, then
/// receive new events live.
///
/// A [`Subscription`] reads the log in pages after its position until it is
/// caught up, then waits for the store to signal new events
/// ([`LogStore::wait_for_events`]: an in-process signal for the in-memory
/// store, LISTEN/NOTIFY for PostgreSQL, a short polling interval otherwise)
/// and reads again. It relies on the store's ordering guarantee: reading
/// after the last position seen never skips an event nor repeats one.
///
/// Store errors that may be transient (a lost connection) are retried with
/// backoff from the last position; the subscription resumes exactly where it
/// was. A [`SubscriptionStopper`] stops it cleanly from another task.
pub struct Subscription<S, C> {
    app: Application<S, C>,
    position: u64,
    options: SubscriptionOptions,
    stopper: SubscriptionStopper,
    stopped: watch::Receiver<bool>,
    /// With an event-type filter: the log's end before the last empty read,
    /// so the wait is for events after it. (Waiting after `position` would
    /// wake at once, again and again, once events of other types follow.)
    examined: u64,
}

impl<S, C: Codec> Subscription<S, C> {
    /// Follows `app`'s log after `position` (0 for the beginning).
    pub fn new(app: Application<S, C>, position: u64, options: SubscriptionOptions) -> Self
    where
        S: LogStore,
    {
        Self::with_stopper(app, position, options, SubscriptionStopper::new())
    }

    /// Like [`new`](Self::new), stopped by `stopper` (which may stop others too).
    pub fn with_stopper(
        app: Application<S, C>,
        position: u64,
        options: SubscriptionOptions,
        stopper: SubscriptionStopper,
    ) -> Self
    where
        S: LogStore,
    {
        let stopped = stopper.receiver();
        Self {
            app,
            position,
            options,
            stopper,
            stopped,
            examined: 0,
        }
    }
}

impl<S: LogStore, C: Codec> Subscription<S, C> {
    /// The position of the last event returned (where the next read starts).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The position of the last event in the log (0 when empty).
    pub(crate) async fn log_end(&self) -> Result<u64, Error> {
        self.app.last_position().await
    }

    /// A handle that stops this subscription.
    pub fn stopper(&self) -> SubscriptionStopper {
        self.stopper.clone()
    }

    /// The next events after the current position, in log order: at once
    /// when there are any, else as soon as new ones arrive. `None` once the
    /// subscription is stopped.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<StoredEvent>>, Error> {
        let mut failures = 0;
        loop {
            if *self.stopped.borrow() {
                return Ok(None);
            }
            let filtered =
                self.options.event_types.is_some() || self.options.aggregate_types.is_some();
            let end = if filtered {
                self.app.last_position().await.map(Some)
            } else {
                Ok(None)
            };
            let read = match end {
                Ok(end) => self.read().await.map(|batch| (batch, end)),
                Err(error) => Err(error),
            };
            match read.map(|(batch, end)| {
                if batch.is_empty() {
                    self.examined = end.unwrap_or(0);
                }
                batch
            }) {
                Ok(batch) if !batch.is_empty() => {
                    if let Some(last) = batch.last() {
                        self.position = last.position;
                    }
                    return Ok(Some(batch));
                }
                Ok(_) => {
                    failures = 0;
                    self.wait(self.options.poll_interval, true).await;
                }
                Err(error) if retryable(&error) && failures < self.options.max_retries => {
                    failures += 1;
                    tracing::warn!(
                        attempt = failures,
                        position = self.position,
                        %error,
                        "reading the log failed; retrying"
                    );
                    self.wait(backoff(failures - 1), false).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The next page of events after the current position that are already
    /// in the log, without waiting for new ones; empty when caught up.
    /// Transient errors are retried as in [`next_batch`](Self::next_batch).
    pub async fn catch_up_batch(&mut self) -> Result<Vec<StoredEvent>, Error> {
        let mut failures = 0;
        loop {
            match self.read().await {
                Ok(batch) => {
                    if let Some(last) = batch.last() {
                        self.position = last.position;
                    }
                    return Ok(batch);
                }
                Err(error) if retryable(&error) && failures < self.options.max_retries => {
                    failures += 1;
                    tracing::warn!(
                        attempt = failures,
                        position = self.position,
                        %error,
                        "reading the log failed; retrying"
                    );
                    self.wait(backoff(failures - 1), false).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn read(&self) -> Result<Vec<StoredEvent>, Error> {
        let query = LogQuery {
            after: self.position,
            limit: self.options.page_size,
            event_types: self.options.event_types.clone(),
            aggregate_types: self.options.aggregate_types.clone(),
        };
        self.app.read_log(query).await
    }

    /// Waits up to `timeout` for a stop, and (when `for_events`) for the
    /// store's signal of new events.
    async fn wait(&mut self, timeout: Duration, for_events: bool) {
        let store = self.app.store();
        let position = self.position.max(self.examined);
        let stopped = &mut self.stopped;
        tokio::select! {
            _ = stopped.wait_for(|&stop| stop) => {}
            _ = async {
                if for_events {
                    store.wait_for_events(position, timeout).await;
                } else {
                    tokio::time::sleep(timeout).await;
                }
            } => {}
        }
    }
}

/// The wait before retry number `failures` (from 0): 50 ms doubling, at
/// most 5 s.
fn backoff(failures: u32) -> Duration {
    (Duration::from_millis(50) * 2u32.saturating_pow(failures.min(10))).min(Duration::from_secs(5))
}

/// Errors worth retrying: the database or its connection failed. Conflicts,
/// corrupt data and configuration errors are returned at once.
fn retryable(error: &Error) -> bool {
    matches!(error, Error::Store(StoreError::Backend { .. }))
}
