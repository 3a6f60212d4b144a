//! What the publisher and the inbound runner need of a broker: the one seam
//! between the broker-agnostic runners and the NATS and RabbitMQ clients.
//! Implementations connect lazily and again after a failure, so that a
//! broker that is down only delays the runners.

use std::time::Duration;

use futures_util::{FutureExt, Stream, StreamExt};

use super::cloudevents::OutgoingEvent;
use super::error::BrokerError;
use crate::BoxFuture;

/// The header of a dead letter that says why the consumer could not read it.
pub(crate) const DEAD_REASON: &str = "chronicle-dead-reason";

/// Publishes events and waits for the broker's confirmations.
pub trait Outlet: Send + Sync {
    /// Sends every event (pipelined, in the order given) and waits for each
    /// confirmation; the result for each event, in the same order.
    fn publish<'a>(
        &'a mut self,
        events: &'a [&'a OutgoingEvent],
    ) -> BoxFuture<'a, Vec<Result<(), BrokerError>>>;
}

/// A message taken from a broker, not yet settled.
pub struct Received {
    /// The headers, name and value.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Settles it with the broker.
    pub settle: Box<dyn Settle>,
}

impl Received {
    /// The value of header `name`, looked up case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Settling one received message.
pub trait Settle: Send {
    /// Acknowledges it: the broker will not deliver it again.
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<(), BrokerError>>;
}

/// Takes messages from a broker.
pub trait Inlet: Send {
    /// Up to `max` messages, waiting at most `wait` for the first.
    fn receive(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<Received>, BrokerError>>;

    /// Stores `message` at the dead-letter destination with `reason`
    /// (confirmed by the broker), then acknowledges it.
    fn dead_letter(
        &mut self,
        message: Received,
        reason: String,
    ) -> BoxFuture<'_, Result<(), BrokerError>>;
}

/// The wait before retry number `failures` (from 0): 100 ms doubling, at
/// most 5 s.
pub(crate) fn backoff(failures: u32) -> Duration {
    (Duration::from_millis(100) * 2u32.saturating_pow(failures.min(10))).min(Duration::from_secs(5))
}

/// Takes up to `max` messages from a client's message stream: waits at most
/// `wait` for the first, then takes only those ready at once. `Err` when the
/// stream failed or ended before anything was taken (the link is gone);
/// when it fails after some were taken, those are returned and the next
/// call fails. `lost` is set whenever the link must be made again.
pub(crate) async fn take_ready<S, T, E>(
    messages: &mut S,
    max: usize,
    wait: Duration,
    received: fn(T) -> Received,
    lost: &mut bool,
) -> Result<Vec<Received>, Option<E>>
where
    S: Stream<Item = Result<T, E>> + Unpin,
{
    let mut batch = Vec::new();
    let Ok(mut next) = tokio::time::timeout(wait, messages.next()).await else {
        return Ok(batch);
    };
    loop {
        match next {
            Some(Ok(message)) => batch.push(received(message)),
            Some(Err(error)) => {
                *lost = true;
                return if batch.is_empty() {
                    Err(Some(error))
                } else {
                    Ok(batch)
                };
            }
            None => {
                *lost = true;
                return if batch.is_empty() {
                    Err(None)
                } else {
                    Ok(batch)
                };
            }
        }
        if batch.len() >= max {
            return Ok(batch);
        }
        match messages.next().now_or_never() {
            Some(item) => next = item,
            None => return Ok(batch),
        }
    }
}
