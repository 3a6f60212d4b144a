//! NATS JetStream: the stream events are published to, and durable pull
//! consumers reading it (feature `nats`, client `async-nats`).

use std::time::Duration;

use async_nats::header::HeaderMap;
use async_nats::jetstream::{self, message::PublishMessage, Context};
use bytes::Bytes;

use crate::broker::cloudevents::OutgoingEvent;
use crate::broker::error::redact;
use crate::broker::link::Outlet;
use crate::broker::{sealed, Broker, BrokerError};
use crate::BoxFuture;

const BROKER: &str = "nats";

/// A NATS server with JetStream, and the JetStream stream that stores the
/// published events: a [`Broker`] for a [`Publisher`](crate::broker::Publisher), and
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
    /// publisher's [`Routing`](crate::broker::Routing)).
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
    /// [`Inbound`](crate::broker::Inbound).
    pub fn consumer(&self, durable: impl Into<String>) -> JetStreamConsumer {
        JetStreamConsumer::new(self.clone(), durable.into())
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
                let sent = context.send_publish(event.subject.clone(), message).await;
                acks.push(async move {
                    match sent {
                        Ok(ack) => ack.await.map(drop).map_err(|error| failed(event, &error)),
                        Err(error) => Err(failed(event, &error)),
                    }
                });
            }
            // Awaited together: each ack's timeout starts when it is first
            // polled, and the acks of publishes lost with a crashed server
            // never come, so awaiting them one after another would wait a
            // timeout per event instead of one in all.
            results.extend(futures_util::future::join_all(acks).await);
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

mod consumer;
pub use consumer::JetStreamConsumer;
