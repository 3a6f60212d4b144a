//! Consuming from NATS JetStream: durable pull consumers of the stream, and
//! their dead-letter streams.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, message::PublishMessage, Context};
use bytes::Bytes;

use super::{ensure_stream, headers, JetStream, BROKER};
use crate::broker::link::{take_ready, Inlet, Received, Settle, DEAD_REASON};
use crate::broker::{sealed, BrokerError, Source};
use crate::BoxFuture;

/// A durable pull consumer of a [`JetStream`] stream: a [`Source`] for an
/// [`Inbound`](crate::broker::Inbound) consumer. Created when missing (explicit
/// acks, every message from the start of the stream, 30 s to ack before
/// redelivery).
///
/// Dead letters are published to the subject
/// `chronicle.dead.{stream}.{durable}`, stored in the stream
/// `{stream}_{durable}_DEAD` (created when missing), with a
/// `chronicle-dead-reason` header beside the original headers.
#[derive(Debug, Clone)]
pub struct JetStreamConsumer {
    jetstream: JetStream,
    durable: String,
    filter_subject: Option<String>,
    ack_wait: Duration,
    dead_letter_stream: String,
    dead_letter_subject: String,
}

impl JetStreamConsumer {
    pub(super) fn new(jetstream: JetStream, durable: String) -> Self {
        Self {
            dead_letter_stream: format!("{}_{durable}_DEAD", jetstream.stream),
            dead_letter_subject: format!("chronicle.dead.{}.{durable}", jetstream.stream),
            jetstream,
            durable,
            filter_subject: None,
            ack_wait: Duration::from_secs(30),
        }
    }

    /// Only messages on subjects matching `subject` (`dogs.Dog.>`).
    pub fn filter_subject(mut self, subject: impl Into<String>) -> Self {
        self.filter_subject = Some(subject.into());
        self
    }

    /// How long a delivered message may stay unacknowledged before the
    /// server delivers it again (default 30 s).
    pub fn ack_wait(mut self, wait: Duration) -> Self {
        self.ack_wait = wait;
        self
    }

    /// Dead letters go to `subject`, stored in the stream `stream`.
    pub fn dead_letters(mut self, stream: impl Into<String>, subject: impl Into<String>) -> Self {
        self.dead_letter_stream = stream.into();
        self.dead_letter_subject = subject.into();
        self
    }

    async fn connect(&self) -> Result<(Context, pull::Stream), BrokerError> {
        let context = self.jetstream.connect().await?;
        ensure_stream(
            &context,
            &self.dead_letter_stream,
            vec![self.dead_letter_subject.clone()],
            self.jetstream.duplicate_window,
        )
        .await?;
        let declare_error = |error: &dyn std::fmt::Display| BrokerError::Declare {
            broker: BROKER,
            what: format!(
                "consumer {} on stream {}",
                self.durable, self.jetstream.stream
            ),
            message: error.to_string(),
        };
        let stream = context
            .get_stream(&self.jetstream.stream)
            .await
            .map_err(|error| declare_error(&error))?;
        let consumer = stream
            .get_or_create_consumer(
                &self.durable,
                pull::Config {
                    durable_name: Some(self.durable.clone()),
                    filter_subject: self.filter_subject.clone().unwrap_or_default(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: self.ack_wait,
                    ..Default::default()
                },
            )
            .await
            .map_err(|error| declare_error(&error))?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(256)
            .messages()
            .await
            .map_err(|error| declare_error(&error))?;
        Ok((context, messages))
    }
}

struct NatsInlet {
    consumer: JetStreamConsumer,
    link: Option<(Context, pull::Stream)>,
}

fn consume_error(operation: &'static str, error: impl ToString) -> BrokerError {
    BrokerError::Consume {
        broker: BROKER,
        operation,
        message: error.to_string(),
    }
}

fn received(message: jetstream::Message) -> Received {
    let (message, acker) = message.split();
    let headers = message
        .headers
        .iter()
        .flat_map(|map| map.iter())
        .flat_map(|(name, values)| {
            values
                .iter()
                .map(move |value| (name.to_string(), value.as_str().to_owned()))
        })
        .collect();
    Received {
        headers,
        body: message.payload.to_vec(),
        settle: Box::new(NatsAck(acker)),
    }
}

struct NatsAck(jetstream::message::Acker);

impl Settle for NatsAck {
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<(), BrokerError>> {
        Box::pin(async move {
            self.0
                .ack()
                .await
                .map_err(|error| consume_error("ack", error))
        })
    }
}

impl NatsInlet {
    async fn take(&mut self, max: usize, wait: Duration) -> Result<Vec<Received>, BrokerError> {
        if self.link.is_none() {
            self.link = Some(self.consumer.connect().await?);
        }
        let Some((_, messages)) = &mut self.link else {
            return Ok(Vec::new());
        };
        let mut lost = false;
        let taken = take_ready(messages, max, wait, received, &mut lost).await;
        if lost {
            self.link = None;
        }
        taken.map_err(|error| match error {
            Some(error) => consume_error("receive", error),
            None => consume_error("receive", "the message stream ended"),
        })
    }

    async fn bury(&mut self, message: Received, reason: String) -> Result<(), BrokerError> {
        let context = match &self.link {
            Some((context, _)) => context.clone(),
            None => self.consumer.jetstream.connect().await?,
        };
        let mut headers = headers(message.headers.iter().map(|(k, v)| (k, v)));
        headers.insert(DEAD_REASON, reason.as_str());
        let ack = context
            .send_publish(
                self.consumer.dead_letter_subject.clone(),
                PublishMessage::build()
                    .payload(Bytes::from(message.body))
                    .headers(headers),
            )
            .await
            .map_err(|error| consume_error("dead-letter", error))?;
        ack.await
            .map_err(|error| consume_error("dead-letter", error))?;
        message.settle.ack().await
    }
}

impl Inlet for NatsInlet {
    fn receive(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<Received>, BrokerError>> {
        Box::pin(self.take(max, wait))
    }

    fn dead_letter(
        &mut self,
        message: Received,
        reason: String,
    ) -> BoxFuture<'_, Result<(), BrokerError>> {
        Box::pin(self.bury(message, reason))
    }
}

impl sealed::Inlets for JetStreamConsumer {
    fn inlet(&self) -> Box<dyn Inlet> {
        Box::new(NatsInlet {
            consumer: self.clone(),
            link: None,
        })
    }
}

impl Source for JetStreamConsumer {}
