//! RabbitMQ: a topic exchange events are published to, and durable queues
//! bound to it (feature `rabbitmq`, client `lapin`, AMQP 0.9.1).

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use crate::broker::cloudevents::{header, OutgoingEvent};
use crate::broker::error::redact;
use crate::broker::link::Outlet;
use crate::broker::{sealed, Broker, BrokerError};
use crate::BoxFuture;

const BROKER: &str = "rabbitmq";

/// A RabbitMQ server and the topic exchange events are published to: a
/// [`Broker`] for a [`Publisher`](crate::broker::Publisher), and where
/// [`RabbitQueue`]s are bound.
///
/// The exchange is declared durable when missing. Messages are persistent,
/// carry the event id as `message_id` and the CloudEvents attributes in
/// their header table, and are published with publisher confirms.
///
/// Messages are *mandatory*: one that no queue's binding matches comes
/// back from the exchange, counts as not delivered, and is published again
/// (after backoff) until a queue takes it, so an event is never dropped
/// because its consumer has not declared its queue yet. Bind a queue for
/// every event published (a catch-all `#` queue for events nobody else
/// wants), or call [`drop_unroutable`](Self::drop_unroutable).
#[derive(Debug, Clone)]
pub struct RabbitMq {
    url: String,
    exchange: String,
    mandatory: bool,
}

impl RabbitMq {
    /// The server at `url` (`amqp://guest:guest@127.0.0.1:5672/%2f`) and the
    /// topic exchange named `exchange`.
    pub fn new(url: impl Into<String>, exchange: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            exchange: exchange.into(),
            mandatory: true,
        }
    }

    /// Lets the exchange drop messages that no queue's binding matches
    /// (confirmed all the same) instead of publishing them again.
    pub fn drop_unroutable(mut self) -> Self {
        self.mandatory = false;
        self
    }

    /// A durable queue named `queue`, bound to the exchange with each of
    /// `bindings` (`dogs.Dog.*`, `#` for everything), for an
    /// [`Inbound`](crate::broker::Inbound). Its dead letters go to the durable
    /// queue `{queue}.dead`.
    pub fn queue<T: Into<String>>(
        &self,
        queue: impl Into<String>,
        bindings: impl IntoIterator<Item = T>,
    ) -> RabbitQueue {
        RabbitQueue::new(
            self.clone(),
            queue.into(),
            bindings.into_iter().map(Into::into).collect(),
        )
    }

    /// A channel with publisher confirms on, the exchange declared.
    async fn connect(&self) -> Result<(Connection, Channel), BrokerError> {
        let properties = ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio);
        let connect_error = |error: lapin::Error| BrokerError::Connect {
            broker: BROKER,
            url: redact(&self.url),
            message: error.to_string(),
        };
        let connection = tokio::time::timeout(
            Duration::from_secs(10),
            Connection::connect(&self.url, properties),
        )
        .await
        .map_err(|_| BrokerError::Connect {
            broker: BROKER,
            url: redact(&self.url),
            message: "no answer within 10 s".to_owned(),
        })?
        .map_err(connect_error)?;
        let channel = connection.create_channel().await.map_err(connect_error)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(connect_error)?;
        channel
            .exchange_declare(
                &self.exchange,
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|error| declare_error(format!("exchange {}", self.exchange), error))?;
        Ok((connection, channel))
    }
}

fn declare_error(what: String, error: lapin::Error) -> BrokerError {
    BrokerError::Declare {
        broker: BROKER,
        what,
        message: error.to_string(),
    }
}

fn consume_error(operation: &'static str, error: impl ToString) -> BrokerError {
    BrokerError::Consume {
        broker: BROKER,
        operation,
        message: error.to_string(),
    }
}

