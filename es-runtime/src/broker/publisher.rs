//! The publisher: a follower of the log whose effect is a broker message.

use super::cloudevents::{self, OutgoingEvent};
use super::link::{backoff, Outlet};
use super::routing::Routing;
use super::{Broker, BrokerError};
use crate::application::Application;
use crate::codec::Codec;
use crate::follow::{
    BatchHandler, PositionWaiter, RunnerCore, RunnerError, SubscriptionOptions, SubscriptionStopper,
};
use crate::store::{AppendRequest, LogStore, StoreError, StoredEvent, Tracking, TrackingStore};

/// Publishes an application's events to a broker, in log order, from the
/// position it has recorded.
///
/// The publisher is a follower of the log (it runs under a
/// [`System`](crate::System) like projections do). For each page of events
/// it publishes a CloudEvent per event (binary mode: `ce-` headers and the
/// plain payload, see the [`broker`](super) module), waits until the broker
/// has confirmed every one (JetStream publish acks, RabbitMQ publisher
/// confirms), and only then records the page's last position as its
/// tracking record in the application's store. A crash between publishing
/// and recording publishes the page again: delivery is at least once, and
/// the event id is the message id, so JetStream's duplicate window drops
/// the resends and consumers dedupe the rest.
///
/// Events of one stream are published in order, each only after the one
/// before it was confirmed; events of different streams are pipelined. A
/// message the broker does not confirm is sent again (after 100 ms, doubling
/// up to 5 s), and later events of its stream wait for it, so a stream's
/// order holds through broker restarts. The publisher retries for ever
/// unless [`give_up_after`](Self::give_up_after) says otherwise.
pub struct Publisher<S, C> {
    app: Application<S, C>,
    outlet: Box<dyn Outlet>,
    routing: Routing,
    source: String,
    content_type: String,
    give_up_after: Option<u32>,
    core: RunnerCore,
}

impl<S: LogStore + TrackingStore, C: Codec> Publisher<S, C> {
    /// A publisher of `app`'s log to `broker`, tracked under `name` in the
    /// application's store. Events go to [`Routing::default`] subjects, with
    /// `name` as their `ce-source`.
    pub fn new(name: impl Into<String>, app: Application<S, C>, broker: impl Broker) -> Self {
        let name = name.into();
        Self {
            outlet: broker.outlet(),
            routing: Routing::default(),
            source: name.clone(),
            content_type: cloudevents::content_type(C::NAME),
            give_up_after: None,
            core: RunnerCore::untyped(name),
            app,
        }
    }

    /// Where each event goes (default [`Routing::by_type`]`("events")`).
    pub fn routing(mut self, routing: Routing) -> Self {
        self.routing = routing;
        self
    }

