//! NATS JetStream: the stream events are published to, and durable pull
//! consumers reading it (feature `nats`, client `async-nats`).

use std::time::Duration;

use async_nats::header::HeaderMap;
use async_nats::jetstream::{self, consumer::pull, message::PublishMessage, Context};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};

use super::cloudevents::OutgoingEvent;
use super::error::redact;
use super::link::{Inlet, Outlet, Received, Settle};
use super::{sealed, Broker, BrokerError, Source};
use crate::BoxFuture;

const BROKER: &str = "nats";

/// The header that holds why a message was dead-lettered.
pub(crate) const DEAD_REASON: &str = "chronicle-dead-reason";

/// A NATS server with JetStream, and the JetStream stream that stores the
/// published events: a [`Broker`] for a [`Publisher`](super::Publisher), and
/// where [`JetStreamConsumer`]s read.
///
/// The stream is created (file storage) when missing, with the subjects
/// given; an existing stream is used as it is. Messages carry the event id
/// as `Nats-Msg-Id`, so resends within the stream's duplicate window
/// (default 2 minutes) are stored once.
#[derive(Debug, Clone)]
pub struct JetStream {
    url: String,
    stream: String,
    subjects: Vec<String>,
    duplicate_window: Duration,
}

impl JetStream {
    /// The server at `url` (`nats://127.0.0.1:4222`) and the stream named
    /// `stream` capturing `subjects` (`["dogs.>"]`, matching the
    /// publisher's [`Routing`](super::Routing)).
    pub fn new<T: Into<String>>(
        url: impl Into<String>,
        stream: impl Into<String>,
        subjects: impl IntoIterator<Item = T>,
    ) -> Self {
        Self {
            url: url.into(),
            stream: stream.into(),
            subjects: subjects.into_iter().map(Into::into).collect(),
            duplicate_window: Duration::from_secs(120),
        }
    }

    /// The duplicate window of a stream this creates (default 2 minutes):
    /// how long after a message its id still makes a resend a duplicate.
    pub fn duplicate_window(mut self, window: Duration) -> Self {
        self.duplicate_window = window;
        self
    }

    /// A durable pull consumer named `durable` on this stream, for an
    /// [`Inbound`](super::Inbound).
    pub fn consumer(&self, durable: impl Into<String>) -> JetStreamConsumer {
        let durable = durable.into();
        JetStreamConsumer {
            dead_letter_stream: format!("{}_{durable}_DEAD", self.stream),
            dead_letter_subject: format!("chronicle.dead.{}.{durable}", self.stream),
            jetstream: self.clone(),
            durable,
            filter_subject: None,
            ack_wait: Duration::from_secs(30),
        }
    }

    fn connect_error(&self, message: impl ToString) -> BrokerError {
        BrokerError::Connect {
            broker: BROKER,
            url: redact(&self.url),
            message: message.to_string(),
        }
    }

    /// Connects and makes sure the stream exists.
    async fn connect(&self) -> Result<Context, BrokerError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .max_reconnects(None)
            .connect(self.url.as_str())
            .await
            .map_err(|error| self.connect_error(error))?;
        let context = jetstream::new(client);
        ensure_stream(
            &context,
            &self.stream,
            self.subjects.clone(),
            self.duplicate_window,
        )
        .await?;
        Ok(context)
    }
}

async fn ensure_stream(
    context: &Context,
    name: &str,
    subjects: Vec<String>,
    duplicate_window: Duration,
) -> Result<(), BrokerError> {
    context
        .get_or_create_stream(jetstream::stream::Config {
            name: name.to_owned(),
            subjects,
            duplicate_window,
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map(drop)
        .map_err(|error| BrokerError::Declare {
            broker: BROKER,
            what: format!("stream {name}"),
            message: error.to_string(),
        })
}

fn headers(pairs: impl IntoIterator<Item = (impl AsRef<str>, impl AsRef<str>)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(name.as_ref(), value.as_ref());
    }
    map
}

/// How many publishes are in flight before their acks are awaited (below
/// the client's limit of un-acked publishes, which would otherwise wait).
const IN_FLIGHT: usize = 4_096;

struct NatsOutlet {
    jetstream: JetStream,
    context: Option<Context>,
}

impl NatsOutlet {
    async fn publish_all(&mut self, events: &[&OutgoingEvent]) -> Vec<Result<(), BrokerError>> {
        let context = match &self.context {
            Some(context) => context.clone(),
            None => match self.jetstream.connect().await {
                Ok(context) => self.context.insert(context).clone(),
                Err(error) => return events.iter().map(|_| Err(error.clone())).collect(),
            },
        };
        let failed = |event: &OutgoingEvent, error: &dyn std::fmt::Display| BrokerError::Publish {
            broker: BROKER,
            subject: event.subject.clone(),
            event_id: event.event_id.to_string(),
            message: error.to_string(),
        };
        let mut results = Vec::with_capacity(events.len());
        for chunk in events.chunks(IN_FLIGHT) {
            let mut acks = Vec::with_capacity(chunk.len());
            for event in chunk {
                let message = PublishMessage::build()
                    .payload(Bytes::from(event.body.clone()))
                    .headers(headers(event.headers.iter().map(|(k, v)| (*k, v))))
                    .message_id(event.event_id.to_string());
                acks.push(context.send_publish(event.subject.clone(), message).await);
            }
            for (event, ack) in chunk.iter().zip(acks) {
                results.push(match ack {
                    Ok(ack) => ack.await.map(drop).map_err(|error| failed(event, &error)),
                    Err(error) => Err(failed(event, &error)),
                });
            }
        }
        results
    }
}

impl Outlet for NatsOutlet {
    fn publish<'a>(
        &'a mut self,
        events: &'a [&'a OutgoingEvent],
    ) -> BoxFuture<'a, Vec<Result<(), BrokerError>>> {
        Box::pin(self.publish_all(events))
    }
}

impl sealed::Outlets for JetStream {
    fn outlet(&self) -> Box<dyn Outlet> {
        Box::new(NatsOutlet {
            jetstream: self.clone(),
            context: None,
        })
    }
}

impl Broker for JetStream {}

/// A durable pull consumer of a [`JetStream`] stream: a [`Source`] for an
/// [`Inbound`](super::Inbound) consumer. Created when missing (explicit
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
        let mut batch = Vec::new();
        let first = match tokio::time::timeout(wait, messages.next()).await {
            Err(_) => return Ok(batch),
            Ok(first) => first,
        };
        let mut next = first;
        loop {
            match next {
                Some(Ok(message)) => batch.push(received(message)),
                Some(Err(error)) => {
                    // Hand over what was taken; the next call reconnects.
                    self.link = None;
                    if batch.is_empty() {
                        return Err(consume_error("receive", error));
                    }
                    return Ok(batch);
                }
                None => {
                    self.link = None;
                    return Ok(batch);
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
