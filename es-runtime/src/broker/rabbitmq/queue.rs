//! Consuming from RabbitMQ: durable queues bound to the exchange, and
//! their dead-letter queues.

use std::time::Duration;

use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, Consumer};

use super::{consume_error, declare_error, properties, publish_confirmed, RabbitMq};
use crate::broker::cloudevents::header;
use crate::broker::link::{take_ready, Inlet, Received, Settle, DEAD_REASON};
use crate::broker::{sealed, BrokerError, Source};
use crate::BoxFuture;

/// A durable queue bound to a [`RabbitMq`] exchange: a [`Source`] for an
/// [`Inbound`](crate::broker::Inbound) consumer. Declared and bound when the
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
    pub(super) fn new(rabbit: RabbitMq, queue: String, bindings: Vec<String>) -> Self {
        Self {
            rabbit,
            dead_letter_queue: format!("{queue}.dead"),
            queue,
            bindings,
            prefetch: 256,
        }
    }

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
        let mut lost = false;
        let taken = take_ready(consumer, max, wait, received, &mut lost).await;
        if lost {
            self.link = None;
        }
        taken.map_err(|error| match error {
            Some(error) => consume_error("receive", error),
            None => consume_error("receive", "the consumer was cancelled"),
        })
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
