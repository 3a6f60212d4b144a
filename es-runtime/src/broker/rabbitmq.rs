//! RabbitMQ: a topic exchange events are published to, and durable queues
//! bound to it (feature `rabbitmq`, client `lapin`, AMQP 0.9.1).

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer, ExchangeKind};

use super::cloudevents::{header, OutgoingEvent};
use super::error::redact;
use super::link::{Inlet, Outlet, Received, Settle};
use super::{sealed, Broker, BrokerError, Source};
use crate::BoxFuture;

const BROKER: &str = "rabbitmq";

/// The header that holds why a message was dead-lettered.
const DEAD_REASON: &str = "chronicle-dead-reason";

/// A RabbitMQ server and the topic exchange events are published to: a
/// [`Broker`] for a [`Publisher`](super::Publisher), and where
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
    /// [`Inbound`](super::Inbound). Its dead letters go to the durable
    /// queue `{queue}.dead`.
    pub fn queue<T: Into<String>>(
        &self,
        queue: impl Into<String>,
        bindings: impl IntoIterator<Item = T>,
    ) -> RabbitQueue {
        let queue = queue.into();
        RabbitQueue {
            rabbit: self.clone(),
            dead_letter_queue: format!("{queue}.dead"),
            queue,
            bindings: bindings.into_iter().map(Into::into).collect(),
            prefetch: 256,
        }
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

/// A durable queue bound to a [`RabbitMq`] exchange: a [`Source`] for an
/// [`Inbound`](super::Inbound) consumer. Declared and bound when the
/// consumer connects; messages are acknowledged one by one after their
/// effects committed, and the unacknowledged ones are delivered again after
/// a lost connection.
///
/// Dead letters are published (confirmed) to the durable queue
/// `{queue}.dead` with a `chronicle-dead-reason` header beside the original
/// headers.
#[derive(Debug, Clone)]
pub struct RabbitQueue {
    rabbit: RabbitMq,
    queue: String,
    bindings: Vec<String>,
    dead_letter_queue: String,
    prefetch: u16,
}

impl RabbitQueue {
    /// How many unacknowledged messages the broker hands over ahead
    /// (default 256).
    pub fn prefetch(mut self, messages: u16) -> Self {
        self.prefetch = messages.max(1);
        self
    }

    /// Dead letters go to the durable queue `queue` instead.
    pub fn dead_letters(mut self, queue: impl Into<String>) -> Self {
        self.dead_letter_queue = queue.into();
        self
    }

    /// Declares the queues and the bindings, and starts consuming.
    async fn connect(&self) -> Result<(Connection, Channel, Consumer), BrokerError> {
        let (connection, channel) = self.rabbit.connect().await?;
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        for queue in [&self.queue, &self.dead_letter_queue] {
            channel
                .queue_declare(queue, durable, FieldTable::default())
                .await
                .map_err(|error| declare_error(format!("queue {queue}"), error))?;
        }
        for binding in &self.bindings {
            channel
                .queue_bind(
                    &self.queue,
                    &self.rabbit.exchange,
                    binding,
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|error| {
                    declare_error(format!("binding {binding} of queue {}", self.queue), error)
                })?;
        }
        channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await
            .map_err(|error| consume_error("receive", error))?;
        let consumer = channel
            .basic_consume(
                &self.queue,
                "",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|error| consume_error("receive", error))?;
        Ok((connection, channel, consumer))
    }
}

struct RabbitInlet {
    queue: RabbitQueue,
    link: Option<(Connection, Channel, Consumer)>,
}

fn received(delivery: lapin::message::Delivery) -> Received {
    let mut headers: Vec<(String, String)> = delivery
        .properties
        .headers()
        .iter()
        .flat_map(|table| table.inner())
        .filter_map(|(name, value)| {
            let value = match value {
                AMQPValue::LongString(text) => {
                    String::from_utf8_lossy(text.as_bytes()).into_owned()
                }
                AMQPValue::ShortString(text) => text.as_str().to_owned(),
                _ => return None,
            };
            Some((name.as_str().to_owned(), value))
        })
        .collect();
    if let Some(content_type) = delivery.properties.content_type() {
        headers.push((
            header::CONTENT_TYPE.to_owned(),
            content_type.as_str().to_owned(),
        ));
    }
    Received {
        headers,
        body: delivery.data,
        settle: Box::new(RabbitAck(delivery.acker)),
    }
}

struct RabbitAck(lapin::acker::Acker);

impl Settle for RabbitAck {
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<(), BrokerError>> {
        Box::pin(async move {
            self.0
                .ack(BasicAckOptions::default())
                .await
                .map(drop)
                .map_err(|error| consume_error("ack", error))
        })
    }
}

impl RabbitInlet {
    async fn take(&mut self, max: usize, wait: Duration) -> Result<Vec<Received>, BrokerError> {
        if self.link.as_ref().is_none_or(|(connection, channel, _)| {
            !connection.status().connected() || !channel.status().connected()
        }) {
            self.link = None;
            self.link = Some(self.queue.connect().await?);
        }
        let Some((_, _, consumer)) = &mut self.link else {
            return Ok(Vec::new());
        };
        let mut batch = Vec::new();
        let mut next = match tokio::time::timeout(wait, consumer.next()).await {
            Err(_) => return Ok(batch),
            Ok(first) => first,
        };
        loop {
            match next {
                Some(Ok(delivery)) => batch.push(received(delivery)),
                Some(Err(error)) => {
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
            match consumer.next().now_or_never() {
                Some(item) => next = item,
                None => return Ok(batch),
            }
        }
    }

    async fn bury(&mut self, message: Received, reason: String) -> Result<(), BrokerError> {
        let Some((_, channel, _)) = &self.link else {
            return Err(consume_error("dead-letter", "the connection was lost"));
        };
        let properties = properties(
            message
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain([(DEAD_REASON, reason.as_str())]),
        );
        publish_confirmed(
            channel,
            "",
            &self.queue.dead_letter_queue,
            &message.body,
            properties,
        )
        .await
        .map_err(|error| consume_error("dead-letter", error))?;
        message.settle.ack().await
    }
}

impl Inlet for RabbitInlet {
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

impl sealed::Inlets for RabbitQueue {
    fn inlet(&self) -> Box<dyn Inlet> {
        Box::new(RabbitInlet {
            queue: self.clone(),
            link: None,
        })
    }
}

impl Source for RabbitQueue {}