/// A message's properties: persistent, with `headers` as its header table.
fn properties(
    headers: impl IntoIterator<Item = (impl AsRef<str>, impl AsRef<str>)>,
) -> BasicProperties {
    let mut table = FieldTable::default();
    let mut content_type = None;
    for (name, value) in headers {
        let (name, value) = (name.as_ref(), value.as_ref());
        if name.eq_ignore_ascii_case(header::CONTENT_TYPE) {
            content_type = Some(value.to_owned());
        } else {
            table.insert(
                ShortString::from(name.to_owned()),
                AMQPValue::LongString(LongString::from(value)),
            );
        }
    }
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_headers(table);
    match content_type {
        Some(content_type) => properties.with_content_type(ShortString::from(content_type)),
        None => properties,
    }
}

/// Publishes one message and waits for its confirm.
async fn publish_confirmed(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Result<(), String> {
    let confirm = channel
        .basic_publish(
            exchange,
            routing_key,
            BasicPublishOptions::default(),
            body,
            properties,
        )
        .await
        .map_err(|error| error.to_string())?;
    confirmed(confirm.await)
}

fn confirmed(confirmation: lapin::Result<Confirmation>) -> Result<(), String> {
    match confirmation {
        Ok(Confirmation::Ack(Some(returned))) => Err(format!(
            "returned by the broker: {} (no queue is bound for its routing key)",
            returned.reply_text
        )),
        Ok(Confirmation::Ack(None)) => Ok(()),
        Ok(Confirmation::Nack(_)) => Err("the broker refused it (negative confirm)".to_owned()),
        Ok(Confirmation::NotRequested) => Err("publisher confirms are off".to_owned()),
        Err(error) => Err(error.to_string()),
    }
}

struct RabbitOutlet {
    rabbit: RabbitMq,
    link: Option<(Connection, Channel)>,
}

impl RabbitOutlet {
    async fn publish_all(&mut self, events: &[&OutgoingEvent]) -> Vec<Result<(), BrokerError>> {
        if self.link.as_ref().is_none_or(|(connection, channel)| {
            !connection.status().connected() || !channel.status().connected()
        }) {
            match self.rabbit.connect().await {
                Ok(link) => self.link = Some(link),
                Err(error) => return events.iter().map(|_| Err(error.clone())).collect(),
            }
        }
        let Some((_, channel)) = &self.link else {
            return Vec::new();
        };
        let failed = |event: &OutgoingEvent, message: String| BrokerError::Publish {
            broker: BROKER,
            subject: event.subject.clone(),
            event_id: event.event_id.to_string(),
            message,
        };
        let mut confirms = Vec::with_capacity(events.len());
        for event in events {
            let properties = properties(event.headers.iter().map(|(k, v)| (*k, v)))
                .with_message_id(ShortString::from(event.event_id.to_string()));
            confirms.push(
                channel
                    .basic_publish(
                        &self.rabbit.exchange,
                        &event.subject,
                        BasicPublishOptions {
                            mandatory: self.rabbit.mandatory,
                            ..BasicPublishOptions::default()
                        },
                        &event.body,
                        properties,
                    )
                    .await,
            );
        }
        let mut results = Vec::with_capacity(events.len());
        for (event, confirm) in events.iter().zip(confirms) {
            let result = match confirm {
                Ok(confirm) => confirmed(confirm.await),
                Err(error) => Err(error.to_string()),
            };
            results.push(result.map_err(|message| failed(event, message)));
        }
        if !channel.status().connected() {
            // The connection or channel was lost: start afresh next time.
            self.link = None;
        }
        results
    }
}

impl Outlet for RabbitOutlet {
    fn publish<'a>(
        &'a mut self,
        events: &'a [&'a OutgoingEvent],
    ) -> BoxFuture<'a, Vec<Result<(), BrokerError>>> {
        Box::pin(self.publish_all(events))
    }
}

impl sealed::Outlets for RabbitMq {
    fn outlet(&self) -> Box<dyn Outlet> {
        Box::new(RabbitOutlet {
            rabbit: self.clone(),
            link: None,
        })
    }
}

impl Broker for RabbitMq {}

mod queue;
pub use queue::RabbitQueue;