    /// The `ce-source` of every event (default: the publisher's name), a
    /// URI reference naming this application (`urn:dog-school`).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Publishes only events of these aggregate types (the store filters).
    pub fn aggregate_types<T: Into<String>>(mut self, types: impl IntoIterator<Item = T>) -> Self {
        self.core.options.aggregate_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Publishes only events of these stored types (the store filters).
    pub fn event_types<T: Into<String>>(mut self, types: impl IntoIterator<Item = T>) -> Self {
        self.core.options.event_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// How the log is read: the page size is the batch confirmed before a
    /// position is recorded (default 1,000). Filters set here are replaced
    /// by those of [`aggregate_types`](Self::aggregate_types) and
    /// [`event_types`](Self::event_types).
    pub fn options(mut self, options: SubscriptionOptions) -> Self {
        self.core.options = SubscriptionOptions {
            event_types: self.core.options.event_types.take(),
            aggregate_types: self.core.options.aggregate_types.take(),
            ..options
        };
        self
    }

    /// Stops with [`RunnerError::Broker`] after `attempts` failed attempts
    /// in a row at publishing the same events, instead of retrying for ever.
    pub fn give_up_after(mut self, attempts: u32) -> Self {
        self.give_up_after = Some(attempts.max(1));
        self
    }

    /// The name the position is tracked under.
    pub fn name(&self) -> &str {
        &self.core.consumer
    }

    /// Stops the publisher from another task.
    pub fn stopper(&self) -> SubscriptionStopper {
        self.core.stopper.clone()
    }

    /// Waits until the events up to a log position are confirmed and
    /// recorded.
    pub fn waiter(&self) -> PositionWaiter {
        self.core.waiter()
    }

    /// Publishes what is in the log now; returns how many events.
    pub async fn catch_up(&mut self) -> Result<u64, RunnerError> {
        crate::follow::catch_up(self, |_| {}).await
    }

    /// Publishes what is in the log, then follows it live until stopped.
    pub async fn run(&mut self) -> Result<(), RunnerError> {
        crate::follow::run(self).await
    }

    fn broker_error(&self, source: BrokerError) -> RunnerError {
        RunnerError::Broker {
            consumer: self.core.consumer.clone(),
            source,
        }
    }

    /// Publishes `events` until all are confirmed: the ones the broker
    /// failed to confirm are sent again, the confirmed ones are not.
    async fn confirm(&mut self, mut pending: Vec<&OutgoingEvent>) -> Result<(), RunnerError> {
        let mut failures = 0;
        loop {
            let results = self.outlet.publish(&pending).await;
            let mut first_error = None;
            let mut unconfirmed = Vec::new();
            for (event, result) in pending.iter().zip(results) {
                if let Err(error) = result {
                    first_error.get_or_insert(error);
                    unconfirmed.push(*event);
                }
            }
            let Some(error) = first_error else {
                return Ok(());
            };
            failures += 1;
            if self.give_up_after.is_some_and(|limit| failures >= limit)
                || self.core.stopper.is_stopped()
            {
                return Err(self.broker_error(error));
            }
            pending = unconfirmed;
            let mut stopped = self.core.stopper.receiver();
            tokio::select! {
                _ = stopped.wait_for(|&stop| stop) => {}
                _ = tokio::time::sleep(backoff(failures - 1)) => {}
            }
        }
    }

    async fn record(&self, position: u64) -> Result<(), RunnerError> {
        let tracking = Tracking::new(self.core.consumer.clone(), position);
        match self
            .app
            .store()
            .append_tracked(AppendRequest::default(), tracking)
            .await
        {
            Ok(_) => Ok(()),
            // Another instance of this publisher recorded it first.
            Err(StoreError::TrackingConflict { current, .. }) if current >= position => Ok(()),
            Err(error) => Err(self.core.fail(error.into())),
        }
    }
}

/// The events of a batch in rounds: round `k` holds the `k`-th event of
/// each stream, so that a stream's events go out one round after another
/// while different streams share a round.
fn rounds(batch: &[StoredEvent]) -> Vec<Vec<usize>> {
    let mut seen = std::collections::HashMap::new();
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    for (index, event) in batch.iter().enumerate() {
        let round = seen.entry(event.stream_id).or_insert(0usize);
        if rounds.len() <= *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(index);
        *round += 1;
    }
    rounds
}

impl<S: LogStore + TrackingStore, C: Codec> BatchHandler for Publisher<S, C> {
    type Store = S;
    type Codec = C;

    fn core(&self) -> &RunnerCore {
        &self.core
    }

    fn upstream(&self) -> &Application<S, C> {
        &self.app
    }

    async fn tracked_position(&self) -> Result<u64, RunnerError> {
        self.app
            .store()
            .tracked_position(&self.core.consumer)
            .await
            .map_err(|error| self.core.fail(error.into()))
    }

    async fn process(&mut self, batch: &[StoredEvent]) -> Result<u64, RunnerError> {
        let Some(last) = batch.last() else {
            return Ok(0);
        };
        let mut events = Vec::with_capacity(batch.len());
        for record in batch {
            let body = if self.app.mapper().protects() {
                self.app
                    .mapper()
                    .plain_payload(record)
                    .await
                    .map_err(|error| self.core.fail(error))?
            } else {
                record.payload.clone()
            };
            let subject = self.routing.subject(record);
            events.push(cloudevents::outgoing(
                record,
                body,
                subject,
                &self.source,
                &self.content_type,
            ));
        }
        for round in rounds(batch) {
            self.confirm(round.iter().map(|&index| &events[index]).collect())
                .await?;
        }
        self.record(last.position).await?;
        Ok(batch.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Metadata;
    use crate::timestamp::Timestamp;
    use uuid::Uuid;

    #[test]
    fn rounds_keep_each_streams_order_and_share_rounds_across_streams() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let batch: Vec<StoredEvent> = [a, a, b, a, b]
            .iter()
            .enumerate()
            .map(|(index, &stream_id)| StoredEvent {
                position: index as u64 + 1,
                stream_id,
                version: 1,
                event_id: Uuid::new_v4(),
                aggregate_type: None,
                event_type: "X".into(),
                schema_version: 1,
                timestamp: Timestamp::now(),
                metadata: Metadata::new(),
                payload: Vec::new(),
                chain_hash: None,
            })
            .collect();
        assert_eq!(rounds(&batch), vec![vec![0, 2], vec![1, 4], vec![3]]);
        assert!(rounds(&[]).is_empty());
    }
}
